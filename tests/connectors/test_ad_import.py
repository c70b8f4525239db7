"""The Active Directory connector reading a real Samba AD DC: identities, ranged values, DirSync and USN deltas."""

from __future__ import annotations

import base64
import logging
import struct
import uuid

import pytest

from idsync.connectors.ad import AdConnector
from idsync.connectors.base import ConnectorError, ValueDelta, WatermarkExpired
from idsync.connectors.ldap.escaping import escape_dn_value
from idsync.testing.directories import SambaDC

from .adlab import by_dn, group_ldif, make_connector, pages, read, strong_password, user_ldif

pytestmark = pytest.mark.samba

BACKENDS = ["python-ldap", "ldap3"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def sid_of(raw: bytes) -> str:
    """An independent reading of a binary SID (MS-DTYP 2.4.2): not the connector's code."""
    revision, count = raw[0], raw[1]
    authority = int.from_bytes(raw[2:8], "big")
    subs = struct.unpack(f"<{count}I", raw[8 : 8 + 4 * count])
    return f"S-{revision}-{authority}-" + "-".join(str(s) for s in subs)


def move(dn: str, parent: str) -> str:
    rdn = dn.split(",", 1)[0]
    return f"dn: {dn}\nchangetype: modrdn\nnewrdn: {rdn}\ndeleteoldrdn: 1\nnewsuperior: {parent}\n\n"


def test_full_import_gives_guid_anchors_sids_and_computed_flags(samba_dc: SambaDC, samba_ou: str, backend: str) -> None:
    samba_dc.tools.add(
        user_ldif(samba_ou, "Ada Lovelace", strong_password(), sAMAccountName="ada", userAccountControl=512 | 0x10000)
        + user_ldif(samba_ou, "Off Line", userAccountControl=514)
        + group_ldif(samba_ou, "Analysts", [f"CN=Ada Lovelace,{samba_ou}"], group_type=8)
    )
    conn = make_connector(samba_dc, [samba_ou], backend=backend)
    records, issues, watermark = pages(conn.full_import())
    assert not issues
    assert watermark and watermark.startswith("dirsync:")
    found = by_dn(records)
    assert set(found) == {f"cn={n},{samba_ou}".lower() for n in ("Ada Lovelace", "Off Line", "Analysts")}
    ada = found[f"cn=ada lovelace,{samba_ou}".lower()]
    seen = read(samba_dc, f"CN=Ada Lovelace,{samba_ou}", "objectGUID", "objectSid")
    raw_guid = seen["objectGUID"][0]
    assert isinstance(raw_guid, bytes)
    assert ada.anchor == str(uuid.UUID(bytes_le=raw_guid))
    assert ada.object_type == "user"
    assert ada.attributes["objectGUID"] == ada.anchor
    assert ada.attributes["sourceAnchor"] == base64.b64encode(raw_guid).decode()
    raw_sid = seen["objectSid"][0]
    assert isinstance(raw_sid, bytes)
    assert ada.attributes["objectSid"] == sid_of(raw_sid)
    assert ada.attributes["accountEnabled"] is True and ada.attributes["passwordNeverExpires"] is True
    assert ada.attributes["mustChangePassword"] is False
    assert ada.attributes["memberOf"] == [f"CN=Analysts,{samba_ou}"]
    assert "unicodePwd" not in ada.attributes
    off = found[f"cn=off line,{samba_ou}".lower()]
    assert off.attributes["accountEnabled"] is False and off.attributes["mustChangePassword"] is True
    group = found[f"cn=analysts,{samba_ou}".lower()]
    assert group.object_type == "group"
    assert group.attributes["groupScope"] == "universal" and group.attributes["securityEnabled"] is False
    assert group.attributes["member"] == [f"CN=Ada Lovelace,{samba_ou}"]


def test_computers_and_system_objects_stay_out(samba_dc: SambaDC, samba_ou: str) -> None:
    samba_dc.tools.add(
        f"dn: CN=pc1,{samba_ou}\nobjectClass: computer\nsAMAccountName: pc1$\n\n" + user_ldif(samba_ou, "person1")
    )
    conn = make_connector(samba_dc, [samba_ou])
    records, _, _ = pages(conn.full_import())
    assert [r.identifier for r in records] == [f"CN=person1,{samba_ou}"]
    everything = make_connector(samba_dc, [f"CN=Users,{samba_dc.base_dn}"], delta=None)
    names = {r.identifier.split(",")[0].lower() for r in pages(everything.full_import())[0]}
    assert "cn=krbtgt" not in names and "cn=domain admins" not in names
    with_system = make_connector(samba_dc, [f"CN=Users,{samba_dc.base_dn}"], delta=None, include_system_objects=True)
    names = {r.identifier.split(",")[0].lower() for r in pages(with_system.full_import())[0]}
    assert {"cn=krbtgt", "cn=domain admins", "cn=administrator"} <= names


def test_ranged_retrieval_reads_every_member(samba_dc: SambaDC, samba_ou: str, backend: str) -> None:
    names = [f"m{i}" for i in range(7)]
    members = [f"CN={n},{samba_ou}" for n in names]
    samba_dc.tools.add("".join(user_ldif(samba_ou, n) for n in names) + group_ldif(samba_ou, "seven", members))
    # the server really pages the attribute when asked in ranges of 3
    assert len(read(samba_dc, f"CN=seven,{samba_ou}", "member;range=0-2").get("member;range=0-2", [])) == 3
    conn = make_connector(samba_dc, [samba_ou], backend=backend, range_size=3)
    records, _, watermark = pages(conn.full_import())
    group = by_dn(records)[f"cn=seven,{samba_ou}".lower()]
    assert sorted(group.attributes["member"]) == sorted(members)
    # through a delta: one member more travels as a value delta; a group new in this window is read whole
    samba_dc.tools.add(user_ldif(samba_ou, "m7") + group_ldif(samba_ou, "new seven", members))
    samba_dc.tools.modify(f"dn: CN=seven,{samba_ou}\nchangetype: modify\nadd: member\nmember: CN=m7,{samba_ou}\n")
    delta, _, _ = pages(conn.delta_import(watermark))
    group = by_dn(delta)[f"cn=seven,{samba_ou}".lower()]
    assert group.partial and group.attributes["member"] == ValueDelta((f"CN=m7,{samba_ou}",), ())
    assert group.attributes["groupScope"] == "global", "the rest of the group comes as it is now"
    new_group = by_dn(delta)[f"cn=new seven,{samba_ou}".lower()]
    assert not new_group.partial and sorted(new_group.attributes["member"]) == sorted(members)
    assert by_dn(delta)[f"cn=m7,{samba_ou}".lower()].attributes["memberOf"] == [f"CN=seven,{samba_ou}"]


def test_dirsync_delta_reports_adds_updates_moves_deletes_and_membership(
    samba_dc: SambaDC, samba_ou: str, backend: str
) -> None:
    outside = samba_ou.replace("OU=", "OU=out-", 1)
    samba_dc.tools.reset_ou(outside)
    try:
        samba_dc.tools.add(
            f"dn: OU=sub,{samba_ou}\nobjectClass: organizationalUnit\n\n"
            + "".join(user_ldif(samba_ou, n, telephoneNumber="1") for n in ("stay", "moved", "leaving", "gone"))
            + user_ldif(outside, "arriving")
            + group_ldif(samba_ou, "team", [f"CN=stay,{samba_ou}"])
        )
        conn = make_connector(samba_dc, [samba_ou], backend=backend)
        before, _, watermark = pages(conn.full_import())
        anchors = {r.identifier.split(",")[0]: r.anchor for r in before}
        assert watermark
        assert pages(conn.delta_import(watermark))[0] == [], "nothing changed yet"
        samba_dc.tools.add(user_ldif(samba_ou, "Émile, Zola (new)"))
        samba_dc.tools.modify(
            f"dn: CN=stay,{samba_ou}\nchangetype: modify\nreplace: telephoneNumber\ntelephoneNumber: 2\n\n"
            f"dn: CN=moved,{samba_ou}\nchangetype: modrdn\nnewrdn: CN=moved-renamed\ndeleteoldrdn: 1\n"
            f"newsuperior: OU=sub,{samba_ou}\n\n"
            + move(f"CN=leaving,{samba_ou}", outside)
            + move(f"CN=arriving,{outside}", samba_ou)
            + f"dn: CN=gone,{samba_ou}\nchangetype: delete\n\n"
            f"dn: CN=team,{samba_ou}\nchangetype: modify\ndelete: member\nmember: CN=stay,{samba_ou}\n-\n"
            f"add: member\nmember: CN=moved-renamed,OU=sub,{samba_ou}\n"
        )
        delta, issues, next_watermark = pages(conn.delta_import(watermark))
        assert not issues
        live = {r.identifier.lower(): r for r in delta if not r.delete}
        deleted = {r.anchor for r in delta if r.delete}
        new_dn = f"CN={escape_dn_value('Émile, Zola (new)')},{samba_ou}".lower()
        assert new_dn in live
        assert live[f"cn=stay,{samba_ou}".lower()].attributes["telephoneNumber"] == "2"
        assert live[f"cn=stay,{samba_ou}".lower()].attributes.get("memberOf") is None
        moved = live[f"cn=moved-renamed,ou=sub,{samba_ou}".lower()]
        assert moved.anchor == anchors["CN=moved"], "a move and rename keep the anchor"
        assert moved.attributes["memberOf"] == [f"CN=team,{samba_ou}"]
        assert f"cn=arriving,{samba_ou}".lower() in live
        team = live[f"cn=team,{samba_ou}".lower()]
        assert team.partial
        assert team.attributes["member"] == ValueDelta(
            (f"CN=moved-renamed,OU=sub,{samba_ou}",), (f"CN=stay,{samba_ou}",)
        )
        assert deleted == {anchors["CN=gone"], anchors["CN=leaving"]}
        assert next_watermark and next_watermark != watermark
        assert pages(conn.delta_import(next_watermark))[0] == []
    finally:
        samba_dc.tools.delete_subtree(outside)


def test_usn_delta_and_its_watermark_checks(samba_dc: SambaDC, samba_ou: str, caplog: pytest.LogCaptureFixture) -> None:
    samba_dc.tools.add(user_ldif(samba_ou, "u1") + user_ldif(samba_ou, "u2") + group_ldif(samba_ou, "g", []))
    conn = make_connector(samba_dc, [samba_ou], delta="usn")
    before, _, watermark = pages(conn.full_import())
    assert watermark and watermark.startswith("usn:")
    anchors = {r.identifier.split(",")[0]: r.anchor for r in before}
    assert pages(conn.delta_import(watermark))[0] == []
    samba_dc.tools.modify(
        f"dn: CN=u1,{samba_ou}\nchangetype: modify\nreplace: description\ndescription: changed\n\n"
        f"dn: CN=u2,{samba_ou}\nchangetype: delete\n\n"
        f"dn: CN=g,{samba_ou}\nchangetype: modify\nadd: member\nmember: CN=u1,{samba_ou}\n"
    )
    delta, _, next_watermark = pages(conn.delta_import(watermark))
    live = {r.identifier.lower(): r for r in delta if not r.delete}
    assert live[f"cn=u1,{samba_ou}".lower()].attributes["description"] == ["changed"]
    assert live[f"cn=u1,{samba_ou}".lower()].attributes["memberOf"] == [f"CN=g,{samba_ou}"]
    assert {r.anchor for r in delta if r.delete} == {anchors["CN=u2"]}
    assert next_watermark and pages(conn.delta_import(next_watermark))[0] == []
    # a watermark from another DC, or from this DC before a restore (another invocationId), is not continued
    state = next_watermark.removeprefix("usn:")
    other_dc = "usn:" + state.replace("CN=DC1", "CN=DC2")
    with pytest.raises(WatermarkExpired, match="per domain controller"):
        list(conn.delta_import(other_dc))
    restored = "usn:" + state.replace('"invocation": "', '"invocation": "0', 1)
    with (
        caplog.at_level(logging.WARNING, logger="idsync.connectors.ad"),
        pytest.raises(WatermarkExpired, match="invocationId"),
    ):
        list(conn.delta_import(restored))
    assert "restored from a backup" in caplog.text
    with pytest.raises(WatermarkExpired):
        list(conn.delta_import(watermark.replace("usn:", "dirsync:")))


def test_usn_delta_sees_a_move_to_a_special_character_name_as_a_rename(samba_dc: SambaDC, samba_ou: str) -> None:
    odd = 'Smith, "J" #1 '
    samba_dc.tools.add(f"dn: OU=sub,{samba_ou}\nobjectClass: organizationalUnit\n\n" + user_ldif(samba_ou, "mover"))
    conn = make_connector(samba_dc, [samba_ou], delta="usn")
    (before,), _, watermark = pages(conn.full_import())
    samba_dc.tools.modify(
        f"dn: CN=mover,{samba_ou}\nchangetype: modrdn\nnewrdn: CN={escape_dn_value(odd)}\ndeleteoldrdn: 1\n"
        f"newsuperior: OU=sub,{samba_ou}\n"
    )
    (moved,), issues, _ = pages(conn.delta_import(watermark))
    assert issues == [] and moved.anchor == before.anchor and not moved.delete
    assert moved.identifier == f"CN={escape_dn_value(odd)},OU=sub,{samba_ou}"
    assert moved.attributes["container"] == f"OU=sub,{samba_ou}"


def test_dirsync_needs_rights_or_object_security(samba_dc: SambaDC, samba_ou: str) -> None:
    password = strong_password()
    samba_dc.tools.add(user_ldif(samba_ou, "reader", password))

    def as_reader(**extra: object) -> AdConnector:
        credentials = {"bind_dn": f"CN=reader,{samba_ou}", "password": "${env:READER}"}
        return make_connector(samba_dc, [samba_ou], {"READER": password}, **credentials, **extra)

    with pytest.raises(ConnectorError, match="Replicating Directory Changes"):
        list(as_reader().full_import())
    secured = as_reader(dirsync_object_security=True)
    _, _, watermark = pages(secured.full_import())
    samba_dc.tools.add(user_ldif(samba_ou, "later"))
    delta, _, _ = pages(secured.delta_import(watermark))
    assert [r.identifier for r in delta] == [f"CN=later,{samba_ou}"]


def test_dirsync_base_must_be_the_domain(samba_dc: SambaDC, samba_ou: str) -> None:
    conn = make_connector(samba_dc, [samba_ou], base_dn=samba_ou)
    with pytest.raises(ConnectorError, match="not a naming context"):
        list(conn.full_import())
    no_delta = make_connector(samba_dc, [samba_ou], base_dn=samba_ou, delta=None)
    assert pages(no_delta.full_import())[2] is None


def test_a_cookie_the_dc_cannot_read_asks_for_a_full_import(samba_dc: SambaDC, samba_ou: str) -> None:
    conn = make_connector(samba_dc, [samba_ou])
    with pytest.raises(WatermarkExpired, match="DirSync cookie"):
        list(conn.delta_import("dirsync:" + base64.b64encode(b"not a cookie at all").decode()))
    with pytest.raises(WatermarkExpired):
        list(conn.delta_import("dirsync:***"))


def test_a_dc_restored_from_backup_invalidates_the_usn_watermark(
    samba_dc: SambaDC, samba_ou: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A real new invocationId (what a restore from backup gives a DC), not a doctored watermark."""
    samba_dc.tools.add(user_ldif(samba_ou, "before"))
    conn = make_connector(samba_dc, [samba_ou], delta="usn")
    _, _, watermark = pages(conn.full_import())
    assert watermark
    conn.close()
    samba_dc.stop()
    try:
        new_id = samba_dc.new_invocation_id()
    finally:
        samba_dc.start()
    fresh = make_connector(samba_dc, [samba_ou], delta="usn")
    with (
        caplog.at_level(logging.WARNING, logger="idsync.connectors.ad"),
        pytest.raises(WatermarkExpired, match="restored from a backup"),
    ):
        list(fresh.delta_import(watermark))
    assert new_id in caplog.text
    _, _, again = pages(fresh.full_import())
    assert again and new_id in again
    assert pages(fresh.delta_import(again))[0] == []


@pytest.mark.parametrize("method", ["dirsync", "usn"])
def test_excluded_containers_stay_out_of_import_delta_and_lookup(samba_dc: SambaDC, samba_ou: str, method: str) -> None:
    """MIM's include-inside-exclude: Staff is in, Contractors inside it is out, Interns inside that is in again.
    The full import and every delta leave Contractors out (a move into it is a delete, out of it an add), a
    memberOf value naming a group there is not shown, and a lookup by its DN finds nothing."""
    staff = f"OU=Staff,{samba_ou}"
    contractors, tag = f"OU=Contractors,{staff}", method[0]
    interns = f"OU=Interns,{contractors}"
    hidden_group = f"CN=hidden{tag},{contractors}"
    samba_dc.tools.add(
        "".join(f"dn: {dn}\nobjectClass: organizationalUnit\n\n" for dn in (staff, contractors, interns))
        + "".join(user_ldif(staff, f"{n}{tag}") for n in ("stay", "leave"))
        + "".join(user_ldif(contractors, f"{n}{tag}") for n in ("ctr", "arrive"))
        + user_ldif(interns, f"intern{tag}")
        + group_ldif(contractors, f"hidden{tag}", [f"CN=stay{tag},{staff}"])
    )
    conn = make_connector(samba_dc, [staff, interns], excluded_containers=[contractors], delta=method)
    before, issues, watermark = pages(conn.full_import())
    assert issues == [] and watermark
    names = {r.identifier.split(",")[0].lower(): r for r in before}
    assert set(names) == {f"cn={n}{tag}" for n in ("stay", "leave", "intern")}
    assert names[f"cn=stay{tag}"].attributes.get("memberOf") is None, "a group in the excluded OU is not shown"
    samba_dc.tools.modify(
        move(f"CN=leave{tag},{staff}", contractors)
        + move(f"CN=arrive{tag},{contractors}", staff)
        + f"dn: CN=ctr{tag},{contractors}\nchangetype: modify\nreplace: description\ndescription: hidden\n\n"
        f"dn: CN=intern{tag},{interns}\nchangetype: modify\nreplace: description\ndescription: shown\n"
    )
    delta, issues, _ = pages(conn.delta_import(watermark))
    assert issues == []
    live = {r.identifier.split(",")[0].lower(): r for r in delta if not r.delete}
    assert set(live) == {f"cn=arrive{tag}", f"cn=intern{tag}"}
    assert live[f"cn=arrive{tag}"].identifier.lower() == f"cn=arrive{tag},{staff}".lower()
    assert live[f"cn=intern{tag}"].attributes["description"] == ["shown"]
    assert names[f"cn=leave{tag}"].anchor in {r.anchor for r in delta if r.delete}
    assert conn.lookup("user", f"CN=ctr{tag},{contractors}", {}) is None
    assert conn.lookup("user", "", {"sAMAccountName": f"ctr{tag}"}) is None
    assert conn.lookup("group", hidden_group, {}) is None
    assert conn.lookup("user", "", {"sAMAccountName": f"intern{tag}"}) is not None
