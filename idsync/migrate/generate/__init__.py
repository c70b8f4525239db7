"""``idsync migrate generate``: the replacement for a FIM/MIM deployment that used the retired FIM Connector for
Azure AD, as an idsync workspace that validates, plus everything a person must still do.

Entry points: :func:`generate` (an export folder, a read export or its analysis -> :class:`GeneratedWorkspace`),
:func:`write_workspace` (``idsync.yaml`` and ``README.md`` into a folder) and :func:`as_json`.
"""

from __future__ import annotations

from idsync.migrate.generate.builder import default_path, generate
from idsync.migrate.generate.emit import OutputExists, as_json, readme, ruled_out_text, write_workspace, yaml_text
from idsync.migrate.generate.model import (
    ConnectorPlan,
    DirectorySidePlan,
    GeneratedWorkspace,
    GenerationPath,
    LeftOut,
    LeftOutKind,
)

__all__ = [
    "ConnectorPlan",
    "DirectorySidePlan",
    "GeneratedWorkspace",
    "GenerationPath",
    "LeftOut",
    "LeftOutKind",
    "OutputExists",
    "as_json",
    "default_path",
    "generate",
    "readme",
    "ruled_out_text",
    "write_workspace",
    "yaml_text",
]
