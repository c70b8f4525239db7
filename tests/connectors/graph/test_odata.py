"""OData literal escaping: one helper, tested on its own and against the emulator's parser."""

from __future__ import annotations

import pytest

from idsync.connectors.graph import odata
from idsync.connectors.graph.connector import GraphConnector
from idsync.testing.graph_emulator import GraphTenant
from idsync.testing.graph_emulator.odata import FilterParser


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain", "'plain'"),
        ("O'Brien", "'O''Brien'"),
        ("''", "''''''"),
        ("a' or displayName eq 'x", "'a'' or displayName eq ''x'"),
        ("#&+%/?", "'#&+%/?'"),
        ("Åse Ødegård", "'Åse Ødegård'"),
        (True, "true"),
        (7, "7"),
        (None, "null"),
    ],
)
def test_literal(value: odata.Literal, text: str) -> None:
    assert odata.literal(value) == text


def test_filters_name_properties_and_quote_every_value() -> None:
    assert odata.eq("userPrincipalName", "o'hara@contoso.com") == "userPrincipalName eq 'o''hara@contoso.com'"
    assert odata.one_of("employeeId", ["1", "2'"]) == "employeeId in ('1', '2''')"
    with pytest.raises(ValueError):
        odata.eq("displayName eq 'x' or id", "y")
    with pytest.raises(ValueError):
        odata.one_of("employeeId", [])
    with pytest.raises(TypeError):
        odata.literal(1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["O'Brien", "x' or userPrincipalName eq 'victim@contoso.com", "50% #1 & co + 'q'"])
def test_escaped_literals_parse_back_to_the_value(value: str) -> None:
    parsed = FilterParser(odata.eq("displayName", value), known=lambda _: True, entity="user").parse()
    assert parsed.predicate({"displayName": value})
    assert not parsed.predicate({"displayName": "victim"})


def test_lookups_with_awkward_values_find_exactly_their_object(connector: GraphConnector, tenant: GraphTenant) -> None:
    victim = tenant.add_user("victim@contoso.com")
    quoted = tenant.add_user("o'hara@contoso.com", mailNickname="o'hara")
    found = connector.lookup("user", "o'hara@contoso.com", {})
    assert found is not None and found.anchor == quoted
    injected = connector.lookup("user", "x' or userPrincipalName eq 'victim@contoso.com", {})
    assert injected is None
    plain = connector.lookup("user", "victim@contoso.com", {})
    assert plain is not None and plain.anchor == victim
