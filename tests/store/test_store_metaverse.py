"""Store contract: metaverse objects, search, and the join/uniqueness key index (KeyConfig, cs_find, mv_find)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from idsync.model import AttributeChange, Contribution, CSObject, ExportOp, MVObject, PendingExport, ValueOp
from idsync.store import KeyConfig, Store, Unresolved

AddMV = Callable[..., MVObject]
AddCS = Callable[..., CSObject]


def test_insert_assigns_an_id_and_every_field_round_trips(store: Store) -> None:
    obj = MVObject(
        0,
        "person",
        {"employeeId": "E1", "displayName": "Zoë Ångström", "proxy": ["a", "b"], "enabled": True, "floor": 3},
        {"displayName": Contribution("hr", "hr-people", 12), "proxy": Contribution("corp", "corp-users", 9)},
        created_run=4,
    )
    new_id = store.mv_insert(obj)
    assert new_id > 0 and obj.id == new_id
    assert store.mv_get(new_id) == obj
    assert store.mv_get(new_id + 1000) is None


def test_get_many_save_and_delete(store: Store, add_mv: AddMV) -> None:
    a, b, c = add_mv(n="a"), add_mv(n="b"), add_mv("group", n="c")
    got = store.mv_get_many([c.id, a.id, a.id, c.id + 1000])
    assert sorted(got) == [a.id, c.id] and got[c.id].object_type == "group"
    assert store.mv_get_many([]) == {}
    a.attributes = {"n": "A2", "extra": ["x"]}
    a.provenance = {"n": Contribution("hr", "r", 1)}
    b.attributes = {}
    store.mv_save([a, b])
    store.mv_save([])
    assert store.mv_get(a.id) == a
    assert store.mv_get(b.id) == b
    store.mv_delete([a.id, c.id])
    store.mv_delete([])
    assert store.mv_get_many([a.id, b.id, c.id]).keys() == {b.id}


def test_page_and_count_by_type(store: Store, add_mv: AddMV) -> None:
    people = [add_mv(n=i).id for i in range(5)]
    groups = [add_mv("group", n=i).id for i in range(2)]
    assert store.mv_count() == 7
    assert store.mv_count("person") == 5
    assert store.mv_count("nothing") == 0
    assert [m.id for m in store.mv_page("person", 0, 100)] == people
    assert [m.id for m in store.mv_page(None, 0, 100)] == sorted(people + groups)
    first = store.mv_page("person", 0, 2)
    second = store.mv_page("person", first[-1].id, 2)
    assert [m.id for m in first + second] == people[:4]


# search ------------------------------------------------------------------------------------------------------
@pytest.fixture
def people(add_mv: AddMV) -> dict[str, int]:
    objs = {
        "anna": add_mv(displayName="Anna Berg", mail=["anna@x.org", "A.Berg@Example.org"], enabled=True, floor=3),
        "bob": add_mv(displayName="Bob Anders", mail=["bob@x.org"], enabled=False),
        "emile": add_mv(displayName="Émile Zola_1%", department="Île-de-France"),
        "ann": add_mv(displayName="ann"),
        "group": add_mv("group", displayName="Anna's team"),
    }
    return {name: obj.id for name, obj in objs.items()}


SEARCH_CASES: list[tuple[str, str | None, str, str, list[str]]] = [
    ("exact, any case", "person", "displayName", "ANNA BERG", ["anna"]),
    ("prefix wildcard", "person", "displayName", "ann*", ["anna", "ann"]),
    ("suffix wildcard", "person", "displayName", "*anders", ["bob"]),
    ("infix wildcard", "person", "displayName", "*n*", ["anna", "bob", "ann"]),
    ("all types", None, "displayName", "ann*", ["anna", "ann", "group"]),
    ("multi-valued element", "person", "mail", "a.berg@example.ORG", ["anna"]),
    ("multi-valued wildcard", "person", "mail", "*@x.org", ["anna", "bob"]),
    ("boolean", "person", "enabled", "true", ["anna"]),
    ("integer", "person", "floor", "3", ["anna"]),
    ("non-ASCII case", "person", "department", "île-de-france", ["emile"]),
    ("underscore is literal", "person", "displayName", "émile zola_1%", ["emile"]),
    ("underscore is not a wildcard", "person", "displayName", "a_n*", []),
    ("percent is not a wildcard", "person", "displayName", "%", []),
    ("any value", "person", "department", "*", ["emile"]),
    ("no such attribute", "person", "title", "*", []),
]


@pytest.mark.parametrize(
    ("object_type", "attribute", "value", "expected"), [c[1:] for c in SEARCH_CASES], ids=[c[0] for c in SEARCH_CASES]
)
def test_search(
    store: Store, people: dict[str, int], object_type: str | None, attribute: str, value: str, expected: list[str]
) -> None:
    names = {v: k for k, v in people.items()}
    found = store.mv_search(object_type, attribute, value, 100)
    assert [names[m.id] for m in found] == expected  # in id order


def test_search_stops_at_the_limit(store: Store, people: dict[str, int]) -> None:
    found = store.mv_search("person", "displayName", "*", 2)
    assert [m.id for m in found] == [people["anna"], people["bob"]]


# key index ----------------------------------------------------------------------------------------------------
KEYS = KeyConfig(
    mv={"person": frozenset({"employeeId", "mail"})},
    cs={"ad": frozenset({"sAMAccountName", "__identifier__"})},
)


def test_configure_keys_rebuilds_only_when_the_configuration_changes(store: Store) -> None:
    assert store.configure_keys(KEYS) is True
    same = KeyConfig(mv={"person": frozenset({"mail", "employeeId"})}, cs=dict(KEYS.cs))
    assert store.configure_keys(same) is False
    assert store.configure_keys(KeyConfig(mv={"person": frozenset({"mail"})})) is True
    assert store.configure_keys(KeyConfig()) is True
    assert store.configure_keys(KeyConfig()) is False


def test_rebuild_indexes_objects_stored_before(store: Store, add_mv: AddMV, add_cs: AddCS) -> None:
    anna = add_mv(employeeId="E1", mail=["Anna@X.org", "a.berg@x.org"], displayName="Anna")
    add_mv("group", employeeId="E1")
    bob = add_cs("b1", connector="ad", identifier="CN=Bob,OU=Staff", hologram={"sAMAccountName": "BOB"})
    assert store.mv_find("person", "employeeId", ["e1"]) == {}
    store.configure_keys(KEYS)
    assert store.mv_find("person", "employeeId", ["e1", "e2"]) == {"e1": [anna.id]}
    assert store.mv_find("person", "mail", ["anna@x.org", "a.berg@x.org"]) == {
        "anna@x.org": [anna.id],
        "a.berg@x.org": [anna.id],
    }
    assert store.mv_find("person", "displayName", ["anna"]) == {}  # not a key attribute
    assert store.mv_find("group", "employeeId", ["e1"]) == {}  # not a keyed type
    assert store.cs_find("ad", "sAMAccountName", ["bob"]) == {"bob": [bob.id]}
    assert store.cs_find("ad", "__identifier__", ["cn=bob,ou=staff"]) == {"cn=bob,ou=staff": [bob.id]}
    assert store.cs_find("hr", "sAMAccountName", ["bob"]) == {}


def test_keys_follow_metaverse_writes(store: Store, add_mv: AddMV) -> None:
    store.configure_keys(KEYS)
    anna = add_mv(employeeId="E1", mail=["a@x.org"])
    twin = add_mv(employeeId="e1")
    assert store.mv_find("person", "employeeId", ["e1"]) == {"e1": [anna.id, twin.id]}
    anna.attributes = {"employeeId": "E2", "mail": ["b@x.org"]}
    store.mv_save([anna])
    assert store.mv_find("person", "employeeId", ["e1", "e2"]) == {"e1": [twin.id], "e2": [anna.id]}
    assert store.mv_find("person", "mail", ["a@x.org", "b@x.org"]) == {"b@x.org": [anna.id]}
    store.mv_delete([twin.id])
    assert store.mv_find("person", "employeeId", ["e1"]) == {}


def test_keys_follow_connector_space_writes_and_staged_exports(store: Store, add_cs: AddCS) -> None:
    store.configure_keys(KEYS)
    bob = add_cs("b1", connector="ad", identifier="CN=Bob", hologram={"sAMAccountName": "bob"})
    staged = add_cs(
        None,
        connector="ad",
        identifier="CN=New",
        pending_export=PendingExport(
            ExportOp.ADD,
            [
                AttributeChange("sAMAccountName", ValueOp.REPLACE, ["New1"]),
                AttributeChange("sAMAccountName", ValueOp.REMOVE, ["gone"]),
            ],
        ),
    )
    assert store.cs_find("ad", "sAMAccountName", ["bob", "new1", "gone"]) == {"bob": [bob.id], "new1": [staged.id]}
    bob.hologram = {"sAMAccountName": "robert"}
    bob.identifier = "CN=Robert"
    store.cs_save([bob])
    assert store.cs_find("ad", "sAMAccountName", ["bob", "robert"]) == {"robert": [bob.id]}
    assert store.cs_find("ad", "__identifier__", ["cn=bob", "cn=robert"]) == {"cn=robert": [bob.id]}
    store.cs_delete([staged.id])
    assert store.cs_find("ad", "sAMAccountName", ["new1"]) == {}


def test_a_rebuild_drops_attributes_no_longer_configured(store: Store, add_mv: AddMV) -> None:
    store.configure_keys(KEYS)
    anna = add_mv(employeeId="E1", mail=["a@x.org"])
    store.configure_keys(KeyConfig(mv={"person": frozenset({"mail"})}))
    assert store.mv_find("person", "employeeId", ["e1"]) == {}
    assert store.mv_find("person", "mail", ["a@x.org"]) == {"a@x.org": [anna.id]}


def test_the_key_configuration_persists(store: Store, open_again: Callable[[], Store], add_mv: AddMV) -> None:
    store.configure_keys(KEYS)
    add_mv(employeeId="E1")
    again = open_again()
    assert again.configure_keys(KEYS) is False
    later = MVObject(0, "person", {"employeeId": "E9"})
    again.mv_insert(later)  # indexed by the reopened store without a rebuild
    assert again.mv_find("person", "employeeId", ["e9"]) == {"e9": [later.id]}


def test_find_reads_many_values(store: Store, add_mv: AddMV) -> None:
    store.configure_keys(KEYS)
    with store.transaction():
        ids = [add_mv(employeeId=f"E{i}").id for i in range(1100)]
    wanted = [f"e{i}" for i in range(0, 1100, 3)] + ["missing"]
    found = store.mv_find("person", "employeeId", wanted)
    assert found == {f"e{i}": [ids[i]] for i in range(0, 1100, 3)}


# unresolved references ------------------------------------------------------------------------------------------
def test_unresolved_references(store: Store) -> None:
    manager = [Unresolved("in", 1, "manager", "hr", "E7")]
    members = [Unresolved("out", 1, "member", "ad", "5"), Unresolved("out", 1, "member", "ad", "6")]
    store.unresolved_set(1, "manager", "in", manager)
    store.unresolved_set(1, "member", "out", members)
    store.unresolved_set(2, "manager", "in", [Unresolved("in", 2, "manager", "hr", "E7")])
    assert store.unresolved_count() == 4
    waiting = store.unresolved_waiting_for("in", "hr", ["E7", "E8"])
    assert sorted((u.mv_id, u.ref) for u in waiting) == [(1, "E7"), (2, "E7")]
    assert store.unresolved_waiting_for("out", "hr", ["E7"]) == []
    assert store.unresolved_waiting_for("out", "ad", ["6"]) == [members[1]]
    assert sorted(store.unresolved_for_mv([1]), key=lambda u: (u.attribute, u.ref)) == manager + members
    # replacing one (object, attribute, direction) leaves the others alone
    store.unresolved_set(1, "member", "out", [Unresolved("out", 1, "member", "ad", "9")])
    assert sorted(u.ref for u in store.unresolved_for_mv([1])) == ["9", "E7"]
    store.unresolved_set(1, "manager", "in", [])
    assert [u.ref for u in store.unresolved_for_mv([1, 3])] == ["9"]
    store.mv_delete([2])
    assert store.unresolved_count() == 1
    assert store.unresolved_for_mv([]) == []
