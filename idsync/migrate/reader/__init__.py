"""Reader for FIM/MIM Synchronization Service and Azure AD Connect configuration exports."""

from __future__ import annotations

from idsync.migrate.reader.export_files import ExportNotFoundError, read_export

__all__ = ["ExportNotFoundError", "read_export"]
