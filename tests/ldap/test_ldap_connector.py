"""The LDAP connector through its protocol methods, against a real slapd, once per backend."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from typing import Any

import pytest
from click.testing import CliRunner
from ldap3 import NONE, Connection, Server
from ldapkit import CHANGES, MakeConnector, add_item, all_records, people_ldif, record_modifies
from pydantic import ValidationError

from idsync.cli.main import cli
from idsync.config import SecretError
from idsync.connectors.base import (
    ConnectivityError,
    Connector,
    ConnectorContext,
    ConnectorError,
    ExportItem,
    WatermarkExpired,
)
from idsync.connectors.ldap import connector_type
from idsync.connectors.ldap.escaping import rdn
from idsync.connectors.ldap.passwords import ssha_matches
from idsync.model import AttributeChange, AttributeType, ExportOp, ValueOp
from idsync.testing.directories import SlapdServer

pytestmark = pytest.mark.ldap


def test_is_a_connector_with_ldap_capabilities(make: MakeConnector) -> None:
    conn = make()
    assert isinstance(conn, Connector)
    assert conn.capabilities.references_by == "identifier"
    assert conn.capabilities.case_insensitive_identifiers
    conn.test_connection()


def test_cleartext_bind_refused_unless_allowed(
    make: MakeConnector, slapd_server: SlapdServer, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ValidationError, match="cleartext"):
        make(url=slapd_server.url)
    with caplog.at_level(logging.WARNING, logger="idsync.connectors.ldap"):
        conn = make(url=slapd_server.url, allow_insecure=True)
    assert "cleartext" in caplog.text
    assert slapd_server.admin_password not in caplog.text
    conn.test_connection()


def test_starttls_verifies_and_unknown_ca_fails(make: MakeConnector, slapd_server: SlapdServer, tmp_path: Any) -> None:
    make(url=slapd_server.url, start_tls=True).test_connection()
    from idsync.testing.directories import TestCA

    other = TestCA.create(tmp_path / "other")
    with pytest.raises(ConnectivityError):
        make(ca_file=str(other.cert_file), reconnect_seconds=0).test_connection()
    with pytest.raises(ValidationError, match="tls_verify"):
        make(tls_verify=False)


def test_a_certificate_naming_another_host_is_refused(make: MakeConnector, tmp_path: Any) -> None:
    """The host name (here an IP address) is checked against the certificate by both backends: a certificate its CA
    signed for another host is refused before anything is sent: the server sees no request after the handshake
    (ldap3 fails the handshake itself; libldap checks the name right after it)."""
    from idsync.testing.directories import TestCA

    ca = TestCA.create(tmp_path / "ca")
    cert = ca.issue_server(tmp_path / "tls", host_names=("directory.example",), loopback=False)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert.cert_file, cert.key_file)
    requests: list[bool] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        served = threading.Thread(target=_handshake_once, args=(listener, context, requests), daemon=True)
        served.start()
        with pytest.raises(ConnectivityError, match=r"127\.0\.0\.1"):
            make(url=f"ldaps://127.0.0.1:{port}", ca_file=str(ca.cert_file), reconnect_seconds=0).test_connection()
        served.join(timeout=10)
    assert requests == [False], "the client sent a request to a server whose certificate names another host"


def _handshake_once(listener: socket.socket, context: ssl.SSLContext, requests: list[bool]) -> None:
    """Accept one client and note whether it sent anything (an LDAP request) over TLS."""
    conn, _ = listener.accept()
    conn.settimeout(10)
    with conn:
        try:
            with context.wrap_socket(conn, server_side=True) as tls:
                requests.append(bool(tls.recv(1)))
        except (ssl.SSLError, OSError):
            requests.append(False)


def test_wrong_password_is_a_connectivity_error_without_the_password(
    make: MakeConnector, slapd_server: SlapdServer
) -> None:
    conn = make(reconnect_seconds=0)
    conn._password = "definitely-wrong"
    with pytest.raises(ConnectivityError, match=r"invalidCredentials|Invalid credentials") as info:
        conn.test_connection()
    assert slapd_server.admin_password not in str(info.value)


def test_schema_discovery(make: MakeConnector) -> None:
    schema = make().schema()
    person = schema.object_type("person")
    assert person.attributes["mail"].multivalued and person.attributes["mail"].type is AttributeType.STRING
    assert not person.attributes["displayName"].multivalued
    assert person.attributes["manager"].type is AttributeType.REFERENCE
    assert person.attributes["jpegPhoto"].type is AttributeType.BINARY
    assert person.attributes["sn"].required and person.attributes["cn"].required
    group = schema.object_type("group")
    assert group.attributes["member"].type is AttributeType.REFERENCE and group.attributes["member"].multivalued


def test_full_import_pages_types_and_values(make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str) -> None:
    slapd_server.tools.add(people_ldif(slapd_subtree, 120))
    slapd_server.tools.add(
        f"dn: cn=staff,{slapd_subtree}\nobjectClass: groupOfNames\ncn: staff\n"
        f"member: uid=p00001,{slapd_subtree}\nmember: uid=p00002,{slapd_subtree}\n"
    )
    pages = list(make().full_import())
    records, issues, _ = all_records(pages)
    assert issues == []
    assert len(pages) >= 3  # 121 entries at 50 per page
    people = {r.identifier: r for r in records if r.object_type == "person"}
    assert len(people) == 120
    assert len({r.anchor for r in records}) == 121
    p7 = people[f"uid=p00007,{slapd_subtree}"]
    assert sorted(p7.attributes["mail"]) == ["alias7@example.org", "p7@example.org"]
    assert p7.attributes["displayName"] == "Person 7"
    [group] = [r for r in records if r.object_type == "group"]
    assert sorted(group.attributes["member"]) == [f"uid=p00001,{slapd_subtree}", f"uid=p00002,{slapd_subtree}"]


def test_filter_and_attribute_list(make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str) -> None:
    slapd_server.tools.add(people_ldif(slapd_subtree, 10))
    conn = make(
        filter="(|(employeeNumber=0)(employeeNumber=1)(employeeNumber=2)(employeeNumber=3))", attributes=["mail", "cn"]
    )
    records, _, _ = all_records(conn.full_import())
    assert sorted(r.identifier.split(",")[0] for r in records) == [f"uid=p0000{i}" for i in range(4)]
    assert all(set(r.attributes) <= {"mail", "cn", "objectClass"} for r in records)


def test_export_add_modify_rename_move_delete(
    make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str
) -> None:
    conn = make()
    tools = slapd_server.tools
    tools.reset_ou(f"ou=moved,{slapd_subtree}")
    dn = f"{rdn('uid', 'ann')},{slapd_subtree}"
    [added] = conn.export([add_item(1, dn, cn="Ann A", sn="A", mail=["ann@example.org"], uid="ann")])
    assert added.ok and added.anchor and len(added.anchor) == 36
    assert "mail: ann@example.org" in tools.search(dn, "(objectClass=*)", "mail", scope="base")
    update = ExportItem(
        cs_id=1,
        object_type="person",
        op=ExportOp.UPDATE,
        identifier=dn,
        anchor=added.anchor,
        new_identifier=f"uid=ann2,ou=moved,{slapd_subtree}",
        changes=[
            AttributeChange("mail", ValueOp.ADD, ["ann2@example.org"]),
            AttributeChange("mail", ValueOp.REMOVE, ["ann@example.org"]),
            AttributeChange("displayName", ValueOp.REPLACE, ["Ann Two"]),
            AttributeChange("uid", ValueOp.REPLACE, ["ann2"]),
        ],
    )
    [updated] = conn.export([update])
    assert updated.ok and updated.identifier == f"uid=ann2,ou=moved,{slapd_subtree}"
    text = tools.search(updated.identifier, "(objectClass=*)", "mail", "displayName", "entryUUID", scope="base")
    assert "mail: ann2@example.org" in text and "ann@example.org" not in text
    assert "displayName: Ann Two" in text and f"entryUUID: {added.anchor}" in text
    [replayed] = conn.export([update])  # a replay after a crash changes nothing and fails nothing
    assert replayed.ok
    delete = ExportItem(cs_id=1, object_type="person", op=ExportOp.DELETE, identifier=updated.identifier)
    assert conn.export([delete])[0].ok
    assert tools.search(slapd_subtree, f"(entryUUID={added.anchor})") == ""
    assert conn.export([delete])[0].ok  # already gone is done


def test_export_special_character_dn_round_trips(
    make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str
) -> None:
    conn = make()
    name = ' Smith, John "JJ" <x>;+=\\#1 '
    dn = f"{rdn('cn', name)},{slapd_subtree}"
    [res] = conn.export([add_item(1, dn, sn="Smith")])
    assert res.ok, res.error
    records, _, _ = all_records(conn.full_import())
    [record] = records
    assert record.anchor == res.anchor
    assert record.attributes["cn"] == [name]
    found = conn.lookup("person", record.identifier, {})
    assert found is not None and found.anchor == res.anchor


def test_export_errors_are_per_object_and_name_the_entry(
    make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str
) -> None:
    conn = make()
    good = add_item(1, f"uid=good,{slapd_subtree}", sn="G", cn="G")
    bad_schema = add_item(2, f"uid=bad,{slapd_subtree}", sn="B", cn="B", noSuchAttribute="x")
    no_parent = add_item(3, f"uid=orphan,ou=nowhere,{slapd_subtree}", sn="O", cn="O")
    twice = add_item(4, f"uid=good,{slapd_subtree}", sn="G", cn="G")
    oversize = add_item(5, f"uid=big,{slapd_subtree}", sn="B", cn="B", c="toolong")
    results = conn.export([good, bad_schema, no_parent, twice, oversize])
    assert [r.ok for r in results] == [True, False, False, False, False]
    assert f"uid=bad,{slapd_subtree}" in (results[1].error or "")
    assert "noSuchAttribute" in (results[1].error or "") or "undefined" in (results[1].error or "").lower()
    assert results[2].retryable  # the parent may be created later in the run
    assert results[3].code is not None and "exists" in results[3].code.lower()
    assert f"uid=big,{slapd_subtree}" in (results[4].error or "")


def test_missing_parents_created_when_configured(
    make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str
) -> None:
    conn = make(create_parents=True)
    dn = f"uid=deep,ou=b,ou=a,{slapd_subtree}"
    [res] = conn.export([add_item(1, dn, sn="D", cn="D")])
    assert res.ok, res.error
    assert "dn: ou=a," in slapd_server.tools.search(slapd_subtree, "(ou=a)", "ou")


def test_large_group_membership_in_chunks(make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str) -> None:
    conn = make(membership_chunk=400)
    members = [f"uid=m{i:05d},{slapd_subtree}" for i in range(1500)]  # groupOfNames does not check members exist
    group = f"cn=big,{slapd_subtree}"
    [res] = conn.export([add_item(1, group, object_type="group", cn="big", member=members[:1])])
    assert res.ok, res.error
    more = ExportItem(
        cs_id=1,
        object_type="group",
        op=ExportOp.UPDATE,
        identifier=group,
        changes=[AttributeChange("member", ValueOp.ADD, members)],  # includes the one already there
    )
    assert conn.export([more])[0].ok
    less = ExportItem(
        cs_id=1,
        object_type="group",
        op=ExportOp.UPDATE,
        identifier=group,
        changes=[AttributeChange("member", ValueOp.REMOVE, members[:1000])],
    )
    assert conn.export([less])[0].ok
    text = slapd_server.tools.search(group, "(objectClass=*)", "member", scope="base")
    assert text.count("member: ") == 500
    assert f"member: {members[1499]}" in text and f"member: {members[0]}\n" not in text


def test_a_replayed_membership_change_reads_the_group_once_and_sends_only_what_is_missing(
    make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str
) -> None:
    """slapd refuses a whole modify for one value already there (or already gone): a replay used to go value by
    value, a modify per member. Now the group's members are read once and each chunk sends only the adds missing
    and the removes present; a member written in another case is the same DN."""
    conn = make(membership_chunk=4)
    members = [f"uid=m{i:05d},{slapd_subtree}" for i in range(20)]
    group = f"cn=crew,{slapd_subtree}"
    [res] = conn.export([add_item(1, group, object_type="group", cn="crew", member=members[:10])])
    assert res.ok, res.error
    sent = record_modifies(conn)
    backend = conn._connected()
    reads: list[str] = []
    search = backend.search

    def counted_search(base: str, *args: Any, **kwargs: Any) -> list[Any]:
        reads.append(base)
        return search(base, *args, **kwargs)

    backend.search = counted_search  # type: ignore[method-assign]
    replay = ExportItem(
        cs_id=1,
        object_type="group",
        op=ExportOp.UPDATE,
        identifier=group,
        changes=[
            AttributeChange("member", ValueOp.ADD, [members[5].upper(), *members[6:15]]),  # m5-m9 there already
            AttributeChange("member", ValueOp.REMOVE, [members[0], members[1].upper(), *members[2:3], *members[15:]]),
        ],
    )
    [done] = conn.export([replay])
    assert done.ok, done.error
    text = slapd_server.tools.search(group, "(objectClass=*)", "member", scope="base")
    assert sorted(line for line in text.splitlines() if line.startswith("member:")) == [
        f"member: {m}" for m in members[3:15]
    ]
    assert reads == [group], "the group's members are read once"
    values = [[v.decode().casefold() for v in changes[0][2]] for _, changes in sent]
    assert values[1:] == [members[10:13], members[13:15], members[0:3]], "after the first refusal, only the changes"
    [again] = conn.export([replay])
    assert again.ok and len(sent) == 5 and reads == [group, group], "a second replay: one refused modify, one read"


def test_a_member_swapped_for_another_goes_in_one_modify(
    make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str
) -> None:
    """A renamed member (its old DN out, its new one in) is one modify: no reader sees the group without her. Sent
    again (a replay), slapd refuses that modify, and each change is then sorted out on its own."""
    conn = make()
    old, new, other = (f"uid={u},{slapd_subtree}" for u in ("grace", "grace2", "ada"))
    group = f"cn=crew,{slapd_subtree}"
    [res] = conn.export([add_item(1, group, object_type="group", cn="crew", member=[old, other])])
    assert res.ok, res.error
    sent = record_modifies(conn)
    swap = ExportItem(
        cs_id=1,
        object_type="group",
        op=ExportOp.UPDATE,
        identifier=group,
        changes=[AttributeChange("member", ValueOp.ADD, [new]), AttributeChange("member", ValueOp.REMOVE, [old])],
    )
    for _ in range(2):
        [done] = conn.export([swap])
        assert done.ok, done.error
        text = slapd_server.tools.search(group, "(objectClass=*)", "member", scope="base")
        assert sorted(line for line in text.splitlines() if line.startswith("member:")) == [
            f"member: {m}" for m in sorted([new, other])
        ]
    assert [len(changes) for _, changes in sent[:1]] == [2], "one modify adds the new DN and removes the old one"
    assert len(sent) == 1 + 3, "the replay: the refused swap, then the add and the remove, each already done"


def test_password_hashed_client_side_and_usable(
    make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str
) -> None:
    conn = make()
    dn = f"uid=pw,{slapd_subtree}"
    [res] = conn.export([add_item(1, dn, sn="P", cn="P", userPassword="Initial-Secret-1")])
    assert res.ok
    stored = slapd_server.tools.search(dn, "(objectClass=*)", "userPassword", scope="base")
    import base64

    value = base64.b64decode(stored.split("userPassword:: ", 1)[1].split("\n", 1)[0]).decode()
    assert value.startswith("{SSHA}") and ssha_matches(value, "Initial-Secret-1")
    user = Connection(Server(slapd_server.url, get_info=NONE), dn, "Initial-Secret-1")
    assert user.bind()


def test_lookup_by_identifier_and_key(make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str) -> None:
    slapd_server.tools.add(people_ldif(slapd_subtree, 3))
    # mail is not declared unique: it never identifies an entry on its own
    assert make().lookup("person", f"uid=gone,{slapd_subtree}", {"mail": "p2@example.org"}) is None
    conn = make(unique_attributes=["mail"])
    by_dn = conn.lookup("person", f"uid=p00001,{slapd_subtree}", {})
    assert by_dn is not None and by_dn.attributes["displayName"] == "Person 1"
    by_key = conn.lookup("person", f"uid=gone,{slapd_subtree}", {"mail": "p2@example.org"})
    assert by_key is not None and by_key.identifier == f"uid=p00002,{slapd_subtree}"
    assert conn.lookup("person", "", {"mail": "*"}) is None  # escaped: no wildcard match
    assert conn.lookup("group", f"uid=p00001,{slapd_subtree}", {}) is None


@pytest.mark.parametrize("method", ["accesslog", "syncrepl"])
def test_delta_import(make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str, method: str) -> None:
    slapd_server.tools.add(people_ldif(slapd_subtree, 5))
    conn = make(delta=method, page_size=2)  # several pages: paging must survive the re-reads between them
    records, _, watermark = all_records(conn.full_import())
    assert watermark
    anchors = {r.identifier.split(",")[0]: r.anchor for r in records}
    slapd_server.tools.modify(CHANGES.format(p=slapd_subtree))
    # an entry outside the connector's containers changes too: not reported
    slapd_server.tools.modify(
        f"dn: {slapd_server.admin_dn}\nchangetype: modify\nreplace: description\ndescription: x\n"
    )
    changed, issues, next_mark = all_records(conn.delta_import(watermark))
    assert issues == []
    assert next_mark and next_mark != watermark
    by_anchor = {r.anchor: r for r in changed}
    assert by_anchor[anchors["uid=p00001"]].attributes["displayName"] == "Renamed One"
    renamed = by_anchor[anchors["uid=p00002"]]
    assert renamed.identifier == f"uid=p00002x,{slapd_subtree}" and not renamed.delete
    assert by_anchor[anchors["uid=p00003"]].delete
    [new] = [r for r in changed if r.anchor not in anchors.values() and not r.delete]
    assert new.identifier == f"uid=new,{slapd_subtree}"
    # a delta may replay a short overlap before its watermark: replayed entries come back exactly as they are
    before = {r.anchor: r for r in records}
    replayed = [r for r in changed if not r.delete and r.anchor not in (new.anchor, renamed.anchor)]
    replayed = [r for r in replayed if r.anchor != anchors["uid=p00001"]]
    assert all(before.get(r.anchor) == r for r in replayed)
    # syncprov's session log cannot tell which deleted entries matched the filter, so a delete may name an
    # anchor this connector never imported (the engine ignores those); none may name a live imported entry
    deleted = {r.anchor for r in changed if r.delete}
    assert deleted & set(anchors.values()) == {anchors["uid=p00003"]}
    again, _, mark3 = all_records(conn.delta_import(next_mark))
    assert again == [] and mark3


@pytest.mark.parametrize("method", ["accesslog", "syncrepl"])
def test_delta_moves_keep_the_anchor_and_cross_the_containers(
    make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str, method: str
) -> None:
    """A modrdn with newSuperior is recognised through the anchor, into an OU and to an RDN full of special
    characters; a move out of the containers is a delete, a move into them an add."""
    inside, outside = f"ou=in,{slapd_subtree}", f"ou=out,{slapd_subtree}"
    odd_ou = f"{rdn('ou', 'R&D, Paris #1 ')},{inside}"
    slapd_server.tools.add(
        f"dn: {inside}\nobjectClass: organizationalUnit\nou: in\n\n"
        f"dn: {outside}\nobjectClass: organizationalUnit\nou: out\n\n"
        f"dn: {odd_ou}\nobjectClass: organizationalUnit\nou: R&D, Paris #1 \n\n"
        + people_ldif(inside, 2)
        + people_ldif(outside, 1, start=7)
    )
    conn = make(containers=[inside], delta=method)
    before, _, watermark = all_records(conn.full_import())
    anchor = {r.identifier.split(",")[0]: r.anchor for r in before}
    odd_rdn = rdn("uid", "#x, y+z ")
    slapd_server.tools.modify(
        f"dn: uid=p00000,{inside}\nchangetype: modrdn\nnewrdn: {odd_rdn}\ndeleteoldrdn: 0\nnewsuperior: {odd_ou}\n\n"
        f"dn: uid=p00001,{inside}\nchangetype: modrdn\nnewrdn: uid=p00001\ndeleteoldrdn: 1\nnewsuperior: {outside}\n\n"
        f"dn: uid=p00007,{outside}\nchangetype: modrdn\nnewrdn: uid=p00007\ndeleteoldrdn: 1\nnewsuperior: {inside}\n"
    )
    changed, issues, _ = all_records(conn.delta_import(watermark))
    assert issues == []
    by_anchor = {r.anchor: r for r in changed}
    moved = by_anchor[anchor["uid=p00000"]]
    assert (moved.identifier, moved.delete) == (f"{odd_rdn},{odd_ou}", False)
    assert by_anchor[anchor["uid=p00001"]].delete
    [arrived] = [r for r in changed if r.anchor not in anchor.values()]
    assert (arrived.identifier, arrived.delete) == (f"uid=p00007,{inside}", False)


def test_an_update_or_delete_finds_an_entry_moved_since_the_last_import(
    make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str
) -> None:
    """An entry moved or renamed in the directory after the import the export was computed from is found by its
    anchor: the update lands on it, and a delete deletes it instead of counting it as already gone."""
    a, b = f"ou=a,{slapd_subtree}", f"ou=b,{slapd_subtree}"
    slapd_server.tools.add(
        "".join(f"dn: {ou}\nobjectClass: organizationalUnit\nou: {ou[3]}\n\n" for ou in (a, b)) + people_ldif(a, 2)
    )
    conn = make()
    anchor = {r.identifier: r.anchor for r in all_records(conn.full_import())[0]}
    slapd_server.tools.modify(
        f"dn: uid=p00000,{a}\nchangetype: modrdn\nnewrdn: uid=p00000\ndeleteoldrdn: 1\nnewsuperior: {b}\n\n"
        f"dn: uid=p00001,{a}\nchangetype: modrdn\nnewrdn: uid=p00001x\ndeleteoldrdn: 1\n"
    )
    moved, renamed = f"uid=p00000,{a}", f"uid=p00001,{a}"
    change = [AttributeChange("displayName", ValueOp.REPLACE, ["Moved"])]
    results = conn.export(
        [
            ExportItem(1, "person", ExportOp.UPDATE, moved, anchor[moved], change),
            ExportItem(2, "person", ExportOp.DELETE, renamed, anchor[renamed]),
        ]
    )
    assert [r.ok for r in results] == [True, True], results
    assert results[0].identifier == f"uid=p00000,{b}"
    text = slapd_server.tools.search(b, "(uid=p00000)", "displayName")
    assert "displayName: Moved" in text
    assert "dn:" not in slapd_server.tools.search(slapd_subtree, "(uid=p00001x)", "uid")


def test_members_for_a_group_moved_since_the_last_import_are_not_sent_one_by_one_to_its_old_dn(
    make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str
) -> None:
    """A group an administrator moved gets its new members where it is now: noSuchObject for the whole entry is no
    member's refusal, so the members are not each sent to the old DN first (a thousand requests per chunk)."""
    a, b = f"ou=a,{slapd_subtree}", f"ou=b,{slapd_subtree}"
    members = [f"uid=p{i:05d},{a}" for i in range(4)]
    slapd_server.tools.add(
        "".join(f"dn: {ou}\nobjectClass: organizationalUnit\nou: {ou[3]}\n\n" for ou in (a, b))
        + people_ldif(a, 4)
        + f"dn: cn=crew,{a}\nobjectClass: groupOfNames\ncn: crew\nmember: {members[0]}\n"
    )
    conn = make()
    anchor = next(r.anchor for r in all_records(conn.full_import())[0] if r.object_type == "group")
    slapd_server.tools.modify(
        f"dn: cn=crew,{a}\nchangetype: modrdn\nnewrdn: cn=crew\ndeleteoldrdn: 1\nnewsuperior: {b}\n"
    )
    modified = record_modifies(conn)
    change = AttributeChange("member", ValueOp.ADD, members[1:])
    [result] = conn.export([ExportItem(1, "group", ExportOp.UPDATE, f"cn=crew,{a}", anchor, [change])])
    assert result.ok and result.identifier == f"cn=crew,{b}", result
    assert [dn for dn, _ in modified] == [f"cn=crew,{a}", f"cn=crew,{b}"]
    text = slapd_server.tools.search(b, "(cn=crew)", "member")
    assert sorted(line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("member:")) == members


