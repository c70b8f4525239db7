"""The Active Directory connector writing to a real Samba AD DC: accounts, passwords, names, groups, placement."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from idsync.connectors.base import ValueDelta
from idsync.connectors.ldap.escaping import escape_dn_value
from idsync.model import ExportOp, ValueOp
from idsync.testing.directories import SambaDC

from .adlab import (
    by_dn,
    can_bind,
    change,
    group_ldif,
    item,
    make_connector,
    pages,
    read,
    search,
    strong_password,
    user_ldif,
)

pytestmark = pytest.mark.samba

ADD, UPDATE, DELETE = ExportOp.ADD, ExportOp.UPDATE, ExportOp.DELETE
ADD_VALUES = ValueOp.ADD


def uac(dc: SambaDC, dn: str) -> int:
    return int(str(read(dc, dn, "userAccountControl")["userAccountControl"][0]))


@pytest.mark.parametrize("backend", ["python-ldap", "ldap3"])
def test_new_user_with_password_and_flags_can_sign_in(samba_dc: SambaDC, samba_ou: str, backend: str) -> None:
    password = strong_password()
    conn = make_connector(samba_dc, [samba_ou], {"INITIAL": password}, backend=backend)
    dn = f"CN=Grace Hopper,{samba_ou}"
    new = item(
        1,
        ADD,
        dn,
        change("sAMAccountName", "ghopper"),
        change("userPrincipalName", "grace.hopper@example.test"),
        change("unicodePwd", "${env:INITIAL}"),
        change("accountEnabled", True),
        change("passwordNeverExpires", True),
        change("givenName", "Grace"),
    )
    (result,) = conn.export([new])
    assert result.ok, result.error
    seen = read(samba_dc, dn, "objectGUID", "userAccountControl")
    assert result.anchor == str(uuid.UUID(bytes_le=bytes(seen["objectGUID"][0])))  # type: ignore[arg-type]
    assert int(str(seen["userAccountControl"][0])) == 0x200 | 0x10000
    assert can_bind(samba_dc, "grace.hopper@example.test", password)
    assert not can_bind(samba_dc, "grace.hopper@example.test", password + "x")


def test_a_password_is_never_sent_over_cleartext(samba_dc: SambaDC, samba_ou: str) -> None:
    conn = make_connector(samba_dc, [samba_ou], url=samba_dc.url, ca_file=None, allow_insecure=True)
    password = strong_password()
    dn = f"CN=clear,{samba_ou}"
    (result,) = conn.export([item(1, ADD, dn, change("sAMAccountName", "clear"), change("unicodePwd", password))])
    assert not result.ok
    assert "LDAPS or StartTLS" in (result.error or "")
    assert password not in (result.error or "")
    assert read(samba_dc, dn) == {}, "nothing was created"
    starttls = make_connector(samba_dc, [samba_ou], {"PW": password}, url=samba_dc.url, start_tls=True)
    (result,) = starttls.export(
        [item(2, ADD, dn, change("sAMAccountName", "clear"), change("unicodePwd", "${env:PW}"))]
    )
    assert result.ok, result.error


def test_password_policy_and_names_fail_one_object_not_the_batch(samba_dc: SambaDC, samba_ou: str) -> None:
    samba_dc.tools.add(user_ldif(samba_ou, "taken", sAMAccountName="taken", userPrincipalName="taken@example.test"))
    conn = make_connector(samba_dc, [samba_ou])
    cases = [
        (change("sAMAccountName", "weakpw"), change("unicodePwd", "abc"), "password"),
        (change("sAMAccountName", "taken"), None, "already in use"),
        (change("sAMAccountName", "dupupn"), change("userPrincipalName", "TAKEN@example.test"), "already in use"),
        (change("sAMAccountName", "twenty-one-characters"), None, "21 characters long; at most 20"),
        (change("sAMAccountName", "a/b"), None, "contains /"),
        (change("sAMAccountName", "noat"), change("userPrincipalName", "no-at-sign"), "name@suffix"),
        (change("sAMAccountName", "badsfx"), change("userPrincipalName", "x@contoso.com"), "not one of the forest"),
        (change("sAMAccountName", "spaces"), change("userPrincipalName", "a b@example.test"), "spaces"),
        (change("sAMAccountName", "dotted"), change("userPrincipalName", ".lead@example.test"), "period"),
    ]
    items = [
        item(i, ADD, f"CN=case{i},{samba_ou}", *[c for c in (first, second) if c is not None])
        for i, (first, second, _) in enumerate(cases)
    ]
    good = item(
        99, ADD, f"CN=fine,{samba_ou}", change("sAMAccountName", "fine"), change("unicodePwd", strong_password())
    )
    results = conn.export([*items, good])
    for result, (_, _, reason) in zip(results, cases, strict=False):
        assert not result.ok, result
        assert reason in (result.error or ""), result.error
        assert (result.error or "").startswith(f"CN=case{result.cs_id},")
    assert results[-1].ok, results[-1].error
    # the server's own reasons come through: Samba's password check and uniqueness checks
    assert "check_password_restrictions" in (results[0].error or "")
    names = {dn.split(",")[0] for dn, _ in search(samba_dc, samba_ou, "(objectClass=user)", "cn")}
    assert names == {"CN=taken", "CN=fine"}


def test_a_batch_goes_out_together_and_each_new_user_is_finished_after_it(samba_dc: SambaDC, samba_ou: str) -> None:
    # the users name a group that comes later in the same batch: memberships, pwdLastSet and moves are written
    # once the whole batch is sent, so the group exists by then
    conn = make_connector(samba_dc, [samba_ou], add_window=4)
    staff = f"CN=batch-staff,{samba_ou}"
    leavers = f"OU=batch-leavers,{samba_ou}"
    samba_dc.tools.add(f"dn: {leavers}\nobjectClass: organizationalUnit\n\n")
    users = [
        item(
            i,
            ADD,
            f"CN=batch{i},{samba_ou}",
            change("sAMAccountName", f"batch{i}"),
            change("unicodePwd", strong_password()),
            change("accountEnabled", True),
            change("mustChangePassword", True),
            change("memberOf", staff, op=ADD_VALUES),
            *([change("container", leavers)] if i == 5 else []),
        )
        for i in range(6)
    ]
    refused = item(6, ADD, f"CN=batch6,{samba_ou}", change("sAMAccountName", "a/b"))
    group = item(
        7, ADD, staff, change("sAMAccountName", "batch-staff"), change("groupScope", "global"), object_type="group"
    )
    results = conn.export([*users, refused, group])
    assert [r.cs_id for r in results] == list(range(8))
    assert all(r.ok for i, r in enumerate(results) if i != 6), "\n".join(str(r.error) for r in results)
    assert not results[6].ok and results[6].code == "refused" and "contains /" in (results[6].error or "")
    assert results[5].identifier == f"CN=batch5,{leavers}"
    members = read(samba_dc, staff, "member")["member"]
    assert sorted(map(str, members)) == sorted(r.identifier or "" for r in results[:6])
    for result in results[:6]:
        assert str(read(samba_dc, result.identifier or "", "pwdLastSet")["pwdLastSet"][0]) == "0"


def test_flags_keep_the_bits_an_administrator_set(samba_dc: SambaDC, samba_ou: str) -> None:
    dn = f"CN=smart,{samba_ou}"
    samba_dc.tools.add(user_ldif(samba_ou, "smart", strong_password(), userAccountControl=0x200 | 0x40000))
    conn = make_connector(samba_dc, [samba_ou])
    (result,) = conn.export([item(1, UPDATE, dn, change("accountEnabled", False))])
    assert result.ok, result.error
    assert uac(samba_dc, dn) == 0x200 | 0x40000 | 0x2
    (result,) = conn.export([item(2, UPDATE, dn, change("userAccountControl", 512), change("accountEnabled", False))])
    assert result.ok and uac(samba_dc, dn) == 0x200 | 0x2, "an explicit value is the base the flags apply to"
    record = by_dn(pages(conn.full_import())[0])[dn.lower()]
    assert record.attributes["accountEnabled"] is False and record.attributes["smartcardRequired"] is False


def test_must_change_password_sets_pwd_last_set(samba_dc: SambaDC, samba_ou: str) -> None:
    password = strong_password()
    conn = make_connector(samba_dc, [samba_ou], {"PW": password})
    dn = f"CN=newbie,{samba_ou}"
    add = item(
        1,
        ADD,
        dn,
        change("sAMAccountName", "newbie"),
        change("unicodePwd", "${env:PW}"),
        change("accountEnabled", True),
        change("mustChangePassword", True),
    )
    (result,) = conn.export([add])
    assert result.ok, result.error
    assert str(read(samba_dc, dn, "pwdLastSet")["pwdLastSet"][0]) == "0"
    assert by_dn(pages(conn.full_import())[0])[dn.lower()].attributes["mustChangePassword"] is True
    (result,) = conn.export([item(2, UPDATE, dn, change("mustChangePassword", False))])
    assert result.ok, result.error
    assert int(str(read(samba_dc, dn, "pwdLastSet")["pwdLastSet"][0])) > 0
    (refused,) = conn.export([item(3, UPDATE, dn, change("pwdLastSet", 12345))])
    assert not refused.ok and "only 0" in (refused.error or "")


def test_group_types_and_a_change_ad_forbids(samba_dc: SambaDC, samba_ou: str) -> None:
    conn = make_connector(samba_dc, [samba_ou])
    dist = f"CN=news,{samba_ou}"
    sec = f"CN=admins,{samba_ou}"
    results = conn.export(
        [
            item(
                1,
                ADD,
                dist,
                change("sAMAccountName", "news"),
                change("groupScope", "universal"),
                change("securityEnabled", False),
                object_type="group",
            ),
            item(2, ADD, sec, change("sAMAccountName", "admins"), object_type="group"),
            item(3, ADD, f"CN=odd,{samba_ou}", change("groupScope", "planetary"), object_type="group"),
        ]
    )
    assert results[0].ok and results[1].ok, results
    assert not results[2].ok and "not a group scope" in (results[2].error or "")
    assert str(read(samba_dc, dist, "groupType")["groupType"][0]) == "8"
    assert str(read(samba_dc, sec, "groupType")["groupType"][0]) == str(-2147483646)
    (forbidden,) = conn.export([item(4, UPDATE, sec, change("groupScope", "domainLocal"), object_type="group")])
    assert not forbidden.ok
    assert "00002035" in (forbidden.error or "") and "global group forbidden" in (forbidden.error or "")
    (allowed,) = conn.export([item(5, UPDATE, sec, change("groupScope", "universal"), object_type="group")])
    assert allowed.ok, allowed.error
    assert str(read(samba_dc, sec, "groupType")["groupType"][0]) == str(-2147483640)


def test_consistency_guid_is_written_back_when_empty(samba_dc: SambaDC, samba_ou: str) -> None:
    samba_dc.tools.add(user_ldif(samba_ou, "old") + user_ldif(samba_ou, "stamped"))
    kept = uuid.uuid4().bytes_le
    samba_dc.tools.modify(
        f"dn: CN=stamped,{samba_ou}\nchangetype: modify\nreplace: mS-DS-ConsistencyGuid\n"
        f"mS-DS-ConsistencyGuid:: {base64.b64encode(kept).decode()}\n"
    )
    conn = make_connector(samba_dc, [samba_ou], consistency_guid=True)
    before = by_dn(pages(conn.full_import())[0])
    old = before[f"cn=old,{samba_ou}".lower()]
    stamped = before[f"cn=stamped,{samba_ou}".lower()]
    assert stamped.attributes["sourceAnchor"] == base64.b64encode(kept).decode()
    new_dn = f"CN=new,{samba_ou}"
    results = conn.export(
        [
            item(1, ADD, new_dn, change("sAMAccountName", "new")),
            item(2, UPDATE, old.identifier, change("description", "x"), anchor=old.anchor, hologram=old.attributes),
            item(3, UPDATE, stamped.identifier, change("description", "y"), anchor=stamped.anchor),
        ]
    )
    assert all(r.ok for r in results), results
    for dn, anchor in ((new_dn, results[0].anchor), (old.identifier, old.anchor)):
        written = read(samba_dc, dn, "mS-DS-ConsistencyGuid")["mS-DS-ConsistencyGuid"][0]
        assert anchor is not None and written == uuid.UUID(anchor).bytes_le
    assert read(samba_dc, stamped.identifier, "mS-DS-ConsistencyGuid")["mS-DS-ConsistencyGuid"][0] == kept
    after = by_dn(pages(conn.full_import())[0])
    assert (
        after[new_dn.lower()].attributes["sourceAnchor"]
        == base64.b64encode(uuid.UUID(results[0].anchor).bytes_le).decode()
    )


def test_leavers_disabled_and_moved_by_container_with_missing_ous_created(samba_dc: SambaDC, samba_ou: str) -> None:
    leavers = f"OU=Leavers,OU=Archive,{samba_ou}"
    samba_dc.tools.add(
        user_ldif(samba_ou, "Jo Bloggs", strong_password())
        + f"dn: OU=Sales,{samba_ou}\nobjectClass: organizationalUnit\n\n"
        + user_ldif(f"OU=Sales,{samba_ou}", "Jo Bloggs", strong_password(), sAMAccountName="jobloggs2")
    )
    conn = make_connector(samba_dc, [samba_ou], create_parents=True)
    first = f"CN=Jo Bloggs,{samba_ou}"
    second = f"CN=Jo Bloggs,OU=Sales,{samba_ou}"
    records = by_dn(pages(conn.full_import())[0])
    assert records[second.lower()].attributes["container"] == f"OU=Sales,{samba_ou}"
    leave = [change("accountEnabled", False), change("container", leavers)]
    (result,) = conn.export([item(1, UPDATE, first, *leave, anchor=records[first.lower()].anchor)])
    assert result.ok, result.error
    assert result.identifier == f"CN=Jo Bloggs,{leavers}"
    assert uac(samba_dc, result.identifier) & 0x2
    # a second leaver with the same name gets a suffix from its objectGUID
    anchor = records[second.lower()].anchor
    (result,) = conn.export([item(2, UPDATE, second, *leave, anchor=anchor)])
    assert result.ok, result.error
    assert result.identifier == f"CN=Jo Bloggs ({anchor[:8]}),{leavers}"
    # the import shows where they are: the export is confirmed, nothing moves again
    after = by_dn(pages(conn.full_import())[0])
    assert after[result.identifier.lower()].attributes["container"] == leavers
    (again,) = conn.export([item(3, UPDATE, result.identifier, change("container", leavers), anchor=anchor)])
    assert again.ok and again.identifier == result.identifier
    (bad,) = conn.export([item(4, UPDATE, result.identifier, change("container", "nowhere"))])
    assert not bad.ok and "is not a DN" in (bad.error or "")


def test_ou_from_a_flow_moves_the_user_and_creates_the_ou(samba_dc: SambaDC, samba_ou: str) -> None:
    conn = make_connector(samba_dc, [samba_ou], create_parents=True)
    start = f"CN=Mover,OU=Finance,{samba_ou}"
    (added,) = conn.export([item(1, ADD, start, change("sAMAccountName", "mover"))])
    assert added.ok, added.error
    target = f"CN=Mover,OU=R&D\\, Labs,OU=Departments,{samba_ou}"
    (moved,) = conn.export(
        [item(2, UPDATE, start, change("department", "R&D, Labs"), anchor=added.anchor, new_identifier=target)]
    )
    assert moved.ok, moved.error
    seen = read(samba_dc, target, "department", "objectGUID")
    assert seen["department"] == ["R&D, Labs"]
    assert str(uuid.UUID(bytes_le=bytes(seen["objectGUID"][0]))) == added.anchor  # type: ignore[arg-type]


def test_dn_with_special_characters_round_trips_and_a_broken_one_is_refused(samba_dc: SambaDC, samba_ou: str) -> None:
    conn = make_connector(samba_dc, [samba_ou])
    name = 'O\'Brien, "Pat" <ops> #1; a+b=c\\d'
    dn = f"CN={escape_dn_value(name)},{samba_ou}"
    results = conn.export(
        [
            item(1, ADD, dn, change("sAMAccountName", "obrien")),
            item(2, ADD, f"CN=Smith, John,{samba_ou}", change("sAMAccountName", "jsmith")),
        ]
    )
    assert results[0].ok, results[0].error
    assert not results[1].ok and "is not attribute=value" in (results[1].error or "")
    (found,) = search(samba_dc, samba_ou, "(sAMAccountName=obrien)", "cn")
    assert found[1]["cn"] == [name]
    record = by_dn(pages(conn.full_import())[0])
    assert any(r.attributes.get("cn") == name for r in record.values())


def test_large_group_members_chunked_and_read_in_ranges(samba_dc: SambaDC) -> None:
    """5,000 members: added by the connector in chunks, read back past MaxValRange (1,500).

    The OU is left in place: the session's DC is a throw-away copy, and deleting 5,000 entries takes half a
    minute."""
    samba_ou = samba_dc.tools.reset_ou(f"OU=large-{uuid.uuid4().hex[:8]},{samba_dc.base_dn}")
    count = 5000
    samba_dc.tools.add("".join(f"dn: CN=c{i:05d},{samba_ou}\nobjectClass: contact\n\n" for i in range(count)))
    members = [f"CN=c{i:05d},{samba_ou}" for i in range(count)]
    conn = make_connector(samba_dc, [samba_ou], membership_chunk=1000)
    group = f"CN=everyone,{samba_ou}"
    (added,) = conn.export([item(1, ADD, group, change("sAMAccountName", "everyone"), object_type="group")])
    assert added.ok, added.error
    (result,) = conn.export([item(2, UPDATE, group, change("member", *members, op=ValueOp.ADD), object_type="group")])
    assert result.ok, result.error
    # the server holds them all and pages them: ask as a client that follows no ranges would
    first = read(samba_dc, group, "member;range=0-1499")
    assert len(first["member;range=0-1499"]) == 1500
    records, _, watermark = pages(conn.full_import())
    assert len(by_dn(records)[group.lower()].attributes["member"]) == count
    (removed,) = conn.export(
        [item(3, UPDATE, group, change("member", members[0], op=ValueOp.REMOVE), object_type="group")]
    )
    assert removed.ok
    delta, _, _ = pages(conn.delta_import(watermark))
    assert by_dn(delta)[group.lower()].attributes["member"] == ValueDelta((), (members[0],)), "the change, not 5,000"
    # the group goes first: deleting 5,000 members one by one would rewrite its member list each time
    (deleted,) = conn.export([item(4, DELETE, group, object_type="group")])
    assert deleted.ok and read(samba_dc, group) == {}


def test_lookup_by_dn_and_unique_keys(samba_dc: SambaDC, samba_ou: str) -> None:
    samba_dc.tools.add(
        user_ldif(samba_ou, "look", sAMAccountName="look1", userPrincipalName="look@example.test", displayName="Same")
        + user_ldif(samba_ou, "other", displayName="Same")
    )
    conn = make_connector(samba_dc, [samba_ou])
    record = conn.lookup("user", f"CN=look,{samba_ou}", {})
    assert record is not None and record.attributes["sAMAccountName"] == "look1"
    missing = f"CN=missing,{samba_ou}"
    by_sam = conn.lookup("user", missing, {"displayName": "Same", "sAMAccountName": "look1"})
    assert by_sam is not None and by_sam.anchor == record.anchor
    by_guid = conn.lookup("user", missing, {"objectGUID": record.anchor})
    assert by_guid is not None and by_guid.identifier == record.identifier
    assert conn.lookup("user", missing, {"displayName": "Same"}) is None, "two objects match: none is adopted"
    assert conn.lookup("user", missing, {"accountEnabled": False}) is None
    assert conn.lookup("group", f"CN=look,{samba_ou}", {}) is None


def test_read_only_and_bad_values_are_refused_per_object(samba_dc: SambaDC, samba_ou: str) -> None:
    samba_dc.tools.add(user_ldif(samba_ou, "ro") + group_ldif(samba_ou, "g"))
    conn = make_connector(samba_dc, [samba_ou])
    dn = f"CN=ro,{samba_ou}"
    results = conn.export(
        [
            item(1, UPDATE, dn, change("objectGUID", str(uuid.uuid4()))),
            item(2, UPDATE, dn, change("userAccountControl", "lots")),
            item(3, UPDATE, dn, change("objectSid", "not-a-sid")),
            item(
                4,
                UPDATE,
                f"CN=g,{samba_ou}",
                change("member", f"CN=nobody,{samba_ou}", op=ValueOp.ADD),
                object_type="group",
            ),
            item(5, UPDATE, dn, change("description", "fine")),
        ]
    )
    assert [r.ok for r in results] == [False, False, False, False, True], results
    assert "assigned by Active Directory" in (results[0].error or "")
    assert "not an integer" in (results[1].error or "")
    assert "security identifier" in (results[2].error or "")
    assert results[3].code is not None and results[3].error is not None


def test_the_connector_refuses_a_cleartext_bind_unless_allowed(samba_dc: SambaDC, samba_ou: str) -> None:
    with pytest.raises(ValidationError, match="cleartext"):
        make_connector(samba_dc, [samba_ou], url=samba_dc.url, ca_file=None)


def test_member_of_written_from_the_members_side(samba_dc: SambaDC, samba_ou: str) -> None:
    outside = f"CN=Domain Users,CN=Users,{samba_dc.base_dn}"
    samba_dc.tools.add(
        group_ldif(samba_ou, "Sales Staff") + group_ldif(samba_ou, "Finance Staff") + user_ldif(samba_ou, "pat")
    )
    sales, finance, pat = (f"CN={n},{samba_ou}" for n in ("Sales Staff", "Finance Staff", "pat"))
    conn = make_connector(samba_dc, [samba_ou])
    results = conn.export(
        [
            item(1, UPDATE, pat, change("memberOf", sales, op=ValueOp.ADD)),
            item(
                2,
                ADD,
                f"CN=lee,{samba_ou}",
                change("sAMAccountName", "lee"),
                change("memberOf", sales, finance, op=ADD_VALUES),
            ),
            item(3, UPDATE, pat, change("memberOf", outside, op=ValueOp.ADD)),
            item(4, UPDATE, pat, change("memberOf", sales, op=ValueOp.REPLACE)),
        ]
    )
    assert [r.ok for r in results] == [True, True, False, False], results
    assert "outside this connector's containers" in (results[2].error or "")
    members = read(samba_dc, sales, "member")["member"]
    assert sorted(members) == sorted([pat, f"CN=lee,{samba_ou}"])
    # replayed after a crash: adding a member already there and removing one already gone both succeed
    replay = conn.export(
        [
            item(5, UPDATE, pat, change("memberOf", sales, op=ValueOp.ADD)),
            item(6, UPDATE, pat, change("memberOf", finance, op=ValueOp.REMOVE)),
        ]
    )
    assert all(r.ok for r in replay), replay
    (removed,) = conn.export([item(7, UPDATE, pat, change("memberOf", sales, op=ValueOp.REMOVE))])
    assert removed.ok and read(samba_dc, sales, "member")["member"] == [f"CN=lee,{samba_ou}"]
    # an import shows memberships of the connector's groups only (everyone is in Domain Users, a primary group)
    record = by_dn(pages(conn.full_import())[0])[f"cn=lee,{samba_ou}".lower()]
    assert sorted(record.attributes["memberOf"]) == sorted([sales, finance])


def test_an_add_outside_the_containers_is_refused_and_a_refused_move_names_its_target(
    samba_dc: SambaDC, samba_ou: str
) -> None:
    """The containers are the OUs whose objects are imported and may be written: a user added elsewhere could
    never be confirmed, so the add is refused before it is sent. A move the DC refuses says where it was going."""
    samba_dc.tools.add(
        f"dn: OU=In,{samba_ou}\nobjectClass: organizationalUnit\n\n"
        f"dn: OU=Out,{samba_ou}\nobjectClass: organizationalUnit\n\n"
    )
    inside = f"OU=In,{samba_ou}"
    conn = make_connector(samba_dc, [inside])
    outside = f"CN=Stray,OU=Out,{samba_ou}"
    results = conn.export(
        [
            item(1, ADD, f"CN=Kept,{inside}", change("sAMAccountName", "kept")),
            item(2, ADD, outside, change("sAMAccountName", "stray")),
        ]
    )
    assert [r.ok for r in results] == [True, False], results
    assert results[1].code == "refused" and outside in (results[1].error or "")
    assert "outside this connector's containers" in (results[1].error or "")
    assert search(samba_dc, samba_ou, "(sAMAccountName=stray)", "cn") == []
    target = f"CN=Kept,OU=Missing,{inside}"
    (moved,) = conn.export([item(3, UPDATE, f"CN=Kept,{inside}", anchor=results[0].anchor, new_identifier=target)])
    assert not moved.ok and f"renaming to {target}" in (moved.error or ""), moved.error


def test_text_longer_than_the_schema_allows_is_refused_naming_the_limit(samba_dc: SambaDC, samba_ou: str) -> None:
    """The DC's own answer to a value past the attribute's rangeUpper names neither the length nor the limit
    ("contains at least one invalid value"): the connector holds values to the schema's limits first."""
    samba_dc.tools.add(user_ldif(samba_ou, "Existing"))
    conn = make_connector(samba_dc, [samba_ou])
    exactly = "d" * 1024  # description's rangeUpper: the longest value the DC takes
    results = conn.export(
        [
            item(1, ADD, f"CN=long,{samba_ou}", change("sAMAccountName", "long"), change("description", "x" * 1025)),
            item(2, ADD, f"CN=id,{samba_ou}", change("sAMAccountName", "id"), change("employeeID", "1" * 17)),
            item(3, UPDATE, f"CN=Existing,{samba_ou}", change("description", "y" * 2000)),
            item(4, ADD, f"CN=fits,{samba_ou}", change("sAMAccountName", "fits"), change("description", exactly)),
        ]
    )
    assert [r.ok for r in results] == [False, False, False, True], results
    expected = [("description", "1,025", "1,024"), ("employeeID", "17", "16"), ("description", "2,000", "1,024")]
    for result, (attribute, length, limit) in zip(results[:3], expected, strict=True):
        assert (result.code, result.attribute) == ("refused", attribute), result
        assert f"is {length} characters long" in (result.error or "") and f"at most {limit}" in (result.error or "")
    assert read(samba_dc, f"CN=fits,{samba_ou}", "description")["description"] == [exactly]
    assert "description" not in read(samba_dc, f"CN=Existing,{samba_ou}", "description")
    assert search(samba_dc, samba_ou, "(|(sAMAccountName=long)(sAMAccountName=id))", "cn") == []


