from __future__ import annotations

import httpx
import pytest

from idsync.testing.graph_emulator import GraphTenant

from .conftest import bind, error_of, new_user


def _security(name: str, **extra: object) -> dict[str, object]:
    return {"displayName": name, "mailEnabled": False, "mailNickname": name, "securityEnabled": True, **extra}


def _users(tenant: GraphTenant, count: int) -> list[str]:
    return tenant.seed_users(count, prefix="member")


def test_security_and_microsoft_365_groups(client: httpx.Client) -> None:
    sec = client.post("/v1.0/groups", json=_security("sales"))
    assert sec.status_code == 201
    assert sec.json()["mail"] is None and sec.json()["groupTypes"] == []
    m365 = client.post(
        "/v1.0/groups",
        json={
            "displayName": "Team",
            "mailEnabled": True,
            "mailNickname": "team",
            "securityEnabled": False,
            "groupTypes": ["Unified"],
        },
    )
    assert m365.status_code == 201
    assert m365.json()["mail"] == "team@contoso.onmicrosoft.com"
    assert m365.json()["proxyAddresses"] == ["SMTP:team@contoso.onmicrosoft.com"]
    dup = client.post(
        "/v1.0/groups",
        json={
            "displayName": "Team 2",
            "mailEnabled": True,
            "mailNickname": "TEAM",
            "securityEnabled": False,
            "groupTypes": ["Unified"],
        },
    )
    assert dup.status_code == 400
    assert error_of(dup)["message"] == "Another object with the same value for property mailNickname already exists."


def test_mail_enabled_security_groups_cannot_be_created(client: httpx.Client) -> None:
    response = client.post("/v1.0/groups", json=_security("dl", mailEnabled=True))
    assert response.status_code == 400
    assert "mail-enabled groups" in str(error_of(response)["message"])


@pytest.mark.parametrize("missing", ["displayName", "mailEnabled", "mailNickname", "securityEnabled"])
def test_group_required_properties(client: httpx.Client, missing: str) -> None:
    payload = _security("ops")
    del payload[missing]
    response = client.post("/v1.0/groups", json=payload)
    assert error_of(response)["message"] == f"A value is required for property '{missing}' of resource 'Group'."


def test_members_ref_add_list_remove(client: httpx.Client, tenant: GraphTenant) -> None:
    group = client.post("/v1.0/groups", json=_security("eng")).json()["id"]
    users = _users(tenant, 3)
    for user in users:
        assert client.post(f"/v1.0/groups/{group}/members/$ref", json={"@odata.id": bind(user)}).status_code == 204
    again = client.post(f"/v1.0/groups/{group}/members/$ref", json={"@odata.id": bind(users[0])})
    assert again.status_code == 400
    assert error_of(again)["message"] == (
        "One or more added object references already exist for the following modified properties: 'members'."
    )
    ghost = client.post(
        f"/v1.0/groups/{group}/members/$ref", json={"@odata.id": bind("11111111-1111-4111-8111-111111111111")}
    )
    assert ghost.status_code == 404
    listed = client.get(f"/v1.0/groups/{group}/members?$top=2").json()
    assert [m["id"] for m in listed["value"]] == users[:2]
    assert listed["value"][0]["@odata.type"] == "#microsoft.graph.user"
    rest = client.get(listed["@odata.nextLink"].removeprefix("https://graph.local")).json()
    assert [m["id"] for m in rest["value"]] == users[2:]
    assert client.delete(f"/v1.0/groups/{group}/members/{users[1]}/$ref").status_code == 204
    assert tenant.members(group) == [users[0], users[2]]
    assert client.delete(f"/v1.0/groups/{group}/members/{users[1]}/$ref").status_code == 404
    member_of = client.get(f"/v1.0/users/{users[0]}/memberOf").json()["value"]
    assert [g["id"] for g in member_of] == [group]


