"""Writes a SQLite write transaction holds back and sends in batches: new CS objects (without an anchor), new MV
objects, their key-index rows, and sync's link updates.

A sync that projects and provisions writes several rows per object; sent one statement each, the statements cost
more than the work. Held here, they go out as one ``executemany`` per kind when the page commits or when any other
statement runs. Why that is exact:

- every statement the store runs on its connection, except the few lookups below, first sends what is held
  (``SQLiteStore._flush``), so the database never answers a question without the writes made before it;
- the lookups that run without sending (key index, CS references by anchor, identifier or MV object) add what
  is held to the database's answer: a held insert is a row the database does not have yet, whose id was
  allocated here past every id the table ever gave (AUTOINCREMENT's sequence and its largest id); a held link
  update changes only the MV link of a row, so it replaces that field of the row's reference (and a lookup by MV
  object also finds the rows such an update links there, and drops those it links elsewhere);
- an object scope that fails drops what it held since it opened, and a savepoint is taken only after what was
  held before the scope opened has been sent, so rolling back to it undoes exactly the scope's writes.

Held rows are sent by kind (CS rows, MV rows, key rows, then link updates): rows of different kinds do not depend
on each other's order, and a link update of a row inserted in the same batch comes after its insert.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from idsync.store.base import CSRef

CS_INSERT = (
    "INSERT INTO cs(id, connector, object_type, anchor, identifier, identifier_key, hologram, link_state, mv_id, "
    "link_rule, pending_import, pending_export, export_op, unconfirmed, error, last_seen) "
    "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
MV_INSERT = "INSERT INTO mv(id, object_type, attributes, provenance, created_run) VALUES(?,?,?,?,?)"
CS_KEYS_INSERT = "INSERT INTO cs_keys(connector, attribute, value, cs_id) VALUES(?,?,?,?)"
MV_KEYS_INSERT = "INSERT INTO mv_keys(object_type, attribute, value, mv_id) VALUES(?,?,?,?)"
CS_LINKS_UPDATE = "UPDATE cs SET link_state=?, mv_id=?, link_rule=?, pending_import=?, error=? WHERE id=?"

_ORDER = (CS_INSERT, MV_INSERT, CS_KEYS_INSERT, MV_KEYS_INSERT, CS_LINKS_UPDATE)

Row = tuple[Any, ...]
Entry = tuple[str, Row, Any]
"""(statement, parameters, what the lookups need to know of it: a CSRef, a key, or the new MV link)."""


class HeldWrites:
    """What one write transaction holds back. Positions are counted from the transaction's start, so a scope's
    mark stays valid after earlier writes were sent."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.sent = 0
        """How many entries were sent (or dropped by a rollback) before ``entries[0]``."""
        self.next_ids: dict[str, int] = {}
        self._index()

    def _index(self) -> None:
        self.cs_key_ids: dict[tuple[str, str, str], list[int]] = {}
        self.mv_key_ids: dict[tuple[str, str, str], list[int]] = {}
        self.new_by_identifier: dict[tuple[str, str], list[CSRef]] = {}
        self.new_by_mv: dict[int, list[CSRef]] = {}
        """MV id -> the held inserts linked to it when inserted."""
        self.new_refs: dict[int, CSRef] = {}
        self.links: dict[int, int | None] = {}
        """CS id -> the MV id its held link update gives it."""
        self.links_to: dict[int, list[int]] = {}
        """MV id -> the CS ids a held link update links to it."""

    @property
    def end(self) -> int:
        return self.sent + len(self.entries)

    # allocating ids --------------------------------------------------------------------------------------------
    def new_id(self, db: sqlite3.Connection, table: str) -> int:
        """The next id of ``table``: past its AUTOINCREMENT sequence and its largest id, as SQLite would give."""
        last = self.next_ids.get(table)
        if last is None:
            row = db.execute(
                f"SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name='{table}'), 0), "
                f"coalesce((SELECT max(id) FROM {table}), 0))"
            ).fetchone()
            last = int(row[0])
        self.next_ids[table] = last + 1
        return last + 1

    def forget_ids(self, table: str) -> None:
        """A row of ``table`` was inserted directly (the database chose its id): read the sequence again."""
        self.next_ids.pop(table, None)

    # holding ---------------------------------------------------------------------------------------------------
    def insert_cs(self, params: Row, ref: CSRef, identifier_key: str, key_rows: Iterable[Row]) -> None:
        self.entries.append((CS_INSERT, params, None))
        self._new_cs(ref, identifier_key)
        for row in key_rows:
            self.entries.append((CS_KEYS_INSERT, row, None))
            self._key(self.cs_key_ids, row)

    def insert_mv(self, params: Row, key_rows: Iterable[Row]) -> None:
        self.entries.append((MV_INSERT, params, None))
        for row in key_rows:
            self.entries.append((MV_KEYS_INSERT, row, None))
            self._key(self.mv_key_ids, row)

    def update_links(self, rows: Sequence[Row]) -> None:
        """Rows in ``CS_LINKS_UPDATE`` order: link state, MV id, link rule, pending import, error, CS id."""
        for row in rows:
            self.entries.append((CS_LINKS_UPDATE, row, None))
            self._link(row)

    def _link(self, row: Row) -> None:
        cs_id, mv_id = row[-1], row[1]
        self.links[cs_id] = mv_id
        if mv_id is not None:
            self.links_to.setdefault(mv_id, []).append(cs_id)

    def _new_cs(self, ref: CSRef, identifier_key: str) -> None:
        self.new_by_identifier.setdefault((ref.connector, identifier_key), []).append(ref)
        self.new_refs[ref.id] = ref
        if ref.mv_id is not None:
            self.new_by_mv.setdefault(ref.mv_id, []).append(ref)

    @staticmethod
    def _key(index: dict[tuple[str, str, str], list[int]], row: Row) -> None:
        index.setdefault((row[0], row[1], row[2]), []).append(row[3])

    def _reindex(self) -> None:
        self._index()
        for sql, params, _ in self.entries:
            if sql is CS_INSERT:
                ref = CSRef(params[0], params[1], params[2], params[3], params[4], params[8])
                self._new_cs(ref, params[5])
            elif sql is CS_KEYS_INSERT:
                self._key(self.cs_key_ids, params)
            elif sql is MV_KEYS_INSERT:
                self._key(self.mv_key_ids, params)
            elif sql is CS_LINKS_UPDATE:
                self._link(params)

    # sending and dropping --------------------------------------------------------------------------------------
    def send(self, db: sqlite3.Connection, upto: int | None = None) -> None:
        """Write the entries before position ``upto`` (all of them by default)."""
        count = len(self.entries) if upto is None else upto - self.sent
        if count <= 0:
            return
        batch, rest = self.entries[:count], self.entries[count:]
        by_kind: dict[str, list[Row]] = {sql: [] for sql in _ORDER}
        for sql, params, _ in batch:
            by_kind[sql].append(params)
        self.entries = rest
        self.sent += count
        if rest:
            self._reindex()
        else:
            self._index()
        for sql, rows in by_kind.items():
            if rows:
                db.executemany(sql, rows)

    def drop(self, mark: int) -> bool:
        """Forget what was held from position ``mark`` on (its scope rolled back). True when anything was."""
        keep = mark - self.sent
        if keep >= len(self.entries):
            return False
        if keep >= 0:
            del self.entries[keep:]
        else:
            self.entries.clear()
            self.sent = mark
        self._reindex()
        return True

    def clear(self) -> None:
        """The transaction ended: nothing is held, and ids are read again by the next one."""
        self.entries.clear()
        self.sent = 0
        self.next_ids.clear()
        self._index()

    # what lookups add ------------------------------------------------------------------------------------------
    def linked(self, ref: CSRef) -> CSRef:
        """``ref`` as read from the database, with the MV link a held update gives it."""
        if ref.id in self.links:
            mv_id = self.links[ref.id]
            if mv_id != ref.mv_id:
                return replace(ref, mv_id=mv_id)
        return ref

    def new_with_identifier(self, connector: str, key: str) -> list[CSRef]:
        return [self.linked(r) for r in self.new_by_identifier.get((connector, key), ())]

    def by_mv(
        self, stored: list[CSRef], wanted: Iterable[int], read: Callable[[list[int]], list[CSRef]]
    ) -> list[CSRef]:
        """The references linked to the MV objects ``wanted``, given those the database links to them
        (``stored``): with their held link updates, and with the held inserts and re-linked stored objects the
        database does not know to be linked there (``read`` gives stored objects by id)."""
        want = set(wanted)
        if not self.links and not self.new_by_mv:
            return stored
        found = {r.id: r for r in stored}
        extra: list[CSRef] = []
        unread: list[int] = []
        for mv_id in want:
            extra.extend(self.new_by_mv.get(mv_id, ()))
            for cs_id in self.links_to.get(mv_id, ()):
                if cs_id in found:
                    continue
                new = self.new_refs.get(cs_id)
                if new is not None:
                    extra.append(new)
                else:
                    unread.append(cs_id)
        if unread:
            extra.extend(read(unread))
        for ref in extra:
            found.setdefault(ref.id, ref)
        out = [self.linked(r) for r in found.values()]
        return sorted((r for r in out if r.mv_id in want), key=_by_id)


def _by_id(ref: CSRef) -> int:
    return ref.id