@pytest.mark.parametrize("backend", ["python-ldap", "ldap3"])
def test_a_reference_to_no_object_names_the_attribute_and_the_value(
    samba_dc: SambaDC, samba_ou: str, backend: str
) -> None:
    """The DC refuses a manager or member DN with no object behind it without saying which value it is
    ("Referenced object not found", "specified dn doesn't exist"): the error names the attribute and the DN."""
    samba_dc.tools.add(user_ldif(samba_ou, "Real") + group_ldif(samba_ou, "team"))
    conn = make_connector(samba_dc, [samba_ou], backend=backend)
    real, ghost = f"CN=Real,{samba_ou}", f"CN=Ghost,{samba_ou}"
    results = conn.export(
        [
            item(1, ADD, f"CN=u1,{samba_ou}", change("sAMAccountName", "u1"), change("manager", ghost)),
            item(2, ADD, f"CN=g2,{samba_ou}", change("member", real, ghost), object_type="group"),
            item(3, UPDATE, f"CN=team,{samba_ou}", change("member", ghost, op=ADD_VALUES), object_type="group"),
            item(4, UPDATE, real, change("manager", ghost)),
            item(5, ADD, f"CN=u5,{samba_ou}", change("sAMAccountName", "u5"), change("manager", real)),
        ]
    )
    assert [r.ok for r in results] == [False, False, False, False, True], results
    for result, attribute in zip(results[:4], ["manager", "member", "member", "manager"], strict=True):
        assert result.attribute == attribute, result
        assert f"{attribute}: no entry at {ghost}" in (result.error or ""), result.error
        assert real not in (result.error or "").split("no entry at", 1)[1]  # only the value that is missing
    assert "manager" not in read(samba_dc, real, "manager")


