"""A store's write transaction, its object scopes, and the writes it holds back to send in batches: new CS objects
(without an anchor), new MV objects, their key-index rows, and sync's link updates.

A sync that projects and provisions writes several rows per object; sent one statement each (and, with a server,
one round trip each), the statements cost more than the work. Held here, they go out as one batch per kind when
the page commits or when any other statement runs. Why that is exact:

- every statement the store runs, except the few lookups below, first sends what is held (``Transactions.prepare``),
  so the database never answers a question without the writes made before it;
- the lookups that run without sending (key index, CS references by anchor, identifier or MV object) add what is
  held to the database's answer: a held insert is a row the database does not have yet, with an id the store
  allocated for it (past every id its table gave before, or from the table's sequence), which no other row has;
  a held link update changes only the MV link of a row, so it replaces that field of the row's reference (and a
  lookup by MV object also finds the rows such an update links there, and drops those it links elsewhere);
- an object scope that fails drops what it held since it opened, and its savepoint is taken only after what was
  held before the scope opened has been sent, so rolling back to it undoes exactly the scope's writes.

An object scope takes its savepoint at its first statement that is not held back (most objects of a sync over
unchanged data write nothing; most of a new object's writes are held): a scope that sent nothing has nothing to
roll back on the server. A store whose failed statement aborts the whole transaction (PostgreSQL) takes it before
any statement, reads included, so that rolling back to it always makes the transaction usable again.

A transaction that held all its writes may also have them sent and committed behind it, by another thread, while
the next one runs (``idsync.store.write_behind``).

Held rows are sent by kind (CS rows, MV rows, key rows, then link updates): rows of different kinds do not depend
on each other's order, and a link update of a row inserted in the same batch comes after its insert. Each store
supplies the statements that send a kind's rows and the ids of held inserts; the rows have the same shape in
every store (see the constants below).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from idsync.store.base import CSRef
from idsync.store.lookups import LookupMemory

if TYPE_CHECKING:
    from idsync.store.write_behind import WriteBehind

CS = "cs"
"""A new CS object: ``(id, *cs_to_params(obj))``."""
MV = "mv"
"""A new MV object: ``(id, *mv_to_params(obj))``."""
CS_KEYS = "cs_keys"
"""A key row of a new CS object: (connector, attribute, value, CS id)."""
MV_KEYS = "mv_keys"
"""A key row of a new MV object: (object type, attribute, value, MV id)."""
LINKS = "links"
"""A link update: ``(*cs_link_params(obj), obj.id)``: link state, MV id, link rule, pending import, error, CS id."""
KEY_COLUMNS = {CS_KEYS: ("connector", "cs_id"), MV_KEYS: ("object_type", "mv_id")}
"""Each key table's scope column (what its attribute names belong to) and owner column."""
KINDS = (CS, MV, CS_KEYS, MV_KEYS, LINKS)
"""The order kinds are sent in."""

Row = tuple[Any, ...]
Send = Callable[[str, list[Row]], None]
"""Writes rows of one kind (in that kind's shape) to the database, on the raw connection."""


