from __future__ import annotations

from typing import Any

import httpx

from idsync.testing.graph_emulator import DeltaSettings, GraphTenant

from .conftest import bind, error_of, get_token, new_user


def _local(link: str) -> str:
    return link.removeprefix("https://graph.local")


def _round(client: httpx.Client, url: str, **headers: str) -> tuple[list[dict[str, Any]], str]:
    values: list[dict[str, Any]] = []
    while True:
        page = client.get(url, headers=headers)
        assert page.status_code == 200, page.text
        body = page.json()
        values.extend(body["value"])
        if "@odata.deltaLink" in body:
            assert "@odata.nextLink" not in body
            return values, _local(body["@odata.deltaLink"])
        url = _local(body["@odata.nextLink"])


def test_initial_round_pages_then_tracks_changes(client: httpx.Client, tenant: GraphTenant) -> None:
    ids = tenant.seed_users(230)
    values, delta = _round(client, "/v1.0/users/delta?$select=displayName,jobTitle")
    assert sorted(v["id"] for v in values) == sorted(ids)
    assert set(values[0]) <= {"id", "displayName", "jobTitle"}
    assert _round(client, delta)[0] == []  # nothing changed
    client.patch(f"/v1.0/users/{ids[0]}", json={"jobTitle": "Chief"})
    client.patch(f"/v1.0/users/{ids[1]}", json={"department": "untracked"})  # not in $select: not reported
    created = client.post("/v1.0/users", json=new_user("newbie")).json()["id"]
    client.delete(f"/v1.0/users/{ids[2]}")
    changes, delta2 = _round(client, delta)
    by_id = {v["id"]: v for v in changes}
    assert set(by_id) == {ids[0], created, ids[2]}
    assert by_id[ids[0]]["jobTitle"] == "Chief"
    assert by_id[ids[0]]["displayName"] == "User 00000"  # default: unchanged selected properties come too
    assert by_id[ids[2]] == {"id": ids[2], "@removed": {"reason": "changed"}}
    client.delete(f"/v1.0/directory/deletedItems/{ids[2]}")
    gone, _ = _round(client, delta2)
    assert gone == [{"id": ids[2], "@removed": {"reason": "deleted"}}]


def test_prefer_return_minimal(client: httpx.Client, tenant: GraphTenant) -> None:
    user = tenant.add_user("min@contoso.com", jobTitle="A", displayName="Min")
    _, delta = _round(client, "/v1.0/users/delta?$select=displayName,jobTitle,mobilePhone")
    client.patch(f"/v1.0/users/{user}", json={"jobTitle": None})
    changes, _ = _round(client, delta, Prefer="return=minimal")
    assert changes == [{"jobTitle": None, "id": user}]


def test_group_members_delta_with_removed(client: httpx.Client, tenant: GraphTenant) -> None:
    users = tenant.seed_users(3)
    group = tenant.add_group("Crew")
    tenant.add_member(group, users[0])
    tenant.add_member(group, users[1])
    initial, delta = _round(client, "/v1.0/groups/delta?$select=displayName,members")
    assert initial[0]["members@delta"] == [
        {"@odata.type": "#microsoft.graph.user", "id": users[0]},
        {"@odata.type": "#microsoft.graph.user", "id": users[1]},
    ]
    client.delete(f"/v1.0/groups/{group}/members/{users[0]}/$ref")
    client.post(f"/v1.0/groups/{group}/members/$ref", json={"@odata.id": bind(users[2])})
    changes, _ = _round(client, delta)
    assert changes == [
        {
            "displayName": "Crew",
            "id": group,
            "members@delta": [
                {"@odata.type": "#microsoft.graph.user", "id": users[0], "@removed": {"reason": "deleted"}},
                {"@odata.type": "#microsoft.graph.user", "id": users[2]},
            ],
        }
    ]


def test_large_group_members_span_pages() -> None:
    small = GraphTenant("contoso", seed=1, delta=DeltaSettings(page_size=10, member_page_size=25))
    small_app = small.add_app()
    members = small.seed_users(60)
    group = small.add_group("Everyone")
    for member in members:
        small.add_member(group, member)
    with httpx.Client(transport=small.transport(), base_url="https://graph.local") as client:
        client.headers["Authorization"] = f"Bearer {get_token(client, small, small_app)}"
        values, _ = _round(client, "/v1.0/groups/delta")
    parts = [v for v in values if v["id"] == group]
    assert len(parts) == 3
    collected = [m["id"] for part in parts for m in part["members@delta"]]
    assert collected == members


def test_manager_tracking(client: httpx.Client, tenant: GraphTenant) -> None:
    boss, worker = tenant.add_user("boss@contoso.com"), tenant.add_user("worker@contoso.com")
    _, delta = _round(client, "/v1.0/users/delta?$select=displayName,manager")
    tenant.set_manager(worker, boss)
    changes, delta = _round(client, delta)
    assert changes == [
        {"displayName": "worker", "id": worker, "manager@delta": [{"@odata.type": "#microsoft.graph.user", "id": boss}]}
    ]
    client.delete(f"/v1.0/users/{worker}/manager/$ref")
    changes, _ = _round(client, delta)
    assert changes[0]["manager@delta"] == [
        {"@odata.type": "#microsoft.graph.user", "id": boss, "@removed": {"reason": "deleted"}}
    ]


