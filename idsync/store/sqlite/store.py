"""The embedded store: stdlib sqlite3 in WAL mode, hand-written SQL, versioned migrations.

One connection per store object, used by one thread at a time. Writes happen inside ``transaction()`` (BEGIN
IMMEDIATE, so a writer never has to upgrade a read lock and deadlock); reads outside a transaction see committed
data only. A sync's pages are committed behind (``write_behind``): a second connection then reads while the first
writes.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from functools import partial
from itertools import chain
from pathlib import Path
from typing import Any, TypeVar

from idsync.model import CSObject, ErrorRow, MVObject, RunResult, RunStatus, StepKind, StepResult
from idsync.store.base import CSFilter, CSRef, KeyConfig, StoreError, Unresolved
from idsync.store.batches import NEW_COLUMNS, anchors_by_connector, insert_rows, split_by_anchor
from idsync.store.held import CS, CS_KEYS, KEY_COLUMNS, LINKS, MV, MV_KEYS, HeldWrites, Transactions
from idsync.store.lookups import LookupMemory
from idsync.store.presence import Index, KeyPresence, value_taken
from idsync.store.rows import (
    AUDIT_COLUMNS,
    AUDIT_INSERT_COLUMNS,
    CS_COLUMNS,
    CS_REF_COLUMNS,
    ERROR_COLUMNS,
    ERROR_INSERT_COLUMNS,
    MV_COLUMNS,
    RUN_COLUMNS,
    STEP_COLUMNS,
    AuditQuery,
    anchor_taken,
    audit_from_row,
    audit_params,
    chunks,
    cs_from_row,
    cs_keys,
    cs_known,
    cs_link_params,
    cs_to_params,
    dumps,
    equal_where,
    error_params,
    grouped,
    id_pages,
    identifier_key,
    key_config_from_text,
    key_config_to_text,
    like_pattern,
    migration_scripts,
    mv_from_row,
    mv_keys,
    mv_to_params,
    run_from_row,
    step_from_row,
)
from idsync.store.sqlite.row_ids import Block, RowIds, reserve
from idsync.store.write_behind import Write, WriteBehind

Row = tuple[Any, ...]
T = TypeVar("T")

CHUNK = 500
"""Ids per ``IN (...)`` list: far below SQLite's variable limit, large enough to amortize the statement."""


HELD_SQL = {
    CS: "INSERT INTO cs(id, connector, object_type, anchor, identifier, identifier_key, hologram, link_state, mv_id, "
    "link_rule, pending_import, pending_export, export_op, unconfirmed, error, last_seen) "
    "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    MV: "INSERT INTO mv(id, object_type, attributes, provenance, created_run) VALUES(?,?,?,?,?)",
    CS_KEYS: "INSERT INTO cs_keys(connector, attribute, value, cs_id) VALUES(?,?,?,?)",
    MV_KEYS: "INSERT INTO mv_keys(object_type, attribute, value, mv_id) VALUES(?,?,?,?)",
    LINKS: "UPDATE cs SET link_state=?, mv_id=?, link_rule=?, pending_import=?, error=? WHERE id=?",
}
"""How each kind of held write (``idsync.store.held``) is sent: one ``executemany``."""


def _behind_sql(kind: str, rows: int) -> str:
    """One statement writing ``rows`` held rows of ``kind`` (``HELD_SQL``'s, in one ``VALUES`` list), for a batch
    sent behind (``write_behind``): SQLite runs it without Python's interpreter lock, where ``executemany`` would
    take the lock back for every row, and wait for the thread computing the next page to give it up."""
    marks = ",".join([f"({','.join('?' * _width(kind))})"] * rows)
    if kind == LINKS:
        return (
            "UPDATE cs SET link_state=j.column1, mv_id=j.column2, link_rule=j.column3, pending_import=j.column4, "
            f"error=j.column5 FROM (VALUES {marks}) AS j WHERE cs.id=j.column6"
        )
    return f"{HELD_SQL[kind].split(' VALUES')[0]} VALUES {marks}"


BEHIND_ROWS = 256
"""Most rows in one statement of a batch sent behind."""


def _sized(rows: Sequence[Row], largest: int) -> Iterator[Sequence[Row]]:
    """``rows`` in chunks of ``largest`` rows, the rest in chunks of half that, half again and so on: a few
    statement texts in all, which the connection's statement cache keeps (each chunk size is a statement of its own,
    holding on to the values last bound to it: one per batch size would fill the cache with them)."""
    start, size = 0, largest
    while start < len(rows):
        while size > len(rows) - start:
            size //= 2
        yield rows[start : start + size]
        start += size


def _alone(raw: sqlite3.Connection, work: Callable[[], T]) -> T:
    """``work`` in a write transaction of its own on ``raw``, outside the store's ``Transactions`` (a batch sent
    behind, a block of ids reserved), committed, or rolled back when it fails."""
    raw.execute("BEGIN IMMEDIATE")
    try:
        done = work()
        raw.execute("COMMIT")
    except BaseException:
        with suppress(sqlite3.Error):
            raw.execute("ROLLBACK")
        raise
    return done


def _width(kind: str) -> int:
    """How many values a held row of ``kind`` has."""
    return HELD_SQL[kind].count("?")


NEW_INSERT = f"INSERT INTO cs({NEW_COLUMNS}) VALUES({','.join('?' * len(NEW_COLUMNS.split(',')))})"
"""A new imported object with every other column null (``idsync.store.batches.insert_rows``)."""


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    return chunks(items, CHUNK)