def test_full_import_survives_a_restart_between_pages(make: MakeConnector, slapd_factory: Any) -> None:
    server: SlapdServer = slapd_factory()
    server.tools.add(people_ldif(server.base_dn, 60))
    conn = make(server=server, page_size=10)
    pages = conn.full_import()
    first = next(pages)
    server.restart()  # the connection the paged search was using is gone
    rest, issues, _ = all_records(pages)
    anchors = [r.anchor for r in [*first.records, *rest]]
    assert issues == [] and len(anchors) == 60 and len(set(anchors)) == 60


def test_export_waits_for_a_crashed_server_to_come_back(make: MakeConnector, slapd_factory: Any) -> None:
    import threading

    server: SlapdServer = slapd_factory()
    conn = make(server=server, reconnect_seconds=20)
    conn.test_connection()
    server.kill()
    restart = threading.Timer(1.0, server.start)
    restart.start()
    try:
        [res] = conn.export([add_item(1, f"uid=after,{server.base_dn}", sn="A", cn="A")])
    finally:
        restart.join()
    assert res.ok, res.error
    assert "uid=after" in server.tools.search(server.base_dn, "(uid=after)", "uid")


def test_server_down_for_good_is_a_connectivity_error(make: MakeConnector, slapd_factory: Any) -> None:
    server: SlapdServer = slapd_factory()
    conn = make(server=server, reconnect_seconds=1)
    conn.test_connection()
    server.stop()
    with pytest.raises(ConnectivityError, match="unreachable"):
        conn.export([add_item(1, f"uid=never,{server.base_dn}", sn="N", cn="N")])
    with pytest.raises(ConnectivityError):
        list(conn.full_import())


