"""Store contract: pages committed behind (``Store.write_behind``).

While a transaction's held writes are written and committed on another thread, the next transaction's lookups
must see them (and not twice once they land), any other statement must wait for them, a batch that fails must
fail the transaction after it, and leaving ``write_behind`` (an interrupt included) must leave the batch
committed. The SQLite tests hold the database's write lock from another connection to keep a batch in flight for
as long as they need: what a slow disk or a busy checkpoint does.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable

import pytest

from idsync.model import CSObject, LinkState, MVObject
from idsync.store import CSFilter, CSRef, KeyConfig, Store
from idsync.store.held import CS_KEYS, HeldWrites
from idsync.store.sqlite.store import _sized

OpenAgain = Callable[[], Store]


class Boom(Exception):
    pass


def _ref(obj: CSObject) -> CSRef:
    return CSRef(obj.id, obj.connector, obj.object_type, obj.anchor, obj.identifier, obj.mv_id)


def _project_and_provision(store: Store, source: CSObject, n: int) -> tuple[MVObject, CSObject]:
    """What a sync does for a new person, all of it held back: an MV object, the source linked to it, and a new
    target object."""
    mv = MVObject(0, "person", {"employeeId": f"e{n}"})
    store.mv_insert(mv)
    source.mv_id, source.link_state = mv.id, LinkState.CONNECTOR
    store.cs_save_links([source])
    user = CSObject(0, "ad", "user", f"CN=user{n}", mv_id=mv.id, link_state=LinkState.CONNECTOR)
    user.hologram = {"upn": f"user{n}@example.org"}
    store.cs_insert(user)
    return mv, user


@pytest.fixture
def keyed(store: Store) -> Store:
    store.configure_keys(KeyConfig(mv={"person": frozenset({"employeeId"})}, cs={"ad": frozenset({"upn"})}))
    return store


@pytest.fixture
def sources(keyed: Store) -> list[CSObject]:
    objs = [CSObject(0, "hr", "person", f"CN=Source{n}", anchor=f"E{n}") for n in range(4)]
    for obj in objs:
        keyed.cs_insert(obj)
    return objs


@pytest.fixture
def sqlite_path(store_url: str) -> str:
    if not store_url.startswith("sqlite:///"):
        pytest.skip("holds SQLite's write lock from another connection")
    return store_url.removeprefix("sqlite:///")


class WriteLock:
    """Another connection holding the database's write lock: a batch sent behind waits for it. Released by
    ``release``, or after ``release_after`` seconds, so that a store waiting when it should not fails the test
    instead of hanging it."""

    def __init__(self, path: str, release_after: float = 30.0) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.connection.execute("BEGIN IMMEDIATE")
        self._released = threading.Lock()
        self._timer = threading.Timer(release_after, self.release)
        self._timer.start()

    def release(self) -> None:
        if self._released.acquire(blocking=False):
            self._timer.cancel()
            self.connection.execute("COMMIT")
            self.connection.close()


def _sent_while_locked(
    store: Store, path: str, source: CSObject, n: int, release_after: float = 30.0
) -> tuple[MVObject, CSObject, WriteLock]:
    """``_project_and_provision`` in a transaction of its own, whose batch is sent behind and waits for the lock
    taken just before (its ids reserved already)."""
    assert store.get_meta("settled") is None  # a statement: any batch before has landed, and cannot wait for the lock
    with store.transaction():
        mv, user = _project_and_provision(store, source, n)
        lock = WriteLock(path, release_after)
    return mv, user, lock


def _committed(path: str, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as other:
        return other.execute(sql).fetchall()


def test_the_next_transaction_sees_a_batch_in_flight(
    keyed: Store, sources: list[CSObject], open_again: OpenAgain
) -> None:
    """Contract (on PostgreSQL pages commit in turn, and the same holds)."""
    store = keyed
    with store.write_behind():
        with store.transaction():
            mv, user = _project_and_provision(store, sources[0], 0)
        with store.transaction():
            assert store.mv_find("person", "employeeId", ["e0", "e9"]) == {"e0": [mv.id]}
            assert store.cs_find("ad", "upn", ["user0@example.org"]) == {"user0@example.org": [user.id]}
            assert store.cs_refs_by_identifier("ad", ["CN=user0"]) == {"cn=user0": [_ref(user)]}
            assert store.cs_refs_by_anchor("hr", ["E0", "E1"]) == {"E0": _ref(sources[0]), "E1": _ref(sources[1])}
            assert store.cs_refs_by_mv([mv.id]) == {mv.id: [_ref(sources[0]), _ref(user)]}
            second, other_user = _project_and_provision(store, sources[1], 1)
            assert other_user.id > user.id and second.id > mv.id
        page = store.cs_page(CSFilter(connector="hr"), sources[0].id, 10)
        assert [(o.id, o.mv_id) for o in page] == [(s.id, s.mv_id) for s in sources[1:]]
    other = open_again()
    assert other.cs_get(user.id) == user and other.cs_get(sources[1].id) == sources[1]
    assert other.mv_get(second.id) == second


def test_lookups_read_beside_the_writer_and_count_each_row_once(
    keyed: Store, sources: list[CSObject], sqlite_path: str
) -> None:
    store = keyed
    with store.write_behind():
        mv, user, lock = _sent_while_locked(store, sqlite_path, sources[0], 0)
        started = time.monotonic()
        with store.transaction():
            assert store.mv_find("person", "employeeId", ["e0"]) == {"e0": [mv.id]}
            assert store.cs_find("ad", "upn", ["user0@example.org"]) == {"user0@example.org": [user.id]}
            assert store.cs_refs_by_mv([mv.id]) == {mv.id: [_ref(sources[0]), _ref(user)]}
            assert store.cs_refs_by_anchor("hr", ["E0"]) == {"E0": _ref(sources[0])}
            # a link this transaction moves, of an object the batch in flight linked
            sources[0].mv_id, sources[0].link_state = None, LinkState.DISCONNECTOR
            store.cs_save_links([sources[0]])
            assert store.cs_refs_by_mv([mv.id]) == {mv.id: [_ref(user)]}
            # and an object of this transaction linked to one the batch in flight inserted
            _, late = _project_and_provision(store, sources[1], 1)
            late.mv_id = mv.id
            store.cs_save_links([late])
            assert store.cs_refs_by_mv([mv.id]) == {mv.id: [_ref(user), _ref(late)]}
            # none of the batch is committed: these lookups did not wait for it
            assert _committed(sqlite_path, "SELECT count(*) FROM mv") == [(0,)]
            assert time.monotonic() - started < 20
            lock.release()
        # landed or landing: each row counted once
        with store.transaction():
            assert store.cs_find("ad", "upn", ["user0@example.org"]) == {"user0@example.org": [user.id]}
            assert store.cs_refs_by_identifier("ad", ["CN=user0"]) == {"cn=user0": [_ref(user)]}
            assert store.cs_refs_by_mv([mv.id]) == {mv.id: [_ref(user), _ref(late)]}
    assert _committed(sqlite_path, "SELECT count(*) FROM mv") == [(2,)]


def test_any_other_statement_waits_for_the_batch_in_flight(
    keyed: Store, sources: list[CSObject], sqlite_path: str
) -> None:
    store = keyed
    with store.write_behind():
        mv, user, _ = _sent_while_locked(store, sqlite_path, sources[0], 0, release_after=0.3)
        with store.transaction():
            # a read that adds no held writes to its answer runs on the writer's connection, after the batch
            assert store.cs_get(user.id) == user
            assert _committed(sqlite_path, f"SELECT id FROM cs WHERE id={user.id}") == [(user.id,)]
            store.set_meta("after", "the batch")
            assert store.mv_get(mv.id) == mv
    assert _committed(sqlite_path, "SELECT value FROM meta WHERE key='after'") == [("the batch",)]


def test_a_batch_that_fails_fails_the_transaction_after_it(
    keyed: Store, sources: list[CSObject], sqlite_path: str, open_again: OpenAgain
) -> None:
    """Something wrote a row with an id the store gave a held insert (nothing in idsync does: those ids are
    reserved first). The batch fails, and so does the transaction that read what it wrote; the batch before
    them stays."""
    store = keyed
    with pytest.raises(sqlite3.IntegrityError), store.write_behind():
        with store.transaction():
            _, kept = _project_and_provision(store, sources[0], 0)
        _, lost, lock = _sent_while_locked(store, sqlite_path, sources[1], 1)
        lock.connection.execute(
            "INSERT INTO cs(id, connector, object_type, identifier, identifier_key) VALUES(?,?,?,?,?)",
            (lost.id, "other", "user", "CN=squatter", "cn=squatter"),
        )
        lock.release()
        with store.transaction():
            _project_and_provision(store, sources[2], 2)
    other = open_again()
    assert other.cs_get(kept.id) is not None
    assert [o.identifier for o in other.cs_page(CSFilter(connector="ad"), 0, 10)] == ["CN=user0"]
    assert other.cs_get(sources[1].id) == CSObject(sources[1].id, "hr", "person", "CN=Source1", anchor="E1")
    assert other.cs_get(sources[2].id) == CSObject(sources[2].id, "hr", "person", "CN=Source2", anchor="E2")
    with store.transaction():  # the store goes on
        _project_and_provision(store, sources[3], 3)
    assert open_again().cs_find("ad", "upn", ["user3@example.org"]) != {}


def test_an_interrupt_leaves_the_batch_in_flight_committed(
    keyed: Store, sources: list[CSObject], sqlite_path: str
) -> None:
    store = keyed
    with pytest.raises(KeyboardInterrupt), store.write_behind():
        mv, _, _ = _sent_while_locked(store, sqlite_path, sources[0], 0, release_after=0.3)
        with store.transaction():
            _project_and_provision(store, sources[1], 1)
            raise KeyboardInterrupt
    assert _committed(sqlite_path, "SELECT id FROM mv") == [(mv.id,)]


def test_a_page_is_read_beside_the_batch_in_flight_unless_the_batch_changes_it(
    keyed: Store, sources: list[CSObject], sqlite_path: str
) -> None:
    store = keyed
    hr, ad = CSFilter(connector="hr"), CSFilter(connector="ad")
    with store.write_behind():
        mv, user, _ = _sent_while_locked(store, sqlite_path, sources[0], 0, release_after=0.3)
        # objects the batch neither inserts nor links: read beside it
        assert [o.id for o in store.cs_page(hr, sources[0].id, 10)] == [s.id for s in sources[1:]]
        assert _committed(sqlite_path, "SELECT count(*) FROM mv") == [(0,)]
        # a page with an object the batch links: read after it
        assert [o.mv_id for o in store.cs_page(hr, 0, 2)] == [mv.id, None]
        assert _committed(sqlite_path, "SELECT count(*) FROM mv") == [(1,)]

        _sent_while_locked(store, sqlite_path, sources[1], 1, release_after=0.3)
        # a page by pending import or link state, after an object the batch links: read after it
        linked = CSFilter(connector="hr", link_states=("connector",))
        assert [o.id for o in store.cs_page(linked, 0, 10)] == [sources[0].id, sources[1].id]
        assert _committed(sqlite_path, "SELECT count(*) FROM mv") == [(2,)]

        _, third, _ = _sent_while_locked(store, sqlite_path, sources[2], 2, release_after=0.3)
        # a page of the connector the batch inserts objects of: read after it
        assert [o.identifier for o in store.cs_page(ad, user.id, 10)] == ["CN=user1", "CN=user2"]
        assert store.cs_page(ad, 0, 10)[-1] == third


def test_another_connections_inserts_go_past_the_ids_given_behind(
    keyed: Store, sources: list[CSObject], open_again: OpenAgain
) -> None:
    """An import the service runs beside a sync inserts objects of its own connector while the sync's pages are
    decided and committed behind: neither takes an id the other gave."""
    store, other = keyed, open_again()
    imported: list[CSObject] = []
    made: list[CSObject] = []
    with store.write_behind():
        for n in range(40):
            with store.transaction():
                sources.append(CSObject(0, "hr", "person", f"CN=New{n}", anchor=f"N{n}"))
                store.cs_insert(sources[-1])  # anchored: inserted at once, the transaction begun
            source = sources[-1]
            with store.transaction():
                made.append(_project_and_provision(store, source, 100 + n)[1])
            batch = [CSObject(0, "groups", "group", f"CN=g{n}-{i}", anchor=f"g{n}-{i}") for i in range(30)]
            assert other.cs_insert_many(batch) == []
            imported.extend(batch)
            other.cs_insert(CSObject(0, "groups", "group", f"CN=one{n}", anchor=f"one{n}"))
    ids = [o.id for o in (*sources, *made, *imported)]
    assert len(set(ids)) == len(ids)
    stored = {o.id for f in ("hr", "ad", "groups") for o in other.cs_page(CSFilter(connector=f), 0, 10_000)}
    assert set(ids) <= stored and len(stored) == len(ids) + 40
    assert open_again().cs_find("ad", "upn", ["user139@example.org"]) == {"user139@example.org": [made[-1].id]}


def test_held_writes_added_to_an_answer_that_has_them_count_once() -> None:
    """The answer of a lookup read while its batch was landing may hold the batch's rows already."""
    held = HeldWrites()
    ref = held.insert_cs((7, "ad", "user", None, "CN=a", "cn=a", "{}", "connector", 3), [("ad", "upn", "a@x", 7)])
    assert held.with_keys({"a@x": [2, 7]}, CS_KEYS, "ad", "upn", ["a@x"]) == {"a@x": [2, 7]}
    assert held.by_identifier([("cn=a", ref)], "ad", ["cn=a"]) == {"cn=a": [ref]}


def test_a_batch_is_sent_in_a_few_statement_sizes() -> None:
    rows = [(n,) for n in range(600)]
    sent = list(_sized(rows, 256))
    assert [len(c) for c in sent] == [256, 256, 64, 16, 8]
    assert [r for c in sent for r in c] == rows
    sizes = {len(c) for n in range(1, 2001) for c in _sized(rows[:1] * n, 256)}
    assert sizes == {256, 128, 64, 32, 16, 8, 4, 2, 1}