def test_a_cn_flow_beside_the_dn_renames_and_a_different_name_is_refused(samba_dc: SambaDC, samba_ou: str) -> None:
    """cn (and name) hold the RDN's value and the DC refuses any modify of them, even to the same value: a flow
    giving cn the name the DN gives sends nothing for it, so the usual pair — the DN and cn from displayName —
    renames, in another case too (the DC takes a rename to the same name in another case and keeps it). A cn that
    differs from the DN's, if only in case, could only come from a rename (the DC keeps the DN's spelling, so the
    flow's would never be confirmed) and is refused before anything is sent."""
    samba_dc.tools.add(user_ldif(samba_ou, "Al") + user_ldif(samba_ou, "Jo") + user_ldif(samba_ou, "Mcdonald"))
    conn = make_connector(samba_dc, [samba_ou])
    al, jo = f"CN=Al,{samba_ou}", f"CN=Jo,{samba_ou}"
    renamed, recased = f"CN=Alan Turing,{samba_ou}", f"CN=McDonald,{samba_ou}"
    results = conn.export(
        [
            item(1, UPDATE, al, change("cn", "Alan Turing"), change("description", "x"), new_identifier=renamed),
            item(2, UPDATE, jo, change("cn", "Jo")),
            item(3, UPDATE, jo, change("cn", "Joe"), new_identifier=f"CN=Joseph,{samba_ou}"),
            item(4, UPDATE, jo, change("name", "Joe")),
            item(5, ADD, f"CN=Jo Bloggs,{samba_ou}", change("sAMAccountName", "jb"), change("cn", "Joanne Bloggs")),
            item(6, ADD, f"CN=Same,{samba_ou}", change("sAMAccountName", "same"), change("cn", "same")),
            item(7, UPDATE, jo, change("cn", "jo")),
            item(8, UPDATE, f"CN=Mcdonald,{samba_ou}", change("cn", "McDonald"), new_identifier=recased),
        ]
    )
    assert [r.ok for r in results] == [True, True, False, False, False, False, False, True], results
    assert results[0].identifier == renamed
    assert read(samba_dc, renamed, "cn", "description") == {"cn": ["Alan Turing"], "description": ["x"]}
    for result, (attribute, given, from_dn) in zip(
        results[2:5],
        [("cn", "Joe", "Joseph"), ("name", "Joe", "Jo"), ("cn", "Joanne Bloggs", "Jo Bloggs")],
        strict=True,
    ):
        assert (result.code, result.attribute) == ("refused", attribute), result
        assert f"{attribute} {given!r} is not the name the DN gives the entry ({from_dn!r})" in (result.error or "")
    for result, (given, from_dn) in zip(results[5:7], [("same", "Same"), ("jo", "Jo")], strict=True):
        assert (result.code, result.attribute) == ("refused", "cn"), result
        assert f"cn {given!r} differs only in case from the name the DN gives the entry ({from_dn!r})" in (
            result.error or ""
        )
    assert read(samba_dc, jo, "cn") == {"cn": ["Jo"]}, "refused before the rename was sent"
    assert search(samba_dc, samba_ou, "(|(sAMAccountName=jb)(sAMAccountName=same))", "cn") == []
    assert results[7].identifier == recased
    assert read(samba_dc, recased, "cn", "name", "distinguishedName") == {
        "cn": ["McDonald"],
        "name": ["McDonald"],
        "distinguishedName": [recased],
    }


