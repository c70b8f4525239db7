"""The PostgreSQL store, for sites whose connector spaces outgrow an embedded database (``pip install
'idsync[postgres]'``)."""

from __future__ import annotations

from idsync.store.postgres.store import PostgresStore, open_postgres
from idsync.store.postgres.urls import mask_url

__all__ = ["PostgresStore", "mask_url", "open_postgres"]
