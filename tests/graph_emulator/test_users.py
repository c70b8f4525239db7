from __future__ import annotations

import httpx
import pytest

from idsync.testing.graph_emulator import GraphTenant

from .conftest import error_of, new_user


def test_create_get_update_user(client: httpx.Client, tenant: GraphTenant) -> None:
    created = client.post("/v1.0/users", json=new_user("ann", jobTitle="Clerk"))
    assert created.status_code == 201
    body = created.json()
    assert body["userPrincipalName"] == "ann@contoso.com"
    assert body["jobTitle"] == "Clerk"
    assert "passwordProfile" not in body  # only on $select
    user_id = body["id"]
    assert client.patch(f"/v1.0/users/{user_id}", json={"jobTitle": "Lead", "department": "Ops"}).status_code == 204
    got = client.get(f"/v1.0/users/{user_id}?$select=jobTitle,department,accountEnabled").json()
    assert (got["jobTitle"], got["department"], got["accountEnabled"]) == ("Lead", "Ops", True)
    by_upn = client.get("/v1.0/users/ANN@contoso.com")
    assert by_upn.status_code == 200 and by_upn.json()["id"] == user_id
    assert tenant.get(user_id)["department"] == "Ops"
    profile = client.get(f"/v1.0/users/{user_id}?$select=passwordProfile").json()["passwordProfile"]
    assert profile == {"forceChangePasswordNextSignIn": True, "password": None}  # Graph never gives it back


@pytest.mark.parametrize(
    "missing", ["accountEnabled", "displayName", "mailNickname", "passwordProfile", "userPrincipalName"]
)
def test_required_properties_on_create(client: httpx.Client, missing: str) -> None:
    payload = new_user("bob")
    del payload[missing]
    response = client.post("/v1.0/users", json=payload)
    assert response.status_code == 400
    assert error_of(response)["message"] == f"A value is required for property '{missing}' of resource 'User'."


def test_upn_domain_must_be_verified(client: httpx.Client, tenant: GraphTenant) -> None:
    response = client.post("/v1.0/users", json=new_user("carl", domain="fabrikam.com"))
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "Request_BadRequest"
    assert "verified domain names" in str(error["message"])
    tenant.add_domain("fabrikam.com")
    assert client.post("/v1.0/users", json=new_user("carl", domain="fabrikam.com")).status_code == 201


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        ("mailNickname", "has space"),
        ("mailNickname", "at@sign"),
        ("mailNickname", "naïve"),
        ("userPrincipalName", "no-at-sign"),
        ("userPrincipalName", "bad(chars)@contoso.com"),
        ("userPrincipalName", ".dot@contoso.com"),
        ("displayName", "x" * 257),
        ("givenName", "g" * 65),
        ("onPremisesImmutableId", "has_underscore"),
        ("usageLocation", "USA"),  # longer than the CSDL's MaxLength of 2
        ("ageGroup", "Teen"),
        ("consentProvidedForMinor", "Yes"),
        ("userType", "Admin"),
        ("passwordPolicies", "DisablePasswordExpiry"),
        ("passwordPolicies", "DisableStrongPassword, NeverExpire"),
    ],
)
def test_invalid_values_are_refused_with_graph_wording(client: httpx.Client, prop: str, value: str) -> None:
    response = client.post("/v1.0/users", json=new_user("dora", **{prop: value}))
    assert response.status_code == 400
    assert error_of(response)["message"] == f"Invalid value specified for property '{prop}' of resource 'User'."


@pytest.mark.parametrize("code", ["UK", "XX", "U1", ""])
def test_usage_location_must_be_an_iso_3166_country_code(client: httpx.Client, code: str) -> None:
    # "A two-letter country code (ISO standard 3166)"; UK is refused (the United Kingdom is GB)
    response = client.post("/v1.0/users", json=new_user("gil", usageLocation=code))
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], error["message"]) == ("Request_BadRequest", "Property usageLocation is invalid.")
    assert error["details"] == [{"code": "InvalidValue", "target": "usageLocation"}]


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        ("usageLocation", "GB"),
        ("usageLocation", "jp"),
        ("ageGroup", "NotAdult"),
        ("ageGroup", "minor"),
        ("consentProvidedForMinor", "NotRequired"),
        ("consentProvidedForMinor", "granted"),
        ("userType", "Guest"),
        ("passwordPolicies", "DisablePasswordExpiration, DisableStrongPassword"),
        ("passwordPolicies", "DisablePasswordExpiration"),
        ("passwordPolicies", "None"),
    ],
)
def test_documented_values_are_taken(client: httpx.Client, tenant: GraphTenant, prop: str, value: str) -> None:
    response = client.post("/v1.0/users", json=new_user("hana", **{prop: value}))
    assert response.status_code == 201, response.text
    assert tenant.get(response.json()["id"])[prop] == value


def test_maximum_lengths_are_inclusive(client: httpx.Client) -> None:
    response = client.post("/v1.0/users", json=new_user("eve", displayName="x" * 256, givenName="g" * 64))
    assert response.status_code == 201


def test_weak_password_and_wrong_types(client: httpx.Client) -> None:
    weak = new_user("fay")
    weak["passwordProfile"] = {"password": "password"}
    response = client.post("/v1.0/users", json=weak)
    assert response.status_code == 400
    assert "password complexity" in str(error_of(response)["message"])
    wrong = client.post("/v1.0/users", json=new_user("fay", accountEnabled="yes"))
    assert wrong.status_code == 400
    assert "Edm.Boolean" in str(error_of(wrong)["message"])
    unknown = client.post("/v1.0/users", json=new_user("fay", favouriteColour="blue"))
    assert unknown.status_code == 400
    assert "favouriteColour" in str(error_of(unknown)["message"])
    read_only = client.post("/v1.0/users", json=new_user("fay", proxyAddresses=["SMTP:fay@contoso.com"]))
    assert error_of(read_only)["message"] == "Property 'proxyAddresses' is read-only and cannot be set."