class HeldWrites:
    """What one write transaction holds back. Positions are counted from the transaction's start, so a scope's
    mark stays valid after earlier writes were sent."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, Row]] = []
        self.sent = 0
        """How many entries were sent (or dropped by a rollback) before ``entries[0]``."""
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

    # holding ---------------------------------------------------------------------------------------------------
    def insert_cs(self, params: Row, key_rows: Iterable[Row]) -> CSRef:
        """``params`` in the ``CS`` shape; ``key_rows`` in the ``CS_KEYS`` shape. Returns the new row's reference
        (the lookup memory takes the same one: ``Transactions.hold_cs_insert``)."""
        self.entries.append((CS, params))
        ref = self._new_cs(params)
        for row in key_rows:
            self.entries.append((CS_KEYS, row))
            self._key(self.cs_key_ids, row)
        return ref

    def insert_mv(self, params: Row, key_rows: Iterable[Row]) -> None:
        self.entries.append((MV, params))
        for row in key_rows:
            self.entries.append((MV_KEYS, row))
            self._key(self.mv_key_ids, row)

    def update_links(self, rows: Sequence[Row]) -> None:
        """Rows in the ``LINKS`` shape."""
        for row in rows:
            self.entries.append((LINKS, row))
            self._link(row)

    def _link(self, row: Row) -> None:
        cs_id, mv_id = row[-1], row[1]
        self.links[cs_id] = mv_id
        if mv_id is not None:
            self.links_to.setdefault(mv_id, []).append(cs_id)

    def _new_cs(self, params: Row) -> CSRef:
        ref = CSRef(params[0], params[1], params[2], params[3], params[4], params[8])
        self.new_by_identifier.setdefault((ref.connector, params[5]), []).append(ref)
        self.new_refs[ref.id] = ref
        if ref.mv_id is not None:
            self.new_by_mv.setdefault(ref.mv_id, []).append(ref)
        return ref

    @staticmethod
    def _key(index: dict[tuple[str, str, str], list[int]], row: Row) -> None:
        index.setdefault((row[0], row[1], row[2]), []).append(row[3])

    def _reindex(self) -> None:
        self._index()
        for kind, params in self.entries:
            if kind is CS:
                self._new_cs(params)
            elif kind is CS_KEYS:
                self._key(self.cs_key_ids, params)
            elif kind is MV_KEYS:
                self._key(self.mv_key_ids, params)
            elif kind is LINKS:
                self._link(params)

    def inserts_cs_of(self, connector: str | None) -> bool:
        """Whether a held insert is an object of ``connector`` (of any, given None)."""
        return any(connector is None or ref.connector == connector for ref in self.new_refs.values())

    # sending and dropping --------------------------------------------------------------------------------------
    def take(self) -> HeldWrites:
        """Everything held, moved to a new instance (with its indexes) to be sent behind (``write_behind``)."""
        taken = HeldWrites.__new__(HeldWrites)
        taken.__dict__.update(self.__dict__)
        taken.sent = 0
        self.entries = []
        self.sent = 0
        self._index()
        return taken

    def rows_by_kind(self, entries: Sequence[tuple[str, Row]] | None = None) -> dict[str, list[Row]]:
        """The rows of ``entries`` (all held by default) by kind, in the order kinds are sent."""
        by_kind: dict[str, list[Row]] = {kind: [] for kind in KINDS}
        for kind, params in self.entries if entries is None else entries:
            by_kind[kind].append(params)
        return by_kind

    def send(self, write: Send, upto: int | None = None) -> None:
        """Write the entries before position ``upto`` (all of them by default)."""
        count = len(self.entries) if upto is None else upto - self.sent
        if count <= 0:
            return
        batch, rest = self.entries[:count], self.entries[count:]
        by_kind = self.rows_by_kind(batch)
        self.entries = rest
        self.sent += count
        if rest:
            self._reindex()
        else:
            self._index()
        for kind, rows in by_kind.items():
            if rows:
                write(kind, rows)

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
        """The transaction ended: nothing is held."""
        self.entries.clear()
        self.sent = 0
        self._index()

    # what lookups add ------------------------------------------------------------------------------------------
    def linked(self, ref: CSRef) -> CSRef:
        """``ref`` as read from the database, with the MV link a held update gives it."""
        if ref.id in self.links:
            mv_id = self.links[ref.id]
            if mv_id != ref.mv_id:
                return replace(ref, mv_id=mv_id)
        return ref

    def by_identifier(
        self, stored: Iterable[tuple[str, CSRef]], connector: str, keys: Iterable[str]
    ) -> dict[str, list[CSRef]]:
        """The references of ``connector`` with the identifier ``keys``, given those the database has (pairs of
        identifier key and reference): with their held link updates, and with the held inserts that have those
        keys, in id order."""
        found: dict[str, list[CSRef]] = {}
        for key, ref in stored:
            found.setdefault(key, []).append(self.linked(ref))
        if self.new_by_identifier:
            for key in keys:
                new = [self.linked(r) for r in self.new_by_identifier.get((connector, key), ())]
                if new:
                    # the database may have them already: these were sent behind while it answered
                    merged = {r.id: r for r in (*found.get(key, ()), *new)}
                    found[key] = sorted(merged.values(), key=_by_id)
        return found

    def by_mv(
        self,
        stored: list[CSRef],
        wanted: Iterable[int],
        known: Mapping[int, CSRef],
        read: Callable[[list[int]], list[CSRef]],
    ) -> list[CSRef]:
        """The references linked to the MV objects ``wanted``, given those the database links to them
        (``stored``): with their held link updates, and with the held inserts and re-linked stored objects the
        database does not know to be linked there, taken from ``known`` (the lookup memory's references, which
        every write keeps current) or else read (``read`` gives stored objects by id)."""
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
                new = self.new_refs.get(cs_id) or known.get(cs_id)
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

    def read_through(self, read: Callable[[list[int]], list[CSRef]]) -> Callable[[list[int]], list[CSRef]]:
        """``read`` (stored objects by id) for a lookup that adds later held writes: the references of these held
        inserts, and stored ones with these held link updates."""

        def through(ids: list[int]) -> list[CSRef]:
            held = [self.new_refs[i] for i in ids if i in self.new_refs]
            stored = read([i for i in ids if i not in self.new_refs]) if len(held) < len(ids) else []
            return [self.linked(ref) for ref in (*held, *stored)]

        return through

    def with_keys(
        self, found: dict[str, list[int]], index: str, within: str, attribute: str, values: Iterable[str]
    ) -> dict[str, list[int]]:
        """A key-index answer for ``values`` (value -> owner ids) with the key rows of held inserts added, in id
        order. ``index``: ``CS_KEYS`` (``within`` is a connector) or ``MV_KEYS`` (an object type). No held write
        removes a key row: every other write sends what is held first."""
        held = self.cs_key_ids if index == CS_KEYS else self.mv_key_ids
        if held:
            for value in values:
                ids = held.get((within, attribute, value))
                if ids:
                    found[value] = sorted({*found.get(value, ()), *ids})
        return found


def _by_id(ref: CSRef) -> int:
    return ref.id


class _Joined:
    """A transaction joining the one in progress: only counts the depth (every write is one, so it is reused)."""

    __slots__ = ("tx",)

    def __init__(self, tx: Transactions) -> None:
        self.tx = tx

    def __enter__(self) -> None:
        self.tx.depth += 1

    def __exit__(self, *exc: object) -> None:
        self.tx.depth -= 1


class _ObjectScope:
    """``Transactions.object_scope`` inside a transaction (one per object of a sync: a class, not a generator)."""

    __slots__ = ("level", "tx")

    def __init__(self, tx: Transactions) -> None:
        self.tx = tx
        self.level = 0

    def __enter__(self) -> None:
        tx = self.tx
        self.level = len(tx.scopes)
        tx.scopes.append(False)
        tx.marks.append(tx.held.end)

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        tx, level = self.tx, self.level
        try:
            if kind is not None and tx.held.drop(tx.marks[level]):
                tx.memory.rolled_back()
            if tx.scopes[level]:
                if kind is not None:
                    tx.execute(f"ROLLBACK TO object_scope_{level}")
                    tx.memory.rolled_back()
                tx.execute(f"RELEASE object_scope_{level}")
        finally:
            del tx.scopes[level:]
            del tx.marks[level:]


class Transactions:
    """One connection's write transactions: nesting, object scopes with lazy savepoints, previews, the lookup
    memory's lifetime, and the writes held back until the next statement or the commit.

    ``execute`` runs a statement on the raw connection (transaction control only); ``send`` writes held rows;
    ``begin`` is the statement opening a write transaction; ``ended`` is called when one ends (ids allocated for
    held inserts are the store's, and so is forgetting them); ``savepoint_reads``: take a scope's savepoint before
    any statement, not only before writes (a failed statement aborts a PostgreSQL transaction)."""

    def __init__(
        self,
        execute: Callable[[str], object],
        send: Send,
        memory: LookupMemory,
        *,
        begin: str = "BEGIN",
        ended: Callable[[], None] = lambda: None,
        savepoint_reads: bool = False,
    ) -> None:
        self._execute = execute
        self._send = send
        self.memory = memory
        self.begin_sql = begin
        self.ended = ended
        self.savepoint_reads = savepoint_reads
        self.depth = 0
        self.held = HeldWrites()
        self.scopes: list[bool] = []
        """One entry per open object scope: whether its savepoint was taken yet (a prefix of them is)."""
        self.marks: list[int] = []
        """One entry per open object scope: the position of the held writes when it opened."""
        self._joined = _Joined(self)
        self.behind: WriteBehind | None = None
        """While set (``write_behind``), a transaction begins on the connection only at its first statement that
        is not a lookup, and one that held all its writes commits them behind."""
        self.begun = True
        """Whether the transaction in progress (if any) has begun on the connection."""

    def ready(self) -> None:
        """Before a statement on the connection: while writes are sent behind, the batch in flight is written
        first, and a transaction that held everything so far begins."""
        behind = self.behind
        if behind is None:
            return
        behind.wait()
        if self.depth and not self.begun:
            self._execute(self.begin_sql)
            self.begun = True

    def execute(self, sql: str) -> object:
        self.ready()
        return self._execute(sql)

    def send(self, kind: str, rows: list[Row]) -> None:
        self.ready()
        self._send(kind, rows)

    def reading_behind(self) -> bool:
        """Whether lookups read beside the batch in flight rather than on the connection: writes are sent
        behind and the transaction in progress, if any, has not begun on the connection."""
        return self.behind is not None and not (self.depth and self.begun)

    def transaction(self) -> AbstractContextManager[None]:
        if self.depth:
            if self.scopes and not self.scopes[-1]:
                self.open_scopes()
            return self._joined
        return self._begin()

    @contextmanager
    def _begin(self) -> Iterator[None]:
        behind = self.behind
        self.begun = behind is None
        if behind is None:
            self._execute(self.begin_sql)
        self.depth = 1
        self.memory.begin()
        try:
            yield
            if self.begun:
                self.held.send(self.send)
            elif behind is not None:
                behind.wait()  # the batch before: if it failed, this transaction, which read what it wrote, goes too
        except BaseException:
            self.memory.rolled_back()
            begun = self.begun
            self._end()
            if begun:
                _quietly(self._execute, "ROLLBACK")
            raise
        else:
            if self.begun or behind is None:
                self._end()
                self._execute("COMMIT")
            else:
                batch = self.held.take()
                self._end()
                if batch.entries:
                    behind.submit(batch)

    def _end(self) -> None:
        self.depth = 0
        self.begun = True
        self.memory.end()
        self.held.clear()
        self.ended()

    def hold_cs_insert(self, params: Row, key_rows: Sequence[Row]) -> None:
        """Hold back a new CS object (``params`` in the ``CS`` shape, with the id the store allocated): the held
        writes index it for the lookups that go to the database, and the lookup memory's entries take the same
        reference (a new id: no entry holds it yet)."""
        self.memory.cs_inserted(self.held.insert_cs(params, key_rows), params[5])

    def object_scope(self) -> AbstractContextManager[None]:
        """One object's work inside a page: rolled back alone when it fails, so the page goes on. Outside a
        transaction the scope is a transaction of its own (a bare SAVEPOINT would open one that the writes
        inside, each a ``transaction()``, could not join)."""
        if not self.depth:
            return self.transaction()
        return _ObjectScope(self)

    def needs_prepare(self) -> bool:
        """Whether a statement about to run must first send held writes or take savepoints."""
        return bool(self.held.entries) or (self.savepoint_reads and bool(self.scopes) and not self.scopes[-1])

    def prepare(self) -> None:
        """Before a statement: send the held writes, each object scope's after its savepoint (with
        ``savepoint_reads``, every open scope's savepoint first)."""
        if self.scopes:
            self.open_scopes(holding=not self.savepoint_reads)
        self.held.send(self.send)

    def open_scopes(self, *, holding: bool = False) -> None:
        """Take the savepoints of the object scopes that have not taken theirs, outermost first, each after
        sending what was held before the scope opened. ``holding``: only the scopes that hold writes, which are
        about to be sent."""
        held = self.held
        for level, opened in enumerate(self.scopes):
            mark = self.marks[level]
            if not opened and (not holding or mark < held.end):
                held.send(self.send, mark)
                self.execute(f"SAVEPOINT object_scope_{level}")
                self.scopes[level] = True

    @contextmanager
    def savepoint_rollback(self) -> Iterator[None]:
        """Run work that is always rolled back (``preview``); inside a transaction only this work is undone."""
        if self.depth:
            self.open_scopes()
            self.held.send(self.send)
            mark = self.held.end
            self.execute("SAVEPOINT preview")
            self.depth += 1
            try:
                yield
            finally:
                self.depth -= 1
                self.held.drop(mark)
                self.execute("ROLLBACK TO preview")
                self.execute("RELEASE preview")
                self.memory.rolled_back()
            return
        self.execute(self.begin_sql)
        self.depth = 1
        self.memory.begin()
        try:
            yield
        finally:
            self._end()
            self.execute("ROLLBACK")


def _quietly(execute: Callable[[str], object], sql: str) -> None:
    """Roll back while another exception propagates: that exception says what went wrong. A connection that
    cannot roll back is broken, and its next statement says so."""
    with suppress(Exception):
        execute(sql)
