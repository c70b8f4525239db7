"""A tenant saved to a file and loaded again is the same tenant: objects, links, soft-deleted items, uniqueness,
apps and extensions, and delta links handed out before the save - but no client secret is written."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from idsync.testing.graph_emulator import DeltaSettings, GraphTenant
from idsync.testing.graph_emulator.tenant import DEFAULT_PASSWORD_PROFILE

from .conftest import error_of, get_token, new_user


@contextmanager
def _client(tenant: GraphTenant) -> Iterator[httpx.Client]:
    app = next(iter(tenant.authority.apps.values()))
    with httpx.Client(transport=tenant.transport(), base_url="https://graph.local") as client:
        client.headers["Authorization"] = f"Bearer {get_token(client, tenant, app)}"
        yield client


def _changes(client: httpx.Client, link: str) -> tuple[dict[str, dict[str, Any]], str]:
    page = client.get(link.removeprefix("https://graph.local"))
    assert page.status_code == 200, page.text
    body = page.json()
    return {v["id"]: v for v in body["value"]}, body["@odata.deltaLink"]


def _everything(tenant: GraphTenant) -> dict[str, Any]:
    users = sorted(tenant.users(), key=lambda u: u["id"])
    groups = sorted(tenant.groups(), key=lambda g: g["id"])
    return {
        "users": users,
        "groups": groups,
        "members": {g["id"]: tenant.members(g["id"]) for g in groups},
        "managers": {u["id"]: tenant.manager_of(u["id"]) for u in users},
        "deleted": sorted(tenant.deleted_items(), key=lambda d: d["id"]),
        "domains": tenant.domains,
        "tenant_id": tenant.tenant_id,
    }


def test_a_saved_tenant_loads_as_it_was(tmp_path: Path) -> None:
    tenant = GraphTenant("contoso", domains=("contoso.onmicrosoft.com", "contoso.com"), seed=4)
    app = tenant.add_app("idsync")
    extension = tenant.register_extension(app, "costCenter")
    boss = tenant.add_user("boss@contoso.com", department="Zürich Ops", **{extension: "CC-1"})
    worker = tenant.add_user("worker@contoso.com", otherMails=["w@example.org"])
    leaver = tenant.add_user("leaver@contoso.com", employeeId="E9")
    tenant.set_manager(worker, boss)
    team = tenant.add_group("Team")
    for member in (worker, leaver):
        tenant.add_member(team, member)
    tenant.delete(leaver)  # soft-deleted: its membership is parked for a restore
    synced = tenant.add_user("synced@contoso.com")
    tenant.mark_synced(synced, immutable_id="AAAAAAAAAAAAAAAAAAAAAA==")
    tenant.configure_throttling(enabled=False)
    path = tmp_path / "tenant.json"
    tenant.save(path)

    text = path.read_text(encoding="utf-8")
    assert app.client_secret not in text and DEFAULT_PASSWORD_PROFILE["password"] not in text  # no secret kept
    loaded = GraphTenant.load(path)
    assert _everything(loaded) == _everything(tenant)
    assert loaded.throttle.config.enabled is False
    assert loaded.extension(extension) == tenant.extension(extension)
    (reloaded_app,) = loaded.authority.apps.values()
    assert reloaded_app.client_id == app.client_id and reloaded_app.client_secret != app.client_secret

    with _client(loaded) as client:
        # uniqueness still holds, new ids do not collide, on-premises locks and restores still work
        taken = client.post("/v1.0/users", json=new_user("boss"))
        assert taken.status_code == 400 and "userPrincipalName" in str(error_of(taken)["message"])
        fresh = client.post("/v1.0/users", json=new_user("fresh"))
        assert fresh.status_code == 201 and fresh.json()["id"] not in {boss, worker, leaver, synced, team}
        refused = client.patch(f"/v1.0/users/{synced}", json={"displayName": "x"})
        assert refused.status_code == 400
        assert client.post(f"/v1.0/directory/deletedItems/{leaver}/restore").status_code == 200
    assert loaded.members(team) == [worker, leaver]


def test_delta_links_handed_out_before_a_save_work_after_a_load(tmp_path: Path) -> None:
    tenant = GraphTenant("contoso", domains=("contoso.onmicrosoft.com", "contoso.com"), seed=5)
    tenant.add_app("idsync")
    ann = tenant.add_user("ann@contoso.com")
    group = tenant.add_group("Staff")
    with _client(tenant) as client:
        users = client.get("/v1.0/users/delta?$deltatoken=latest&$select=displayName,jobTitle").json()
        groups = client.get("/v1.0/groups/delta?$deltatoken=latest&$select=displayName,members").json()
    tenant.update(ann, jobTitle="Before the save")
    path = tmp_path / "tenant.json"
    tenant.save(path)

    loaded = GraphTenant.load(path)
    bob = loaded.add_user("bob@contoso.com")
    loaded.add_member(group, bob)
    with _client(loaded) as client:
        changed, users_link = _changes(client, users["@odata.deltaLink"])
        assert changed[ann]["jobTitle"] == "Before the save" and bob in changed
        members, _ = _changes(client, groups["@odata.deltaLink"])
        assert members[group]["members@delta"] == [{"@odata.type": "#microsoft.graph.user", "id": bob}]
    loaded.save(path)

    # a link lives seven days, whichever process holds the tenant
    again = GraphTenant.load(path)
    again.clock.advance(8 * 24 * 3600)
    with _client(again) as client:
        expired = client.get(users_link.removeprefix("https://graph.local"))
    assert expired.status_code == 400 and error_of(expired)["code"] == "syncStateNotFound"


def test_a_saved_tenant_keeps_the_newest_delta_link_of_each_query_and_the_changes_it_reads(tmp_path: Path) -> None:
    tenant = GraphTenant("contoso", seed=6, delta=DeltaSettings(page_size=5))
    tenant.add_app("idsync")
    ids = tenant.seed_users(20)
    with _client(tenant) as client:
        links = [client.get("/v1.0/users/delta?$deltatoken=latest").json()["@odata.deltaLink"] for _ in range(3)]
        groups = client.get("/v1.0/groups/delta?$deltatoken=latest").json()["@odata.deltaLink"]
        tenant.update(ids[0], jobTitle="After the last link")
        # a round in progress: its nextLink is not kept
        paging = client.get("/v1.0/users/delta").json()["@odata.nextLink"]
    path = tmp_path / "tenant.json"
    tenant.save(path)
    loaded = GraphTenant.load(path)
    # the 20 creations came before every link kept: none of them is needed any more
    assert [c.object_id for c in loaded.directory.changes] == [ids[0]]
    with _client(loaded) as client:
        assert client.get(links[-1].removeprefix("https://graph.local")).status_code == 200
        assert client.get(groups.removeprefix("https://graph.local")).status_code == 200
        for stale in (links[0], paging):
            refused = client.get(stale.removeprefix("https://graph.local"))
            assert refused.status_code == 400 and error_of(refused)["code"] == "syncStateNotFound"


@pytest.mark.parametrize("content", ["{not json", '{"format": "something else"}', '{"format": 1}'])
def test_a_file_that_is_not_a_saved_tenant_is_refused_by_name(tmp_path: Path, content: str) -> None:
    path = tmp_path / "tenant.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=r"tenant\.json: cannot load the emulated tenant"):
        GraphTenant.load(path)
