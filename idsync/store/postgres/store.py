"""The PostgreSQL store: psycopg 3, hand-written SQL, versioned migrations; the SQLite store's semantics at scale.

One connection per store object, used by one thread, in autocommit mode: reads outside ``transaction()`` see
committed data only, and ``transaction()`` opens a real transaction block whose nested calls join it. Batch reads
bind one array (``= ANY(...)``) instead of an ``IN`` list, so each statement has one shape and is prepared once by
the driver; a batch update is one ``UPDATE ... FROM unnest(...)`` statement, many new rows one ``COPY``. Arrays
travel in binary (``%b``): the text format would escape every quote of every JSON document in Python.

Inside a write transaction, new objects, their key rows and link updates are held back and sent in batches
(``idsync.store.held``): a sync would otherwise pay several round trips per object. Their ids come in blocks from
the tables' identity sequences, so sync can link an object the moment it is created.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from functools import partial
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.string import TextLoader

from idsync.model import CSObject, ErrorRow, MVObject, RunResult, RunStatus, StepKind, StepResult, as_list
from idsync.store.base import CSFilter, CSRef, KeyConfig, StoreError, Unresolved
from idsync.store.batches import anchors_by_connector, split_by_anchor
from idsync.store.held import CS, CS_KEYS, KEY_COLUMNS, LINKS, MV, MV_KEYS, Row, Transactions
from idsync.store.lookups import LookupMemory
from idsync.store.postgres.statistics import Statistics
from idsync.store.postgres.urls import mask_url, scrub
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

CHUNK = 10_000
"""Values per bound array: keeps one statement's parameters and result bounded (invariant 7)."""

COPY_MIN = 200
"""Rows from which ``COPY`` beats a pipelined ``executemany``."""

REBUILD_PAGE = 5000

ID_BLOCK = (16, 4096)
"""Smallest and largest block of ids drawn from a sequence at once for held inserts."""

MIGRATION_LOCK = 0x1D5_0001
"""Advisory lock key: two processes opening a new store at once migrate it one after the other."""

CS_LINK_TYPES = {
    "link_state": "text",
    "mv_id": "bigint",
    "link_rule": "text",
    "pending_import": "text",
    "error": "text",
}
CS_TYPES = {
    "connector": "text",
    "object_type": "text",
    "anchor": "text",
    "identifier": "text",
    "identifier_key": "text",
    "hologram": "jsonb",
    "link_state": "text",
    "mv_id": "bigint",
    "link_rule": "text",
    "pending_import": "text",
    "pending_export": "text",
    "export_op": "text",
    "unconfirmed": "text",
    "error": "text",
    "last_seen": "bigint",
}
"""The columns ``cs_to_params`` fills, in its order, with their types."""
CS_WRITE_COLUMNS = ", ".join(CS_TYPES)
MV_TYPES = {"object_type": "text", "attributes": "jsonb", "provenance": "text", "created_run": "bigint"}
"""The columns ``mv_to_params`` fills, in its order, with their types."""
MV_WRITE_COLUMNS = ", ".join(MV_TYPES)
UNRESOLVED_COLUMNS = "direction, mv_id, attribute, connector, ref"
HELD_ROWS = {
    CS: ("cs", f"id, {CS_WRITE_COLUMNS}"),
    MV: ("mv", f"id, {MV_WRITE_COLUMNS}"),
    CS_KEYS: ("cs_keys", "connector, attribute, value, cs_id"),
    MV_KEYS: ("mv_keys", "object_type, attribute, value, mv_id"),
}
"""Where each kind of held insert (``idsync.store.held``) goes, with its columns in the held row's order."""
NOW = "extract(epoch FROM clock_timestamp())::float8"
"""The server's clock: lock expiry must not depend on which host's clock a process reads."""


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    return chunks(items, CHUNK)


def _marks(columns: str) -> str:
    return ",".join(["%s"] * len(columns.split(",")))


def _json_values_match(column: str, test: str) -> str:
    """SQL true when a JSON attribute of ``column`` (a scalar, or any element of an array) passes ``test``, a
    comparison whose left side is the value as lower-cased text: booleans read ``true``/``false``, numbers in their
    JSON spelling. Parameters: attribute, attribute, test's, attribute, test's.
    """
    return (
        f"(CASE jsonb_typeof({column} -> %s) WHEN 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements_text("
        f"{column} -> %s) AS e(v) WHERE lower(e.v) {test}) ELSE lower({column} ->> %s) {test} END)"
    )


def _storable(values: Iterable[Any]) -> list[Any]:
    """Lookup values without those holding a NUL character: PostgreSQL text cannot hold one, so no row has them,
    and sent as a parameter one would abort the transaction (the page, not only the object looking)."""
    return [v for v in values if not (type(v) is str and "\x00" in v)]


def _nul_fields(fields: dict[str, Any]) -> list[str]:
    return [name for name, value in fields.items() if any(isinstance(v, str) and "\x00" in v for v in as_list(value))]


def _cs_params(obj: CSObject) -> tuple[Any, ...]:
    """``cs_to_params``, refusing a NUL character (PostgreSQL text and JSONB strings cannot hold one) with the
    object and attribute named, before the server would abort the transaction over it."""
    params = cs_to_params(obj)
    if "\\u0000" in params[5] or any(isinstance(p, str) and "\x00" in p for p in params):
        fields = {"the identifier": obj.identifier, "the anchor": obj.anchor, "the error": obj.error}
        bad = _nul_fields(fields | {f"attribute {k!r}": v for k, v in obj.hologram.items()})
        if bad:
            raise StoreError(
                f"connector {obj.connector!r}: cannot store {obj.identifier!r}: {', '.join(bad)} holds a NUL "
                "character, which PostgreSQL cannot store"
            )
    return params