def test_deltatoken_latest_and_id_filter(client: httpx.Client, tenant: GraphTenant) -> None:
    a, b = tenant.add_user("a@contoso.com"), tenant.add_user("b@contoso.com")
    latest = client.get("/v1.0/users/delta?$deltatoken=latest").json()
    assert latest["value"] == [] and "@odata.deltaLink" in latest
    client.patch(f"/v1.0/users/{a}", json={"displayName": "A2"})
    changes, _ = _round(client, _local(latest["@odata.deltaLink"]))
    assert [c["id"] for c in changes] == [a]
    only_b, delta_b = _round(client, f"/v1.0/users/delta?$filter=id eq '{b}'")
    assert [v["id"] for v in only_b] == [b]
    client.patch(f"/v1.0/users/{a}", json={"displayName": "A3"})
    assert _round(client, delta_b)[0] == []
    many = " or ".join(f"id eq '{i:08d}-0000-4000-8000-000000000000'" for i in range(51))
    assert client.get(f"/v1.0/users/delta?$filter={many}").status_code == 400
    assert client.get("/v1.0/users/delta?$filter=displayName eq 'x'").status_code == 400
    assert client.get("/v1.0/users/delta?$top=5").status_code == 400


def test_deltatoken_latest_keeps_the_select_of_the_request(client: httpx.Client, tenant: GraphTenant) -> None:
    # "Sync from now" is an initial request: its $select decides what the following rounds track and return.
    boss, worker = tenant.add_user("boss@contoso.com"), tenant.add_user("worker@contoso.com")
    latest = client.get("/v1.0/users/delta?$deltatoken=latest&$select=department,manager").json()
    assert latest["value"] == []
    tenant.set_manager(worker, boss)
    client.patch(f"/v1.0/users/{boss}", json={"jobTitle": "Chief"})  # not selected: not tracked
    client.patch(f"/v1.0/users/{boss}", json={"department": "Board"})
    changes, _ = _round(client, _local(latest["@odata.deltaLink"]))
    by_id = {c["id"]: c for c in changes}
    assert set(by_id) == {boss, worker}
    assert by_id[boss] == {"department": "Board", "id": boss}
    assert by_id[worker]["manager@delta"] == [{"@odata.type": "#microsoft.graph.user", "id": boss}]
    assert "displayName" not in by_id[worker]


def test_expired_and_reset_tokens(client: httpx.Client, tenant: GraphTenant, app: Any) -> None:
    tenant.add_user("x@contoso.com")
    _, delta = _round(client, "/v1.0/users/delta")
    tenant.clock.advance(6 * 24 * 3600)
    client.headers["Authorization"] = f"Bearer {get_token(client, tenant, app)}"
    assert client.get(delta).status_code == 200  # six days: still valid
    _, delta = _round(client, "/v1.0/users/delta")
    tenant.clock.advance(7 * 24 * 3600 + 1)
    client.headers["Authorization"] = f"Bearer {get_token(client, tenant, app)}"
    expired = client.get(delta)
    assert expired.status_code == 400
    assert error_of(expired)["code"] == "syncStateNotFound"
    _, fresh = _round(client, "/v1.0/users/delta")
    tenant.force_resync()
    gone = client.get(fresh)
    assert gone.status_code == 410
    assert gone.headers["Location"].endswith("/v1.0/users/delta?$deltatoken=")
    _, newer = _round(client, "/v1.0/users/delta")
    tenant.expire_delta_tokens()
    assert error_of(client.get(newer))["code"] == "syncStateNotFound"
    assert error_of(client.get("/v1.0/users/delta?$deltatoken=forged"))["code"] == "syncStateNotFound"


def test_sdk_style_delta_function_urls(client: httpx.Client, tenant: GraphTenant) -> None:
    tenant.add_user("fn@contoso.com")
    for path in ("/v1.0/users/delta()", "/v1.0/users/microsoft.graph.delta()"):
        values, _ = _round(client, path)
        assert [v["userPrincipalName"] for v in values] == ["fn@contoso.com"]


def test_restored_user_reappears(client: httpx.Client, tenant: GraphTenant) -> None:
    user = tenant.add_user("back@contoso.com")
    _, delta = _round(client, "/v1.0/users/delta")
    client.delete(f"/v1.0/users/{user}")
    _, delta = _round(client, delta)
    client.post(f"/v1.0/directory/deletedItems/{user}/restore")
    changes, _ = _round(client, delta)
    assert changes[0]["id"] == user and changes[0]["userPrincipalName"] == "back@contoso.com"
