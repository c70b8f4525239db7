"""Store contract: metadata, watermarks, the run lock between two processes, and the units of work —
nested transactions, rollback on exception, per-object savepoints and always-rolled-back previews."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from idsync.model import CSObject
from idsync.store import CSFilter, Store, StoreError

AddCS = Callable[..., CSObject]
OpenAgain = Callable[[], Store]


class Boom(Exception):
    pass


def anchors(store: Store) -> list[str | None]:
    return [o.anchor for o in store.cs_page(CSFilter(), 0, 1000)]


def test_meta_and_watermarks(store: Store, open_again: OpenAgain) -> None:
    assert store.get_meta("schema_note") is None and store.get_watermark("hr") is None
    store.set_meta("schema_note", "v1")
    store.set_meta("schema_note", "v2")
    store.set_watermark("hr", "usn:1000")
    store.set_watermark("graph", "https://graph.example/delta?token=x")
    store.set_watermark("hr", "usn:2000")
    other = open_again()
    assert other.get_meta("schema_note") == "v2"
    assert (other.get_watermark("hr"), other.get_watermark("graph")) == (
        "usn:2000",
        "https://graph.example/delta?token=x",
    )
    store.set_meta("schema_note", None)
    store.set_watermark("hr", None)
    assert store.get_meta("schema_note") is None and store.get_watermark("hr") is None
    assert store.get_watermark("graph") is not None


def test_a_lock_has_one_owner_at_a_time(store: Store, open_again: OpenAgain) -> None:
    other = open_again()
    assert store.acquire_lock("run", "host-a:1", 60) is True
    assert other.acquire_lock("run", "host-b:2", 60) is False
    assert store.acquire_lock("run", "host-a:1", 60) is True  # renewal by the owner
    assert other.acquire_lock("sched", "host-b:2", 60) is True  # another lock
    other.release_lock("run", "host-b:2")  # not the owner: no effect
    assert other.acquire_lock("run", "host-b:2", 60) is False
    store.release_lock("run", "host-a:1")
    assert other.acquire_lock("run", "host-b:2", 60) is True
    assert store.acquire_lock("run", "host-a:1", 60) is False


def test_an_expired_lock_can_be_taken(store: Store, open_again: OpenAgain) -> None:
    other = open_again()
    assert store.acquire_lock("run", "crashed", 0.05) is True
    time.sleep(0.15)
    assert other.acquire_lock("run", "next", 60) is True
    assert store.acquire_lock("run", "crashed", 60) is False


def test_owners_racing_for_a_lock_get_it_once(store: Store, open_again: OpenAgain) -> None:
    stores = [open_again() for _ in range(6)]
    start = threading.Barrier(len(stores))
    won: list[str] = []

    def contend(s: Store, owner: str) -> None:
        start.wait()
        if s.acquire_lock("run", owner, 60):
            won.append(owner)

    threads = [threading.Thread(target=contend, args=(s, f"owner-{i}")) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(won) == 1


# transactions ---------------------------------------------------------------------------------------------------
def test_nested_transactions_join_the_outer_one(store: Store, add_cs: AddCS) -> None:
    with pytest.raises(Boom), store.transaction():
        with store.transaction():
            add_cs("a")
            store.set_watermark("hr", "w1")
        assert anchors(store) == ["a"]  # the inner block's work is visible inside, not yet committed
        raise Boom
    assert anchors(store) == [] and store.get_watermark("hr") is None


def test_an_exception_rolls_back_and_propagates(store: Store, add_cs: AddCS) -> None:
    add_cs("before")
    with pytest.raises(Boom), store.transaction():
        add_cs("a")
        store.set_meta("k", "v")
        store.cs_delete([o.id for o in store.cs_page(CSFilter(), 0, 10)])
        raise Boom
    assert anchors(store) == ["before"] and store.get_meta("k") is None
    with store.transaction():  # usable afterwards
        add_cs("after")
    assert anchors(store) == ["before", "after"]


def test_work_is_visible_to_others_only_once_committed(store: Store, open_again: OpenAgain, add_cs: AddCS) -> None:
    other = open_again()
    with store.transaction():
        add_cs("a")
        store.set_watermark("hr", "w1")
        assert anchors(other) == [] and other.get_watermark("hr") is None
    assert anchors(other) == ["a"] and other.get_watermark("hr") == "w1"


def test_object_scope_rolls_back_only_its_own_work(store: Store, add_cs: AddCS) -> None:
    with store.transaction():
        add_cs("kept-before")
        with pytest.raises(Boom), store.object_scope():
            add_cs("undone")
            store.set_meta("undone", "x")
            raise Boom
        with store.object_scope():
            add_cs("kept-scope")
        add_cs("kept-after")
    assert anchors(store) == ["kept-before", "kept-scope", "kept-after"]
    assert store.get_meta("undone") is None


def test_object_scope_recovers_from_a_failed_statement(store: Store, add_cs: AddCS) -> None:
    """A database error inside the scope (here the unique anchor) must not poison the rest of the page."""
    with store.transaction():
        add_cs("E1")
        dup = CSObject(0, "hr", "person", "CN=dup", anchor="E1")
        with pytest.raises(StoreError), store.object_scope():
            store.cs_insert(dup)
        second = add_cs("E2")
        second.hologram = {"ok": True}
        store.cs_save([second])
    assert anchors(store) == ["E1", "E2"]


def test_nested_object_scopes(store: Store, add_cs: AddCS) -> None:
    with store.transaction(), store.object_scope():
        add_cs("outer")
        with pytest.raises(Boom), store.object_scope():
            add_cs("inner")
            raise Boom
    assert anchors(store) == ["outer"]


def test_object_scope_outside_a_transaction_is_one(store: Store, add_cs: AddCS, open_again: OpenAgain) -> None:
    with store.object_scope():
        add_cs("a")
        store.set_meta("k", "v")
    with pytest.raises(Boom), store.object_scope():
        add_cs("b")
        raise Boom
    other = open_again()
    assert anchors(other) == ["a"] and other.get_meta("k") == "v"


def test_savepoint_rollback_always_rolls_back(store: Store, add_cs: AddCS) -> None:
    kept = add_cs("kept")
    with store.savepoint_rollback():
        add_cs("preview")
        with store.transaction():
            kept.hologram = {"changed": True}
            store.cs_save([kept])
        assert anchors(store) == ["kept", "preview"]  # visible inside the preview
    assert anchors(store) == ["kept"]
    assert store.cs_get(kept.id) == CSObject(kept.id, "hr", "person", "CN=kept", anchor="kept")
    with pytest.raises(Boom), store.savepoint_rollback():
        add_cs("preview-2")
        raise Boom
    assert anchors(store) == ["kept"]
    with store.transaction():  # usable afterwards
        add_cs("after")
    assert anchors(store) == ["kept", "after"]


def test_savepoint_rollback_inside_a_transaction_undoes_only_its_work(store: Store, add_cs: AddCS) -> None:
    with store.transaction():
        add_cs("before")
        with store.savepoint_rollback():
            add_cs("preview")
        add_cs("after")
    assert anchors(store) == ["before", "after"]
