from __future__ import annotations

import time

import httpx

from idsync.testing.graph_emulator import GraphTenant
from idsync.testing.graph_emulator.throttling import request_cost

from .conftest import error_of, new_user


def test_documented_request_costs() -> None:
    assert request_cost("GET", "users", {}) == (2, 0)
    assert request_cost("GET", "users", {"$select": "id"}) == (1, 0)
    assert request_cost("GET", "users", {"$top": "5"}) == (1, 0)
    assert request_cost("GET", "groups/abc/members", {}) == (3, 0)
    assert request_cost("GET", "users/abc", {"$select": "id", "$top": "5"}) == (1, 0)
    assert request_cost("POST", "users", {}) == (1, 1)
    assert request_cost("PATCH", "groups/abc", {}) == (1, 1)
    assert request_cost("DELETE", "groups/abc/members/def/$ref", {}) == (1, 1)


def test_write_quota_returns_429_with_graph_headers(client: httpx.Client, tenant: GraphTenant) -> None:
    tenant.configure_throttling(writes_per_150s=5)
    for i in range(5):
        assert client.post("/v1.0/users", json=new_user(f"w{i}")).status_code == 201
    throttled = client.post("/v1.0/users", json=new_user("w5"))
    assert throttled.status_code == 429
    assert error_of(throttled)["code"] == "TooManyRequests"
    assert 140 <= int(throttled.headers["Retry-After"]) <= 150
    app_id = tenant.authority.apps and next(iter(tenant.authority.apps))
    assert throttled.headers["x-ms-throttle-scope"] == f"Tenant_Application/Write/{app_id}/{tenant.tenant_id}"
    assert throttled.headers["x-ms-throttle-information"] == "WriteLimitExceeded"
    assert client.get("/v1.0/users").status_code == 200  # reads still pass: writes are throttled separately
    assert tenant.stats()["throttled"] == 1


def test_resource_unit_quota_and_limit_percentage(client: httpx.Client, tenant: GraphTenant) -> None:
    tenant.configure_throttling(resource_units_per_10s=10)
    headers = [client.get("/v1.0/users").headers for _ in range(5)]  # 2 RU each
    assert [h["x-ms-resource-unit"] for h in headers] == ["2"] * 5
    assert headers[-1]["x-ms-throttle-limit-percentage"] == "1.0"
    assert "x-ms-throttle-limit-percentage" not in headers[0]
    throttled = client.get("/v1.0/users")
    assert throttled.status_code == 429
    assert throttled.headers["x-ms-throttle-information"] == "ResourceUnitLimitExceeded"


def test_tenant_size_picks_the_resource_unit_budget(tenant: GraphTenant) -> None:
    assert tenant.throttle.ru_limit(10) == 3500
    assert tenant.throttle.ru_limit(50) == 5000
    assert tenant.throttle.ru_limit(501) == 8000


def test_time_factor_scales_windows_and_retry_after(client: httpx.Client, tenant: GraphTenant) -> None:
    tenant.configure_throttling(writes_per_150s=2, time_factor=0.002)  # 150 s -> 0.3 s
    assert client.post("/v1.0/users", json=new_user("s0")).status_code == 201
    assert client.post("/v1.0/users", json=new_user("s1")).status_code == 201
    throttled = client.post("/v1.0/users", json=new_user("s2"))
    assert throttled.status_code == 429
    wait_ms = int(throttled.headers["x-ms-retry-after-ms"])
    assert 0 < wait_ms <= 300
    time.sleep(wait_ms / 1000 + 0.02)
    assert client.post("/v1.0/users", json=new_user("s2")).status_code == 201


def test_throttling_can_be_disabled(client: httpx.Client, tenant: GraphTenant) -> None:
    tenant.configure_throttling(enabled=False, writes_per_150s=1)
    assert all(client.post("/v1.0/users", json=new_user(f"d{i}")).status_code == 201 for i in range(3))
    assert tenant.stats()["writes"] == 3
