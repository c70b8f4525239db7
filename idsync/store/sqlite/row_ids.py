"""Ids of the rows a transaction holds back (``idsync.store.held``), as SQLite would give them.

A held insert needs its id when it is made: other rows name it before it is sent. In a transaction, which holds
the write lock from BEGIN IMMEDIATE on, ids are counted on from the table's AUTOINCREMENT sequence and its largest
id, read once: nobody else can insert meanwhile. A page committed behind (``idsync.store.write_behind``) decides
without the lock, and gives ids before the page before it has landed: its ids come from blocks reserved in the
sequence, each committed before its first id is given, so that another connection's inserts (an import the service
runs beside the sync) go past them. Blocks grow as they are used up, and a batch sent behind reserves the next one
before it is needed; what a sync leaves of its last block is a gap in the ids, as a rolled back insert leaves.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

FIRST_BLOCK = 1024
LARGEST_BLOCK = 131_072

Block = tuple[int, int]
"""The last id before a block, and its last id."""


def last_id(conn: sqlite3.Connection, table: str) -> int:
    """The last id ``table`` gave or reserved (its AUTOINCREMENT sequence) or holds."""
    row = conn.execute(
        f"SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name='{table}'), 0), "
        f"coalesce((SELECT max(id) FROM {table}), 0))"
    ).fetchall()[0]
    return int(row[0])


def reserve(conn: sqlite3.Connection, table: str, size: int) -> Block:
    """In a write transaction on ``conn``: the next ``size`` ids of ``table``, taken out of its sequence."""
    start = last_id(conn, table)
    end = start + size
    if conn.execute("UPDATE sqlite_sequence SET seq=? WHERE name=?", (end, table)).rowcount == 0:
        conn.execute("INSERT INTO sqlite_sequence(name, seq) VALUES(?, ?)", (table, end))
    return start, end


class RowIds:
    """``conn``: the connection to read the last id on (in a transaction). While writes are sent behind,
    ``reserve_now`` reserves a block when none is spare, and ``wait`` waits for the batch in flight (which may be
    reserving one)."""

    __slots__ = ("conn", "ends", "last", "pending", "reserve_now", "scoped", "sizes", "spare", "wait")

    def __init__(
        self,
        conn: sqlite3.Connection,
        reserve_now: Callable[[str, int], Block],
        wait: Callable[[], None],
    ) -> None:
        self.conn = conn
        self.reserve_now = reserve_now
        self.wait = wait
        self.last: dict[str, int] = {}
        self.ends: dict[str, int] | None = None
        """While reserving: each table's last id of the block in use."""
        self.spare: dict[str, list[Block]] = {}
        """Blocks reserved ahead (a batch sent behind appends them once committed)."""
        self.pending: set[str] = set()
        """Tables a batch in flight reserves a block of."""
        self.sizes: dict[str, int] = {}
        self.scoped: set[str] = set()
        """Tables whose block was reserved in the transaction in progress, and goes with it."""

    def new(self, table: str) -> int:
        last = self.last.get(table)
        ends = self.ends
        if ends is None:
            if last is None:
                last = last_id(self.conn, table)
        elif last is None or last >= ends.get(table, 0):
            last, ends[table] = self._block(table)
        self.last[table] = last + 1
        return last + 1

    def _block(self, table: str) -> Block:
        if table in self.pending and not self.spare.get(table):
            self.wait()
        spare = self.spare.get(table)
        return spare.pop(0) if spare else self.reserve_now(table, self.grow(table))

    def grow(self, table: str) -> int:
        """The size of the next block of ``table``: twice the last, from ``FIRST_BLOCK`` to ``LARGEST_BLOCK``."""
        size = self.sizes.get(table)
        size = FIRST_BLOCK if size is None else min(size * 2, LARGEST_BLOCK)
        self.sizes[table] = size
        return size

    def ahead(self, tables: tuple[str, ...]) -> list[tuple[str, int]]:
        """The blocks a batch sent now should reserve (table, size): of the tables with no spare block and less
        than half of their block left."""
        if self.ends is None:
            return []
        wanted = []
        for table in tables:
            end, last = self.ends.get(table), self.last.get(table)
            if end is None or last is None or self.spare.get(table) or table in self.scoped:
                continue
            if end - last < self.sizes.get(table, FIRST_BLOCK) // 2:
                wanted.append((table, self.grow(table)))
                self.pending.add(table)
        return wanted

    def reserved(self, table: str, block: Block) -> None:
        """A block reserved ahead was committed (called on the writer's thread)."""
        self.spare.setdefault(table, []).append(block)
        self.pending.discard(table)

    def reserving(self) -> None:
        """From now on, ids come from reserved blocks (``write_behind``)."""
        self.clear()
        self.ends = {}

    def forget(self, table: str) -> None:
        """A row of ``table`` was inserted directly (the database chose its id, past every reserved block)."""
        if self.ends is None:
            self.last.pop(table, None)

    def ended(self) -> None:
        """A transaction ended: without reserved blocks, the next reads the sequence again; with them, a block
        reserved in it goes with it (it may have rolled back)."""
        if self.ends is None:
            self.last.clear()
            return
        for table in self.scoped:
            self.last.pop(table, None)
            self.ends.pop(table, None)
        self.scoped.clear()

    def clear(self) -> None:
        self.last.clear()
        self.ends = None
        self.spare.clear()
        self.pending.clear()
        self.sizes.clear()
        self.scoped.clear()