@pytest.mark.parametrize(
    ("first", "second", "prop"),
    [
        (new_user("gus"), new_user("gus2", userPrincipalName="GUS@contoso.com"), "userPrincipalName"),
        (new_user("ida", mail="ida@contoso.com"), new_user("ida2", mail="IDA@contoso.com"), "proxyAddresses"),
        (
            new_user("jon", onPremisesImmutableId="abc123"),
            new_user("jon2", onPremisesImmutableId="abc123"),
            "onPremisesImmutableId",
        ),
    ],
)
def test_uniqueness(client: httpx.Client, tenant: GraphTenant, first: dict, second: dict, prop: str) -> None:
    assert client.post("/v1.0/users", json=first).status_code == 201
    response = client.post("/v1.0/users", json=second)
    assert response.status_code == 400
    error = error_of(response)
    assert error["message"] == f"Another object with the same value for property {prop} already exists."
    assert error["details"] == [{"target": prop, "code": "ObjectConflict"}]
    assert len(tenant.users()) == 1


def test_users_may_share_a_mail_nickname(client: httpx.Client, tenant: GraphTenant) -> None:
    # unlike userPrincipalName and proxyAddresses, a user's mailNickname carries no uniqueness rule in Graph
    first = client.post("/v1.0/users", json=new_user("hal"))
    second = client.post("/v1.0/users", json=new_user("hal2", mailNickname="HAL"))
    assert (first.status_code, second.status_code) == (201, 201)
    third = client.post("/v1.0/users", json=new_user("hal3"))
    assert client.patch(f"/v1.0/users/{third.json()['id']}", json={"mailNickname": "hal"}).status_code == 204
    assert len(tenant.find_users(mailNickname="hal")) == 3


def test_update_conflict_leaves_object_unchanged(client: httpx.Client, tenant: GraphTenant) -> None:
    a = client.post("/v1.0/users", json=new_user("kim")).json()["id"]
    client.post("/v1.0/users", json=new_user("lee"))
    response = client.patch(f"/v1.0/users/{a}", json={"userPrincipalName": "lee@contoso.com", "jobTitle": "X"})
    assert response.status_code == 400
    assert tenant.get(a)["userPrincipalName"] == "kim@contoso.com"
    assert "jobTitle" not in tenant.get(a)
    assert client.patch(f"/v1.0/users/{a}", json={"userPrincipalName": "kim.new@contoso.com"}).status_code == 204
    again = new_user("kim", mailNickname="kim2")
    assert client.post("/v1.0/users", json=again).status_code == 201  # the old UPN is free again


def test_display_name_cannot_be_cleared(client: httpx.Client) -> None:
    user_id = client.post("/v1.0/users", json=new_user("max")).json()["id"]
    response = client.patch(f"/v1.0/users/{user_id}", json={"displayName": ""})
    assert response.status_code == 400


def test_not_found_and_unknown_segments(client: httpx.Client) -> None:
    missing = client.get("/v1.0/users/4a3c1d3e-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "Request_ResourceNotFound"
    assert client.get("/v1.0/nothing").status_code == 400
    assert client.put("/v1.0/users").status_code == 405


def test_manager_ref(client: httpx.Client, tenant: GraphTenant) -> None:
    boss = client.post("/v1.0/users", json=new_user("boss")).json()["id"]
    worker = client.post("/v1.0/users", json=new_user("worker")).json()["id"]
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{boss}"}
    assert client.put(f"/v1.0/users/{worker}/manager/$ref", json=ref).status_code == 204
    manager = client.get(f"/v1.0/users/{worker}/manager").json()
    assert manager["id"] == boss and manager["@odata.type"] == "#microsoft.graph.user"
    reports = client.get(f"/v1.0/users/{boss}/directReports").json()["value"]
    assert [r["id"] for r in reports] == [worker]
    assert client.delete(f"/v1.0/users/{worker}/manager/$ref").status_code == 204
    assert tenant.manager_of(worker) is None
    assert client.get(f"/v1.0/users/{worker}/manager").status_code == 404
    bad = client.put(
        f"/v1.0/users/{worker}/manager/$ref", json={"@odata.id": "https://graph.microsoft.com/v1.0/users/x"}
    )
    assert bad.status_code == 400


def test_one_business_phone_only(client: httpx.Client, tenant: GraphTenant) -> None:
    # "Although it's a string collection, only one number can be set for this property." (user resource)
    two = client.post("/v1.0/users", json=new_user("tel", businessPhones=["+47 555 0100", "+47 555 0101"]))
    assert two.status_code == 400
    assert error_of(two)["message"] == "Invalid value specified for property 'businessPhones' of resource 'User'."
    user_id = client.post("/v1.0/users", json=new_user("tel", businessPhones=["+47 555 0100"])).json()["id"]
    assert client.patch(f"/v1.0/users/{user_id}", json={"businessPhones": ["1", "2"]}).status_code == 400
    assert client.patch(f"/v1.0/users/{user_id}", json={"businessPhones": []}).status_code == 204
    assert tenant.get(user_id)["businessPhones"] == []
