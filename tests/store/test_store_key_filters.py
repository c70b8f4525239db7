"""Store contract: with key filters on (a sync step), ``cs_find`` and ``mv_find`` give the database's answers —
for values written before the filter was built, after it, held back or sent, inside and outside transactions, and
after the filter outgrew its size."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from idsync.model import CSObject, MVObject
from idsync.store import KeyConfig, Store
from idsync.store.presence import BUILD_AFTER, KeyPresence
from idsync.store.rows import key_value

KEYS = KeyConfig(mv={"person": frozenset({"alias"})}, cs={"ad": frozenset({"upn"})})


def _same(found: dict[str, list[int]], truth: dict[str, list[int]], asked: list[str]) -> None:
    assert {k: sorted(v) for k, v in found.items()} == {k: sorted(truth[k]) for k in asked if k in truth}


@pytest.mark.parametrize("seed", [1, 2])
def test_lookups_with_filters_give_the_databases_answers(store: Store, seed: int) -> None:
    store.configure_keys(KEYS)
    rng = random.Random(seed)
    names = [f"name{i}" for i in range(3000)]

    mv_truth: dict[str, list[int]] = {}
    cs_truth: dict[str, list[int]] = {}

    def add(page: int) -> None:
        for _ in range(page):
            name = rng.choice(names)
            if rng.random() < 0.5:
                mv = MVObject(0, "person", {"alias": [name]})
                mv_truth.setdefault(key_value(name), []).append(store.mv_insert(mv))
            else:
                cs = CSObject(0, "ad", "user", f"CN={name}", hologram={"upn": [name]})
                cs_truth.setdefault(key_value(name), []).append(store.cs_insert(cs))

    add(200)  # in the database before the filters exist
    with store.key_filters():
        for _ in range(4):
            with store.transaction():  # writes held back, then looked up
                for i in range(BUILD_AFTER + 50):
                    if i % 7 == 0:
                        add(3)
                    asked = [key_value(rng.choice(names))]
                    _same(store.mv_find("person", "alias", asked), mv_truth, asked)
                    _same(store.cs_find("ad", "upn", asked), cs_truth, asked)
            add(400)  # each written at once: more than a small filter was sized for
        asked = [key_value(n) for n in names]
        _same(store.mv_find("person", "alias", asked), mv_truth, asked)
        _same(store.cs_find("ad", "upn", asked), cs_truth, asked)


def test_filters_are_forgotten_when_the_step_ends(store: Store, open_again: Callable[[], Store]) -> None:
    """A value another connection writes after the step is found by the next step's lookups."""
    store.configure_keys(KEYS)
    with store.key_filters():
        for i in range(BUILD_AFTER + 1):
            assert store.cs_find("ad", "upn", [f"absent{i}"]) == {}
    other = open_again()
    other.configure_keys(KEYS)
    obj = CSObject(0, "ad", "user", "CN=late", hologram={"upn": ["late"]})
    other.cs_insert(obj)
    with store.key_filters():
        for i in range(BUILD_AFTER + 1):
            store.cs_find("ad", "upn", [f"absent{i}"])
        assert store.cs_find("ad", "upn", ["late"]) == {"late": [obj.id]}


def test_a_filter_is_read_only_after_enough_lookups_and_learns_every_write() -> None:
    presence = KeyPresence()
    index = ("cs_keys", "ad", "upn")
    database = [("taken", 1)]
    reads: list[int] = []

    def read(_index: tuple[str, str, str]) -> list[tuple[str, int]]:
        reads.append(1)
        return list(database)

    def write(rows: list[tuple[str, str, str, int]]) -> None:
        database.extend((value, owner) for _, attribute, value, owner in rows if attribute == "upn")
        presence.written("cs_keys", rows)

    assert presence.candidates(index, ["x"], read) == ["x"]  # off: every value may be held
    with presence.enabled():
        for _ in range(BUILD_AFTER - 1):
            assert presence.candidates(index, ["free"], read) == ["free"]
        assert not reads
        assert presence.candidates(index, ["free", "taken"], read) == ["taken"]
        assert len(reads) == 1
        write([("ad", "upn", "new", 7), ("ad", "other", "elsewhere", 8)])
        assert presence.candidates(index, ["new", "elsewhere"], read) == ["new"]
        write([("ad", "upn", f"v{i}", i) for i in range(200_000)])
        assert presence.candidates(index, ["v5", "new"], read) == ["v5", "new"]
        assert len(reads) == 2  # it had learnt more than it was sized for: read again, larger
        free = [f"w{i}" for i in range(10_000)]
        assert len(presence.candidates(index, free, read)) < 500  # a few false "maybe"s, not many
        # which object wrote what: "taken" for the others, not for the writer; forgotten once undone
        assert presence.taken(index, "new", own=8) and not presence.taken(index, "new", own=7)
        assert presence.taken(index, "taken", own=None) and not presence.taken(index, "taken", own=1)
        presence.rewritten("cs_keys", [7])
        assert not presence.taken(index, "new", own=8)
        assert presence.taken(index, "v5", own=None)
        presence.rolled_back()
        assert not presence.taken(index, "v5", own=None)
    assert presence.candidates(index, ["free"], read) == ["free"]
    assert not presence.taken(index, "v6", own=None)