def test_a_user_moved_since_the_last_import_is_updated_where_it_is_now(samba_dc: SambaDC, samba_ou: str) -> None:
    """Found by objectGUID: disabling a user an administrator moved keeps the bits set on it, and deleting one
    deletes it rather than taking it for gone."""
    samba_dc.tools.add(
        f"dn: OU=Elsewhere,{samba_ou}\nobjectClass: organizationalUnit\n\n"
        + user_ldif(samba_ou, "Mo", strong_password(), userAccountControl=0x200 | 0x10000)
        + user_ldif(samba_ou, "Del")
    )
    conn = make_connector(samba_dc, [samba_ou])
    records = by_dn(pages(conn.full_import())[0])
    mo, gone = f"CN=Mo,{samba_ou}", f"CN=Del,{samba_ou}"
    samba_dc.tools.modify(
        f"dn: {mo}\nchangetype: modrdn\nnewrdn: CN=Mo\ndeleteoldrdn: 1\nnewsuperior: OU=Elsewhere,{samba_ou}\n\n"
        f"dn: {gone}\nchangetype: modrdn\nnewrdn: CN=Del2\ndeleteoldrdn: 1\n"
    )
    results = conn.export(
        [
            item(1, UPDATE, mo, change("accountEnabled", False), anchor=records[mo.lower()].anchor),
            item(2, DELETE, gone, anchor=records[gone.lower()].anchor),
        ]
    )
    assert [r.ok for r in results] == [True, True], results
    now = f"CN=Mo,OU=Elsewhere,{samba_ou}"
    assert results[0].identifier == now
    assert uac(samba_dc, now) == 0x200 | 0x10000 | 0x2
    assert search(samba_dc, samba_ou, "(cn=Del2)", "cn") == []