def test_delta_watermark_problems(make: MakeConnector, slapd_server: SlapdServer) -> None:
    with pytest.raises(WatermarkExpired, match="purged"):
        list(make(delta="accesslog").delta_import("20000101000000.000001Z"))
    with pytest.raises(WatermarkExpired, match="full import"):
        list(make(delta="syncrepl").delta_import(None))
    with pytest.raises(ConnectorError, match="delta: accesslog, syncrepl or changelog"):
        list(make().delta_import("x"))
    with pytest.raises(ConnectorError, match=r"does not offer an accesslog database at cn=nolog.*syncrepl"):
        list(make(delta="accesslog", accesslog_base="cn=nolog").full_import())
    with pytest.raises(ConnectorError, match="retro changelog"):
        list(make(delta="changelog").full_import())


def test_pipelined_adds_wait_for_a_parent_in_the_same_batch(
    make: MakeConnector, slapd_server: SlapdServer, slapd_subtree: str
) -> None:
    conn = make()
    parent = f"ou=new,{slapd_subtree}"
    items = [add_item(i, f"uid=u{i},{slapd_subtree}", sn="S", cn="C") for i in range(20)]
    items.insert(5, ExportItem(99, "unit", ExportOp.ADD, parent, changes=[]))
    items.insert(6, add_item(100, f"uid=child,{parent}", sn="S", cn="C"))
    conn.config.object_types["unit"] = conn.config.object_types["person"].model_copy(
        update={"object_class": "organizationalUnit"}
    )
    results = conn.export(items)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    assert [r.cs_id for r in results] == [i.cs_id for i in items]
    assert len({r.anchor for r in results}) == len(items)


