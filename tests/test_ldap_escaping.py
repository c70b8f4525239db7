from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idsync.connectors.ldap.escaping import (
    DNError,
    build_dn,
    dn_within,
    escape_dn_value,
    escape_filter_value,
    leaf_rdn,
    normalize_dn,
    parent_dn,
    parse_dn,
    rdn,
)


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