def test_one_member_with_no_object_does_not_keep_the_rest_of_its_chunk_out(samba_dc: SambaDC, samba_ou: str) -> None:
    samba_dc.tools.add(user_ldif(samba_ou, "m1") + user_ldif(samba_ou, "m2") + group_ldif(samba_ou, "crew"))
    conn = make_connector(samba_dc, [samba_ou])
    crew, ghost = f"CN=crew,{samba_ou}", f"CN=ghost,{samba_ou}"
    members = [f"CN=m1,{samba_ou}", ghost, f"CN=m2,{samba_ou}"]
    (result,) = conn.export([item(1, UPDATE, crew, change("member", *members, op=ADD_VALUES), object_type="group")])
    assert not result.ok and result.attribute == "member" and f"no entry at {ghost}" in (result.error or "")
    assert sorted(str(m) for m in read(samba_dc, crew, "member")["member"]) == [members[0], members[2]]


def test_one_member_with_no_object_keeps_no_later_chunk_out(samba_dc: SambaDC, samba_ou: str) -> None:
    """The chunks after the one holding the bad member are sent too: before, the refusal ended the update there, so
    the members of the later chunks never landed while the bad value stayed in the flow."""
    names = ["m1", "m2", "m3", "m4"]
    samba_dc.tools.add("".join(user_ldif(samba_ou, n) for n in names) + group_ldif(samba_ou, "crew"))
    conn = make_connector(samba_dc, [samba_ou], membership_chunk=2)
    crew, ghost = f"CN=crew,{samba_ou}", f"CN=ghost,{samba_ou}"
    real = [f"CN={n},{samba_ou}" for n in names]
    members = [real[0], ghost, *real[1:]]
    (result,) = conn.export([item(1, UPDATE, crew, change("member", *members, op=ADD_VALUES), object_type="group")])
    assert not result.ok and result.attribute == "member" and f"no entry at {ghost}" in (result.error or "")
    assert sorted(str(m) for m in read(samba_dc, crew, "member")["member"]) == real


