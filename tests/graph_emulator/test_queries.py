from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest

from idsync.testing.graph_emulator import GraphTenant, quote_literal
from idsync.testing.graph_emulator.odata import FilterParser, id_filter_values

from .conftest import error_of

KNOWN = {"displayName", "userPrincipalName", "accountEnabled", "proxyAddresses", "department", "employeeId"}


def _match(text: str, obj: dict[str, object]) -> bool:
    return FilterParser(text, known=KNOWN.__contains__, entity="user").parse().predicate(obj)


@pytest.mark.parametrize(
    ("text", "obj", "expected"),
    [
        ("displayName eq 'O''Brien'", {"displayName": "O'Brien"}, True),
        ("displayName eq 'o''brien'", {"displayName": "O'Brien"}, True),
        ("displayName eq 'OBrien'", {"displayName": "O'Brien"}, False),
        ("startswith(displayName,'ann')", {"displayName": "Anna"}, True),
        ("startswith(displayName, 'nna')", {"displayName": "Anna"}, False),
        ("department in ('Sales','Ops')", {"department": "ops"}, True),
        ("department in ('Sales')", {"department": "Ops"}, False),
        ("accountEnabled eq true and department eq 'Ops'", {"accountEnabled": True, "department": "Ops"}, True),
        ("accountEnabled eq false or department eq 'Ops'", {"accountEnabled": True, "department": "Ops"}, True),
        ("(accountEnabled eq false) or (department eq 'x')", {"accountEnabled": True, "department": "Ops"}, False),
        ("department eq null", {"displayName": "x"}, True),
        ("proxyAddresses/any(p:p eq 'smtp:a@b.com')", {"proxyAddresses": ["SMTP:a@b.com"]}, True),
        ("proxyAddresses/any(p:startswith(p,'smtp:z'))", {"proxyAddresses": ["SMTP:a@b.com"]}, False),
        ("displayName eq 'a and b or c'", {"displayName": "A and B or C"}, True),
    ],
)
def test_filter_semantics(text: str, obj: dict[str, object], expected: bool) -> None:
    assert _match(text, obj) is expected


@pytest.mark.parametrize("value", ["O'Brien", "''", "a'b'c", "it's 'quoted'", "x eq 'y'"])
def test_quote_literal_round_trips_through_the_parser(value: str) -> None:
    text = f"displayName eq {quote_literal(value)}"
    assert _match(text, {"displayName": value})
    assert not _match(text, {"displayName": value + "!"})


@pytest.mark.parametrize(
    "text", ["displayName eq 'unterminated", "displayName eq", "eq 'x'", "displayName xx 'a'", "(displayName eq 'a'"]
)
def test_malformed_filters_are_refused(text: str) -> None:
    with pytest.raises(Exception) as info:
        _match(text, {})
    assert getattr(info.value, "status", None) == 400


def test_id_filter_for_delta() -> None:
    assert id_filter_values("id eq 'a' or id eq 'b''c'") == ["a", "b'c"]
    assert id_filter_values("displayName eq 'a'") is None


def _seed(tenant: GraphTenant) -> None:
    tenant.add_user("obrien@contoso.com", displayName="Pat O'Brien", department="Sales")
    tenant.add_user("ann@contoso.com", displayName="Ann Smith", department="Ops")
    tenant.add_user("andy@contoso.com", displayName="Andy Jones", department="Ops", accountEnabled=False)


def test_filter_select_over_http(client: httpx.Client, tenant: GraphTenant) -> None:
    _seed(tenant)
    flt = quote(f"displayName eq {quote_literal(chr(80) + 'at O' + chr(39) + 'Brien')}")
    found = client.get(f"/v1.0/users?$filter={flt}&$select=displayName,department").json()["value"]
    assert found == [{"displayName": "Pat O'Brien", "department": "Sales", "id": found[0]["id"]}]
    ops = client.get("/v1.0/users?$filter=department eq 'Ops' and accountEnabled eq true&$select=userPrincipalName")
    assert [u["userPrincipalName"] for u in ops.json()["value"]] == ["ann@contoso.com"]
    starts = client.get("/v1.0/users?$filter=startswith(userPrincipalName,'an')").json()["value"]
    assert sorted(u["userPrincipalName"] for u in starts) == ["andy@contoso.com", "ann@contoso.com"]
    bad_select = client.get("/v1.0/users?$select=nope")
    assert bad_select.status_code == 400
    assert error_of(bad_select)["message"] == "Could not find a property named 'nope' on type 'microsoft.graph.user'."
    bad_filter = client.get("/v1.0/users?$filter=nope eq 'x'")
    assert bad_filter.status_code == 400


def test_advanced_queries_need_consistency_level_and_count(client: httpx.Client, tenant: GraphTenant) -> None:
    _seed(tenant)
    plain = client.get("/v1.0/users?$filter=department ne 'Ops'")
    assert plain.status_code == 400
    assert error_of(plain)["code"] == "Request_UnsupportedQuery"
    advanced = client.get(
        "/v1.0/users?$filter=department ne 'Ops'&$count=true", headers={"ConsistencyLevel": "eventual"}
    ).json()
    assert advanced["@odata.count"] == 1
    assert [u["displayName"] for u in advanced["value"]] == ["Pat O'Brien"]
    ignored = client.get("/v1.0/users?$count=true").json()  # silently ignored without the header
    assert "@odata.count" not in ignored
    count = client.get("/v1.0/users/$count?$filter=department eq 'Ops'", headers={"ConsistencyLevel": "eventual"})
    assert count.text == "2"
    refused = client.get("/v1.0/users/$count")
    assert error_of(refused)["message"] == "$count is not currently supported."


