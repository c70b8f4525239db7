"""Full and delta import from the emulated tenant: paging, links, change tracking, and the watermark's life."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from idsync.connectors.base import ImportPage, ImportRecord, ValueDelta, WatermarkExpired
from idsync.connectors.graph.connector import GraphConnector
from idsync.testing.graph_emulator import AppRegistration, DeltaSettings, GraphTenant

from .conftest import DOMAINS, connect


def _records(pages: list[ImportPage]) -> dict[str, ImportRecord]:
    out: dict[str, ImportRecord] = {}
    for page in pages:
        for record in page.records:
            assert record.anchor not in out, f"{record.anchor} twice in one import"
            out[record.anchor] = record
    return out


def test_full_import_pages_users_and_groups_with_links(connector: GraphConnector, tenant: GraphTenant) -> None:
    users = tenant.seed_users(2100)
    boss = users[0]
    for user in users[1:150]:
        tenant.set_manager(user, boss)
    group = tenant.add_group("Everyone")
    for user in users[:30]:
        tenant.add_member(group, user)
    nested = tenant.add_group("Nested")
    tenant.add_member(group, nested)
    pages = list(connector.full_import())
    records = _records(pages)
    assert len(records) == 2102
    # $expand=manager makes Graph page users by 100: 21 pages of users, one of groups, one closing page
    assert len(pages) == 23
    assert pages[-1].records == [] and pages[-1].watermark is not None
    assert all(p.watermark is None for p in pages[:-1])
    assert records[users[5]].attributes["manager"] == boss
    assert records[boss].attributes["manager"] is None
    assert records[users[5]].identifier == "user00005@contoso.onmicrosoft.com"
    team = records[group]
    assert team.object_type == "group" and team.identifier == "Everyone"
    assert sorted(team.attributes["members"]) == sorted([*users[:30], nested])
    assert not team.partial


def test_full_import_without_managers_uses_pages_of_999(
    tenant: GraphTenant, app: AppRegistration, tmp_path: Path
) -> None:
    tenant.seed_users(2100)
    connector = connect(
        tenant, app, tmp_path, object_types={"user": {"attributes": ["displayName", "userPrincipalName"]}}
    )
    pages = list(connector.full_import())
    connector.close()
    assert [len(p.records) for p in pages] == [999, 999, 102, 0]
    assert set(pages[0].records[0].attributes) == {"displayName", "userPrincipalName"}


def test_delta_round_trip_adds_updates_deletes_and_links(connector: GraphConnector, tenant: GraphTenant) -> None:
    boss, worker, leaver = (tenant.add_user(f"{n}@contoso.com") for n in ("boss", "worker", "leaver"))
    group = tenant.add_group("Team")
    tenant.add_member(group, worker)
    tenant.add_member(group, leaver)
    watermark = list(connector.full_import())[-1].watermark
    assert watermark is not None

    newcomer = tenant.add_user("newcomer@contoso.com", department="Sales")
    tenant.update(worker, jobTitle="Lead")
    tenant.set_manager(worker, boss)
    tenant.add_member(group, newcomer)
    tenant.remove_member(group, worker)
    tenant.delete(leaver)
    pages = list(connector.delta_import(watermark))
    records = _records(pages)
    assert set(records) == {newcomer, worker, leaver, group}
    assert records[newcomer].attributes["department"] == "Sales" and records[newcomer].partial
    assert records[worker].attributes["jobTitle"] == "Lead" and records[worker].attributes["manager"] == boss
    assert records[leaver].delete
    # the change, not the whole membership: the newcomer joined, the worker left, the leaver's deletion removed them
    assert records[group].attributes["members"] == ValueDelta(add=(newcomer,), remove=(worker, leaver))
    assert "manager" not in records[newcomer].attributes  # not tracked as changed: the stored value stays

    last = pages[-1].watermark
    assert last is not None
    quiet = list(connector.delta_import(last))
    assert _records(quiet) == {}
    # a replay (the same changes read again from an older watermark) reads the same records: harmless to apply
    assert _records(list(connector.delta_import(watermark))).keys() == records.keys()


def test_a_manager_removed_is_null(connector: GraphConnector, tenant: GraphTenant) -> None:
    boss, worker = tenant.add_user("boss@contoso.com"), tenant.add_user("worker@contoso.com")
    tenant.set_manager(worker, boss)
    watermark = list(connector.full_import())[-1].watermark
    tenant.delete(boss)
    records = _records(list(connector.delta_import(watermark)))
    assert records[boss].delete
    assert records[worker].attributes["manager"] is None


def test_each_delta_page_carries_the_watermark_to_resume_from(tmp_path: Path) -> None:
    small = GraphTenant("contoso", domains=DOMAINS, seed=3, delta=DeltaSettings(page_size=50))
    small_app = small.add_app("idsync")
    connector = connect(small, small_app, tmp_path)
    watermark = list(connector.full_import())[-1].watermark
    assert watermark is not None
    added = set(small.seed_users(120))
    pages = connector.delta_import(watermark)
    first = next(pages)
    assert len(first.records) == 50 and first.watermark is not None
    # killed here: the next run starts from the first page's watermark and reads the rest, not the first again
    resumed = _records(list(connector.delta_import(first.watermark)))
    connector.close()
    assert set(resumed) | {r.anchor for r in first.records} == added
    assert not set(resumed) & {r.anchor for r in first.records}


def test_expired_and_rejected_links_raise_watermark_expired(
    connector: GraphConnector, tenant: GraphTenant, app: AppRegistration, tmp_path: Path
) -> None:
    watermark = list(connector.full_import())[-1].watermark
    assert watermark is not None
    tenant.force_resync()  # 410 Gone
    with pytest.raises(WatermarkExpired, match=r"410|resync"):
        list(connector.delta_import(watermark))
    fresh = list(connector.full_import())[-1].watermark
    assert fresh is not None
    tenant.expire_delta_tokens()  # 400 syncStateNotFound, as after seven days
    with pytest.raises(WatermarkExpired, match="syncStateNotFound"):
        list(connector.delta_import(fresh))
    with pytest.raises(WatermarkExpired):
        connector.delta_import("not json")
    other = connect(tenant, app, tmp_path, object_types={"user": {"attributes": ["displayName"]}})
    with pytest.raises(WatermarkExpired, match="attributes changed"):
        other.delta_import(fresh)
    other.close()


def test_watermark_holds_links_to_the_configured_host_only(connector: GraphConnector, tenant: GraphTenant) -> None:
    watermark = list(connector.full_import())[-1].watermark
    assert watermark is not None
    data = json.loads(watermark)
    assert set(data["links"]) == {"user", "group"}
    data["links"]["user"] = "https://evil.example/v1.0/users/delta?$deltatoken=x"
    with pytest.raises(Exception, match="refusing to send the access token"):
        list(connector.delta_import(json.dumps(data)))