def _mv_params(obj: MVObject) -> tuple[Any, ...]:
    params = mv_to_params(obj)
    if "\\u0000" in params[1]:
        bad = _nul_fields({f"attribute {k!r}": v for k, v in obj.attributes.items()})
        if bad:
            raise StoreError(
                f"metaverse {obj.object_type} #{obj.id}: {', '.join(bad)} holds a NUL character, which PostgreSQL "
                "cannot store"
            )
    return params


def _unique_violation(exc: pg_errors.UniqueViolation, objs: Sequence[CSObject]) -> StoreError:
    """The object of a failed batch whose anchor was taken, as the server's detail names it."""
    detail = exc.diag.message_detail or ""
    for obj in objs:
        if obj.anchor is not None and f"=({obj.connector}, {obj.anchor})" in detail:
            return StoreError(anchor_taken(obj))
    return StoreError(f"cannot save connector-space objects: an anchor belongs to another object: {detail or exc}")


class _Connection:
    """The store's connection as its methods use it: every statement first sends the writes held back and takes
    the savepoints of the object scopes open (``idsync.store.held``). Transaction control, the drawing of ids and
    the lookups that add the held writes to their answers use the raw connection instead."""

    __slots__ = ("raw", "tx")

    def __init__(self, tx: Transactions, raw: psycopg.Connection[Any]) -> None:
        self.tx = tx
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        if self.tx.needs_prepare():
            self.tx.prepare()
        return self.raw.execute(sql, params)

    def cursor(self) -> psycopg.Cursor[Any]:
        if self.tx.needs_prepare():
            self.tx.prepare()
        return self.raw.cursor()


DB = _Connection | psycopg.Connection[Any]


class _SequenceIds:
    """Ids of held inserts, drawn from the table's identity sequence a block at a time (one statement a block).
    A block doubles while a transaction keeps drawing; the next transaction starts at what the last one used.
    Ids left in a block when the transaction ends are never used: gaps, as a rolled-back insert leaves."""

    __slots__ = ("block", "free", "raw", "sequences", "used")

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw
        self.free: dict[str, list[int]] = {}
        """Table -> the ids drawn and not used yet, the next one last."""
        self.block: dict[str, int] = {}
        self.used: dict[str, int] = {}
        self.sequences: dict[str, str] = {}

    def new(self, table: str) -> int:
        free = self.free.get(table)
        if not free:
            free = self.free[table] = self._draw(table)
        self.used[table] = self.used.get(table, 0) + 1
        return free.pop()

    def _draw(self, table: str) -> list[int]:
        sequence = self.sequences.get(table)
        if sequence is None:
            row = self.raw.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table,)).fetchone()
            assert row is not None and row[0] is not None, table
            sequence = self.sequences[table] = str(row[0])
        size = self.block.get(table, ID_BLOCK[0])
        self.block[table] = min(size * 2, ID_BLOCK[1])
        rows = self.raw.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", (sequence, size)).fetchall()
        return sorted((int(r[0]) for r in rows), reverse=True)

    def forget(self, table: str) -> None:
        """A row of ``table`` was inserted directly (the sequence gave its id): later held inserts draw ids past
        it, so ids keep the order of the inserts."""
        self.free.pop(table, None)

    def clear(self) -> None:
        """The transaction ended: drop what is left, and size the next blocks by what this one used."""
        for table, count in self.used.items():
            self.block[table] = max(ID_BLOCK[0], min(count, ID_BLOCK[1]))
        self.used.clear()
        self.free.clear()