def test_an_add_or_a_membership_in_an_excluded_container_is_refused_naming_it(samba_dc: SambaDC, samba_ou: str) -> None:
    """An object added inside an excluded OU would never be imported, and a group there is not one idsync
    manages: both are refused before anything is sent, naming the exclusion. An OU included inside it takes adds."""
    staff = f"OU=Staff,{samba_ou}"
    contractors = f"OU=Contractors,{staff}"
    interns = f"OU=Interns,{contractors}"
    samba_dc.tools.add(
        "".join(f"dn: {dn}\nobjectClass: organizationalUnit\n\n" for dn in (staff, contractors, interns))
        + user_ldif(staff, "member1")
        + group_ldif(contractors, "hidden1")
    )
    conn = make_connector(samba_dc, [staff, interns], excluded_containers=[contractors])
    hidden = f"CN=hidden1,{contractors}"
    results = conn.export(
        [
            item(1, ADD, f"CN=ctr1,{contractors}", change("sAMAccountName", "ctr1")),
            item(2, UPDATE, f"CN=member1,{staff}", change("memberOf", hidden, op=ADD_VALUES)),
            item(3, ADD, f"CN=intern1,{interns}", change("sAMAccountName", "intern1")),
        ]
    )
    assert [r.ok for r in results] == [False, False, True], results
    assert f"inside {contractors!r}, one of this connector's excluded_containers" in (results[0].error or "")
    assert f"inside excluded container {contractors!r}" in (results[1].error or "")
    assert search(samba_dc, samba_ou, "(sAMAccountName=ctr1)", "cn") == []
    assert read(samba_dc, hidden, "member").get("member") in (None, [])