def test_members_odata_bind_twenty_all_or_nothing(client: httpx.Client, tenant: GraphTenant) -> None:
    users = _users(tenant, 22)
    created = client.post(
        "/v1.0/groups", json=_security("big", **{"members@odata.bind": [bind(u) for u in users[:20]]})
    )
    assert created.status_code == 201
    group = created.json()["id"]
    assert tenant.members(group) == users[:20]
    too_many = client.post(
        "/v1.0/groups", json=_security("huge", **{"members@odata.bind": [bind(u) for u in users[:21]]})
    )
    assert too_many.status_code == 400
    assert error_of(too_many)["message"] == "A resource cannot contain more than 20 link changes."
    assert all(g["displayName"] != "huge" for g in tenant.groups())
    # One bad reference refuses the whole PATCH: nothing is added.
    mixed = [bind(users[20]), bind("22222222-2222-4222-8222-222222222222")]
    assert client.patch(f"/v1.0/groups/{group}", json={"members@odata.bind": mixed}).status_code == 404
    assert users[20] not in tenant.members(group)
    dup = client.patch(f"/v1.0/groups/{group}", json={"members@odata.bind": [bind(users[20]), bind(users[0])]})
    assert dup.status_code == 400
    assert users[20] not in tenant.members(group)
    ok = client.patch(f"/v1.0/groups/{group}", json={"members@odata.bind": [bind(users[20]), bind(users[21])]})
    assert ok.status_code == 204
    assert tenant.members(group)[-2:] == users[20:22]
    malformed = client.patch(f"/v1.0/groups/{group}", json={"members@odata.bind": ["not a url"]})
    assert malformed.status_code == 400


def test_deleted_items_soft_delete_restore_and_purge(client: httpx.Client, tenant: GraphTenant) -> None:
    user = client.post("/v1.0/users", json=new_user("nia")).json()["id"]
    group = client.post("/v1.0/groups", json=_security("crew", **{"members@odata.bind": [bind(user)]})).json()["id"]
    assert client.delete(f"/v1.0/users/{user}").status_code == 204
    assert client.get(f"/v1.0/users/{user}").status_code == 404
    assert tenant.members(group) == []
    deleted = client.get("/v1.0/directory/deletedItems/microsoft.graph.user").json()["value"]
    assert [d["id"] for d in deleted] == [user]
    assert deleted[0]["userPrincipalName"] == user.replace("-", "") + "nia@contoso.com"
    item = client.get(f"/v1.0/directory/deletedItems/{user}").json()
    assert item["deletedDateTime"] is not None
    restored = client.post(f"/v1.0/directory/deletedItems/{user}/restore")
    assert restored.status_code == 200
    assert restored.json()["userPrincipalName"] == "nia@contoso.com"
    assert tenant.members(group) == [user]  # memberships come back with the user
    assert client.delete(f"/v1.0/users/{user}").status_code == 204
    assert client.delete(f"/v1.0/directory/deletedItems/{user}").status_code == 204
    assert client.get(f"/v1.0/directory/deletedItems/{user}").status_code == 404
    assert client.post(f"/v1.0/directory/deletedItems/{user}/restore").status_code == 404


def test_restore_refused_when_upn_was_reused(client: httpx.Client) -> None:
    user = client.post("/v1.0/users", json=new_user("oli")).json()["id"]
    client.delete(f"/v1.0/users/{user}")
    assert client.post("/v1.0/users", json=new_user("oli", mailNickname="oli2")).status_code == 201
    response = client.post(f"/v1.0/directory/deletedItems/{user}/restore")
    assert response.status_code == 400
    assert "userPrincipalName" in str(error_of(response)["message"])


def test_security_and_m365_groups_are_deleted_softly_and_restored(client: httpx.Client) -> None:
    sec = client.post("/v1.0/groups", json=_security("temp")).json()["id"]
    m365 = client.post(
        "/v1.0/groups",
        json={
            "displayName": "Unified",
            "mailEnabled": True,
            "mailNickname": "unified",
            "securityEnabled": False,
            "groupTypes": ["Unified"],
        },
    ).json()["id"]
    client.delete(f"/v1.0/groups/{sec}")
    client.delete(f"/v1.0/groups/{m365}")
    # "Delete group": both Microsoft 365 and security groups go to deleted items, restorable for 30 days
    deleted = client.get("/v1.0/directory/deletedItems/microsoft.graph.group").json()["value"]
    assert sorted(d["id"] for d in deleted) == sorted([sec, m365])
    assert client.get(f"/v1.0/groups/{sec}").status_code == 404
    restored = client.post(f"/v1.0/directory/deletedItems/{sec}/restore")
    assert restored.status_code == 200 and restored.json()["displayName"] == "temp"
    assert client.get(f"/v1.0/groups/{sec}").status_code == 200