def _casefold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _json_values_match(column: str, test: str) -> str:
    """SQL true when a JSON attribute of ``column`` (a scalar, or any element of an array) passes ``test``, a
    comparison whose left side is the value as case-folded text: booleans read ``true``/``false``, numbers in their
    JSON spelling. Parameters: the attribute, then the test's."""
    text = "CASE j.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(j.value AS TEXT) END"
    return f"EXISTS (SELECT 1 FROM json_each({column}, '$.' || json_quote(?)) j WHERE casefold({text}) {test})"


class _Connection:
    """The store's connection as its methods use it: every statement first sends the writes held back
    (``idsync.store.held``), so the database answers it with them. Transaction control and the lookups that add
    the held writes to their answers use the raw connection instead."""

    __slots__ = ("raw", "tx")

    def __init__(self, tx: Transactions, raw: sqlite3.Connection) -> None:
        self.tx = tx
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        tx = self.tx
        if tx.behind is not None:
            tx.ready()
        if tx.held.entries:
            tx.prepare()
        return self.raw.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        tx = self.tx
        if tx.behind is not None:
            tx.ready()
        if tx.held.entries:
            tx.prepare()
        return self.raw.executemany(sql, rows)


class SQLiteStore:
    def __init__(self, path: Path | str, *, synchronous: str = "NORMAL") -> None:
        self.path = str(path)
        self.url = f"sqlite:///{self.path}"
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._raw = sqlite3.connect(self.path, isolation_level=None, timeout=60.0, check_same_thread=False)
        self._reader: sqlite3.Connection | None = None
        """The second connection while writes are sent behind."""
        self._presence = KeyPresence()
        self._memory = LookupMemory(on_rollback=self._presence.rolled_back)
        self._ids = RowIds(self._raw, self._reserve_ids, self._wait_behind)
        self._tx = Transactions(
            self._raw.execute, self._send_held, self._memory, begin="BEGIN IMMEDIATE", ended=self._ids.ended
        )
        self._held = self._tx.held
        self._db = _Connection(self._tx, self._raw)
        # a new store: rows of JSON documents and indexes of text keys fit better in 8 KiB pages than the default 4
        self._db.execute("PRAGMA page_size=8192")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.execute("PRAGMA foreign_keys=OFF")
        self._db.execute("PRAGMA cache_size=-65536")
        self._db.execute("PRAGMA temp_store=MEMORY")
        self._db.execute("PRAGMA wal_autocheckpoint=10000")
        # SQLite's lower() and LIKE fold ASCII only; searches fold case as the key index does
        self._raw.create_function("casefold", 1, _casefold, deterministic=True)
        self._keys = KeyConfig()
        self._migrate()
        self._load_key_config()

    # lifecycle -------------------------------------------------------------------------------------------------
    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        for number, sql in migration_scripts("idsync.store.sqlite"):
            if number > version:
                with self.transaction():
                    for statement in sql.split(";\n"):
                        if statement.strip():
                            self._db.execute(statement)
                    self._db.execute(f"PRAGMA user_version={number}")

    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self._raw.close()

    def transaction(self) -> AbstractContextManager[None]:
        return self._tx.transaction()

    def object_scope(self) -> AbstractContextManager[None]:
        """One object's work inside a page: rolled back alone when it fails, so the page goes on. Its savepoint is
        taken lazily (``idsync.store.held``)."""
        return self._tx.object_scope()

    def savepoint_rollback(self) -> AbstractContextManager[None]:
        """Run work that is always rolled back (``preview``); inside a transaction only this work is undone."""
        return self._tx.savepoint_rollback()

    def key_filters(self) -> AbstractContextManager[None]:
        return self._presence.enabled()

    def write_behind(self) -> AbstractContextManager[None]:
        if self.path == ":memory:" or self._tx.depth or self._tx.behind is not None:
            return nullcontext()  # a second connection would open another database
        return self._write_behind()

    @contextmanager
    def _write_behind(self) -> Iterator[None]:
        reader = sqlite3.connect(self.path, isolation_level=None, timeout=60.0, check_same_thread=False)
        reader.execute("PRAGMA query_only=1")
        reader.execute("PRAGMA cache_size=-8192")  # emptied by each batch's commit: a large one would not help
        reader.create_function("casefold", 1, _casefold, deterministic=True)
        behind = WriteBehind(self._prepare_behind)
        self._reader, self._tx.behind = reader, behind
        self._ids.reserving()
        try:
            yield
        finally:
            try:
                behind.close()
            finally:
                self._reader, self._tx.behind = None, None
                self._ids.clear()
                reader.close()

    def _wait_behind(self) -> None:
        if self._tx.behind is not None:
            self._tx.behind.wait()

    def _reserve_ids(self, table: str, size: int) -> Block:
        """A block of ids reserved now (``row_ids``): in the transaction in progress if it has begun (and then
        for it alone), else in one of its own, once the batch in flight has landed."""
        self._wait_behind()
        tx, raw = self._tx, self._raw
        if tx.depth and tx.begun:
            self._ids.scoped.add(table)
            return reserve(raw, table, size)
        return _alone(raw, lambda: reserve(raw, table, size))

    def _prepare_behind(self, batch: HeldWrites) -> Write:
        """The batch's statements, made here: a few each of many rows (``_behind_sql``), a link update only the
        last of its row's (they come from one ``FROM`` list, of which SQLite would take any)."""
        raw, ids = self._raw, self._ids
        most = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        by_kind = batch.rows_by_kind()
        by_kind[LINKS] = list({row[-1]: row for row in by_kind[LINKS]}.values())
        statements = [
            (_behind_sql(kind, len(chunk)), list(chain.from_iterable(chunk)))
            for kind, rows in by_kind.items()
            for chunk in _sized(rows, min(BEHIND_ROWS, most // _width(kind)))
        ]
        ahead = ids.ahead(("cs", "mv"))

        def work() -> list[tuple[str, Block]]:
            for sql, values in statements:
                raw.execute(sql, values)
            return [(table, reserve(raw, table, size)) for table, size in ahead]

        def write() -> None:
            for table, block in _alone(raw, work):
                ids.reserved(table, block)

        return write

    def _reads(self) -> tuple[sqlite3.Connection, list[HeldWrites]]:
        """The connection for a lookup that adds the held writes to its answer, and the held writes to add: while
        reading behind, the second connection and the batch in flight before the transaction's own."""
        tx = self._tx
        if self._reader is None or not tx.reading_behind():
            return self._raw, [self._held]
        batch = tx.behind.in_flight() if tx.behind is not None else None
        return self._reader, [self._held] if batch is None else [batch, self._held]

    def cs_value_taken(self, connector: str, attribute: str, value: str, own: int | None) -> bool:
        return value_taken(self._presence, self.cs_find, (CS_KEYS, connector, attribute), value, own)

    def mv_value_taken(self, object_type: str, attribute: str, value: str, own: int | None) -> bool:
        return value_taken(self._presence, self.mv_find, (MV_KEYS, object_type, attribute), value, own)

    def _send_held(self, kind: str, rows: list[Row]) -> None:
        self._raw.executemany(HELD_SQL[kind], rows)

    def _q(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._db.execute(sql, params).fetchall()

    # meta, watermarks, locks --------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str | None) -> None:
        with self.transaction():
            if value is None:
                self._db.execute("DELETE FROM meta WHERE key=?", (key,))
            else:
                self._db.execute(
                    "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                    (key, value),
                )

    def get_watermark(self, connector: str) -> str | None:
        row = self._db.execute("SELECT value FROM watermarks WHERE connector=?", (connector,)).fetchone()
        return row[0] if row else None

    def set_watermark(self, connector: str, value: str | None) -> None:
        with self.transaction():
            if value is None:
                self._db.execute("DELETE FROM watermarks WHERE connector=?", (connector,))
            else:
                self._db.execute(
                    "INSERT INTO watermarks(connector, value, updated) VALUES(?, ?, ?) "
                    "ON CONFLICT(connector) DO UPDATE SET value=excluded.value, updated=excluded.updated",
                    (connector, value, time.time()),
                )

    def acquire_lock(self, name: str, owner: str, ttl_seconds: float) -> bool:
        now = time.time()
        with self.transaction():
            row = self._db.execute("SELECT owner, expires FROM locks WHERE name=?", (name,)).fetchone()
            if row and row[0] != owner and row[1] > now:
                return False
            self._db.execute(
                "INSERT INTO locks(name, owner, expires) VALUES(?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET owner=excluded.owner, expires=excluded.expires",
                (name, owner, now + ttl_seconds),
            )
            return True

    def lock_holder(self, name: str) -> str | None:
        row = self._db.execute("SELECT owner FROM locks WHERE name=? AND expires>?", (name, time.time())).fetchone()
        return str(row[0]) if row else None

    def release_lock(self, name: str, owner: str) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM locks WHERE name=? AND owner=?", (name, owner))

    # connector space ------------------------------------------------------------------------------------------
    def cs_get(self, cs_id: int) -> CSObject | None:
        row = self._db.execute(f"SELECT {CS_COLUMNS} FROM cs WHERE id=?", (cs_id,)).fetchone()
        return cs_from_row(row) if row else None

    def _cs_in(
        self,
        columns: str,
        where: str,
        params: Sequence[Any],
        values: Iterable[Any],
        *,
        raw: sqlite3.Connection | None = None,
    ) -> Iterator[Row]:
        """Rows of ``cs`` (``columns``) where ``where``, which ends in ``IN``, holds for one of the distinct ``values``,
        in chunks, in id order within a chunk. ``raw``: the connection to read without sending the held writes
        (the caller adds them)."""
        db: _Connection | sqlite3.Connection = self._db if raw is None else raw
        for chunk in _chunks(list(dict.fromkeys(values))):
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT {columns} FROM cs WHERE {where} ({marks}) ORDER BY id"
            yield from db.execute(sql, [*params, *chunk]).fetchall()

    def cs_get_many(self, ids: Iterable[int]) -> dict[int, CSObject]:
        return {row[0]: cs_from_row(row) for row in self._cs_in(CS_COLUMNS, "id IN", (), ids)}

    def cs_by_anchor(self, connector: str, anchors: Iterable[str]) -> dict[str, CSObject]:
        rows = self._cs_in(CS_COLUMNS, "connector=? AND anchor IN", (connector,), anchors)
        return {row[3]: cs_from_row(row) for row in rows}

    def cs_by_identifier(self, connector: str, identifiers: Iterable[str]) -> dict[str, list[CSObject]]:
        keys = (identifier_key(i) for i in identifiers)
        rows = self._cs_in(f"{CS_COLUMNS}, identifier_key", "connector=? AND identifier_key IN", (connector,), keys)
        return grouped((row[-1], cs_from_row(row[:-1])) for row in rows)

    def cs_by_mv(self, mv_ids: Iterable[int], known: Mapping[int, CSObject] | None = None) -> dict[int, list[CSObject]]:
        rows = self._cs_in(CS_COLUMNS, "mv_id IN", (), mv_ids)
        return grouped((row[7], cs_known(row, known)) for row in rows)

    def cs_refs_by_anchor(self, connector: str, anchors: Iterable[str]) -> dict[str, CSRef]:
        def fetch(wanted: list[str]) -> dict[str, CSRef]:
            # held inserts have no anchor: the database has every object an anchor names
            conn, held = self._reads()
            rows = self._cs_in(CS_REF_COLUMNS, "connector=? AND anchor IN", (connector,), wanted, raw=conn)
            found = {row[3]: CSRef(*row) for row in rows}
            for writes in held:
                linked = writes.linked
                found = {anchor: linked(ref) for anchor, ref in found.items()}
            return found

        return self._memory.by_anchors(connector, anchors, fetch)

    def cs_refs_by_identifier(self, connector: str, identifiers: Iterable[str]) -> dict[str, list[CSRef]]:
        def fetch(keys: list[str]) -> dict[str, list[CSRef]]:
            conn, held = self._reads()
            where = "connector=? AND identifier_key IN"
            rows = self._cs_in(f"{CS_REF_COLUMNS}, identifier_key", where, (connector,), keys, raw=conn)
            pairs: Iterable[tuple[str, CSRef]] = ((row[-1], CSRef(*row[:-1])) for row in rows)
            for writes in held:
                found = writes.by_identifier(pairs, connector, keys)
                pairs = [(key, ref) for key, refs in found.items() for ref in refs]
            return found

        return self._memory.by_identifiers(connector, identifiers, fetch)

    def cs_refs_by_mv(self, mv_ids: Iterable[int]) -> dict[int, list[CSRef]]:
        def fetch(wanted: list[int]) -> dict[int, list[CSRef]]:
            conn, held = self._reads()

            def read(where: str, values: list[int]) -> list[CSRef]:
                return [CSRef(*row) for row in self._cs_in(CS_REF_COLUMNS, where, (), values, raw=conn)]

            refs = read("mv_id IN", wanted)
            by_id: Callable[[list[int]], list[CSRef]] = partial(read, "id IN")
            for writes in held:
                refs = writes.by_mv(refs, wanted, self._memory.refs, by_id)
                by_id = writes.read_through(by_id)
            return grouped((ref.mv_id, ref) for ref in refs if ref.mv_id is not None)

        return self._memory.by_mv_ids(mv_ids, fetch)

    def _write_cs_keys(self, objs: Sequence[CSObject], *, replace: bool) -> None:
        keys: dict[int, list[Row]] = {}
        for obj in objs:
            attrs = self._keys.cs.get(obj.connector)
            if attrs:
                keys[obj.id] = list(cs_keys(obj, attrs))
        if replace:
            keys = self._changed_keys(CS_KEYS, keys)
            if keys:
                self._db.executemany("DELETE FROM cs_keys WHERE cs_id=?", [(i,) for i in keys])
                self._presence.rewritten(CS_KEYS, keys)
        rows = [row for owned in keys.values() for row in owned]
        if rows:
            self._db.executemany("INSERT INTO cs_keys(connector, attribute, value, cs_id) VALUES(?,?,?,?)", rows)
            self._presence.written(CS_KEYS, rows)

    def _changed_keys(self, table: str, keys: dict[int, list[Row]]) -> dict[int, list[Row]]:
        """Of the owners ``keys`` gives their key rows now, those whose stored rows differ. Reading them costs
        the owner index; deleting and writing unchanged rows again touches the value index at random, which at a
        million objects was most of what a delta sync wrote."""
        scope, owner = KEY_COLUMNS[table]
        stored: dict[int, list[Row]] = {owner_id: [] for owner_id in keys}
        for chunk in _chunks(list(keys)):
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT {scope}, attribute, value, {owner} FROM {table} WHERE {owner} IN ({marks})"
            for row in self._db.execute(sql, chunk):
                stored[row[3]].append(tuple(row))
        return {i: rows for i, rows in keys.items() if sorted(stored[i]) != sorted(rows)}

    def cs_insert(self, obj: CSObject) -> int:
        if self._tx.depth and obj.anchor is None:
            # held back (no anchor: no unique index to violate); sent with the page or before the next statement
            obj.id = self._ids.new("cs")
            attrs = self._keys.cs.get(obj.connector)
            keys = cs_keys(obj, attrs) if attrs else []
            self._tx.hold_cs_insert((obj.id, *cs_to_params(obj)), keys)
            self._presence.written(CS_KEYS, keys)
            return obj.id
        self._ids.forget("cs")
        with self.transaction():
            try:
                cur = self._db.execute(
                    "INSERT INTO cs(connector, object_type, anchor, identifier, identifier_key, hologram, link_state, "
                    "mv_id, link_rule, pending_import, pending_export, export_op, unconfirmed, error, last_seen) "
                    "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    cs_to_params(obj),
                )
            except sqlite3.IntegrityError:
                raise StoreError(anchor_taken(obj)) from None
            obj.id = int(cur.lastrowid or 0)
            self._write_cs_keys([obj], replace=False)
            self._memory.cs_written([obj])
        return obj.id

    def cs_insert_many(self, objs: Sequence[CSObject]) -> list[tuple[CSObject, str]]:
        """One ``executemany`` for the batch, ids allocated here as for the held inserts (``held.py``). The batch
        is first sent as it is, under a savepoint: the unique index checks every anchor as it goes. Only when it
        refuses one (rare: an import reads a page's anchors before) is the batch undone, the anchors already taken
        read, and the rest sent again."""
        if not objs:
            return []
        with self.transaction():
            if self._insert_new(objs):
                return []
            taken: set[tuple[str, str]] = set()
            for connector, anchors in anchors_by_connector(objs).items():
                rows = self._cs_in("anchor", "connector=? AND anchor IN", (connector,), anchors, raw=self._raw)
                taken.update((connector, row[0]) for row in rows)
            accepted, refused = split_by_anchor(objs, taken)
            if accepted and not self._insert_new(accepted):
                raise StoreError(anchor_taken(self._anchor_conflict(accepted)))
        return refused

    def _insert_new(self, objs: Sequence[CSObject]) -> bool:
        """Insert new objects with ids of their own; False, with nothing written and their ids back to 0, when the
        unique anchor index refuses one of them."""
        new_id, raw = self._ids.new, self._raw
        for obj in objs:
            obj.id = new_id("cs")
        short, full = insert_rows(objs)
        self._db.execute("SAVEPOINT cs_batch")  # sends the held writes first
        try:
            if short:
                raw.executemany(NEW_INSERT, short)
            if full:
                raw.executemany(HELD_SQL[CS], full)
        except sqlite3.IntegrityError:
            raw.execute("ROLLBACK TO cs_batch")
            raw.execute("RELEASE cs_batch")
            for obj in objs:
                obj.id = 0
            return False
        raw.execute("RELEASE cs_batch")
        self._write_cs_keys(objs, replace=False)
        self._memory.cs_written(objs)
        return True

    def cs_save(self, objs: Sequence[CSObject]) -> None:
        if not objs:
            return
        with self.transaction():
            try:
                self._db.executemany(
                    "UPDATE cs SET connector=?, object_type=?, anchor=?, identifier=?, identifier_key=?, hologram=?, "
                    "link_state=?, mv_id=?, link_rule=?, pending_import=?, pending_export=?, export_op=?, "
                    "unconfirmed=?, error=?, last_seen=? WHERE id=?",
                    [(*cs_to_params(o), o.id) for o in objs],
                )
            except sqlite3.IntegrityError:
                self._memory.rolled_back()  # the rows of the batch before the failing one were written
                raise StoreError(anchor_taken(self._anchor_conflict(objs))) from None
            self._write_cs_keys(objs, replace=True)
            self._memory.cs_written(objs)

    def _anchor_conflict(self, objs: Sequence[CSObject]) -> CSObject:
        """The object of a failed batch whose anchor another object has (the failed statement alone was undone)."""
        for obj in objs:
            if obj.anchor is None:
                continue
            row = self._db.execute(
                "SELECT 1 FROM cs WHERE connector=? AND anchor=? AND id<>?", (obj.connector, obj.anchor, obj.id)
            ).fetchone()
            if row:
                return obj
        return objs[0]

    def cs_save_links(self, objs: Sequence[CSObject]) -> None:
        if not objs:
            return
        if self._tx.depth:
            self._held.update_links([(*cs_link_params(o), o.id) for o in objs])
            self._memory.cs_written(objs)
            return
        with self.transaction():
            self._db.executemany(
                "UPDATE cs SET link_state=?, mv_id=?, link_rule=?, pending_import=?, error=? WHERE id=?",
                [(*cs_link_params(o), o.id) for o in objs],
            )
            self._memory.cs_written(objs)

    def cs_delete(self, ids: Iterable[int]) -> None:
        wanted = [(i,) for i in ids]
        if not wanted:
            return
        with self.transaction():
            self._db.executemany("DELETE FROM cs WHERE id=?", wanted)
            self._db.executemany("DELETE FROM cs_keys WHERE cs_id=?", wanted)
            self._presence.rewritten(CS_KEYS, (i for (i,) in wanted))
            self._memory.cs_deleted(i for (i,) in wanted)

    def cs_mark_seen(self, connector: str, ids: Iterable[int], marker: int) -> None:
        with self.transaction():
            self._db.executemany("UPDATE cs SET last_seen=? WHERE id=?", [(marker, i) for i in ids])

    def cs_unseen(self, connector: str, marker: int, after_id: int, limit: int) -> list[CSObject]:
        rows = self._q(
            f"SELECT {CS_COLUMNS} FROM cs WHERE +connector=? AND anchor IS NOT NULL AND last_seen<>? AND id>? "
            "ORDER BY id LIMIT ?",
            (connector, marker, after_id, limit),
        )
        return [cs_from_row(r) for r in rows]

    def _cs_where(self, flt: CSFilter, *, paging: bool = False) -> tuple[str, list[Any]]:
        """``paging``: for a page in id order. A page of a connector's objects (none of the states below, which
        have indexes of their own) walks the table in id order: ``+connector`` keeps SQLite from choosing the
        identifier index, with which it would sort every object of the connector for each page."""
        clauses: list[str] = []
        params: list[Any] = []
        if flt.connector is not None:
            indexed = flt.pending_import or flt.pending_export or flt.error or flt.unconfirmed or flt.link_states
            clauses.append("+connector=?" if paging and not indexed else "connector=?")
            params.append(flt.connector)
        if flt.object_type is not None:
            clauses.append("object_type=?")
            params.append(flt.object_type)
        if flt.pending_import:
            clauses.append("pending_import IS NOT NULL")
        if flt.pending_export:
            clauses.append("pending_export IS NOT NULL")
        if flt.export_ops:
            clauses.append(f"export_op IN ({','.join('?' * len(flt.export_ops))})")
            params.extend(flt.export_ops)
        if flt.error:
            clauses.append("error IS NOT NULL")
        if flt.unconfirmed:
            clauses.append("unconfirmed IS NOT NULL")
        if flt.link_states:
            clauses.append(f"link_state IN ({','.join('?' * len(flt.link_states))})")
            params.extend(flt.link_states)
        if flt.identifier_like is not None:
            clauses.append("identifier_key LIKE ? ESCAPE '\\'")
            params.append(flt.identifier_like.casefold())
        if flt.attribute is not None and flt.value is not None:
            clauses.append(_json_values_match("cs.hologram", "= casefold(?)"))
            params.extend([flt.attribute, flt.value])
        where = " AND ".join(f"({c})" for c in clauses) if clauses else "1=1"
        return where, params

    def cs_page(self, flt: CSFilter, after_id: int, limit: int) -> list[CSObject]:
        where, params = self._cs_where(flt, paging=True)
        sql = f"SELECT {CS_COLUMNS} FROM cs WHERE {where} AND id>? ORDER BY id LIMIT ?"
        rows = self._page_behind(flt, after_id, sql, [*params, after_id, limit])
        if rows is None:
            rows = self._q(sql, [*params, after_id, limit])
        return [cs_from_row(r) for r in rows]

    def _page_behind(self, flt: CSFilter, after_id: int, sql: str, params: list[Any]) -> list[Row] | None:
        """A page read beside the batch in flight (``write_behind``), when that batch does not change it: it inserts
        no object of the page's connector and updates the links of none of the page's objects (nor, for a page
        by link state, pending import or error, of any object after the page's start). None: read it after the
        batch."""
        behind = self._tx.behind
        if self._reader is None or behind is None or self._tx.depth:
            return None
        batch = behind.in_flight()
        if batch is None or batch.inserts_cs_of(flt.connector):
            return None
        if (flt.pending_import or flt.error or flt.link_states) and any(i > after_id for i in batch.links):
            return None
        rows = self._reader.execute(sql, params).fetchall()
        links = batch.links
        return None if any(row[0] in links for row in rows) else rows

    def cs_has_unanchored(self, connector: str) -> bool:
        sql = "SELECT 1 FROM cs WHERE connector=? AND anchor IS NULL LIMIT 1"
        return self._db.execute(sql, (connector,)).fetchone() is not None

    def cs_count(self, flt: CSFilter) -> int:
        where, params = self._cs_where(flt)
        return int(self._db.execute(f"SELECT count(*) FROM cs WHERE {where}", params).fetchone()[0])

    def cs_find(self, connector: str, attribute: str, values: Iterable[str]) -> dict[str, list[int]]:
        return self._find_keys(CS_KEYS, connector, attribute, list(dict.fromkeys(values)))

    def _find_keys(self, table: str, within: str, attribute: str, values: list[str]) -> dict[str, list[int]]:
        """value -> owner ids, from a key index (``cs_keys`` by connector, ``mv_keys`` by object type), with the
        key rows of held inserts."""
        scope, owner = KEY_COLUMNS[table]
        values = self._presence.candidates((table, within, attribute), values, self._index)
        out: dict[str, list[int]] = {}
        if not values:
            return out
        conn, held = self._reads()
        for chunk in _chunks(values):
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT value, {owner} FROM {table} WHERE {scope}=? AND attribute=? AND value IN ({marks})",
                [within, attribute, *chunk],
            ).fetchall()
            for value, owner_id in rows:
                out.setdefault(value, []).append(owner_id)
        for writes in held:
            out = writes.with_keys(out, table, within, attribute, values)
        return out

    def _index(self, index: Index) -> list[tuple[str, int]]:
        """Every row (value, owner) of one key index, the held writes sent first (``idsync.store.presence``)."""
        table, within, attribute = index
        scope, owner = KEY_COLUMNS[table]
        sql = f"SELECT value, {owner} FROM {table} WHERE {scope}=? AND attribute=?"
        return [(v, o) for v, o in self._q(sql, (within, attribute))]

    # metaverse ------------------------------------------------------------------------------------------------
    def mv_get(self, mv_id: int) -> MVObject | None:
        row = self._db.execute(f"SELECT {MV_COLUMNS} FROM mv WHERE id=?", (mv_id,)).fetchone()
        return mv_from_row(row) if row else None

    def mv_get_many(self, ids: Iterable[int]) -> dict[int, MVObject]:
        wanted = list(dict.fromkeys(ids))
        out: dict[int, MVObject] = {}
        for chunk in _chunks(wanted):
            marks = ",".join("?" * len(chunk))
            for row in self._q(f"SELECT {MV_COLUMNS} FROM mv WHERE id IN ({marks})", chunk):
                out[row[0]] = mv_from_row(row)
        return out

    def _write_mv_keys(self, objs: Sequence[MVObject], *, replace: bool) -> None:
        keys: dict[int, list[Row]] = {}
        for obj in objs:
            attrs = self._keys.mv.get(obj.object_type)
            if attrs:
                keys[obj.id] = list(mv_keys(obj, attrs))
        changed = self._changed_keys(MV_KEYS, keys) if replace else keys
        if replace and changed:
            self._db.executemany("DELETE FROM mv_keys WHERE mv_id=?", [(i,) for i in changed])
            self._presence.rewritten(MV_KEYS, changed)
        rows = [row for owned in changed.values() for row in owned]
        if rows:
            self._db.executemany("INSERT INTO mv_keys(object_type, attribute, value, mv_id) VALUES(?,?,?,?)", rows)
            self._presence.written(MV_KEYS, rows)
        self._memory.mv_written(keys, [row for owned in keys.values() for row in owned])

    def mv_insert(self, obj: MVObject) -> int:
        if self._tx.depth:
            obj.id = self._ids.new("mv")
            attrs = self._keys.mv.get(obj.object_type)
            rows = mv_keys(obj, attrs) if attrs else []
            self._held.insert_mv((obj.id, *mv_to_params(obj)), rows)
            self._presence.written(MV_KEYS, rows)
            self._memory.mv_inserted(obj.id, rows)
            return obj.id
        with self.transaction():
            cur = self._db.execute(
                "INSERT INTO mv(object_type, attributes, provenance, created_run) VALUES(?,?,?,?)", mv_to_params(obj)
            )
            obj.id = int(cur.lastrowid or 0)
            self._write_mv_keys([obj], replace=False)
        return obj.id

    def mv_save(self, objs: Sequence[MVObject]) -> None:
        if not objs:
            return
        with self.transaction():
            self._db.executemany(
                "UPDATE mv SET object_type=?, attributes=?, provenance=?, created_run=? WHERE id=?",
                [(*mv_to_params(o), o.id) for o in objs],
            )
            self._write_mv_keys(objs, replace=True)

    def mv_delete(self, ids: Iterable[int]) -> None:
        wanted = [(i,) for i in ids]
        if not wanted:
            return
        with self.transaction():
            self._db.executemany("DELETE FROM mv WHERE id=?", wanted)
            self._db.executemany("DELETE FROM mv_keys WHERE mv_id=?", wanted)
            self._presence.rewritten(MV_KEYS, (i for (i,) in wanted))
            self._db.executemany("DELETE FROM unresolved WHERE mv_id=?", wanted)
            self._memory.mv_written((i for (i,) in wanted), ())

    def mv_find(self, object_type: str, attribute: str, values: Iterable[str]) -> dict[str, list[int]]:
        fetch = partial(self._find_keys, MV_KEYS, object_type, attribute)
        return self._memory.mv_find(object_type, attribute, list(dict.fromkeys(values)), fetch)

    def mv_page(self, object_type: str | None, after_id: int, limit: int) -> list[MVObject]:
        if object_type is None:
            rows = self._q(f"SELECT {MV_COLUMNS} FROM mv WHERE id>? ORDER BY id LIMIT ?", (after_id, limit))
        else:
            rows = self._q(
                f"SELECT {MV_COLUMNS} FROM mv WHERE object_type=? AND id>? ORDER BY id LIMIT ?",
                (object_type, after_id, limit),
            )
        return [mv_from_row(r) for r in rows]

    def mv_count(self, object_type: str | None = None) -> int:
        if object_type is None:
            return int(self._db.execute("SELECT count(*) FROM mv").fetchone()[0])
        return int(self._db.execute("SELECT count(*) FROM mv WHERE object_type=?", (object_type,)).fetchone()[0])

    def mv_search(self, object_type: str | None, attribute: str, value: str, limit: int) -> list[MVObject]:
        """Objects whose attribute (any value of a multi-valued one) matches ``value``, ``*`` a wildcard, in any
        case."""
        clauses = ["object_type=?"] if object_type else []
        params: list[Any] = [object_type] if object_type else []
        clauses.append(_json_values_match("mv.attributes", "LIKE casefold(?) ESCAPE '\\'"))
        params += [attribute, like_pattern(value)]
        rows = self._q(
            f"SELECT {MV_COLUMNS} FROM mv WHERE {' AND '.join(clauses)} ORDER BY id LIMIT ?", [*params, limit]
        )
        return [mv_from_row(r) for r in rows]

    # keys -----------------------------------------------------------------------------------------------------
    def _load_key_config(self) -> None:
        self._keys = key_config_from_text(self.get_meta("key_config"))

    def configure_keys(self, keys: KeyConfig) -> bool:
        if keys.fingerprint() == self._keys.fingerprint():
            self._keys = keys
            return False
        self._keys = keys
        with self.transaction():
            self._memory.rolled_back()
            self._db.execute("DELETE FROM mv_keys")
            self._db.execute("DELETE FROM cs_keys")
            for object_type in keys.mv:
                for page in id_pages(partial(self.mv_page, object_type, limit=5000)):
                    self._write_mv_keys(page, replace=False)
            for connector in keys.cs:
                for cs_page in id_pages(partial(self.cs_page, CSFilter(connector=connector), limit=5000)):
                    self._write_cs_keys(cs_page, replace=False)
            self.set_meta("key_config", key_config_to_text(keys))
        return True

    # unresolved references ----------------------------------------------------------------------------------
    def unresolved_set(self, mv_id: int, attribute: str, direction: str, rows: Sequence[Unresolved]) -> None:
        with self.transaction():
            self._db.execute(
                "DELETE FROM unresolved WHERE mv_id=? AND attribute=? AND direction=?", (mv_id, attribute, direction)
            )
            if rows:
                self._db.executemany(
                    "INSERT INTO unresolved(direction, mv_id, attribute, connector, ref) VALUES(?,?,?,?,?)",
                    [(r.direction, r.mv_id, r.attribute, r.connector, r.ref) for r in rows],
                )

    def unresolved_waiting_for(self, direction: str, connector: str, refs: Iterable[str]) -> list[Unresolved]:
        wanted = list(dict.fromkeys(refs))
        out: list[Unresolved] = []
        for chunk in _chunks(wanted):
            marks = ",".join("?" * len(chunk))
            rows = self._q(
                "SELECT direction, mv_id, attribute, connector, ref FROM unresolved "
                f"WHERE direction=? AND connector=? AND ref IN ({marks})",
                [direction, connector, *chunk],
            )
            out.extend(Unresolved(*r) for r in rows)
        return out

    def unresolved_for_mv(self, mv_ids: Iterable[int]) -> list[Unresolved]:
        wanted = list(dict.fromkeys(mv_ids))
        out: list[Unresolved] = []
        for chunk in _chunks(wanted):
            marks = ",".join("?" * len(chunk))
            rows = self._q(
                f"SELECT direction, mv_id, attribute, connector, ref FROM unresolved WHERE mv_id IN ({marks})", chunk
            )
            out.extend(Unresolved(*r) for r in rows)
        return out

    def unresolved_all(self) -> list[Unresolved]:
        rows = self._q("SELECT direction, mv_id, attribute, connector, ref FROM unresolved")
        return [Unresolved(*r) for r in rows]

    def unresolved_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM unresolved").fetchone()[0])

    # runs --------------------------------------------------------------------------------------------------------
    def run_start(self, profile: str, staging: bool) -> RunResult:
        now = time.time()
        with self.transaction():
            cur = self._db.execute(
                "INSERT INTO runs(profile, status, staging, started) VALUES(?,?,?,?)",
                (profile, RunStatus.IN_PROGRESS.value, int(staging), now),
            )
        return RunResult(int(cur.lastrowid or 0), profile, RunStatus.IN_PROGRESS, now, None, staging)

    def run_finish(self, run: RunResult) -> None:
        run.ended = run.ended or time.time()
        with self.transaction():
            self._db.execute("UPDATE runs SET status=?, ended=? WHERE id=?", (run.status.value, run.ended, run.id))

    def set_run_status(self, run_id: int, status: RunStatus) -> None:
        with self.transaction():
            self._db.execute(
                "UPDATE runs SET status=?, ended=coalesce(ended, ?) WHERE id=?", (status.value, time.time(), run_id)
            )
            self._db.execute(
                "UPDATE steps SET status=?, ended=coalesce(ended, ?) WHERE run_id=? AND status=?",
                (status.value, time.time(), run_id, RunStatus.IN_PROGRESS.value),
            )

    def step_start(self, run: RunResult, connector: str, kind: StepKind) -> StepResult:
        now = time.time()
        index = len(run.steps)
        with self.transaction():
            cur = self._db.execute(
                "INSERT INTO steps(run_id, idx, connector, kind, status, started) VALUES(?,?,?,?,?,?)",
                (run.id, index, connector, kind.value, RunStatus.IN_PROGRESS.value, now),
            )
        step = StepResult(int(cur.lastrowid or 0), run.id, index, connector, kind, started=now)
        run.steps.append(step)
        return step

    def step_save(self, step: StepResult) -> None:
        with self.transaction():
            self._db.execute(
                "UPDATE steps SET status=?, counters=?, ended=?, message=? WHERE id=?",
                (step.status.value, dumps(step.counters.to_json()), step.ended, step.message, step.id),
            )

    def add_errors(self, rows: Sequence[ErrorRow]) -> None:
        if not rows:
            return
        with self.transaction():
            self._db.executemany(
                f"INSERT INTO errors({ERROR_INSERT_COLUMNS}) VALUES(?,?,?,?,?,?,?,?,?,?)",
                [error_params(r) for r in rows],
            )

    def _run_from_row(self, row: tuple[Any, ...]) -> RunResult:
        run = run_from_row(row)
        steps = self._q(f"SELECT {STEP_COLUMNS} FROM steps WHERE run_id=? ORDER BY idx", (run.id,))
        run.steps = [step_from_row(s) for s in steps]
        return run

    def runs(self, limit: int = 20, before: int | None = None) -> list[RunResult]:
        if before is None:
            rows = self._q(f"SELECT {RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self._q(f"SELECT {RUN_COLUMNS} FROM runs WHERE id<? ORDER BY id DESC LIMIT ?", (before, limit))
        return [self._run_from_row(r) for r in rows]

    def run_get(self, run_id: int) -> RunResult | None:
        row = self._db.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE id=?", (run_id,)).fetchone()
        return self._run_from_row(row) if row else None

    def interrupted_runs(self) -> list[RunResult]:
        rows = self._q(f"SELECT {RUN_COLUMNS} FROM runs WHERE status=? ORDER BY id", (RunStatus.IN_PROGRESS.value,))
        return [self._run_from_row(r) for r in rows]

    def errors(self, run_id: int | None = None, step_id: int | None = None, limit: int = 1000) -> list[ErrorRow]:
        where, params = equal_where("?", run_id=run_id, step_id=step_id)
        rows = self._q(
            f"SELECT {ERROR_COLUMNS} FROM errors WHERE {where} ORDER BY id LIMIT ?",
            [*params, limit],
        )
        return [ErrorRow(*r) for r in rows]

    def errors_for_cs(self, cs_id: int, limit: int = 20) -> list[ErrorRow]:
        rows = self._q(f"SELECT {ERROR_COLUMNS} FROM errors WHERE cs_id=? ORDER BY id DESC LIMIT ?", (cs_id, limit))
        return [ErrorRow(*r) for r in rows]

    # approvals ---------------------------------------------------------------------------------------------------
    def approval_get(self, connector: str) -> int:
        row = self._db.execute("SELECT count FROM approvals WHERE connector=?", (connector,)).fetchone()
        return int(row[0]) if row else 0

    def approval_set(self, connector: str, count: int) -> None:
        with self.transaction():
            if count <= 0:
                self._db.execute("DELETE FROM approvals WHERE connector=?", (connector,))
            else:
                self._db.execute(
                    "INSERT INTO approvals(connector, count, approved) VALUES(?,?,?) "
                    "ON CONFLICT(connector) DO UPDATE SET count=excluded.count, approved=excluded.approved",
                    (connector, count, time.time()),
                )

    # audit ------------------------------------------------------------------------------------------------------
    def audit_add(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        now = time.time()
        with self.transaction():
            self._db.executemany(
                f"INSERT INTO audit({AUDIT_INSERT_COLUMNS}) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                [audit_params(r, now) for r in rows],
            )

    def audit_search(
        self, *, cs_id: int | None = None, run_id: int | None = None, limit: int = 100, **filters: Any
    ) -> Iterator[dict[str, Any]]:
        where, params = AuditQuery(cs_id=cs_id, run_id=run_id, **filters).where("?")
        rows = self._q(f"SELECT {AUDIT_COLUMNS} FROM audit WHERE {where} ORDER BY id DESC LIMIT ?", [*params, limit])
        for row in rows:
            yield audit_from_row(row)


def open_sqlite(path: Path | str) -> SQLiteStore:
    try:
        return SQLiteStore(path)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot open the store at {path}: {exc}") from None
