"""Store contract: connector-space objects — writes, batch reads, the unique anchor, obsoletion, filters."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from idsync.model import (
    AttributeChange,
    CSObject,
    ExportOp,
    ImportOp,
    LinkState,
    PendingExport,
    PendingImport,
    ValueOp,
)
from idsync.store import CSFilter, CSRef, Store, StoreError

AddCS = Callable[..., CSObject]


def full_cs() -> CSObject:
    """A CS object with every field set to something other than its default."""
    return CSObject(
        0,
        "corp",
        "user",
        "CN=Zoë Ångström,OU=Staff,DC=corp",
        anchor="b64:AAECAw==",
        hologram={"displayName": "Zoë Ångström", "uSNChanged": 123456789012, "enabled": True, "proxy": ["a", "B"]},
        link_state=LinkState.CONNECTOR,
        mv_id=42,
        link_rule="joined:corp-users",
        pending_import=PendingImport(ImportOp.RENAME, ["displayName", "proxy"], "CN=Zoe,OU=Staff,DC=corp"),
        pending_export=PendingExport(
            ExportOp.UPDATE,
            [
                AttributeChange("proxy", ValueOp.ADD, ["c"], "out-users"),
                AttributeChange("title", ValueOp.REPLACE, [None], None),
            ],
            new_identifier="CN=Zoë A,OU=Staff,DC=corp",
            rule="out-users",
            tries=2,
            in_flight=True,
        ),
        unconfirmed={"title": {"value": "Engineer", "tries": 1}},
        error="export refused: constraint violation",
        last_seen=17,
    )


def test_insert_assigns_an_id_and_every_field_round_trips(store: Store) -> None:
    obj = full_cs()
    new_id = store.cs_insert(obj)
    assert new_id > 0 and obj.id == new_id
    assert store.cs_get(new_id) == obj


def test_ids_are_distinct_and_missing_ids_read_as_nothing(store: Store, add_cs: AddCS) -> None:
    a, b, c = add_cs("a"), add_cs("b"), add_cs("c")
    assert len({a.id, b.id, c.id}) == 3
    assert a.id < b.id < c.id
    assert store.cs_get(c.id + 1000) is None
    got = store.cs_get_many([c.id, a.id, a.id, c.id + 1000])
    assert sorted(got) == [a.id, c.id]
    assert got[a.id].anchor == "a"
    assert store.cs_get_many([]) == {}


def test_save_overwrites_every_field(store: Store, add_cs: AddCS) -> None:
    stored = full_cs()
    store.cs_insert(stored)
    changed = CSObject(stored.id, "corp", "user", "CN=Other,DC=corp", anchor="other")
    store.cs_save([changed])
    again = store.cs_get(stored.id)
    assert again == changed
    assert again is not None and again.pending_export is None and again.hologram == {} and again.mv_id is None


def test_save_writes_a_batch(store: Store, add_cs: AddCS) -> None:
    objs = [add_cs(f"a{i}") for i in range(30)]
    for i, obj in enumerate(objs):
        obj.hologram = {"n": i}
        obj.last_seen = 5
    store.cs_save(objs)
    store.cs_save([])
    got = store.cs_get_many(o.id for o in objs)
    assert [got[o.id].hologram["n"] for o in objs] == list(range(30))
    assert {o.last_seen for o in got.values()} == {5}


def test_an_anchor_is_unique_per_connector(store: Store, add_cs: AddCS) -> None:
    first = add_cs("E1", connector="hr")
    add_cs("E1", connector="ad")  # the same anchor in another connector is another object
    with pytest.raises(StoreError, match="anchor"):
        add_cs("E1", connector="hr", identifier="CN=someone else")
    assert store.cs_count(CSFilter(connector="hr")) == 1
    assert store.cs_by_anchor("hr", ["E1"])["E1"].id == first.id


def test_objects_without_an_anchor_may_share_none(store: Store, add_cs: AddCS) -> None:
    """Provisioned objects have no anchor until their export is confirmed."""
    a = add_cs(None, identifier="CN=new one")
    b = add_cs(None, identifier="CN=new two")
    assert a.id != b.id
    assert store.cs_by_anchor("hr", ["E1"]) == {}


def test_save_cannot_take_another_objects_anchor(store: Store, add_cs: AddCS) -> None:
    add_cs("E1")
    second = add_cs("E2")
    second.anchor = "E1"
    with pytest.raises(StoreError, match="anchor"), store.transaction():
        store.cs_save([second])
    assert store.cs_by_anchor("hr", ["E1", "E2"])["E2"].id == second.id


def test_by_anchor_reads_one_connector_in_batches(store: Store, add_cs: AddCS) -> None:
    with store.transaction():
        ids = {f"E{i}": add_cs(f"E{i}").id for i in range(1200)}
        add_cs("X1", connector="ad")
    wanted = [f"E{i}" for i in range(0, 1200, 2)] + ["X1", "nope"]
    got = store.cs_by_anchor("hr", wanted)
    assert set(got) == {f"E{i}" for i in range(0, 1200, 2)}
    assert all(got[a].id == ids[a] for a in got)
    assert store.cs_by_anchor("ad", ["X1"])["X1"].connector == "ad"
    assert store.cs_by_anchor("hr", []) == {}


def test_by_identifier_is_keyed_by_the_case_folded_identifier(store: Store, add_cs: AddCS) -> None:
    upper = add_cs("1", identifier="CN=Anna Berg,OU=Staff")
    lower = add_cs("2", identifier="cn=anna berg,ou=staff")
    accent = add_cs("3", identifier="CN=Émile Straße")
    add_cs("4", connector="ad", identifier="CN=Anna Berg,OU=Staff")
    got = store.cs_by_identifier("hr", ["CN=ANNA BERG,OU=STAFF", "cn=émile strasse", "CN=nobody"])
    assert set(got) == {"cn=anna berg,ou=staff", "cn=émile strasse"}
    assert sorted(o.id for o in got["cn=anna berg,ou=staff"]) == [upper.id, lower.id]
    assert [o.id for o in got["cn=émile strasse"]] == [accent.id]
    assert {o.identifier for o in got["cn=anna berg,ou=staff"]} == {"CN=Anna Berg,OU=Staff", "cn=anna berg,ou=staff"}


def test_by_mv_groups_linked_objects_in_id_order(store: Store, add_cs: AddCS) -> None:
    a = add_cs("a", mv_id=7, link_state=LinkState.CONNECTOR)
    b = add_cs("b", connector="ad", mv_id=7, link_state=LinkState.CONNECTOR)
    c = add_cs("c", mv_id=8, link_state=LinkState.CONNECTOR)
    add_cs("d")
    got = store.cs_by_mv([7, 8, 9])
    assert {k: [o.id for o in v] for k, v in got.items()} == {7: [a.id, b.id], 8: [c.id]}
    assert store.cs_by_mv([]) == {}


def _ref(obj: CSObject) -> CSRef:
    return CSRef(obj.id, obj.connector, obj.object_type, obj.anchor, obj.identifier, obj.mv_id)


def test_refs_are_the_objects_without_their_values(store: Store, add_cs: AddCS) -> None:
    with store.transaction():
        linked = [add_cs(f"E{i}", mv_id=i % 700, link_state=LinkState.CONNECTOR) for i in range(1200)]
        full = full_cs()
        store.cs_insert(full)
        provisioned = add_cs(None, connector="ad", identifier="CN=New,OU=Staff", mv_id=3)
        add_cs("E1", connector="ad", identifier="CN=E1")
    anchors = [f"E{i}" for i in range(0, 1200, 3)] + ["nope"]
    assert store.cs_refs_by_anchor("hr", anchors) == {a: _ref(o) for a, o in store.cs_by_anchor("hr", anchors).items()}
    assert store.cs_refs_by_anchor("corp", [full.anchor or ""]) == {full.anchor: _ref(full)}
    identifiers = ["cn=e5", "CN=NEW,ou=staff", "CN=Zoë Ångström,OU=Staff,DC=corp", "CN=nobody"]
    for connector in ("hr", "ad", "corp"):
        by_identifier = store.cs_by_identifier(connector, identifiers)
        assert store.cs_refs_by_identifier(connector, identifiers) == {
            k: [_ref(o) for o in v] for k, v in by_identifier.items()
        }
    assert store.cs_refs_by_identifier("ad", ["cn=new,ou=staff"]) == {"cn=new,ou=staff": [_ref(provisioned)]}
    mv_ids = [*range(0, 700, 2), 42, 9999]
    by_mv = store.cs_by_mv(mv_ids)
    assert store.cs_refs_by_mv(mv_ids) == {k: [_ref(o) for o in v] for k, v in by_mv.items()}
    assert [r.id for r in store.cs_refs_by_mv([3])[3]] == [linked[3].id, linked[703].id, provisioned.id]
    assert store.cs_refs_by_anchor("hr", []) == {} and store.cs_refs_by_identifier("hr", []) == {}
    assert store.cs_refs_by_mv([]) == {}


def test_delete_removes_only_the_given_objects(store: Store, add_cs: AddCS) -> None:
    a, b, c = add_cs("a"), add_cs("b"), add_cs("c")
    store.cs_delete([a.id, c.id])
    store.cs_delete([])
    assert store.cs_get(a.id) is None and store.cs_get(c.id) is None
    assert store.cs_get(b.id) is not None
    assert store.cs_count(CSFilter()) == 1
    add_cs("a")  # the anchor is free again


def test_mark_seen_and_unseen_find_obsoletion_candidates(store: Store, add_cs: AddCS) -> None:
    objs = [add_cs(f"E{i}") for i in range(10)]
    add_cs(None, identifier="CN=provisioned, not yet exported")
    add_cs("other", connector="ad")
    store.cs_mark_seen("hr", [o.id for o in objs[::2]], 3)
    unseen = store.cs_unseen("hr", 3, 0, 100)
    assert [o.id for o in unseen] == [o.id for o in objs[1::2]]
    first = store.cs_unseen("hr", 3, 0, 2)
    rest = store.cs_unseen("hr", 3, first[-1].id, 100)
    assert [o.id for o in first + rest] == [o.id for o in unseen]
    assert all(o.last_seen == 3 for o in store.cs_get_many(o.id for o in objs[::2]).values())
    store.cs_mark_seen("hr", [o.id for o in objs], 4)
    assert store.cs_unseen("hr", 4, 0, 100) == []


# CSFilter -----------------------------------------------------------------------------------------------------
@pytest.fixture
def population(store: Store, add_cs: AddCS) -> dict[str, int]:
    """Named objects covering every filterable state; the cases below list by name what each filter must find."""
    objs = {
        "anna": add_cs(
            "a",
            identifier="CN=Anna Berg,OU=Staff",
            hologram={"department": "Sales", "mail": ["anna@x.org", "A.Berg@x.org"], "enabled": True, "floor": 3},
            link_state=LinkState.CONNECTOR,
            mv_id=1,
            pending_import=PendingImport(ImportOp.ADD, ["department"]),
        ),
        "bob": add_cs(
            "b",
            identifier="CN=Bob,OU=Staff",
            hologram={"department": "sales", "enabled": None},
            pending_export=PendingExport(ExportOp.UPDATE, [AttributeChange("title", ValueOp.REPLACE, ["x"])]),
            error="bad value",
        ),
        "admins": add_cs(
            "c",
            object_type="group",
            identifier="CN=Admins,OU=Groups",
            hologram={"member": ["CN=Anna Berg,OU=Staff"]},
            link_state=LinkState.FILTERED,
            pending_export=PendingExport(ExportOp.DELETE),
            unconfirmed={"member": {"value": [], "tries": 1}},
        ),
        "anna-ad": add_cs(
            "d",
            connector="ad",
            identifier="CN=Anna Berg,OU=Staff",
            hologram={"department": "Sales", "enabled": False},
            link_state=LinkState.EXPLICIT,
        ),
        "emile": add_cs(
            "e",
            identifier="CN=Émile_1%,OU=Staff",
            hologram={"department": "Ventes Île-de-France"},
            link_state=LinkState.CONNECTOR,
            mv_id=2,
        ),
    }
    return {name: obj.id for name, obj in objs.items()}


FILTER_CASES: list[tuple[str, CSFilter, set[str]]] = [
    ("everything", CSFilter(), {"anna", "bob", "admins", "anna-ad", "emile"}),
    ("connector", CSFilter(connector="hr"), {"anna", "bob", "admins", "emile"}),
    ("object type", CSFilter(object_type="group"), {"admins"}),
    ("pending import", CSFilter(pending_import=True), {"anna"}),
    ("pending export", CSFilter(pending_export=True), {"bob", "admins"}),
    ("export op", CSFilter(export_ops=("delete",)), {"admins"}),
    ("export ops, any of", CSFilter(export_ops=("update", "delete")), {"bob", "admins"}),
    ("export op, disable", CSFilter(export_ops=("disable",)), set()),
    ("error", CSFilter(error=True), {"bob"}),
    ("unconfirmed", CSFilter(unconfirmed=True), {"admins"}),
    ("link states", CSFilter(link_states=("disconnector", "filtered-disconnector")), {"bob", "admins"}),
    ("identifier prefix", CSFilter(identifier_like="cn=anna%"), {"anna", "anna-ad"}),
    ("identifier any case", CSFilter(identifier_like="CN=ANNA%"), {"anna", "anna-ad"}),
    ("identifier suffix", CSFilter(identifier_like="%ou=staff"), {"anna", "bob", "anna-ad", "emile"}),
    ("identifier escapes", CSFilter(identifier_like="cn=émile\\_1\\%%"), {"emile"}),
    ("identifier literal _", CSFilter(identifier_like="cn=b\\_b%"), set()),
    ("scalar, any case", CSFilter(attribute="department", value="SALES"), {"anna", "bob", "anna-ad"}),
    ("multi-valued", CSFilter(attribute="mail", value="a.berg@X.ORG"), {"anna"}),
    ("boolean true", CSFilter(attribute="enabled", value="true"), {"anna"}),
    ("boolean false", CSFilter(attribute="enabled", value="False"), {"anna-ad"}),
    ("integer", CSFilter(attribute="floor", value="3"), {"anna"}),
    ("non-ASCII case", CSFilter(attribute="department", value="VENTES île-de-france"), {"emile"}),
    ("reference", CSFilter(attribute="member", value="cn=anna berg,ou=staff"), {"admins"}),
    ("no such attribute", CSFilter(attribute="nothing", value="sales"), set()),
    (
        "combined",
        CSFilter(connector="hr", object_type="person", attribute="department", value="sales"),
        {"anna", "bob"},
    ),
    ("combined states", CSFilter(connector="ad", link_states=("explicit-disconnector",)), {"anna-ad"}),
    ("nothing matches both", CSFilter(pending_import=True, error=True), set()),
]


@pytest.mark.parametrize(("flt", "expected"), [c[1:] for c in FILTER_CASES], ids=[c[0] for c in FILTER_CASES])
def test_filters_page_and_count(store: Store, population: dict[str, int], flt: CSFilter, expected: set[str]) -> None:
    names = {v: k for k, v in population.items()}
    page = store.cs_page(flt, 0, 100)
    assert {names[o.id] for o in page} == expected
    assert [o.id for o in page] == sorted(o.id for o in page)
    assert store.cs_count(flt) == len(expected)


def test_page_walks_in_id_order(store: Store, add_cs: AddCS) -> None:
    ids = [add_cs(f"E{i}").id for i in range(7)]
    add_cs("X", connector="ad")
    seen: list[int] = []
    after = 0
    while page := store.cs_page(CSFilter(connector="hr"), after, 3):
        assert len(page) <= 3
        seen += [o.id for o in page]
        after = page[-1].id
    assert seen == ids
    assert store.cs_page(CSFilter(connector="hr"), ids[3], 2) == [store.cs_get(ids[4]), store.cs_get(ids[5])]