def test_a_move_into_an_excluded_container_or_out_of_the_containers_is_refused_and_nothing_is_sent(
    samba_dc: SambaDC, samba_ou: str
) -> None:
    """A leaver moved where no import sees it would be reported deleted at the next import, and provisioned again:
    a duplicate. The move (by ``container`` or by the identifier) is refused before anything of that object is sent,
    naming the object, the DN it would get and the exclusion; the rest of the batch goes."""
    staff = f"OU=Staff,{samba_ou}"
    contractors = f"OU=Contractors,{staff}"
    outside = f"OU=Gone,{samba_ou}"
    samba_dc.tools.add(
        "".join(f"dn: {dn}\nobjectClass: organizationalUnit\n\n" for dn in (staff, contractors, outside))
        + "".join(user_ldif(staff, name) for name in ("mover1", "mover2", "mover3"))
    )
    conn = make_connector(samba_dc, [staff], excluded_containers=[contractors], create_parents=True)
    records = by_dn(pages(conn.full_import())[0])
    dn1, dn2, dn3 = (f"CN={name},{staff}" for name in ("mover1", "mover2", "mover3"))
    anchors = [records[dn.lower()].anchor for dn in (dn1, dn2, dn3)]
    disable = change("description", "leaver")
    results = conn.export(
        [
            item(1, UPDATE, dn1, disable, change("container", contractors), anchor=anchors[0]),
            item(2, UPDATE, dn2, disable, anchor=anchors[1], new_identifier=f"CN=mover2,OU=Sub,{outside}"),
            item(3, UPDATE, dn3, disable, anchor=anchors[2]),
        ]
    )
    assert [r.ok for r in results] == [False, False, True], results
    assert (results[0].error or "").startswith(f"{dn1}: not moved to CN=mover1,{contractors}: ")
    assert f"inside {contractors!r}, one of this connector's excluded_containers" in (results[0].error or "")
    assert results[0].attribute == "container" and "change the container flow" in (results[0].error or "")
    assert (results[1].error or "").startswith(f"{dn2}: not moved to CN=mover2,OU=Sub,{outside}: ")
    assert "outside this connector's containers" in (results[1].error or "")
    for dn in (dn1, dn2):
        assert read(samba_dc, dn, "description").get("description") in (None, []), "nothing of it was sent"
    assert read(samba_dc, dn3, "description")["description"] == ["leaver"]
    assert [dn for dn, _ in search(samba_dc, outside, "(objectClass=*)", "1.1")] == [outside], "no parent created"


