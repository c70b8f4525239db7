"""Store contract: the first lookups a transaction makes after its writes see them, before any other read.

A store may hold a page's inserts and link updates back and send them in batches; a lookup answered without
sending them must still include them, and an object scope that fails must take its held writes with it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from idsync.model import CSObject, LinkState, MVObject
from idsync.store import CSFilter, CSRef, KeyConfig, Store, StoreError

OpenAgain = Callable[[], Store]


class Boom(Exception):
    pass


def _too_large() -> tuple[type[Exception], ...]:
    """What reading an id past 64 bits raises: the driver's refusal, or the server's."""
    try:
        import psycopg
    except ImportError:
        return (OverflowError,)
    return (OverflowError, psycopg.DataError)


def _ref(obj: CSObject) -> CSRef:
    return CSRef(obj.id, obj.connector, obj.object_type, obj.anchor, obj.identifier, obj.mv_id)


def _link(store: Store, cs: CSObject, mv_id: int | None) -> None:
    cs.mv_id = mv_id
    cs.link_state = LinkState.CONNECTOR if mv_id is not None else LinkState.DISCONNECTOR
    store.cs_save_links([cs])


def _provisioned(store: Store, name: str, mv_id: int) -> CSObject:
    obj = CSObject(0, "ad", "user", f"CN={name}", mv_id=mv_id, link_state=LinkState.CONNECTOR)
    obj.hologram = {"upn": f"{name}@example.org"}
    store.cs_insert(obj)
    return obj


def _person(store: Store, source: CSObject, employee_id: str) -> MVObject:
    """A new MV object, and ``source`` linked to it."""
    mv = MVObject(0, "person", {"employeeId": employee_id})
    store.mv_insert(mv)
    _link(store, source, mv.id)
    return mv


@pytest.fixture
def keyed(store: Store) -> Store:
    store.configure_keys(KeyConfig(mv={"person": frozenset({"employeeId"})}, cs={"ad": frozenset({"upn"})}))
    return store


@pytest.fixture
def source(keyed: Store) -> CSObject:
    """A stored source object, not joined yet."""
    obj = CSObject(0, "hr", "person", "CN=Source", anchor="E1")
    keyed.cs_insert(obj)
    return obj


def test_lookups_see_inserts_and_links_made_just_before(keyed: Store, source: CSObject, open_again: OpenAgain) -> None:
    store = keyed
    with store.transaction():
        mv = _person(store, source, "e1")
        user = _provisioned(store, "ann", mv.id)
        assert store.mv_find("person", "employeeId", ["e1", "e2"]) == {"e1": [mv.id]}
        assert store.cs_find("ad", "upn", ["ann@example.org"]) == {"ann@example.org": [user.id]}
        assert store.cs_refs_by_identifier("ad", ["cn=ann", "CN=Bob"]) == {"cn=ann": [_ref(user)]}
        assert store.cs_refs_by_anchor("hr", ["E1"]) == {"E1": _ref(source)}
        assert store.cs_refs_by_mv([mv.id]) == {mv.id: [_ref(source), _ref(user)]}
        assert user.id > source.id
    other = open_again()
    assert other.cs_get(user.id) == user and other.cs_get(source.id) == source
    assert other.mv_get(mv.id) == mv
    assert other.cs_find("ad", "upn", ["ann@example.org"]) == {"ann@example.org": [user.id]}


def test_lookups_by_mv_object_follow_links_moved_just_before(keyed: Store, source: CSObject) -> None:
    """A lookup by MV object finds stored objects a write just linked there, and not those it linked away."""
    store = keyed
    other = CSObject(0, "hr", "person", "CN=Other", anchor="E2")
    store.cs_insert(other)
    with store.transaction():
        first = _person(store, source, "e1")
        second = _person(store, other, "e2")
    with store.transaction():
        user = _provisioned(store, "ann", first.id)
        _link(store, other, first.id)  # moved from the second MV object to the first
        _link(store, source, None)  # and the first's own source disconnected
        assert store.cs_refs_by_mv([first.id, second.id]) == {first.id: [_ref(other), _ref(user)]}
    with store.transaction():
        _link(store, user, second.id)
        _link(store, source, second.id)
        assert store.cs_refs_by_mv([second.id, first.id]) == {
            first.id: [_ref(other)],
            second.id: [_ref(source), _ref(user)],
        }
    assert store.cs_refs_by_mv([first.id, second.id]) == {
        first.id: [_ref(other)],
        second.id: [_ref(source), _ref(user)],
    }
    with store.transaction():
        assert set(store.cs_refs_by_anchor("hr", ["E1", "E2"])) == {"E1", "E2"}  # looked up, then re-linked
        _link(store, source, first.id)
        _link(store, other, second.id)
        assert store.cs_refs_by_mv([first.id]) == {first.id: [_ref(source)]}
        expected = {first.id: [_ref(source)], second.id: [_ref(other), _ref(user)]}
        assert store.cs_refs_by_mv([second.id, first.id]) == expected
    assert store.cs_refs_by_mv([first.id, second.id]) == expected


def test_a_failed_scope_takes_its_unsent_writes_with_it(keyed: Store, source: CSObject, open_again: OpenAgain) -> None:
    store = keyed
    with store.transaction():
        kept_mv = _person(store, source, "e1")
        kept = _provisioned(store, "ann", kept_mv.id)
        with pytest.raises(Boom), store.object_scope():
            gone_mv = _person(store, source, "e2")
            bob = _provisioned(store, "bob", gone_mv.id)
            assert store.cs_refs_by_identifier("ad", ["CN=bob"]) == {"cn=bob": [_ref(bob)]}
            assert store.cs_refs_by_anchor("hr", ["E1"])["E1"].mv_id == gone_mv.id
            raise Boom
        source.mv_id = kept_mv.id
        assert store.mv_find("person", "employeeId", ["e1", "e2"]) == {"e1": [kept_mv.id]}
        assert store.cs_find("ad", "upn", ["ann@example.org", "bob@example.org"]) == {"ann@example.org": [kept.id]}
        assert store.cs_refs_by_identifier("ad", ["CN=ann", "CN=bob"]) == {"cn=ann": [_ref(kept)]}
        assert store.cs_refs_by_anchor("hr", ["E1"]) == {"E1": _ref(source)}
        with pytest.raises(Boom), store.object_scope():
            _provisioned(store, "carl", kept_mv.id)
            store.set_meta("written", "directly")  # a write the store sends at once, after held ones
            raise Boom
        later = _provisioned(store, "dora", kept_mv.id)
        assert later.id > kept.id
    other = open_again()
    assert other.get_meta("written") is None
    identifiers = [o.identifier for o in other.cs_page(CSFilter(connector="ad"), 0, 100)]
    assert identifiers == ["CN=ann", "CN=dora"]
    assert other.cs_get(source.id) == source
    assert [m.id for m in other.mv_page("person", 0, 100)] == [kept_mv.id]


def test_ids_stay_unique_and_increasing_across_transactions(keyed: Store) -> None:
    store = keyed
    ids: list[int] = []
    for round_ in range(3):
        with store.transaction():
            mv = MVObject(0, "person", {"employeeId": f"e{round_}"})
            store.mv_insert(mv)
            ids.append(_provisioned(store, f"p{round_}a", mv.id).id)
            store.cs_insert(CSObject(0, "ad", "user", f"CN=anchored{round_}", anchor=f"A{round_}"))
            ids.append(_provisioned(store, f"p{round_}b", mv.id).id)
        with pytest.raises(Boom), store.transaction():
            _provisioned(store, f"rolled-back{round_}", mv.id)
            raise Boom
    stored = [o.id for o in store.cs_page(CSFilter(connector="ad"), 0, 100) if o.anchor is None]
    assert stored == ids and ids == sorted(set(ids))


def test_ids_of_many_new_objects_stay_unique_past_other_connections_writes(keyed: Store, open_again: OpenAgain) -> None:
    """More new objects in one transaction than a store draws ids for at once, and another connection's new
    objects between two such transactions: every id distinct, each transaction's past the other connection's."""
    store, other = keyed, open_again()
    mine: list[tuple[int, list[int]]] = []
    theirs: list[tuple[int, int]] = []
    for round_ in range(2):
        with store.transaction():
            mv = MVObject(0, "person", {"employeeId": f"e{round_}"})
            store.mv_insert(mv)
            mine.append((mv.id, [_provisioned(store, f"r{round_}n{n}", mv.id).id for n in range(150)]))
            last = f"r{round_}n149@example.org"
            assert store.cs_find("ad", "upn", [last]) == {last: [mine[-1][1][-1]]}
        with other.transaction():
            other_mv = MVObject(0, "person", {"employeeId": f"o{round_}"})
            other.mv_insert(other_mv)
            theirs.append((other_mv.id, _provisioned(other, f"other{round_}", other_mv.id).id))
    (first_mv, first), (second_mv, second) = mine
    other_cs = [cs_id for _, cs_id in theirs]
    assert len({*first, *second, *other_cs}) == len(first) + len(second) + len(other_cs)
    assert first == sorted(first) and second == sorted(second) and min(second) > other_cs[0] > max(first)
    assert len({first_mv, second_mv, *(mv_id for mv_id, _ in theirs)}) == 4 and second_mv > theirs[0][0] > first_mv
    stored = [o.id for o in other.cs_page(CSFilter(connector="ad"), 0, 1000)]
    assert stored == sorted([*first, *second, *other_cs])
    assert other.mv_find("person", "employeeId", ["e0", "e1", "o0"]) == {
        "e0": [first_mv],
        "e1": [second_mv],
        "o0": [theirs[0][0]],
    }


def test_a_failed_scope_after_writes_held_by_earlier_scopes_keeps_theirs(
    keyed: Store, source: CSObject, open_again: OpenAgain
) -> None:
    """The failed scope sent a write of its own (so the writes held before it went out first, and its savepoint
    came after them): rolling back undoes its writes, held and sent, and nothing of the scopes before it."""
    store = keyed
    with store.transaction():
        with store.object_scope():
            kept_mv = _person(store, source, "e1")
            kept = _provisioned(store, "ann", kept_mv.id)
        with pytest.raises(Boom), store.object_scope():
            gone = _provisioned(store, "bob", kept_mv.id)
            kept.hologram = {"upn": "changed@example.org"}
            store.cs_save([kept])  # sent at once, after the held writes of both scopes
            _link(store, source, None)
            raise Boom
        kept.hologram = {"upn": "ann@example.org"}
        source.mv_id, source.link_state = kept_mv.id, LinkState.CONNECTOR
        assert store.cs_refs_by_identifier("ad", ["CN=bob"]) == {}
        assert store.cs_find("ad", "upn", ["ann@example.org", "changed@example.org"]) == {"ann@example.org": [kept.id]}
        assert store.cs_refs_by_mv([kept_mv.id]) == {kept_mv.id: [_ref(source), _ref(kept)]}
    other = open_again()
    assert other.cs_get(gone.id) is None
    assert other.cs_get(kept.id) == kept and other.cs_get(source.id) == source
    assert other.cs_find("ad", "upn", ["ann@example.org", "bob@example.org"]) == {"ann@example.org": [kept.id]}


def test_a_statement_failing_in_a_scope_after_a_held_write_rolls_back_only_that_scope(
    keyed: Store, source: CSObject, open_again: OpenAgain
) -> None:
    """A failed statement (a server aborts the whole transaction over one) inside a scope whose first writes
    were held: the scope rolls back, and the transaction goes on and commits the rest."""
    store = keyed
    taken = CSObject(0, "ad", "user", "CN=Taken", anchor="A1")
    store.cs_insert(taken)
    with store.transaction():
        kept_mv = _person(store, source, "e1")
        with pytest.raises(StoreError), store.object_scope():
            gone_mv = _person(store, source, "e2")
            gone = _provisioned(store, "bob", gone_mv.id)
            gone.anchor = "A1"
            store.cs_save([gone])  # the anchor belongs to another object
        with pytest.raises(_too_large()), store.object_scope():
            _provisioned(store, "carl", kept_mv.id)
            store.cs_get_many([2**70])  # a read the server refuses
        with pytest.raises(_too_large()), store.object_scope():
            store.cs_get_many([2**70])  # before any write of the scope's own
        source.mv_id, source.link_state = kept_mv.id, LinkState.CONNECTOR
        assert store.cs_refs_by_anchor("hr", ["E1"]) == {"E1": _ref(source)}
        kept = _provisioned(store, "ann", kept_mv.id)
    other = open_again()
    assert [o.identifier for o in other.cs_page(CSFilter(connector="ad"), 0, 100)] == ["CN=Taken", "CN=ann"]
    assert other.cs_get(kept.id) == kept and other.cs_get(source.id) == source
    assert other.mv_find("person", "employeeId", ["e1", "e2"]) == {"e1": [kept_mv.id]}
