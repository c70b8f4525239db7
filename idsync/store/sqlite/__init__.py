from __future__ import annotations

from idsync.store.sqlite.store import SQLiteStore, open_sqlite

__all__ = ["SQLiteStore", "open_sqlite"]