def test_which_objects_a_group_may_hold(client: httpx.Client, tenant: GraphTenant) -> None:
    # "Add members": a security group holds users and security groups; a Microsoft 365 group holds users only, and
    # is a member of no group (groups-allowed-member-types)
    (person,) = _users(tenant, 1)
    security, other_security = tenant.add_group("Sec"), tenant.add_group("Sec2")
    m365, other_m365 = tenant.add_group("Team", unified=True), tenant.add_group("Team2", unified=True)

    def add(group: str, member: str) -> httpx.Response:
        return client.post(f"/v1.0/groups/{group}/members/$ref", json={"@odata.id": bind(member)})

    assert add(security, other_security).status_code == 204
    assert add(m365, person).status_code == 204
    unified_in_unified = add(m365, other_m365)
    assert unified_in_unified.status_code == 400
    error = error_of(unified_in_unified)
    assert str(error["message"]).startswith("Unified Groups cannot be added to Unified Groups.")
    assert error["code"] == "Request_BadRequest"
    assert add(security, m365).status_code == 400
    assert add(m365, security).status_code == 400
    # all or nothing: a bind of a user and a Microsoft 365 group adds neither
    (late,) = tenant.seed_users(1, prefix="late")
    both = client.patch(f"/v1.0/groups/{other_security}", json={"members@odata.bind": [bind(late), bind(m365)]})
    assert both.status_code == 400
    assert tenant.members(other_security) == []
    assert tenant.members(security) == [other_security] and tenant.members(m365) == [person]
    # the rule holds for the group being created too
    team = {"displayName": "New", "mailEnabled": True, "mailNickname": "new", "securityEnabled": False}
    created = client.post(
        "/v1.0/groups", json={**team, "groupTypes": ["Unified"], "members@odata.bind": [bind(security)]}
    )
    assert created.status_code == 400 and "new" not in {g["mailNickname"] for g in tenant.groups()}


def test_a_role_assignable_group_holds_no_group(client: httpx.Client, tenant: GraphTenant) -> None:
    # "Group nesting isn't supported. A group can't be added as a member of a role-assignable group." (Entra docs,
    # "Use Microsoft Entra groups to manage role assignments")
    (person,) = _users(tenant, 1)
    admins = tenant.add_group("Admins", isAssignableToRole=True)
    nested = tenant.add_group("Nested")
    refused = client.post(f"/v1.0/groups/{admins}/members/$ref", json={"@odata.id": bind(nested)})
    assert refused.status_code == 400
    error = error_of(refused)
    assert error["message"] == "Nesting is currently not supported for groups that can be assigned to a role."
    # the refusal is pinned on the members, not on one of them (Graph does not say which one it refused)
    assert error["details"] == [{"code": "InvalidValue", "target": "members"}]
    assert nested not in str(error)
    # a bind holding a group is refused whole
    both = client.patch(f"/v1.0/groups/{admins}", json={"members@odata.bind": [bind(person), bind(nested)]})
    assert both.status_code == 400 and error_of(both)["details"] == error["details"]
    assert tenant.members(admins) == []
    assert client.post(f"/v1.0/groups/{admins}/members/$ref", json={"@odata.id": bind(person)}).status_code == 204
    assert tenant.members(admins) == [person]


def test_is_assignable_to_role_is_set_at_creation_on_a_security_group_only(
    client: httpx.Client, tenant: GraphTenant
) -> None:
    # "This property can only be set while creating the group and is immutable. If set to true, the securityEnabled
    # property must also be set to true ... and the group can't be a dynamic group" (group resource)
    base = {"displayName": "Admins", "mailEnabled": False, "mailNickname": "admins", "securityEnabled": True}
    dynamic = {**base, "groupTypes": ["DynamicMembership"], "isAssignableToRole": True}
    not_security = {**base, "securityEnabled": False, "isAssignableToRole": True}
    for body in (dynamic, not_security):
        refused = client.post("/v1.0/groups", json=body)
        assert refused.status_code == 400
        assert error_of(refused)["details"] == [{"code": "InvalidValue", "target": "isAssignableToRole"}]
    assert tenant.groups() == []
    admins = client.post("/v1.0/groups", json={**base, "isAssignableToRole": True}).json()["id"]
    plain = tenant.add_group("Plain")
    assert client.patch(f"/v1.0/groups/{plain}", json={"isAssignableToRole": True}).status_code == 400
    assert client.patch(f"/v1.0/groups/{admins}", json={"isAssignableToRole": False}).status_code == 400
    assert client.patch(f"/v1.0/groups/{admins}", json={"securityEnabled": False}).status_code == 400
    assert client.patch(f"/v1.0/groups/{admins}", json={"isAssignableToRole": True}).status_code == 204  # unchanged
    assert client.patch(f"/v1.0/groups/{plain}", json={"isAssignableToRole": False}).status_code == 204
    assert tenant.get(admins)["isAssignableToRole"] is True and not tenant.get(plain).get("isAssignableToRole")
