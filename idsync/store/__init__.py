"""Persistence: the Store protocol with an embedded SQLite implementation (default) and PostgreSQL (scale)."""

from __future__ import annotations

from pathlib import Path

from idsync.config.secrets import SecretError, SecretResolver, resolve_url_password
from idsync.store.base import CSFilter, CSRef, KeyConfig, Store, StoreError, StoreLocked, Unresolved

STATE_DIR = ".idsync"
STATE_FILE = "state.db"


def open_store(url: str, workspace: Path) -> Store:
    """``sqlite`` (the workspace's ``.idsync/state.db``), ``sqlite:///PATH`` or ``postgresql://...``, whose
    password may be a secret reference (``postgresql://idsync:${file:secrets/db.pw}@db/idsync``), resolved here,
    at the last moment, against the workspace."""
    if url == "sqlite":
        from idsync.store.sqlite import open_sqlite

        return open_sqlite(workspace / STATE_DIR / STATE_FILE)
    if url.startswith("sqlite:///"):
        from idsync.store.sqlite import open_sqlite

        path = Path(url[len("sqlite:///") :])
        return open_sqlite(path if path.is_absolute() else workspace / path)
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from idsync.store.postgres import open_postgres  # type: ignore[import-not-found, unused-ignore]
        except ModuleNotFoundError as exc:
            raise StoreError(f"the PostgreSQL store needs {exc.name!r}: pip install 'idsync[postgres]'") from None
        try:
            resolved = resolve_url_password(url, SecretResolver(workspace))
        except SecretError as exc:
            raise StoreError(f"the PostgreSQL store's password: {exc}") from None
        store: Store = open_postgres(resolved)
        return store
    raise StoreError(f"unknown store {url!r}: use 'sqlite', 'sqlite:///PATH' or a postgresql:// URL")


__all__ = ["CSFilter", "CSRef", "KeyConfig", "Store", "StoreError", "StoreLocked", "Unresolved", "open_store"]