@pytest.mark.parametrize("backend", ["python-ldap", "ldap3"])
def test_a_replayed_membership_change_reads_the_members_in_ranges_once_and_sends_only_what_is_missing(
    samba_dc: SambaDC, samba_ou: str, backend: str
) -> None:
    """A chunk holding a member already there is refused whole (entryAlreadyExists): the group's members are then
    read once, in ranges past ``range_size`` as Active Directory requires, and only the missing adds and the present
    removes are sent."""
    users = [f"CN=crew{i},{samba_ou}" for i in range(14)]
    group = f"CN=crewgroup,{samba_ou}"
    samba_dc.tools.add(
        "".join(user_ldif(samba_ou, f"crew{i}") for i in range(14)) + group_ldif(samba_ou, "crewgroup", users[:10])
    )
    conn = make_connector(samba_dc, [samba_ou], backend=backend, range_size=3, membership_chunk=4)
    conn.test_connection()
    backend_ = conn._connected()
    sent: list[list[str]] = []
    modify = backend_.modify

    def counted(dn: str, changes: list[tuple[Any, str, list[bytes]]]) -> None:
        sent.append([v.decode() for v in changes[0][2]])
        modify(dn, changes)

    reads: list[list[str]] = []
    search = backend_.search

    def counted_search(base: str, scope: Any, flt: str, attributes: list[str], *args: Any) -> list[Any]:
        if base == group:
            reads.append(attributes)
        return search(base, scope, flt, attributes, *args)

    backend_.modify = counted  # type: ignore[method-assign]
    backend_.search = counted_search  # type: ignore[method-assign]
    replay = item(
        1,
        UPDATE,
        group,
        change("member", *users[2:12], op=ADD_VALUES),
        change("member", users[0], users[1], users[12], users[13], op=ValueOp.REMOVE),
        object_type="group",
    )
    (result,) = conn.export([replay])
    assert result.ok, result.error
    assert sorted(map(str, read(samba_dc, group, "member")["member"])) == sorted(users[2:12])
    assert sent[1:] == [users[10:12], users[0:2]], "after the first refusal, only the changes are sent"
    assert reads == [["member;range=0-2"], ["member;range=3-*"]], "read once, in ranges"


def test_a_secondary_address_made_primary_reaches_ad_without_losing_an_address(
    samba_dc: SambaDC, samba_ou: str
) -> None:
    """proxyAddresses "smtp:" (secondary) to "SMTP:" (primary) is a change of case only. Staged as an add and a
    remove, a directory that compares the values ignoring case (Windows AD's Unicode strings) skips the add as a
    value it holds and then removes it: the address is lost (Samba compares them exactly, so it kept them). The
    engine stages one replace, computed here against the schema the connector reads, and AD takes it."""
    from idsync.engine.pending_exports import attribute_changes

    dn = f"CN=Ada Lovelace,{samba_ou}"
    held = ["SMTP:ada@contoso.example", "smtp:lovelace@contoso.example"]
    samba_dc.tools.add(user_ldif(samba_ou, "Ada Lovelace", proxyAddresses=held))
    conn = make_connector(samba_dc, [samba_ou])
    record = by_dn(pages(conn.full_import())[0])[dn.lower()]
    assert sorted(record.attributes["proxyAddresses"]) == sorted(held)
    wanted = ["smtp:ada@contoso.example", "SMTP:lovelace@contoso.example"]
    changes = attribute_changes(
        conn.schema().object_type("user"), {"proxyAddresses": (wanted, "rule")}, record.attributes
    )
    assert [(c.op, c.values) for c in changes] == [(ValueOp.REPLACE, wanted)]
    (result,) = conn.export([item(1, UPDATE, dn, *changes)])
    assert result.ok, result.error
    now = read(samba_dc, dn, "proxyAddresses")["proxyAddresses"]
    assert sorted(str(v) for v in now) == sorted(wanted)
