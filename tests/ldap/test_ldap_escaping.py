from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idsync.connectors.ldap.escaping import (
    DNError,
    build_dn,
    canonical_dn,
    dn_keys,
    dn_within,
    escape_dn_value,
    escape_filter_value,
    leaf_case_key,
    leaf_rdn,
    leaf_values,
    normalize_dn,
    parent_dn,
    parse_dn,
    rdn,
)
from idsync.expressions.fn_directory import escape_dn_component


def test_filter_escapes_the_rfc4515_specials() -> None:
    assert escape_filter_value("a*b(c)d\\e\x00") == r"a\2ab\28c\29d\5ce\00"
    assert escape_filter_value("Zoë") == "Zoë"
    assert escape_filter_value(b"\xff\x00a") == r"\ff\00\61"


def test_filter_injection_is_neutralised() -> None:
    hostile = "*)(uid=*))(|(uid=*"
    assert "(" not in escape_filter_value(hostile) and "*" not in escape_filter_value(hostile)


def test_dn_value_escaping_rfc4514() -> None:
    assert escape_dn_value('Smith, John "JJ" <x>;+=\\') == r"Smith\, John \"JJ\" \<x\>\;\+\=\\"
    assert escape_dn_value(" lead and trail ") == r"\ lead and trail\ "
    assert escape_dn_value("#hash") == r"\#hash"
    assert escape_dn_value("mid#dle") == "mid#dle"


def test_parse_handles_escapes_hex_and_multivalued_rdns() -> None:
    dn = r"cn=Smith\2C John+uid=js,ou=R\C3\A9seau,dc=example,dc=org"
    parts = parse_dn(dn)
    assert parts[0] == (("cn", "Smith, John"), ("uid", "js"))
    assert parts[1] == (("ou", "Réseau"),)
    assert parent_dn(dn) == "ou=Réseau,dc=example,dc=org"
    assert leaf_rdn(dn) == r"cn=Smith\, John+uid=js"


def test_bad_dns_are_refused_with_the_dn_quoted() -> None:
    with pytest.raises(DNError, match="not attribute=value"):
        parse_dn("cn=a,novalue")
    with pytest.raises(DNError, match="lone backslash"):
        parse_dn("cn=a\\")


def test_normalize_and_within() -> None:
    assert normalize_dn("CN=Bob ,OU=People,DC=Example,DC=org") == normalize_dn("cn=bob,ou=people,dc=example,dc=org")
    assert dn_within("uid=a,ou=people,dc=example,dc=org", "OU=People,dc=example,dc=org")
    assert not dn_within("uid=a,ou=people2,dc=example,dc=org", "ou=people,dc=example,dc=org")
    assert not dn_within("dc=org", "dc=example,dc=org")


@given(st.text(min_size=1, max_size=30).filter(lambda s: "\x00" not in s))
def test_any_value_round_trips_through_a_dn(value: str) -> None:
    dn = f"{rdn('cn', value)},ou=people,dc=example,dc=org"
    assert parse_dn(dn)[0] == (("cn", value),)
    assert build_dn(parse_dn(dn)) == dn


def test_control_characters_are_hex_escaped() -> None:
    assert escape_dn_value("a\nb\x00") == r"a\0Ab\00"


def test_canonical_dn_respells_what_servers_write() -> None:
    assert canonical_dn(r"ou=R&D\2C Europe,dc=example,dc=org") == r"ou=R&D\, Europe,dc=example,dc=org"
    assert canonical_dn(r"cn=\20Ann\22 \3Cx\3E\20,dc=org") == r"cn=\ Ann\" \<x\>\ ,dc=org"
    assert canonical_dn("CN=Bob , OU=People,DC=org") == "CN=Bob,OU=People,DC=org"
    assert canonical_dn("cn=Zo\\C3\\AB,dc=org") == "cn=Zoë,dc=org"
    plain = "uid=u000001,ou=people,dc=example,dc=org"
    assert canonical_dn(plain) is plain  # the common case costs a scan, not a parse
    assert canonical_dn("cn=#04024869,dc=org") == "cn=#04024869,dc=org"  # a BER value stays as written
    assert canonical_dn("not a dn\\") == "not a dn\\"


def _server_spelling(value: str) -> str:
    """How OpenLDAP writes a value in the DNs it returns: specials and outer spaces as two hex digits."""
    out = []
    for i, ch in enumerate(value):
        if ch in ',+"\\<>;=' or ch < " " or (ch == " " and i in (0, len(value) - 1)) or (ch == "#" and i == 0):
            out.append("".join(f"\\{b:02X}" for b in ch.encode("utf-8")))
        else:
            out.append(ch)
    return "".join(out)


@given(st.text(min_size=1, max_size=30))
def test_a_server_spelled_dn_equals_the_one_an_expression_builds(value: str) -> None:
    built = f"{escape_dn_component('cn=' + value)},ou=people,dc=example,dc=org"
    assert canonical_dn(f"cn={_server_spelling(value)},ou=people,dc=example,dc=org") == built
    assert canonical_dn(built) == built


@given(st.text(min_size=1, max_size=20), st.sampled_from(["ou=People,dc=example,dc=org", r"ou=R&D\, Europe,DC=org"]))
def test_a_child_names_its_parent_by_the_parents_own_key(value: str, parent: str) -> None:
    child = f"{rdn('cn', value)},{parent}"
    assert dn_keys(child)[1] == dn_keys(parent)[0]
    assert dn_keys(child.upper() if child.isascii() else child)[0] == dn_keys(child)[0]
    assert leaf_values(child) == (("cn", value),)


def test_leaf_values_of_plain_and_multi_valued_rdns() -> None:
    assert leaf_values("uid = ann , ou=people,dc=org") == (("uid", "ann"),)
    assert leaf_values("cn=a+uid=b,dc=org") == (("cn", "a"), ("uid", "b"))
    with pytest.raises(DNError):
        leaf_values("cn=" + chr(0xD800) + ",dc=org")  # a lone surrogate is not text a server can take


@pytest.mark.parametrize("dn", ["cn=Smith, John,ou=people,dc=org", "cn=a,,dc=org", "cn=a,=b,dc=org"])
def test_leaf_values_refuses_a_dn_whose_other_parts_are_not_attribute_value(dn: str) -> None:
    # an unescaped comma inside a name leaves a part with no "=": refused here, naming it, not by the server
    with pytest.raises(DNError, match="is not attribute=value"):
        leaf_values(dn)


def test_the_case_key_of_a_dn_is_its_own_name_as_written() -> None:
    """A rename is due when an entry's own name changes case, never for the spelling of its attribute type or of
    its parents (which the entry cannot change): a rename for those would be sent again at every cycle."""
    dn = r"cn=Mcdonald\, Jo,ou=Sales,dc=example,dc=org"
    assert leaf_case_key(dn) == leaf_case_key(r"CN=Mcdonald\2C Jo,OU=SALES,DC=Example,DC=org")
    assert leaf_case_key(dn) != leaf_case_key(r"cn=McDonald\, Jo,ou=Sales,dc=example,dc=org")
    assert leaf_case_key("cn=A+uid=b,o=x") == leaf_case_key("UID=b+CN=A,o=x") != leaf_case_key("cn=a+uid=b,o=x")
    assert leaf_case_key("not a dn") == "not a dn"
