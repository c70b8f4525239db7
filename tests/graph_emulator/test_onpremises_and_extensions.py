from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from idsync.testing.graph_emulator import AppRegistration, GraphTenant

from .conftest import bind, error_of, new_user

MASTERED = "Unable to update the specified properties for on-premises mastered Directory Sync objects"


@pytest.mark.parametrize(
    "prop", ["displayName", "department", "mobilePhone", "onPremisesImmutableId", "accountEnabled"]
)
def test_synced_user_refuses_on_premises_mastered_writes(client: httpx.Client, tenant: GraphTenant, prop: str) -> None:
    user = tenant.add_user("synced@contoso.com")
    tenant.mark_synced(user, immutable_id="AAAAAAAAAAAAAAAAAAAAAA==", sam_account_name="synced")
    value: object = False if prop == "accountEnabled" else "new"
    response = client.patch(f"/v1.0/users/{user}", json={prop: value})
    assert response.status_code == 400
    assert str(error_of(response)["message"]).startswith(MASTERED)
    assert tenant.get(user).get(prop) != value


def test_synced_objects_keep_cloud_attributes_writable(client: httpx.Client, tenant: GraphTenant) -> None:
    user = tenant.add_user("cloudattr@contoso.com")
    tenant.mark_synced(user)
    assert client.patch(f"/v1.0/users/{user}", json={"usageLocation": "NL"}).status_code == 204
    got = client.get(f"/v1.0/users/{user}?$select=onPremisesSyncEnabled,usageLocation,onPremisesDomainName").json()
    assert got["onPremisesSyncEnabled"] is True and got["usageLocation"] == "NL"
    assert client.patch(f"/v1.0/users/{user}", json={"onPremisesSyncEnabled": False}).status_code == 400


def test_synced_group_membership_and_manager_are_locked(client: httpx.Client, tenant: GraphTenant) -> None:
    group = tenant.add_group("Synced Staff")
    user = tenant.add_user("member@contoso.com")
    boss = tenant.add_user("boss@contoso.com")
    tenant.mark_synced(group)
    tenant.mark_synced(user)
    add = client.post(f"/v1.0/groups/{group}/members/$ref", json={"@odata.id": bind(user)})
    assert str(error_of(add)["message"]).startswith(MASTERED)
    manager = client.put(f"/v1.0/users/{user}/manager/$ref", json={"@odata.id": bind(boss)})
    assert str(error_of(manager)["message"]).startswith(MASTERED)
    assert client.delete(f"/v1.0/users/{user}").status_code == 400
    tenant.add_member(group, user)  # the sync engine (seeding API) still can
    assert tenant.members(group) == [user]


def test_directory_extension_attributes(client: httpx.Client, tenant: GraphTenant, app: AppRegistration) -> None:
    name = tenant.register_extension(app, "costCenter")
    assert name == f"extension_{app.client_id.replace('-', '')}_costCenter"
    created = client.post("/v1.0/users", json=new_user("ext", **{name: "CC-42"}))
    assert created.status_code == 201
    assert name not in created.json()  # returned only on $select
    got = client.get(f"/v1.0/users/{created.json()['id']}?$select=displayName,{name}").json()
    assert got[name] == "CC-42"
    listed = client.get(f"/v1.0/users?$filter={name} eq 'cc-42'&$select=id").json()["value"]
    assert [u["id"] for u in listed] == [created.json()["id"]]
    too_long = client.patch(f"/v1.0/users/{created.json()['id']}", json={name: "x" * 257})
    assert too_long.status_code == 400
    unregistered = client.post("/v1.0/users", json=new_user("ext2", extension_0000_unknown="x"))
    assert unregistered.status_code == 400
    group_use = client.post(
        "/v1.0/groups",
        json={"displayName": "g", "mailEnabled": False, "mailNickname": "g", "securityEnabled": True, name: "x"},
    )
    assert group_use.status_code == 400  # registered for users only


def test_extension_properties_endpoint(client: httpx.Client, tenant: GraphTenant, app: AppRegistration) -> None:
    apps = client.get(f"/v1.0/applications?$filter=appId eq '{app.client_id}'").json()["value"]
    assert [a["appId"] for a in apps] == [app.client_id]
    response = client.post(
        f"/v1.0/applications/{apps[0]['id']}/extensionProperties",
        json={"name": "badge", "dataType": "Integer", "targetObjects": ["User", "Group"]},
    )
    assert response.status_code == 201
    name = response.json()["name"]
    listed = client.get(f"/v1.0/applications/{apps[0]['id']}/extensionProperties").json()["value"]
    assert [e["name"] for e in listed] == [name]
    assert client.post("/v1.0/users", json=new_user("badge", **{name: 7})).status_code == 201
    assert client.post("/v1.0/users", json=new_user("badge2", **{name: "seven"})).status_code == 400


def test_a_user_in_a_federated_domain_needs_an_immutable_id(client: httpx.Client, tenant: GraphTenant) -> None:
    # "onPremisesImmutableId ... Only needs to be specified when creating a new user account if you are using a
    # federated domain for the user's userPrincipalName" (Create User)
    tenant.add_domain("fabrikam.com", federated=True)
    refused = client.post("/v1.0/users", json=new_user("fed", domain="fabrikam.com"))
    assert refused.status_code == 400
    error = error_of(refused)
    assert error["code"] == "Request_BadRequest" and "'onPremisesImmutableId'" in str(error["message"])
    made = client.post("/v1.0/users", json=new_user("fed", domain="fabrikam.com", onPremisesImmutableId="ZmVk"))
    assert made.status_code == 201, made.text
    assert client.post("/v1.0/users", json=new_user("managed")).status_code == 201  # contoso.com is managed
    kinds = {d["id"]: d["authenticationType"] for d in client.get("/v1.0/domains").json()["value"]}
    assert kinds == {"contoso.onmicrosoft.com": "Managed", "contoso.com": "Managed", "fabrikam.com": "Federated"}
    (org,) = client.get("/v1.0/organization").json()["value"]
    assert {d["name"]: d["type"] for d in org["verifiedDomains"]}["fabrikam.com"] == "Federated"


def test_federated_domains_survive_a_saved_tenant(tenant: GraphTenant, tmp_path: Path) -> None:
    tenant.add_domain("fabrikam.com", federated=True)
    path = tmp_path / "tenant.json"
    tenant.save(path)
    again = GraphTenant.load(path)
    assert again.federated("fabrikam.com") and not again.federated("contoso.com")
