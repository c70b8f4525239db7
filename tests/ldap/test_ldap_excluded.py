"""Excluded containers against a real slapd, once per backend: subtrees inside the containers whose entries are not
part of the connector space, and a container inside an excluded subtree that brings its own entries back in (MIM's
include-inside-exclude)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from ldapkit import MakeConnector, add_item, all_records, people_ldif

from idsync.connectors.base import ExportItem
from idsync.connectors.ldap import LdapConnector
from idsync.model import AttributeChange, ExportOp, ValueOp
from idsync.testing.directories import SlapdServer

pytestmark = pytest.mark.ldap


@dataclass
class Tree:
    staff: str
    contractors: str
    interns: str

    def connector(self, make: MakeConnector, **overrides: object) -> LdapConnector:
        return make(containers=[self.staff, self.interns], excluded_containers=[self.contractors], **overrides)


@pytest.fixture
def tree(slapd_server: SlapdServer, slapd_subtree: str) -> Tree:
    """Staff (p0, p1) holds Contractors (p2, p3), which holds Interns (p4)."""
    staff = f"ou=staff,{slapd_subtree}"
    contractors = f"ou=contractors,{staff}"
    interns = f"ou=interns,{contractors}"
    slapd_server.tools.add(
        "".join(
            f"dn: {dn}\nobjectClass: organizationalUnit\nou: {dn.split(',')[0][3:]}\n\n"
            for dn in (staff, contractors, interns)
        )
        + people_ldif(staff, 2)
        + people_ldif(contractors, 2, start=2)
        + people_ldif(interns, 1, start=4)
    )
    return Tree(staff, contractors, interns)


def _uids(records: list) -> set[str]:  # type: ignore[type-arg]
    return {r.identifier.split(",")[0] for r in records if not r.delete}


@pytest.mark.parametrize("read_ahead", ["process", "off"])
def test_a_full_import_leaves_the_excluded_subtree_out_and_takes_the_container_inside_it(
    make: MakeConnector, tree: Tree, read_ahead: str
) -> None:
    records, issues, _ = all_records(tree.connector(make, read_ahead=read_ahead).full_import())
    assert issues == []
    assert _uids(records) == {"uid=p00000", "uid=p00001", "uid=p00004"}
    assert len(records) == 3, "the container inside the excluded one is read once"


@pytest.mark.parametrize("method", ["accesslog", "syncrepl"])
def test_a_delta_move_into_an_excluded_subtree_is_a_delete_and_out_of_it_an_add(
    make: MakeConnector, slapd_server: SlapdServer, tree: Tree, method: str
) -> None:
    conn = tree.connector(make, delta=method)
    before, _, watermark = all_records(conn.full_import())
    anchor = {r.identifier.split(",")[0]: r.anchor for r in before}
    slapd_server.tools.modify(
        f"dn: uid=p00000,{tree.staff}\nchangetype: modrdn\nnewrdn: uid=p00000\ndeleteoldrdn: 1\n"
        f"newsuperior: {tree.contractors}\n\n"
        f"dn: uid=p00002,{tree.contractors}\nchangetype: modrdn\nnewrdn: uid=p00002\ndeleteoldrdn: 1\n"
        f"newsuperior: {tree.staff}\n\n"
        f"dn: uid=p00003,{tree.contractors}\nchangetype: modify\nreplace: displayName\ndisplayName: Hidden\n\n"
        f"dn: uid=p00004,{tree.interns}\nchangetype: modify\nreplace: displayName\ndisplayName: Shown\n"
    )
    changed, issues, _ = all_records(conn.delta_import(watermark))
    assert issues == []
    by_anchor = {r.anchor: r for r in changed}
    assert by_anchor[anchor["uid=p00000"]].delete
    assert _uids(changed) == {"uid=p00002", "uid=p00004"}, "nothing of the excluded subtree comes in"
    arrived = next(r for r in changed if r.identifier.startswith("uid=p00002"))
    assert arrived.identifier == f"uid=p00002,{tree.staff}" and arrived.anchor not in anchor.values()
    shown = by_anchor[anchor["uid=p00004"]]
    assert shown.attributes["displayName"] == "Shown"


def test_an_add_into_an_excluded_subtree_is_refused_naming_it(
    make: MakeConnector, slapd_server: SlapdServer, tree: Tree
) -> None:
    conn = tree.connector(make)
    hidden = f"uid=hidden,{tree.contractors}"
    results = conn.export(
        [add_item(1, hidden, sn="H", cn="H"), add_item(2, f"uid=intern,{tree.interns}", sn="I", cn="I")]
    )
    assert [r.ok for r in results] == [False, True], [r.error for r in results]
    assert results[0].code == "refused" and hidden in (results[0].error or "")
    assert f"inside {tree.contractors!r}, one of this connector's excluded_containers" in (results[0].error or "")
    assert "dn:" not in slapd_server.tools.search(tree.contractors, "(uid=hidden)", "uid")


def test_a_move_into_an_excluded_subtree_or_out_of_the_containers_is_refused_and_the_entry_stays(
    make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str, tree: Tree
) -> None:
    """Sent, such a move would make the next import report the object deleted, and provisioning could add it again:
    a duplicate. Each refusal names the entry, where it was going and why; the rest of the batch goes; nothing of the
    refused item is sent, at this export or the next."""
    conn = tree.connector(make)
    records, _, _ = all_records(conn.full_import())
    anchor = {r.identifier.split(",")[0]: r.anchor for r in records}
    p0, p1, p4 = f"uid=p00000,{tree.staff}", f"uid=p00001,{tree.staff}", f"uid=p00004,{tree.interns}"
    into_excluded, outside = f"uid=p00000,{tree.contractors}", f"uid=p00001,{slapd_subtree}"
    shown = [AttributeChange("displayName", ValueOp.REPLACE, ["Moved"])]

    def moves() -> list[ExportItem]:
        return [
            ExportItem(1, "person", ExportOp.UPDATE, p0, anchor["uid=p00000"], shown, new_identifier=into_excluded),
            ExportItem(2, "person", ExportOp.UPDATE, p1, anchor["uid=p00001"], shown, new_identifier=outside),
            ExportItem(3, "person", ExportOp.UPDATE, p4, anchor["uid=p00004"], shown),
        ]

    for _ in range(2):
        refused, elsewhere, done = conn.export(moves())
        assert done.ok, done.error
        assert refused.code == elsewhere.code == "refused"
        assert refused.error is not None and elsewhere.error is not None
        assert refused.error.startswith(f"{p0}: not moved to {into_excluded}: ")
        assert f"inside {tree.contractors!r}, one of this connector's excluded_containers" in refused.error
        assert elsewhere.error.startswith(f"{p1}: not moved to {outside}: ")
        assert "outside this connector's containers" in elsewhere.error
        assert "change the identifier (DN) flow" in refused.error and "or change the containers" in refused.error
        found = slapd_server.tools.search(slapd_subtree, "(|(uid=p00000)(uid=p00001))", "displayName").splitlines()
        assert sorted(line for line in found if line.startswith("dn:")) == [f"dn: {p0}", f"dn: {p1}"]
        assert "displayName: Moved" not in found
    assert "displayName: Moved" in slapd_server.tools.search(p4, "(objectClass=*)", "displayName", scope="base")


def test_lookup_finds_nothing_outside_the_connector_space(
    make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str, tree: Tree
) -> None:
    """Crash reconciliation and adoption look entries up by DN or by a unique key: an entry no import sees is not
    one of this connector's, even when its DN or key is asked for."""
    slapd_server.tools.add(people_ldif(slapd_subtree, 1, start=9))
    conn = tree.connector(make, unique_attributes=["mail"])
    assert conn.lookup("person", f"uid=p00002,{tree.contractors}", {}) is None
    assert conn.lookup("person", f"uid=p00009,{slapd_subtree}", {}) is None, "outside the containers"
    assert conn.lookup("person", "", {"mail": "p3@example.org"}) is None
    intern = conn.lookup("person", f"uid=p00004,{tree.interns}", {})
    assert intern is not None and intern.attributes["displayName"] == "Person 4"
    assert conn.lookup("person", "", {"mail": "p1@example.org"}) is not None
    # the intern's container is searched on its own and within Staff: one entry, found once
    assert conn.lookup("person", "", {"mail": "p4@example.org"}) is not None


def test_openldap_leaves_the_excluded_subtree_out_on_the_server(
    make: MakeConnector, slapd_server: SlapdServer, tree: Tree
) -> None:
    """slapd evaluates entryDN's subtree match, so the full import's search of a container does not carry the
    entries of an excluded subtree inside it over the wire (read by ldapsearch, not by the connector)."""
    conn = tree.connector(make)
    searched = conn._excluding_filter(tree.staff, conn._type_filter())
    sent = slapd_server.tools.search(tree.staff, searched, "uid")
    assert sorted(line for line in sent.splitlines() if line.startswith("uid:")) == ["uid: p00000", "uid: p00001"]
    assert conn._excluding_filter(tree.interns, "(objectClass=*)") == "(objectClass=*)", "nothing excluded inside"
