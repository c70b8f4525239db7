"""Throttling storms, server errors, latency and dropped connections: everything lands once, nothing twice."""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

import pytest

from idsync.connectors.graph.throttle import RateGovernor, backoff, retry_after_seconds
from idsync.testing.graph_emulator import AppRegistration, GraphTenant

from .conftest import add, connect, new_group, new_user, put


def _no_duplicates(tenant: GraphTenant) -> None:
    names = Counter(u["userPrincipalName"].lower() for u in tenant.users())
    assert [n for n, count in names.items() if count > 1] == []


def test_a_429_storm_is_waited_out_per_item_and_globally(
    tenant: GraphTenant, app: AppRegistration, tmp_path: Path
) -> None:
    # 40 writes per window of 0.3 s (Graph's 3,000 per 150 s, scaled): 200 creates must wait four windows out
    tenant.configure_throttling(writes_per_150s=40, time_factor=0.002)
    connector = connect(tenant, app, tmp_path, concurrency=4)
    started = time.monotonic()
    results = connector.export([new_user(i, f"storm{i}") for i in range(1, 201)])
    elapsed = time.monotonic() - started
    stats = connector.stats
    connector.close()
    assert all(r.ok for r in results), [r for r in results if not r.ok][:3]
    assert len(tenant.users()) == 200
    _no_duplicates(tenant)
    emulated = tenant.stats()
    assert emulated["throttled"] > 0 and stats["throttled"] > 0
    # honouring Retry-After keeps refusals few: a client retrying at once would collect thousands
    assert emulated["throttled"] < 2 * 200
    assert stats["lowest_concurrency"] < 4  # in-flight requests were cut while throttled
    assert elapsed >= 4 * 0.3 * 0.9


def test_server_errors_and_latency_are_retried_without_duplicates(
    tenant: GraphTenant, app: AppRegistration, tmp_path: Path
) -> None:
    people = tenant.seed_users(30)
    tenant.configure_faults(seed=4, error_rate=0.2, latency_seconds=(0.0, 0.003))
    connector = connect(tenant, app, tmp_path, max_retries=8)
    items = [new_user(i, f"faulty{i}") for i in range(1, 61)]
    items.append(new_group(100, "faulty-group", add("members", *people)))
    results = connector.export(items)
    assert all(r.ok for r in results), [r for r in results if not r.ok][:3]
    records = [r for page in connector.full_import() for r in page.records]
    stats = connector.stats
    connector.close()
    assert tenant.stats()["injected_errors"] > 10
    assert stats["server_errors"] + stats["retries"] > 0
    assert len(tenant.users()) == 90
    _no_duplicates(tenant)
    group = next(r for r in records if r.object_type == "group")
    assert sorted(group.attributes["members"]) == sorted(people)
    assert len([r for r in records if r.object_type == "user"]) == 90


def test_dropped_connections_after_the_write_do_not_create_twice(
    tenant: GraphTenant, app: AppRegistration, tmp_path: Path
) -> None:
    # "after": Graph applied the batch but the answer never arrived. Creates are looked up before a resend.
    tenant.configure_faults(seed=9, drop_rate=0.3, drop_phase="after", in_batch=False)
    connector = connect(tenant, app, tmp_path, max_retries=10)
    results = connector.export([new_user(i, f"dropped{i}", put("employeeId", f"E{i:04d}")) for i in range(1, 81)])
    connector.close()
    assert all(r.ok for r in results), [r for r in results if not r.ok][:3]
    assert tenant.stats()["dropped"] > 0
    assert len(tenant.users()) == 80
    _no_duplicates(tenant)
    by_upn = {u["userPrincipalName"]: u["id"] for u in tenant.users()}
    assert all(by_upn[f"dropped{r.cs_id}@contoso.com"] == r.anchor for r in results)


def test_retry_after_prefers_the_millisecond_header() -> None:
    assert retry_after_seconds({"Retry-After": "2", "x-ms-retry-after-ms": "250"}) == 0.25
    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    assert retry_after_seconds({}, 1.5) == 1.5
    assert retry_after_seconds({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # a date in the past


def test_backoff_grows_with_jitter_and_a_cap() -> None:
    rng = random.Random(1)
    delays = [backoff(n, 0.5, 8.0, rng) for n in range(8)]
    assert all(0.25 <= d <= 8.0 for d in delays)
    assert delays[0] <= 0.5 and delays[3] >= 2.0 and delays[7] >= 4.0
    assert len({round(backoff(2, 0.5, 8.0, rng), 6) for _ in range(20)}) > 10  # jitter spreads retries


class _FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_governor_pauses_everyone_and_halves_then_regrows_concurrency() -> None:
    fake = _FakeTime()
    governor = RateGovernor(8, clock=fake.clock, sleep=fake.sleep)
    governor.throttled(2.0)
    assert governor.limit == 4
    governor.acquire()  # any request now waits the pause out first
    assert fake.slept == [pytest.approx(2.0)] and fake.now == pytest.approx(2.0)
    governor.release()
    governor.throttled(1.0)
    assert governor.limit == 2
    for _ in range(2 * 4):
        governor.succeeded()
    assert governor.limit == 3  # additive increase after a run of successes
    assert governor.stats.lowest_concurrency == 2
