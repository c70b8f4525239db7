"""Reports of a migration analysis: Markdown, self-contained HTML and JSON."""

from __future__ import annotations

from idsync.migrate.report.document import build_document
from idsync.migrate.report.json_doc import to_json_document
from idsync.migrate.report.render import to_html, to_markdown

__all__ = ["build_document", "to_html", "to_json_document", "to_markdown"]
