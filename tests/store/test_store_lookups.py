"""Store contract: inside a write transaction, lookups see every write of that transaction, and what a rolled-back
object scope undid (a store may answer them from memory, as sync reads a page's keys in one batch first)."""

from __future__ import annotations

import random

import pytest

from idsync.model import CSObject, LinkState, MVObject
from idsync.store import CSRef, KeyConfig, Store
from idsync.store.rows import key_value

ANCHORS = [f"E{i}" for i in range(12)]
IDENTIFIERS = [f"CN=Person {i}" for i in range(12)] + ["cn=person 3"]
KEY = "employeeId"


class Boom(Exception):
    pass


def _ref(obj: CSObject) -> CSRef:
    return CSRef(obj.id, obj.connector, obj.object_type, obj.anchor, obj.identifier, obj.mv_id)


def _check(store: Store, mv_ids: list[int]) -> None:
    """The remembered lookups against the full-object reads, which always read the database."""
    for connector in ("hr", "ad"):
        by_anchor = store.cs_by_anchor(connector, ANCHORS)
        assert store.cs_refs_by_anchor(connector, ANCHORS) == {a: _ref(o) for a, o in by_anchor.items()}
        by_identifier = store.cs_by_identifier(connector, IDENTIFIERS)
        assert store.cs_refs_by_identifier(connector, IDENTIFIERS) == {
            k: [_ref(o) for o in v] for k, v in by_identifier.items()
        }
    wanted = [*mv_ids, 999_999]
    assert store.cs_refs_by_mv(wanted) == {k: [_ref(o) for o in v] for k, v in store.cs_by_mv(wanted).items()}
    index: dict[str, list[int]] = {}
    for mv in store.mv_page("person", 0, 10_000):
        if mv.attributes.get(KEY) is not None:
            index.setdefault(key_value(mv.attributes[KEY]), []).append(mv.id)
    values = [key_value(a) for a in ANCHORS]
    found = store.mv_find("person", KEY, values)
    assert {k: sorted(v) for k, v in found.items()} == {k: sorted(v) for k, v in index.items() if k in values}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_lookups_follow_every_write_of_the_transaction(store: Store, seed: int) -> None:
    store.configure_keys(KeyConfig(mv={"person": frozenset({KEY})}))
    rng = random.Random(seed)
    cs_objects: dict[int, CSObject] = {}
    mv_objects: dict[int, MVObject] = {}

    def some_cs() -> CSObject | None:
        return cs_objects[rng.choice(sorted(cs_objects))] if cs_objects else None

    def mv_id() -> int | None:
        return rng.choice([None, *sorted(mv_objects)]) if mv_objects else None

    def one_write() -> None:
        op = rng.choice(
            ["cs_insert", "cs_insert", "cs_save", "cs_links", "cs_delete", "mv_insert", "mv_save", "mv_del"]
        )
        cs = some_cs()
        if op == "cs_insert":
            anchor = rng.choice([*ANCHORS, None])
            obj = CSObject(0, rng.choice(["hr", "ad"]), "person", rng.choice(IDENTIFIERS), anchor=anchor)
            if anchor is not None and store.cs_by_anchor(obj.connector, [anchor]):
                return  # the anchor is taken (a failed insert is its own contract test)
            obj.mv_id = mv_id()
            store.cs_insert(obj)
            cs_objects[obj.id] = obj
        elif op == "cs_save" and cs is not None:
            cs.identifier = rng.choice(IDENTIFIERS)
            if cs.anchor is None and rng.random() < 0.5:
                free = [a for a in ANCHORS if not store.cs_by_anchor(cs.connector, [a])]
                cs.anchor = rng.choice(free) if free else None
            cs.mv_id = mv_id()
            store.cs_save([cs])
        elif op == "cs_links" and cs is not None:
            cs.mv_id = mv_id()
            cs.link_state = LinkState.CONNECTOR if cs.mv_id is not None else LinkState.DISCONNECTOR
            store.cs_save_links([cs])
        elif op == "cs_delete" and cs is not None:
            store.cs_delete([cs.id])
            del cs_objects[cs.id]
        elif op == "mv_insert":
            mv = MVObject(0, "person", {KEY: rng.choice(ANCHORS).lower()} if rng.random() < 0.8 else {})
            store.mv_insert(mv)
            mv_objects[mv.id] = mv
        elif op == "mv_save" and mv_objects:
            mv = mv_objects[rng.choice(sorted(mv_objects))]
            mv.attributes = {KEY: rng.choice(ANCHORS)} if rng.random() < 0.8 else {}
            store.mv_save([mv])
        elif op == "mv_del" and mv_objects:
            gone = rng.choice(sorted(mv_objects))
            store.mv_delete([gone])
            del mv_objects[gone]

    for _page in range(4):
        with store.transaction():
            _check(store, sorted(mv_objects))
            for _ in range(40):
                if rng.random() < 0.2:
                    # an object's work rolled back: the lookups must forget what it wrote
                    saved_cs = {i: CSObject(**{f: getattr(o, f) for f in o.__slots__}) for i, o in cs_objects.items()}
                    saved_mv = {i: MVObject(**{f: getattr(o, f) for f in o.__slots__}) for i, o in mv_objects.items()}
                    with pytest.raises(Boom), store.object_scope():
                        one_write()
                        _check(store, sorted(mv_objects))
                        raise Boom
                    cs_objects, mv_objects = saved_cs, saved_mv
                else:
                    one_write()
                _check(store, sorted(mv_objects))
        _check(store, sorted(mv_objects))  # and outside the transaction, from the database alone
