"""Keeping the planner's statistics up with tables a run fills.

A first import or sync fills the connector space, the metaverse and their key indexes from nothing, far faster than
autovacuum's analyze (once a minute at best) follows. Planned on the statistics of a nearly empty table, a lookup
of a page's keys, ``value = ANY(array)``, reads every entry of the attribute and filters them, one page after
another: measured on 50,000 people, 1.3 s per page and most of a first sync's time. The store analyzes a table
itself whenever the rows it has added since the last analysis reach the size the table had then (and at least
``FIRST_ROWS``): a few analyses per table in a run, each a sample of a fixed size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

FIRST_ROWS = 5_000
"""Rows added before a table's first analysis by this store."""


class Statistics:
    def __init__(self, execute: Callable[..., Any], size: Callable[[str], int]) -> None:
        """``execute`` runs a statement in the store's transaction (without sending held writes: this is called
        while they are sent); ``size`` is the planner's row count of a table now."""
        self._execute = execute
        self._size = size
        self._known: dict[str, int] = {}
        self._added: dict[str, int] = {}

    def added(self, table: str, rows: int) -> None:
        known = self._known.get(table)
        if known is None:
            known = self._known[table] = max(0, self._size(table))
        added = self._added[table] = self._added.get(table, 0) + rows
        if added >= max(FIRST_ROWS, known):
            self._execute(f"ANALYZE {table}")  # the table's name is ours, never a user's
            self._known[table] = known + added
            self._added[table] = 0
