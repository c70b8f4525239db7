"""The AD connector's rules that need no server: identities, flags, group types, names, the DirSync encoding."""

from __future__ import annotations

import uuid

import pytest

from idsync.connectors.ad import accounts
from idsync.connectors.ad.config import AdConfig
from idsync.connectors.ad.delta import member_dn
from idsync.connectors.ad.identity import IdentityError, guid_bytes, guid_text, sid_bytes, sid_text, source_anchor
from idsync.connectors.ldap import ber
from idsync.connectors.ldap.escaping import parent_text
from idsync.connectors.ldap.scope import ends_with_rdns

# BUILTIN\Administrators in MS-DTYP's binary layout: revision 1, two sub-authorities, authority 5 (NT), 32, 544
ADMINISTRATORS = bytes.fromhex("01020000000000052000000020020000")


def test_sids_read_and_written_in_the_documented_layout() -> None:
    assert sid_text(ADMINISTRATORS) == "S-1-5-32-544"
    assert sid_bytes("S-1-5-32-544") == ADMINISTRATORS
    domain_user = "S-1-5-21-594262908-660719208-1262645055-1103"
    assert sid_text(sid_bytes(domain_user)) == domain_user
    for bad in ("S-1", "X-1-5-32", "S-1-5-99999999999", "S-1-5-" + "-".join(["1"] * 16)):
        with pytest.raises(IdentityError):
            sid_bytes(bad)
    with pytest.raises(IdentityError):
        sid_text(ADMINISTRATORS[:-1])


def test_guids_are_microsofts_mixed_endian_layout() -> None:
    text = "6237f7b8-a285-4807-b134-961208ba460e"
    raw = guid_bytes(text)
    assert raw[:4] == bytes.fromhex("b8f73762"), "the first group is little-endian on the wire"
    assert raw[8:] == bytes.fromhex("b134961208ba460e"), "the last two groups are as written"
    assert guid_text(raw) == text and guid_bytes("{" + text.upper() + "}") == raw
    assert source_anchor(raw) == "uPc3YoWiB0ixNJYSCLpGDg=="
    with pytest.raises(IdentityError):
        guid_text(raw[:15])
    with pytest.raises(IdentityError):
        guid_bytes("not-a-guid")
    assert uuid.UUID(bytes_le=raw) == uuid.UUID(text)


def test_account_flags_fold_into_user_account_control() -> None:
    assert accounts.flags_from_uac(512)["accountEnabled"] is True
    assert accounts.flags_from_uac(514)["accountEnabled"] is False
    assert accounts.flags_from_uac(66048)["passwordNeverExpires"] is True
    smartcard = 512 | 0x40000
    assert accounts.apply_flags(smartcard, {"accountEnabled": False}) == smartcard | 2
    assert accounts.apply_flags(514 | 0x10000, {"accountEnabled": True, "passwordNeverExpires": False}) == 512


def test_group_types() -> None:
    assert accounts.apply_group_attributes(accounts.DEFAULT_GROUP_TYPE, None, None) == -2147483646
    assert accounts.apply_group_attributes(accounts.DEFAULT_GROUP_TYPE, "universal", None) == -2147483640
    assert accounts.apply_group_attributes(accounts.DEFAULT_GROUP_TYPE, "DomainLocal", False) == 4
    assert accounts.group_attributes(-2147483644) == {"groupScope": "domainLocal", "securityEnabled": True}
    assert accounts.group_attributes(8) == {"groupScope": "universal", "securityEnabled": False}
    with pytest.raises(ValueError, match="not a group scope"):
        accounts.apply_group_attributes(2, "planetary", None)


@pytest.mark.parametrize(
    ("value", "group", "broken"),
    [
        ("jsmith", False, None),
        ("a" * 20, False, None),
        ("a" * 21, False, "at most 20"),
        ("a" * 21, True, None),
        ("a" * 257, True, "at most 256"),
        ("j.smith o'neil", False, None),
        ("a/b", False, "contains /"),
        ('x"y', False, 'contains "'),
        ("...", False, "only periods"),
        ("tab\there", False, "control character"),
    ],
)
def test_sam_account_name_rules(value: str, group: bool, broken: str | None) -> None:
    found = accounts.check_sam_account_name(value, group=group)
    assert found is None if broken is None else broken in (found or "")


@pytest.mark.parametrize(
    ("value", "entra", "broken"),
    [
        ("ana.lima@corp.example", True, None),
        ("o'brien@corp.example", True, None),
        ("ANA@CORP.EXAMPLE", True, None),
        ("ana", True, "name@suffix"),
        ("@corp.example", True, "name@suffix"),
        ("a@b@corp.example", True, "single @"),
        ("ana lima@corp.example", True, "spaces"),
        ("ana+tag@corp.example", True, "Entra's rule"),
        ("ana+tag@corp.example", False, None),
        (".ana@corp.example", True, "period"),
        ("a" * 65 + "@corp.example", True, "64"),
        ("ana@contoso.com", True, "not one of the forest's"),
    ],
)
def test_user_principal_name_rules(value: str, entra: bool, broken: str | None) -> None:
    found = accounts.check_user_principal_name(value, ["corp.example"], entra_rules=entra)
    assert found is None if broken is None else broken in (found or "")


def test_passwords_are_quoted_utf16() -> None:
    assert accounts.encode_password("Pässw0rd!") == '"Pässw0rd!"'.encode("utf-16-le")


def test_dirsync_flags_go_out_as_a_signed_32_bit_integer() -> None:
    value = ber.dirsync_request_value(0x80000001, 1024, b"cookie")
    assert value == bytes.fromhex("3012020480000001020204000406") + b"cookie"
    more, cookie = ber.dirsync_response_value(bytes.fromhex("300b0201010201000403") + b"abc")
    assert more and cookie == b"abc"


def test_scope_checks_respect_escaped_commas() -> None:
    assert ends_with_rdns("cn=a,ou=staff,dc=x", "ou=staff,dc=x")
    assert not ends_with_rdns("cn=a\\,ou=staff,dc=x", "ou=staff,dc=x"), "a comma inside a name"
    assert ends_with_rdns("cn=a\\\\,ou=staff,dc=x", "ou=staff,dc=x"), "an escaped backslash, then a real comma"
    assert not ends_with_rdns("cn=a,ou=notstaff,dc=x", "ou=staff,dc=x")
    assert parent_text("CN=a,OU=b,DC=x") == "OU=b,DC=x"
    assert parent_text("CN=Smith\\, John,OU=b,DC=x") == "OU=b,DC=x"


def test_dirsync_member_values_may_carry_extended_dns() -> None:
    assert member_dn(b"<GUID=1a2b>;<SID=S-1-5-21-1>;CN=Ann,OU=x,DC=y") == "CN=Ann,OU=x,DC=y"
    assert member_dn("CN=Åsa,OU=x".encode()) == "CN=Åsa,OU=x"


def test_config_defaults_and_refusals() -> None:
    cfg = AdConfig.model_validate({"url": "ldaps://dc1:636", "base_dn": "DC=corp,DC=example"})
    assert cfg.type == "ad" and cfg.anchor == "objectGUID" and cfg.delta == "dirsync"
    assert set(cfg.object_types) == {"user", "group"}
    for bad in ({"anchor": "entryUUID"}, {"delta": "accesslog"}, {"password_attribute": "userPassword"}):
        with pytest.raises(ValueError):
            AdConfig.model_validate({"url": "ldaps://dc1:636", "base_dn": "DC=corp,DC=example", **bad})
