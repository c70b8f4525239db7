"""The migration assistant: reads a FIM/MIM (or Azure AD Connect) configuration export, finds the retired FIM
Connector for Azure AD, analyzes the topology, recommends a path and reports it.

Entry points: :func:`read_export` (the model of the export), :func:`analyze` / :func:`analyze_export` (topology,
recommendation and Graph mapping), :mod:`idsync.migrate.report` (Markdown, HTML, JSON) and
:mod:`idsync.migrate.translate` (MIM mappings as expression text).
"""

from __future__ import annotations

from idsync.migrate.analysis import Analysis, MappingRow, analyze, analyze_export
from idsync.migrate.reader import ExportNotFoundError, read_export
from idsync.migrate.recommend import Facts, MigrationPath, Recommendation

__all__ = [
    "Analysis",
    "ExportNotFoundError",
    "Facts",
    "MappingRow",
    "MigrationPath",
    "Recommendation",
    "analyze",
    "analyze_export",
    "read_export",
]
