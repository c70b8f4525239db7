"""Store contract: a batch of new connector-space objects goes in as ``cs_insert`` one at a time would put it.

Ids in batch order and past every stored one, every field kept, the unique anchor still enforced (against stored
objects and within the batch: the refused object is named with the reason and the rest go in), the key index
and the lookups of the same transaction seeing the new objects, and the held writes sent in their place.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from idsync.model import CSObject, ImportOp, LinkState, PendingImport
from idsync.store import CSFilter, CSRef, KeyConfig, Store

AddCS = Callable[..., CSObject]


def new(anchor: str | None, connector: str = "hr", **kw: object) -> CSObject:
    identifier = str(kw.pop("identifier", None) or f"CN={anchor},OU=Staff")
    return CSObject(0, connector, "person", identifier, anchor=anchor, **kw)  # type: ignore[arg-type]


def test_a_batch_gets_ids_in_order_after_the_stored_ones_and_round_trips(store: Store, add_cs: AddCS) -> None:
    before = add_cs("E0")
    batch = [
        new(
            f"E{i}",
            hologram={"sn": f"Surname{i}", "mail": [f"u{i}@example.org", f"U{i}@Example.org"], "n": i, "ok": True},
            pending_import=PendingImport(ImportOp.ADD, ["mail", "n", "ok", "sn"]),
            last_seen=7,
        )
        for i in range(1, 301)
    ]
    assert store.cs_insert_many(batch) == []
    ids = [o.id for o in batch]
    assert ids == sorted(ids) and len(set(ids)) == 300 and ids[0] > before.id
    got = store.cs_get_many(ids)
    assert all(got[o.id] == o for o in batch)
    assert store.cs_by_anchor("hr", ["E150"])["E150"].hologram["mail"] == ["u150@example.org", "U150@Example.org"]
    assert store.cs_count(CSFilter(connector="hr", pending_import=True)) == 300
    assert store.cs_count(CSFilter(connector="hr", link_states=(LinkState.DISCONNECTOR.value,))) == 301
    after = add_cs("E999")
    assert after.id > ids[-1]


def test_a_taken_anchor_refuses_only_that_object(store: Store, add_cs: AddCS) -> None:
    stored = add_cs("E2", identifier="CN=Stored")
    batch = [new("E1"), new("E2", identifier="CN=Newcomer"), new("E3"), new("E3", identifier="CN=Twin"), new("E4")]
    refused = store.cs_insert_many(batch)
    assert [(o.identifier, "anchor 'E2'" in why) for o, why in refused if o.anchor == "E2"] == [("CN=Newcomer", True)]
    assert sorted((o.identifier, o.anchor) for o, _ in refused) == [("CN=Newcomer", "E2"), ("CN=Twin", "E3")]
    assert all("already belongs" in why for _, why in refused)
    assert all(o.id == 0 for o, _ in refused)
    found = store.cs_by_anchor("hr", ["E1", "E2", "E3", "E4"])
    assert found["E2"].id == stored.id and found["E2"].identifier == "CN=Stored"
    assert found["E3"].identifier == "CN=E3,OU=Staff"
    assert {found[a].id for a in ("E1", "E3", "E4")} == {batch[0].id, batch[2].id, batch[4].id}
    assert store.cs_count(CSFilter(connector="hr")) == 4


def test_the_same_anchor_in_another_connector_and_objects_without_anchor_go_in(store: Store, add_cs: AddCS) -> None:
    add_cs("E1", connector="ad")
    batch = [new("E1"), new(None, identifier="CN=Waiting"), new(None, identifier="CN=Waiting too")]
    assert store.cs_insert_many(batch) == []
    assert all(o.id for o in batch)
    assert store.cs_count(CSFilter(connector="hr")) == 3
    assert [o.id for o in store.cs_by_identifier("hr", ["cn=waiting"])["cn=waiting"]] == [batch[1].id]
    assert store.cs_insert_many([]) == []


def test_inside_a_transaction_the_batch_is_seen_by_lookups_and_rolls_back_with_it(store: Store) -> None:
    class Boom(Exception):
        pass

    with store.transaction():
        # held writes made before the batch (an object without anchor) are sent with it, ids stay distinct
        held = new(None, identifier="CN=Provisioned")
        store.cs_insert(held)
        assert store.cs_refs_by_anchor("hr", ["E1"]) == {}  # remembered as absent ...
        batch = [new("E1"), new("E2")]
        assert store.cs_insert_many(batch) == []
        assert len({held.id, batch[0].id, batch[1].id}) == 3
        # a held insert after the batch: ids keep the order of the inserts, held or not
        later = new(None, identifier="CN=Later")
        store.cs_insert(later)
        assert held.id < batch[0].id < batch[1].id < later.id
        # ... and now present: the lookup memory follows the batch
        assert store.cs_refs_by_anchor("hr", ["E1"])["E1"] == CSRef(
            batch[0].id, "hr", "person", "E1", "CN=E1,OU=Staff", None
        )
        refs = store.cs_refs_by_identifier("hr", ["CN=Provisioned", "cn=e2,ou=staff"])
        assert [r.id for r in refs["cn=provisioned"]] == [held.id]
        assert [r.id for r in refs["cn=e2,ou=staff"]] == [batch[1].id]
    assert store.cs_count(CSFilter(connector="hr")) == 4
    with pytest.raises(Boom), store.transaction():
        assert store.cs_insert_many([new("E3")]) == []
        raise Boom
    assert store.cs_by_anchor("hr", ["E3"]) == {}


def test_key_index_rows_are_written_for_the_batch(store: Store) -> None:
    store.configure_keys(KeyConfig(cs={"ad": frozenset({"upn"})}))
    batch = [new(f"G{i}", connector="ad", hologram={"upn": f"User{i}@Example.org"}) for i in range(3)]
    assert store.cs_insert_many(batch) == []
    assert store.cs_find("ad", "upn", ["user1@example.org", "user9@example.org"]) == {
        "user1@example.org": [batch[1].id]
    }


def test_whether_a_connector_has_objects_without_anchor(store: Store, add_cs: AddCS) -> None:
    add_cs("E1")
    add_cs(None, connector="ad", identifier="CN=Provisioned")
    assert store.cs_has_unanchored("hr") is False
    assert store.cs_has_unanchored("ad") is True
    assert store.cs_has_unanchored("nobody") is False
    with store.transaction():
        store.cs_insert(new(None, identifier="CN=Held"))  # a held insert counts too
        assert store.cs_has_unanchored("hr") is True