@pytest.mark.parametrize("top", ["0", "1000", "-1", "abc"])
def test_top_out_of_range(client: httpx.Client, top: str) -> None:
    response = client.get(f"/v1.0/users?$top={top}")
    assert response.status_code == 400
    assert (
        error_of(response)["message"] == f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive."
    )


def test_paging_is_complete_and_counted_once(client: httpx.Client, tenant: GraphTenant) -> None:
    ids = set(tenant.seed_users(250))
    first = client.get("/v1.0/users?$count=true&$select=id", headers={"ConsistencyLevel": "eventual"}).json()
    assert first["@odata.count"] == 250 and len(first["value"]) == 100  # default page size
    seen = [u["id"] for u in first["value"]]
    link = first["@odata.nextLink"]
    pages = 1
    while link:
        page = client.get(link.removeprefix("https://graph.local")).json()
        assert "@odata.count" not in page
        seen.extend(u["id"] for u in page["value"])
        link = page.get("@odata.nextLink")
        pages += 1
    assert pages == 3
    assert sorted(seen) == sorted(ids) and len(seen) == len(ids)
    big = client.get("/v1.0/users?$top=999").json()
    assert len(big["value"]) == 250 and "@odata.nextLink" not in big
    expired = client.get("/v1.0/users?$skiptoken=unknown")
    assert expired.status_code == 400


def test_unsupported_options_are_refused_not_ignored(client: httpx.Client) -> None:
    assert client.get("/v1.0/users?$orderby=displayName").status_code == 400
    assert client.get('/v1.0/users?$search="displayName:a"').status_code == 400


def test_expand_manager_on_users_caps_pages_at_100(client: httpx.Client, tenant: GraphTenant) -> None:
    boss = tenant.add_user("boss@contoso.com")
    staff = tenant.seed_users(150)
    for user in staff[:120]:
        tenant.set_manager(user, boss)
    url = "/v1.0/users?$select=id,displayName&$expand=manager($select=id)&$top=999"
    first = client.get(url).json()
    assert len(first["value"]) == 100  # "$expand ... returns a maximum of 100 objects"
    seen = list(first["value"])
    link = first.get("@odata.nextLink")
    while link:
        page = client.get(link.removeprefix("https://graph.local")).json()
        seen.extend(page["value"])
        link = page.get("@odata.nextLink")
    assert len(seen) == 151
    managed = {u["id"]: u["manager"] for u in seen if "manager" in u}
    assert set(managed) == set(staff[:120])
    assert all(m == {"@odata.type": "#microsoft.graph.user", "id": boss} for m in managed.values())
    one = client.get(f"/v1.0/users/{staff[0]}?$select=id&$expand=manager").json()
    assert one["manager"]["id"] == boss and one["manager"]["displayName"] == "boss"
    assert client.get("/v1.0/users?$expand=memberOf").status_code == 400
    assert client.get("/v1.0/groups?$expand=manager").status_code == 400


def test_filter_limits_from_the_known_issues(client: httpx.Client, tenant: GraphTenant) -> None:
    # Graph known issues, query parameters: "When using the in operator, the request is limited to 15 expressions
    # in the filter clause by default OR a URL length of 2,048 characters when using advanced query capabilities",
    # and "When filtering using the eq operator, the maximum limit of the value to match is 120 characters".
    tenant.add_user("ann@contoso.com")
    names = [f"u{i}@contoso.com" for i in range(15)] + ["ann@contoso.com"]

    def in_filter(values: list[str]) -> str:
        return "userPrincipalName in (" + ",".join(quote_literal(v) for v in values) + ")"

    assert client.get("/v1.0/users", params={"$filter": in_filter(names[1:])}).status_code == 200
    refused = client.get("/v1.0/users", params={"$filter": in_filter(names)})
    assert refused.status_code == 400 and error_of(refused)["code"] == "Request_UnsupportedQuery"
    advanced = client.get(
        "/v1.0/users", params={"$filter": in_filter(names), "$count": "true"}, headers={"ConsistencyLevel": "eventual"}
    )
    assert advanced.status_code == 200 and [u["userPrincipalName"] for u in advanced.json()["value"]] == [
        "ann@contoso.com"
    ]
    assert client.get("/v1.0/users", params={"$filter": "displayName eq " + quote_literal("x" * 120)}).is_success
    long_value = client.get("/v1.0/users", params={"$filter": "displayName eq " + quote_literal("x" * 121)})
    assert long_value.status_code == 400 and error_of(long_value)["code"] == "Request_UnsupportedQuery"


def test_a_next_link_carries_the_query_options(client: httpx.Client, tenant: GraphTenant) -> None:
    # Graph's nextLink repeats the request's options beside the $skiptoken ("Paging Microsoft Graph data in your
    # app"; ".../me/memberOf?$top=1&$skiptoken=..." in "JSON batching")
    tenant.seed_users(3)
    first = client.get("/v1.0/users", params={"$top": "2", "$select": "displayName"}).json()
    query = parse_qs(urlsplit(first["@odata.nextLink"]).query)
    assert query["$top"] == ["2"] and query["$select"] == ["displayName"] and len(query["$skiptoken"]) == 1
    second = client.get(first["@odata.nextLink"].removeprefix("https://graph.local")).json()
    assert len(second["value"]) == 1 and set(second["value"][0]) == {"displayName", "id"}
    assert "@odata.nextLink" not in second
