from __future__ import annotations

import httpx
import pytest

from idsync.testing.graph_emulator import GraphTenant

from .conftest import error_of, new_user


def _statuses(client: httpx.Client, n: int) -> list[int]:
    return [client.get("/v1.0/users").status_code for _ in range(n)]


def test_error_rate_is_seeded_and_replayable(client: httpx.Client, tenant: GraphTenant) -> None:
    tenant.configure_faults(error_rate=0.3, seed=42)
    first = _statuses(client, 60)
    tenant.configure_faults(seed=42)
    assert _statuses(client, 60) == first
    failures = [s for s in first if s >= 500]
    assert 5 <= len(failures) <= 35
    assert set(failures) <= {500, 502, 503, 504}
    tenant.configure_faults(error_rate=1.0, error_statuses=(503,))
    response = client.get("/v1.0/users")
    assert response.status_code == 503
    assert error_of(response)["code"] == "serviceNotAvailable"


def test_drop_before_loses_the_request(client: httpx.Client, tenant: GraphTenant) -> None:
    tenant.configure_faults(drop_rate=1.0, drop_phase="before")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/v1.0/users", json=new_user("lost"))
    tenant.configure_faults(drop_rate=0.0)
    assert tenant.users() == []


def test_drop_after_commits_the_write_but_loses_the_response(client: httpx.Client, tenant: GraphTenant) -> None:
    tenant.configure_faults(drop_rate=1.0, drop_phase="after")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/v1.0/users", json=new_user("ghost"))
    tenant.configure_faults(drop_rate=0.0)
    assert [u["userPrincipalName"] for u in tenant.users()] == ["ghost@contoso.com"]
    assert tenant.stats()["dropped"] == 1
    # A client that retries blindly makes the duplicate Graph would refuse:
    assert client.post("/v1.0/users", json=new_user("ghost")).status_code == 400


def test_latency(client: httpx.Client, tenant: GraphTenant) -> None:
    import time

    tenant.configure_faults(latency_seconds=(0.05, 0.06))
    start = time.perf_counter()
    assert client.get("/v1.0/users").status_code == 200
    assert time.perf_counter() - start >= 0.05


def test_batch_items_get_injected_errors(client: httpx.Client, tenant: GraphTenant) -> None:
    tenant.configure_faults(error_rate=0.5, error_statuses=(500,), seed=3)
    body = {"requests": [{"id": str(i), "method": "GET", "url": "/users"} for i in range(20)]}
    item_statuses: list[int] = []
    for _ in range(10):
        response = client.post("/v1.0/$batch", json=body)
        if response.status_code == 200:
            item_statuses.extend(r["status"] for r in response.json()["responses"])
        else:
            assert response.status_code == 500  # the envelope itself can fail too
    assert 500 in item_statuses and 200 in item_statuses
    tenant.configure_faults(in_batch=False, error_rate=0.0)
    clean = client.post("/v1.0/$batch", json=body).json()["responses"]
    assert {r["status"] for r in clean} == {200}