def test_a_lookup_of_a_value_no_store_can_hold_finds_nothing_and_the_transaction_goes_on(store: Store) -> None:
    """A NUL character (an expression can make one) cannot be in a PostgreSQL row: looking for it finds nothing,
    where sending it would abort the transaction and with it the page."""
    store.configure_keys(KEYS)
    with store.transaction():
        taken = store.cs_insert(CSObject(0, "ad", "user", "CN=a", anchor="A", hologram={"upn": ["a"]}))
        with store.object_scope():
            assert store.cs_find("ad", "upn", ["a\x00b"]) == {}
            assert store.mv_find("person", "alias", ["a\x00b", "x\x00"]) == {}
            assert store.cs_refs_by_identifier("ad", ["CN=\x00"]) == {}
            assert store.cs_refs_by_anchor("ad", ["A\x00"]) == {}
        assert store.cs_find("ad", "upn", ["a"]) == {"a": [taken]}
    assert store.cs_find("ad", "upn", ["a"]) == {"a": [taken]}


class Undo(Exception):
    pass


@pytest.mark.parametrize(
    ("seed", "remembered", "failures"), [(3, None, True), (4, None, True), (6, None, False), (5, 12, False)]
)
def test_taken_answers_follow_writes_rewrites_deletes_and_rollbacks(
    store: Store, seed: int, remembered: int | None, failures: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``cs_value_taken`` against what the objects hold, through inserts (held and sent), value changes, deletes
    and object scopes that fail, with the key filters built early in the run; asked by nobody and by objects that
    hold values themselves. ``remembered``: so few holders remembered that the oldest are forgotten as it runs;
    without ``failures`` no rollback makes the store forget every holder (which it must survive as well)."""
    if remembered is not None:
        monkeypatch.setattr("idsync.store.presence.REMEMBERED", remembered)
    store.configure_keys(KEYS)
    rng = random.Random(seed)
    names = [f"n{i}" for i in range(60)]
    holds: dict[int, set[str]] = {}
    objects: dict[int, CSObject] = {}

    def check(own: int | None) -> None:
        for name in names:
            truth = any(owner != own and name in values for owner, values in holds.items())
            assert store.cs_value_taken("ad", "upn", name, own) is truth, (name, own)

    with store.key_filters():
        for _ in range(BUILD_AFTER):
            store.cs_find("ad", "upn", ["nobody"])
        for _round in range(6):
            with store.transaction():
                for _ in range(25):
                    op = rng.choice(["insert", "insert", "change", "delete", *(["fail"] if failures else [])])
                    if op == "insert" or not objects:
                        name = rng.choice(names)
                        obj = CSObject(0, "ad", "user", f"CN={name}", hologram={"upn": [name]})
                        store.cs_insert(obj)
                        objects[obj.id], holds[obj.id] = obj, {name}
                    elif op == "change":
                        obj = objects[rng.choice(sorted(objects))]
                        name = rng.choice(names)
                        obj.hologram = {"upn": [name]}
                        store.cs_save([obj])
                        holds[obj.id] = {name}
                    elif op == "delete":
                        gone = rng.choice(sorted(objects))
                        store.cs_delete([gone])
                        del objects[gone], holds[gone]
                    else:
                        with pytest.raises(Undo), store.object_scope():
                            name = rng.choice(names)
                            store.cs_insert(CSObject(0, "ad", "user", f"CN={name}", hologram={"upn": [name]}))
                            store.cs_find("ad", "upn", [name])  # sends what is held, under the scope's savepoint
                            raise Undo
                    check(rng.choice([None, *sorted(objects)[:3], *sorted(objects)[-3:]]))
            check(None)