class PostgresStore:
    def __init__(self, url: str, *, connect_timeout: int = 15) -> None:
        self.url = mask_url(url)
        """For display: the password is masked."""
        options: dict[str, Any] = {"autocommit": True}
        try:
            given = conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise StoreError(f"invalid PostgreSQL URL {self.url}: {scrub(str(exc), url)}") from None
        if "connect_timeout" not in given:
            options["connect_timeout"] = connect_timeout
        if "application_name" not in given:
            options["application_name"] = "idsync"
        try:
            self._raw = psycopg.connect(url, **options)
        except psycopg.Error as exc:
            reason = scrub(str(exc).strip(), url)
            raise StoreError(f"cannot connect to the PostgreSQL store at {self.url}: {reason}") from None
        # JSON columns come back as text and go through the same row conversion as every other store
        self._raw.adapters.register_loader("jsonb", TextLoader)
        self._presence = KeyPresence()
        self._memory = LookupMemory(on_rollback=self._presence.rolled_back)
        self._statistics = Statistics(self._raw.execute, self._planned_rows)
        self._ids = _SequenceIds(self._raw)
        self._tx = Transactions(
            self._raw.execute, self._send_held, self._memory, ended=self._ids.clear, savepoint_reads=True
        )
        self._held = self._tx.held
        self._db = _Connection(self._tx, self._raw)
        self._keys = KeyConfig()
        try:
            self._migrate()
            self._keys = key_config_from_text(self.get_meta("key_config"))
        except BaseException:
            self._raw.close()
            raise

    # lifecycle -------------------------------------------------------------------------------------------------
    def _migrate(self) -> None:
        known = migration_scripts("idsync.store.postgres")
        with self.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
            version = self.schema_version()
            newest = known[-1][0] if known else 0
            if version > newest:
                raise StoreError(
                    f"the store at {self.url} has schema version {version}, newer than this idsync knows "
                    f"({newest}): upgrade idsync"
                )
            for number, sql in known:
                if number > version:
                    self._db.execute(sql)
                    self._db.execute("DELETE FROM schema_version")
                    self._db.execute("INSERT INTO schema_version(version) VALUES (%s)", (number,))

    def schema_version(self) -> int:
        row = self._db.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def close(self) -> None:
        self._raw.close()

    def transaction(self) -> AbstractContextManager[None]:
        return self._tx.transaction()

    def object_scope(self) -> AbstractContextManager[None]:
        """One object's work inside a page: rolled back alone when it fails, so the page goes on.

        A failed statement aborts a PostgreSQL transaction; rolling back to the scope's savepoint makes it usable
        again, so the savepoint is taken before the scope's first statement (``idsync.store.held``).
        """
        return self._tx.object_scope()

    def savepoint_rollback(self) -> AbstractContextManager[None]:
        """Run work that is always rolled back (``preview``); inside a transaction only this work is undone."""
        return self._tx.savepoint_rollback()

    def key_filters(self) -> AbstractContextManager[None]:
        return self._presence.enabled()

    def write_behind(self) -> AbstractContextManager[None]:
        # pages commit in turn: a server's pages already send their held writes in a round trip per kind
        return nullcontext()

    def cs_value_taken(self, connector: str, attribute: str, value: str, own: int | None) -> bool:
        return value_taken(self._presence, self.cs_find, (CS_KEYS, connector, attribute), value, own)

    def mv_value_taken(self, object_type: str, attribute: str, value: str, own: int | None) -> bool:
        return value_taken(self._presence, self.mv_find, (MV_KEYS, object_type, attribute), value, own)

    def _send_held(self, kind: str, rows: list[Row]) -> None:
        if kind == LINKS:
            self._update_rows("cs", CS_LINK_TYPES, [(row[-1], *row[:-1]) for row in rows], db=self._raw)
            return
        table, columns = HELD_ROWS[kind]
        self._insert_rows(table, columns, rows, db=self._raw)

    def _q(self, sql: str, params: Sequence[Any] = (), *, db: DB | None = None) -> list[tuple[Any, ...]]:
        return (db or self._db).execute(sql, params).fetchall()

    def _rows_for(
        self, sql: str, params: Sequence[Any], values: Iterable[Any], *, raw: bool = False
    ) -> Iterator[tuple[Any, ...]]:
        """The rows of ``sql``, whose last parameter is an array, for the distinct ``values`` in bounded chunks.
        ``raw``: without sending the held writes (the caller adds them)."""
        db = self._raw if raw else self._db
        for chunk in _chunks(_storable(dict.fromkeys(values))):
            yield from self._q(sql, (*params, chunk), db=db)

    def _one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        return self._db.execute(sql, params).fetchone()

    def _insert_rows(self, table: str, columns: str, rows: Sequence[tuple[Any, ...]], *, db: DB | None = None) -> None:
        if not rows:
            return
        db = db or self._db
        if len(rows) < COPY_MIN:
            with db.cursor() as cur:
                cur.executemany(f"INSERT INTO {table}({columns}) VALUES({_marks(columns)})", rows)
        else:
            with db.cursor() as cur, cur.copy(f"COPY {table}({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        self._statistics.added(table, len(rows))

    def _planned_rows(self, table: str) -> int:
        row = self._raw.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", (table,)
        ).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def _update_rows(
        self, table: str, types: dict[str, str], rows: Sequence[tuple[Any, ...]], *, db: DB | None = None
    ) -> None:
        """Overwrite rows ``(id, *values)`` by id: one statement per chunk, each column bound as one array."""
        db = db or self._db
        if len(rows) == 1:
            sets = ", ".join(f"{c}=%s" for c in types)
            db.execute(f"UPDATE {table} SET {sets} WHERE id=%s", (*rows[0][1:], rows[0][0]))
            return
        latest = list({row[0]: row for row in rows}.values())  # an object saved twice in a batch: the last wins
        arrays = ", ".join(f"%b::{'text' if t == 'jsonb' else t}[]" for t in ("bigint", *types.values()))
        sets = ", ".join(f"{c}=v.{c}" + ("::jsonb" if t == "jsonb" else "") for c, t in types.items())
        sql = f"UPDATE {table} SET {sets} FROM unnest({arrays}) AS v(id, {', '.join(types)}) WHERE {table}.id = v.id"
        for chunk in _chunks(latest):
            db.execute(sql, [list(column) for column in zip(*chunk, strict=True)])

    # meta, watermarks, locks ---------------------------------------------------------------------------------
    def _get(self, table: str, key_column: str, column: str, key: str) -> Any:
        row = self._one(f"SELECT {column} FROM {table} WHERE {key_column}=%s", (key,))
        return row[0] if row else None

    def _put(self, table: str, key_column: str, key: str, values: dict[str, Any] | None) -> None:
        """Insert or overwrite the row of ``key``; delete it when ``values`` is None."""
        if values is None:
            self._db.execute(f"DELETE FROM {table} WHERE {key_column}=%s", (key,))
            return
        columns = ", ".join(values)
        updates = ", ".join(f"{c}=excluded.{c}" for c in values)
        self._db.execute(
            f"INSERT INTO {table}({key_column}, {columns}) VALUES(%s, {_marks(columns)}) "
            f"ON CONFLICT({key_column}) DO UPDATE SET {updates}",
            (key, *values.values()),
        )

    def get_meta(self, key: str) -> str | None:
        value: str | None = self._get("meta", "key", "value", key)
        return value

    def set_meta(self, key: str, value: str | None) -> None:
        self._put("meta", "key", key, None if value is None else {"value": value})

    def get_watermark(self, connector: str) -> str | None:
        value: str | None = self._get("watermarks", "connector", "value", connector)
        return value

    def set_watermark(self, connector: str, value: str | None) -> None:
        self._put(
            "watermarks", "connector", connector, None if value is None else {"value": value, "updated": time.time()}
        )

    def acquire_lock(self, name: str, owner: str, ttl_seconds: float) -> bool:
        # one statement: the row lock ON CONFLICT takes makes two owners racing for it see each other
        row = self._one(
            f"INSERT INTO locks(name, owner, expires) VALUES(%s, %s, {NOW} + %s) "
            "ON CONFLICT(name) DO UPDATE SET owner=excluded.owner, expires=excluded.expires "
            f"WHERE locks.owner = excluded.owner OR locks.expires <= {NOW} RETURNING owner",
            (name, owner, float(ttl_seconds)),
        )
        return row is not None

    def lock_holder(self, name: str) -> str | None:
        row = self._one(f"SELECT owner FROM locks WHERE name=%s AND expires > {NOW}", (name,))
        return str(row[0]) if row else None

    def release_lock(self, name: str, owner: str) -> None:
        self._db.execute("DELETE FROM locks WHERE name=%s AND owner=%s", (name, owner))

    # connector space ------------------------------------------------------------------------------------------
    def cs_get(self, cs_id: int) -> CSObject | None:
        row = self._one(f"SELECT {CS_COLUMNS} FROM cs WHERE id=%s", (cs_id,))
        return cs_from_row(row) if row else None

    def cs_get_many(self, ids: Iterable[int]) -> dict[int, CSObject]:
        rows = self._rows_for(f"SELECT {CS_COLUMNS} FROM cs WHERE id = ANY(%b::bigint[])", (), ids)
        return {row[0]: cs_from_row(row) for row in rows}

    def cs_by_anchor(self, connector: str, anchors: Iterable[str]) -> dict[str, CSObject]:
        sql = f"SELECT {CS_COLUMNS} FROM cs WHERE connector=%s AND anchor = ANY(%b::text[])"
        return {row[3]: cs_from_row(row) for row in self._rows_for(sql, (connector,), anchors)}

    def cs_by_identifier(self, connector: str, identifiers: Iterable[str]) -> dict[str, list[CSObject]]:
        sql = f"SELECT {CS_COLUMNS}, identifier_key FROM cs WHERE connector=%s AND identifier_key = ANY(%b::text[])"
        rows = self._rows_for(f"{sql} ORDER BY id", (connector,), (identifier_key(i) for i in identifiers))
        return grouped((row[-1], cs_from_row(row[:-1])) for row in rows)

    def cs_by_mv(self, mv_ids: Iterable[int], known: Mapping[int, CSObject] | None = None) -> dict[int, list[CSObject]]:
        rows = self._rows_for(f"SELECT {CS_COLUMNS} FROM cs WHERE mv_id = ANY(%b::bigint[]) ORDER BY id", (), mv_ids)
        return grouped((row[7], cs_known(row, known)) for row in rows)

    def cs_refs_by_anchor(self, connector: str, anchors: Iterable[str]) -> dict[str, CSRef]:
        sql = f"SELECT {CS_REF_COLUMNS} FROM cs WHERE connector=%s AND anchor = ANY(%b::text[])"

        def fetch(wanted: list[str]) -> dict[str, CSRef]:
            # held inserts have no anchor: the database has every object an anchor names
            rows = self._rows_for(sql, (connector,), wanted, raw=True)
            return {row[3]: linked(CSRef(*row)) for row in rows}

        linked = self._held.linked
        return self._memory.by_anchors(connector, anchors, fetch)

    def cs_refs_by_identifier(self, connector: str, identifiers: Iterable[str]) -> dict[str, list[CSRef]]:
        sql = (
            f"SELECT {CS_REF_COLUMNS}, identifier_key FROM cs WHERE connector=%s AND identifier_key = ANY(%b::text[]) "
            "ORDER BY id"
        )

        def fetch(keys: list[str]) -> dict[str, list[CSRef]]:
            rows = self._rows_for(sql, (connector,), keys, raw=True)
            return held.by_identifier(((row[-1], CSRef(*row[:-1])) for row in rows), connector, keys)

        held = self._held
        return self._memory.by_identifiers(connector, identifiers, fetch)

    def cs_refs_by_mv(self, mv_ids: Iterable[int]) -> dict[int, list[CSRef]]:
        def read(where: str, values: list[int]) -> list[CSRef]:
            sql = f"SELECT {CS_REF_COLUMNS} FROM cs WHERE {where} = ANY(%b::bigint[]) ORDER BY id"
            return [CSRef(*row) for row in self._rows_for(sql, (), values, raw=True)]

        def fetch(wanted: list[int]) -> dict[int, list[CSRef]]:
            refs = self._held.by_mv(read("mv_id", wanted), wanted, self._memory.refs, partial(read, "id"))
            return grouped((ref.mv_id, ref) for ref in refs if ref.mv_id is not None)

        return self._memory.by_mv_ids(mv_ids, fetch)

    def _write_cs_keys(self, objs: Sequence[CSObject], keys: KeyConfig, *, replace: bool) -> None:
        found = {o.id: cs_keys(o, keys.cs[o.connector]) for o in objs if keys.cs.get(o.connector)}
        self._write_keys(CS_KEYS, "connector, attribute, value, cs_id", found, replace=replace)

    def _write_mv_keys(self, objs: Sequence[MVObject], keys: KeyConfig, *, replace: bool) -> None:
        found = {o.id: mv_keys(o, keys.mv[o.object_type]) for o in objs if keys.mv.get(o.object_type)}
        self._write_keys(MV_KEYS, "object_type, attribute, value, mv_id", found, replace=replace)
        self._memory.mv_written(found, (row for rows in found.values() for row in rows))

    def _write_keys(self, table: str, columns: str, found: dict[int, list[Any]], *, replace: bool) -> None:
        """Index rows of the objects whose type has key attributes; ``replace`` first drops what they had."""
        if not found:
            return
        if replace:
            owner = columns.rsplit(",", 1)[1].strip()
            self._db.execute(f"DELETE FROM {table} WHERE {owner} = ANY(%b::bigint[])", (list(found),))
            self._presence.rewritten(table, found)
        rows = [row for rows in found.values() for row in rows]
        self._insert_rows(table, columns, rows)
        self._presence.written(table, rows)

    def cs_insert(self, obj: CSObject) -> int:
        if self._tx.depth and obj.anchor is None:
            # held back (no anchor: no unique index to violate); sent with the page or before the next statement
            params = _cs_params(obj)
            obj.id = self._ids.new("cs")
            attrs = self._keys.cs.get(obj.connector)
            keys = cs_keys(obj, attrs) if attrs else []
            self._tx.hold_cs_insert((obj.id, *params), keys)
            self._presence.written(CS_KEYS, keys)
            return obj.id
        self._ids.forget("cs")
        with self.transaction():
            row = self._one(
                f"INSERT INTO cs({CS_WRITE_COLUMNS}) VALUES({_marks(CS_WRITE_COLUMNS)}) "
                "ON CONFLICT (connector, anchor) WHERE anchor IS NOT NULL DO NOTHING RETURNING id",
                _cs_params(obj),
            )
            if row is None:
                raise StoreError(anchor_taken(obj))
            obj.id = int(row[0])
            self._write_cs_keys([obj], self._keys, replace=False)
            self._memory.cs_written([obj])
        return obj.id

    def cs_insert_many(self, objs: Sequence[CSObject]) -> list[tuple[CSObject, str]]:
        """Ids drawn from the table's sequence as held inserts draw theirs, rows sent with ``COPY``; the anchors
        already taken are read first (only a run writes connector spaces, one run at a time), so no row can be
        refused."""
        if not objs:
            return []
        with self.transaction():
            taken: set[tuple[str, str]] = set()
            sql = "SELECT anchor FROM cs WHERE connector=%s AND anchor = ANY(%b::text[])"
            for connector, anchors in anchors_by_connector(objs).items():
                taken.update((connector, row[0]) for row in self._rows_for(sql, (connector,), anchors))
            accepted, refused = split_by_anchor(objs, taken)
            stored: list[CSObject] = []
            rows: list[tuple[Any, ...]] = []
            for obj in accepted:
                try:
                    rows.append(_cs_params(obj))
                except StoreError as exc:
                    refused.append((obj, str(exc)))
                    continue
                stored.append(obj)
            if not stored:
                return refused
            ids = [self._ids.new("cs") for _ in stored]  # in order with the held inserts' ids
            for obj, cs_id in zip(stored, ids, strict=True):
                obj.id = cs_id
            try:
                self._insert_rows(
                    "cs", f"id, {CS_WRITE_COLUMNS}", [(cs_id, *row) for cs_id, row in zip(ids, rows, strict=True)]
                )
            except pg_errors.UniqueViolation as exc:
                raise _unique_violation(exc, stored) from None
            self._write_cs_keys(stored, self._keys, replace=False)
            self._memory.cs_written(stored)
        return refused

    def cs_save(self, objs: Sequence[CSObject]) -> None:
        if not objs:
            return
        with self.transaction():
            try:
                self._update_rows("cs", CS_TYPES, [(o.id, *_cs_params(o)) for o in objs])
            except pg_errors.UniqueViolation as exc:
                raise _unique_violation(exc, objs) from None
            self._write_cs_keys(objs, self._keys, replace=True)
            self._memory.cs_written(objs)

    def cs_save_links(self, objs: Sequence[CSObject]) -> None:
        if not objs:
            return
        if self._tx.depth:
            self._held.update_links([(*cs_link_params(o), o.id) for o in objs])
            self._memory.cs_written(objs)
            return
        with self.transaction():
            self._update_rows("cs", CS_LINK_TYPES, [(o.id, *cs_link_params(o)) for o in objs])
            self._memory.cs_written(objs)

    def cs_delete(self, ids: Iterable[int]) -> None:
        wanted = list(ids)
        if not wanted:
            return
        with self.transaction():
            for chunk in _chunks(wanted):
                self._db.execute("DELETE FROM cs WHERE id = ANY(%b::bigint[])", (chunk,))
                self._db.execute("DELETE FROM cs_keys WHERE cs_id = ANY(%b::bigint[])", (chunk,))
            self._memory.cs_deleted(wanted)
            self._presence.rewritten(CS_KEYS, wanted)

    def cs_mark_seen(self, connector: str, ids: Iterable[int], marker: int) -> None:
        with self.transaction():
            for chunk in _chunks(list(ids)):
                self._db.execute("UPDATE cs SET last_seen=%s WHERE id = ANY(%b::bigint[])", (marker, chunk))

    def cs_unseen(self, connector: str, marker: int, after_id: int, limit: int) -> list[CSObject]:
        rows = self._q(
            f"SELECT {CS_COLUMNS} FROM cs WHERE connector=%s AND anchor IS NOT NULL AND last_seen<>%s AND id>%s "
            "ORDER BY id LIMIT %s",
            (connector, marker, after_id, limit),
        )
        return [cs_from_row(r) for r in rows]

    def _cs_where(self, flt: CSFilter) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("connector", flt.connector), ("object_type", flt.object_type)):
            if value is not None:
                clauses.append(f"{column}=%s")
                params.append(value)
        for column, wanted in (
            ("pending_import", flt.pending_import),
            ("pending_export", flt.pending_export),
            ("error", flt.error),
            ("unconfirmed", flt.unconfirmed),
        ):
            if wanted:
                clauses.append(f"{column} IS NOT NULL")
        if flt.export_ops:
            clauses.append("export_op = ANY(%b::text[])")
            params.append(list(flt.export_ops))
        if flt.link_states:
            clauses.append("link_state = ANY(%b::text[])")
            params.append(list(flt.link_states))
        if flt.identifier_like is not None:
            clauses.append("identifier_key LIKE %s ESCAPE '\\'")
            params.append(flt.identifier_like.casefold())
        if flt.attribute is not None and flt.value is not None:
            clauses.append(_json_values_match("hologram", "= lower(%s)"))
            params.extend([flt.attribute, flt.attribute, flt.value, flt.attribute, flt.value])
        where = " AND ".join(clauses) if clauses else "true"
        return where, params

    def cs_page(self, flt: CSFilter, after_id: int, limit: int) -> list[CSObject]:
        where, params = self._cs_where(flt)
        rows = self._q(
            f"SELECT {CS_COLUMNS} FROM cs WHERE {where} AND id>%s ORDER BY id LIMIT %s", [*params, after_id, limit]
        )
        return [cs_from_row(r) for r in rows]

    def cs_has_unanchored(self, connector: str) -> bool:
        sql = "SELECT 1 FROM cs WHERE connector=%s AND anchor IS NULL LIMIT 1"
        return self._one(sql, (connector,)) is not None

    def cs_count(self, flt: CSFilter) -> int:
        where, params = self._cs_where(flt)
        row = self._one(f"SELECT count(*) FROM cs WHERE {where}", params)
        return int(row[0]) if row else 0

    def cs_find(self, connector: str, attribute: str, values: Iterable[str]) -> dict[str, list[int]]:
        return self._find_keys(CS_KEYS, connector, attribute, list(dict.fromkeys(values)))

    def _find_keys(self, table: str, within: str, attribute: str, values: list[str]) -> dict[str, list[int]]:
        """value -> owner ids in id order, from a key index (``cs_keys`` by connector, ``mv_keys`` by object
        type), with the key rows of held inserts."""
        scope, owner = KEY_COLUMNS[table]
        values = self._presence.candidates((table, within, attribute), _storable(values), self._index)
        if not values:
            return {}
        where = f"SELECT value, {owner} FROM {table} WHERE {scope}=%s AND attribute=%s AND value"
        if len(values) == 1:
            # the common lookup (a uniqueness check) binds the value itself: over a key index without statistics
            # yet (a first sync), the planner would filter the whole attribute's entries by an array instead
            rows: Iterable[tuple[Any, ...]] = self._q(
                f"{where} = %s ORDER BY {owner}", (within, attribute, values[0]), db=self._raw
            )
        else:
            rows = self._rows_for(f"{where} = ANY(%b::text[]) ORDER BY {owner}", (within, attribute), values, raw=True)
        found: dict[str, list[int]] = grouped(rows)
        return self._held.with_keys(found, table, within, attribute, values)

    def _index(self, index: Index) -> list[tuple[str, int]]:
        """Every row (value, owner) of one key index, the held writes sent first (``idsync.store.presence``)."""
        table, within, attribute = index
        scope, owner = KEY_COLUMNS[table]
        sql = f"SELECT value, {owner} FROM {table} WHERE {scope}=%s AND attribute=%s"
        return [(v, o) for v, o in self._q(sql, (within, attribute))]

    # metaverse ------------------------------------------------------------------------------------------------
    def mv_get(self, mv_id: int) -> MVObject | None:
        row = self._one(f"SELECT {MV_COLUMNS} FROM mv WHERE id=%s", (mv_id,))
        return mv_from_row(row) if row else None

    def mv_get_many(self, ids: Iterable[int]) -> dict[int, MVObject]:
        rows = self._rows_for(f"SELECT {MV_COLUMNS} FROM mv WHERE id = ANY(%b::bigint[])", (), ids)
        return {row[0]: mv_from_row(row) for row in rows}

    def mv_insert(self, obj: MVObject) -> int:
        if self._tx.depth:
            params = _mv_params(obj)
            obj.id = self._ids.new("mv")
            attrs = self._keys.mv.get(obj.object_type)
            rows = mv_keys(obj, attrs) if attrs else []
            self._held.insert_mv((obj.id, *params), rows)
            self._presence.written(MV_KEYS, rows)
            self._memory.mv_inserted(obj.id, rows)
            return obj.id
        with self.transaction():
            row = self._one(
                f"INSERT INTO mv({MV_WRITE_COLUMNS}) VALUES({_marks(MV_WRITE_COLUMNS)}) RETURNING id",
                _mv_params(obj),
            )
            assert row is not None
            obj.id = int(row[0])
            self._write_mv_keys([obj], self._keys, replace=False)
        return obj.id

    def mv_save(self, objs: Sequence[MVObject]) -> None:
        if not objs:
            return
        with self.transaction():
            self._update_rows("mv", MV_TYPES, [(o.id, *_mv_params(o)) for o in objs])
            self._write_mv_keys(objs, self._keys, replace=True)

    def mv_delete(self, ids: Iterable[int]) -> None:
        wanted = list(ids)
        if not wanted:
            return
        with self.transaction():
            for chunk in _chunks(wanted):
                for table, column in (("mv", "id"), ("mv_keys", "mv_id"), ("unresolved", "mv_id")):
                    self._db.execute(f"DELETE FROM {table} WHERE {column} = ANY(%b::bigint[])", (chunk,))
            self._memory.mv_written(wanted, ())
            self._presence.rewritten(MV_KEYS, wanted)

    def mv_find(self, object_type: str, attribute: str, values: Iterable[str]) -> dict[str, list[int]]:
        fetch = partial(self._find_keys, MV_KEYS, object_type, attribute)
        return self._memory.mv_find(object_type, attribute, list(dict.fromkeys(values)), fetch)

    def mv_page(self, object_type: str | None, after_id: int, limit: int) -> list[MVObject]:
        if object_type is None:
            rows = self._q(f"SELECT {MV_COLUMNS} FROM mv WHERE id>%s ORDER BY id LIMIT %s", (after_id, limit))
        else:
            rows = self._q(
                f"SELECT {MV_COLUMNS} FROM mv WHERE object_type=%s AND id>%s ORDER BY id LIMIT %s",
                (object_type, after_id, limit),
            )
        return [mv_from_row(r) for r in rows]

    def mv_count(self, object_type: str | None = None) -> int:
        if object_type is None:
            row = self._one("SELECT count(*) FROM mv")
        else:
            row = self._one("SELECT count(*) FROM mv WHERE object_type=%s", (object_type,))
        return int(row[0]) if row else 0

    def mv_search(self, object_type: str | None, attribute: str, value: str, limit: int) -> list[MVObject]:
        """Objects whose attribute (any value of a multi-valued one) matches ``value``, ``*`` a wildcard, in any
        case."""
        pattern = like_pattern(value)
        match = _json_values_match("attributes", "LIKE lower(%s) ESCAPE '\\'")
        params: list[Any] = [attribute, attribute, pattern, attribute, pattern]
        where = match
        if object_type:
            where = f"object_type=%s AND {match}"
            params.insert(0, object_type)
        rows = self._q(f"SELECT {MV_COLUMNS} FROM mv WHERE {where} ORDER BY id LIMIT %s", [*params, limit])
        return [mv_from_row(r) for r in rows]

    # keys -----------------------------------------------------------------------------------------------------
    def configure_keys(self, keys: KeyConfig) -> bool:
        if keys.fingerprint() == self._keys.fingerprint():
            self._keys = keys
            return False
        with self.transaction():
            self._memory.rolled_back()
            self._db.execute("DELETE FROM mv_keys")
            self._db.execute("DELETE FROM cs_keys")
            for object_type in keys.mv:
                for page in id_pages(partial(self.mv_page, object_type, limit=REBUILD_PAGE)):
                    self._write_mv_keys(page, keys, replace=False)
            for connector in keys.cs:
                for cs_page in id_pages(partial(self.cs_page, CSFilter(connector=connector), limit=REBUILD_PAGE)):
                    self._write_cs_keys(cs_page, keys, replace=False)
            self.set_meta("key_config", key_config_to_text(keys))
        self._keys = keys
        return True

    # unresolved references ----------------------------------------------------------------------------------
    def unresolved_set(self, mv_id: int, attribute: str, direction: str, rows: Sequence[Unresolved]) -> None:
        with self.transaction():
            self._db.execute(
                "DELETE FROM unresolved WHERE mv_id=%s AND attribute=%s AND direction=%s", (mv_id, attribute, direction)
            )
            self._insert_rows(
                "unresolved",
                UNRESOLVED_COLUMNS,
                [(r.direction, r.mv_id, r.attribute, r.connector, r.ref) for r in rows],
            )

    def unresolved_waiting_for(self, direction: str, connector: str, refs: Iterable[str]) -> list[Unresolved]:
        sql = (
            f"SELECT {UNRESOLVED_COLUMNS} FROM unresolved WHERE direction=%s AND connector=%s AND ref = ANY(%b::text[])"
        )
        return [Unresolved(*r) for r in self._rows_for(sql, (direction, connector), refs)]

    def unresolved_for_mv(self, mv_ids: Iterable[int]) -> list[Unresolved]:
        sql = f"SELECT {UNRESOLVED_COLUMNS} FROM unresolved WHERE mv_id = ANY(%b::bigint[])"
        return [Unresolved(*r) for r in self._rows_for(sql, (), mv_ids)]

    def unresolved_all(self) -> list[Unresolved]:
        return [Unresolved(*r) for r in self._q(f"SELECT {UNRESOLVED_COLUMNS} FROM unresolved")]

    def unresolved_count(self) -> int:
        row = self._one("SELECT count(*) FROM unresolved")
        return int(row[0]) if row else 0

    # runs --------------------------------------------------------------------------------------------------------
    def run_start(self, profile: str, staging: bool) -> RunResult:
        now = time.time()
        row = self._one(
            "INSERT INTO runs(profile, status, staging, started) VALUES(%s, %s, %s, %s) RETURNING id",
            (profile, RunStatus.IN_PROGRESS.value, staging, now),
        )
        assert row is not None
        return RunResult(int(row[0]), profile, RunStatus.IN_PROGRESS, now, None, staging)

    def run_finish(self, run: RunResult) -> None:
        run.ended = run.ended or time.time()
        self._db.execute("UPDATE runs SET status=%s, ended=%s WHERE id=%s", (run.status.value, run.ended, run.id))

    def set_run_status(self, run_id: int, status: RunStatus) -> None:
        now = time.time()
        with self.transaction():
            self._db.execute(
                "UPDATE runs SET status=%s, ended=coalesce(ended, %s) WHERE id=%s", (status.value, now, run_id)
            )
            self._db.execute(
                "UPDATE steps SET status=%s, ended=coalesce(ended, %s) WHERE run_id=%s AND status=%s",
                (status.value, now, run_id, RunStatus.IN_PROGRESS.value),
            )

    def step_start(self, run: RunResult, connector: str, kind: StepKind) -> StepResult:
        now = time.time()
        index = len(run.steps)
        row = self._one(
            "INSERT INTO steps(run_id, idx, connector, kind, status, started) VALUES(%s, %s, %s, %s, %s, %s) "
            "RETURNING id",
            (run.id, index, connector, kind.value, RunStatus.IN_PROGRESS.value, now),
        )
        assert row is not None
        step = StepResult(int(row[0]), run.id, index, connector, kind, started=now)
        run.steps.append(step)
        return step

    def step_save(self, step: StepResult) -> None:
        self._db.execute(
            "UPDATE steps SET status=%s, counters=%s, ended=%s, message=%s WHERE id=%s",
            (step.status.value, dumps(step.counters.to_json()), step.ended, step.message, step.id),
        )

    def add_errors(self, rows: Sequence[ErrorRow]) -> None:
        if not rows:
            return
        with self.transaction():
            self._insert_rows("errors", ERROR_INSERT_COLUMNS, [error_params(r) for r in rows])

    def _runs_where(self, where: str, params: Sequence[Any], order: str) -> list[RunResult]:
        """Runs with their steps, in two statements however many runs there are."""
        runs = [run_from_row(r) for r in self._q(f"SELECT {RUN_COLUMNS} FROM runs WHERE {where} {order}", params)]
        if runs:
            by_id = {r.id: r for r in runs}
            for row in self._q(
                f"SELECT {STEP_COLUMNS} FROM steps WHERE run_id = ANY(%b::bigint[]) ORDER BY run_id, idx",
                (list(by_id),),
            ):
                by_id[row[1]].steps.append(step_from_row(row))
        return runs

    def runs(self, limit: int = 20, before: int | None = None) -> list[RunResult]:
        if before is None:
            return self._runs_where("true", (limit,), "ORDER BY id DESC LIMIT %s")
        return self._runs_where("id<%s", (before, limit), "ORDER BY id DESC LIMIT %s")

    def run_get(self, run_id: int) -> RunResult | None:
        found = self._runs_where("id=%s", (run_id,), "")
        return found[0] if found else None

    def interrupted_runs(self) -> list[RunResult]:
        return self._runs_where("status=%s", (RunStatus.IN_PROGRESS.value,), "ORDER BY id")

    def errors(self, run_id: int | None = None, step_id: int | None = None, limit: int = 1000) -> list[ErrorRow]:
        where, params = equal_where("%s", run_id=run_id, step_id=step_id)
        rows = self._q(f"SELECT {ERROR_COLUMNS} FROM errors WHERE {where} ORDER BY id LIMIT %s", [*params, limit])
        return [ErrorRow(*r) for r in rows]

    def errors_for_cs(self, cs_id: int, limit: int = 20) -> list[ErrorRow]:
        rows = self._q(f"SELECT {ERROR_COLUMNS} FROM errors WHERE cs_id=%s ORDER BY id DESC LIMIT %s", (cs_id, limit))
        return [ErrorRow(*r) for r in rows]

    # approvals ---------------------------------------------------------------------------------------------------
    def approval_get(self, connector: str) -> int:
        return int(self._get("approvals", "connector", "count", connector) or 0)

    def approval_set(self, connector: str, count: int) -> None:
        self._put("approvals", "connector", connector, {"count": count, "approved": time.time()} if count > 0 else None)

    # audit ------------------------------------------------------------------------------------------------------
    def audit_add(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        now = time.time()
        with self.transaction():
            self._insert_rows("audit", AUDIT_INSERT_COLUMNS, [audit_params(r, now) for r in rows])

    def audit_search(
        self, *, cs_id: int | None = None, run_id: int | None = None, limit: int = 100, **filters: Any
    ) -> Iterator[dict[str, Any]]:
        where, params = AuditQuery(cs_id=cs_id, run_id=run_id, **filters).where("%s")
        rows = self._q(f"SELECT {AUDIT_COLUMNS} FROM audit WHERE {where} ORDER BY id DESC LIMIT %s", [*params, limit])
        for row in rows:
            yield audit_from_row(row)


def open_postgres(url: str) -> PostgresStore:
    return PostgresStore(url)