def test_adds_in_flight_when_the_server_dies_are_settled_once(
    make: MakeConnector, slapd_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever moment the connection drops, every add ends up in the directory exactly once, with its anchor."""
    import threading
    import time

    server: SlapdServer = slapd_factory()
    conn = make(server=server, reconnect_seconds=20)
    conn.test_connection()
    items = [add_item(i, f"uid=b{i:04d},{server.base_dn}", sn="S", cn="C") for i in range(600)]

    def bounce() -> None:  # as soon as the export is under way
        while "dn:" not in server.tools.search(server.base_dn, "(uid=b0050)", "1.1"):
            time.sleep(0.01)
        server.kill()
        server.start()

    timer = threading.Thread(target=bounce)
    timer.start()
    try:
        with caplog.at_level(logging.WARNING, logger="idsync.connectors.ldap"):
            results = conn.export(items)
    finally:
        timer.join()
    assert "adds unanswered" in caplog.text
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    text = server.tools.search(server.base_dn, "(uid=b*)", "entryUUID")
    uuids = [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("entryUUID:")]
    assert len(uuids) == 600 and sorted(uuids) == sorted(r.anchor for r in results)


def test_the_password_is_a_secret_reference_resolved_at_the_first_connection(
    slapd_server: SlapdServer, tmp_path: Any
) -> None:
    base = {"type": "ldap", "url": slapd_server.ldaps_url, "ca_file": str(slapd_server.ca_file)}
    base |= {"bind_dn": slapd_server.admin_dn, "base_dn": slapd_server.base_dn}
    with pytest.raises(ValidationError, match="secrets must be references"):
        connector_type.config_model.model_validate({**base, "password": slapd_server.admin_password})
    workspace = tmp_path / "ws"
    workspace.mkdir()
    block = ", ".join(f"{k}: '{v}'" for k, v in {**base, "password": slapd_server.admin_password}.items())
    (workspace / "idsync.yaml").write_text(f"connectors:\n  dir: {{{block}}}\n", encoding="utf-8")
    checked = CliRunner().invoke(cli, ["-C", str(workspace), "validate"])
    assert checked.exit_code == 3 and "secrets must be references" in checked.output
    assert slapd_server.admin_password not in checked.output
    missing = connector_type.config_model.model_validate({**base, "password": "${env:IDSYNC_TEST_UNSET_PW}"})
    conn = connector_type.create("dir", missing, ConnectorContext(str(tmp_path)))  # building needs no secret
    with pytest.raises(SecretError, match="IDSYNC_TEST_UNSET_PW"):
        conn.test_connection()
    from_file = connector_type.config_model.model_validate(
        {**base, "password": f"${{file:{slapd_server.password_file}}}"}
    )
    connector_type.create("dir", from_file, ConnectorContext(str(tmp_path))).test_connection()
