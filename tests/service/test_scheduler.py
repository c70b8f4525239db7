"""The scheduler in process: when schedules fire, that steps on one connector never overlap while independent
connectors run in parallel, the graceful stop after a committed page, catch-up, the store locks and standby."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from servicesite import Site

from idsync.config.models import Schedule
from idsync.connectors.base import ImportPage
from idsync.connectors.memory import MemoryConnector
from idsync.engine.run_profiles import RUN_LOCK
from idsync.model import RunResult, RunStatus
from idsync.service.runtime import SERVICE_LOCK, Service, ServiceUnavailable
from idsync.service.scheduler import META_PREFIX, next_due
from idsync.store import CSFilter, open_store

UTC_ZONE = ZoneInfo("UTC")
T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC).timestamp()


def test_next_due_for_intervals() -> None:
    every = Schedule(every="30m")
    assert next_due(every, None, T0, UTC_ZONE, catch_up=True) == T0  # never ran: now
    assert next_due(every, T0 - 600, T0, UTC_ZONE, catch_up=True) == T0 + 1200
    # down for two hours: once, now; not four times
    assert next_due(every, T0 - 7200, T0, UTC_ZONE, catch_up=True) == T0
    # without catch-up: the next time on the old rhythm
    assert next_due(every, T0 - 7200 - 60, T0, UTC_ZONE, catch_up=False) == T0 + 1800 - 60


def test_next_due_for_cron() -> None:
    nightly = Schedule(cron="0 2 * * *")
    assert next_due(nightly, None, T0, UTC_ZONE, catch_up=True) == T0 + 16 * 3600
    ran_last_night = T0 - 8 * 3600
    assert next_due(nightly, ran_last_night, T0, UTC_ZONE, catch_up=True) == T0 + 16 * 3600
    missed_last_night = T0 - 32 * 3600
    assert next_due(nightly, missed_last_night, T0, UTC_ZONE, catch_up=True) == T0
    assert next_due(nightly, missed_last_night, T0, UTC_ZONE, catch_up=False) == T0 + 16 * 3600
    berlin = next_due(nightly, None, T0, ZoneInfo("Europe/Berlin"), catch_up=True)
    assert berlin == T0 + 15 * 3600  # 02:00 in Berlin is 01:00 UTC in November


def _runs(site: Site) -> list[RunResult]:
    store = open_store(site.store_url, site.root)
    try:
        return store.runs(1000)
    finally:
        store.close()


def _intervals(runs: list[RunResult]) -> dict[str, list[tuple[float, float]]]:
    found: dict[str, list[tuple[float, float]]] = {}
    for run in runs:
        for step in run.steps:
            assert step.ended is not None, (run.id, step.connector, step.kind)
            found.setdefault(step.connector, []).append((step.started, step.ended))
    return found


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_schedules_run_never_overlap_on_a_connector_and_run_independent_connectors_in_parallel(
    tmp_path: Path, store_url: str
) -> None:
    site = Site(tmp_path, store_url)
    site.configure(
        slow=True,
        page_size=10,
        delay=0.04,
        schedules="{hr: {profile: hr-import, every: 1s}, dir: {profile: dir-import, every: 1s}, "
        "cycle: {profile: cycle, every: 1s}}",
    )
    site.people(60)
    site.dir.add("user", "uid=X1,ou=people", {"employeeId": "X1"})
    service = site.make_service()
    service.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            profiles = [r.profile for r in _runs(site) if r.status is not RunStatus.IN_PROGRESS]
            if all(profiles.count(p) >= 3 for p in ("hr-import", "dir-import", "cycle")):
                break
            time.sleep(0.2)
    finally:
        stopping = time.time()
        service.stop()
    runs = _runs(site)
    # a run still going when the service stops ends after its page as stopped-cancelled; every other one succeeded
    assert all(
        r.status is RunStatus.SUCCESS
        or (r.status is RunStatus.STOPPED_CANCELLED and r.ended is not None and r.ended >= stopping)
        for r in runs
    ), [(r.id, r.profile, r.status, r.ended, stopping) for r in runs]
    for profile in ("hr-import", "dir-import", "cycle"):
        assert sum(r.profile == profile for r in runs) >= 3, profile
    intervals = _intervals(runs)
    for connector, spans in intervals.items():
        spans.sort()
        for earlier, later in itertools.pairwise(spans):
            assert earlier[1] <= later[0], f"two steps on {connector} overlapped: {earlier} and {later}"
    parallel = [(a, b) for a in intervals["hr"] for b in intervals["dir"] if _overlap(a, b)]
    assert parallel, "independent connectors never ran at the same time"
    # every run of a schedule started at least its interval after the previous one of the same schedule
    for profile in ("hr-import", "dir-import"):
        starts = sorted(r.started for r in runs if r.profile == profile)
        assert all(b - a >= 0.95 for a, b in itertools.pairwise(starts)), starts
    store = open_store(site.store_url, site.root)
    try:
        assert store.acquire_lock(RUN_LOCK, "someone-else", 60)
        assert store.acquire_lock(SERVICE_LOCK, "someone-else", 60)
        assert json.loads(store.get_meta(META_PREFIX + "hr") or "{}")["status"] == "success"
    finally:
        store.close()


def test_stop_lets_the_step_commit_its_page_and_the_next_run_goes_on(tmp_path: Path, store_url: str) -> None:
    site = Site(tmp_path, store_url)
    site.configure(slow=True, page_size=10, delay=0.05)
    site.people(300)
    service = site.make_service()
    service.start()
    run_id = service.start_run("hr-import", origin="test")
    deadline = time.monotonic() + 20
    while True:
        steps = [s for r in service.board.snapshot()["runs"] for s in r["steps"]]
        if steps and steps[0]["done"] >= 50:
            break
        assert time.monotonic() < deadline, "the import did not get going"
        time.sleep(0.01)
    service.stop()
    store = open_store(site.store_url, site.root)
    try:
        run = store.run_get(run_id)
        assert run is not None and run.status is RunStatus.STOPPED_CANCELLED
        (step,) = run.steps
        assert step.status is RunStatus.STOPPED_CANCELLED and "committed page" in (step.message or "")
        imported = store.cs_count(CSFilter(connector="hr"))
        assert 50 <= imported < 300 and imported % 10 == 0, imported
        assert step.counters.adds == imported
        assert store.get_watermark("hr") is None  # a full import cut short keeps no watermark
    finally:
        store.close()
    again = site.make_service()
    again.start()
    try:
        rerun = again.start_run("hr-import", origin="test")
        assert again.wait_idle(30)
    finally:
        again.stop()
    store = open_store(site.store_url, site.root)
    try:
        finished = store.run_get(rerun)
        assert finished is not None and finished.status is RunStatus.SUCCESS
        assert store.cs_count(CSFilter(connector="hr")) == 300
        assert finished.steps[0].counters.adds == 300 - imported
    finally:
        store.close()


def _set_last(site: Site, name: str, last: float) -> None:
    store = open_store(site.store_url, site.root)
    try:
        store.set_meta(META_PREFIX + name, json.dumps({"last": last, "run_id": None, "status": "success"}))
    finally:
        store.close()


@pytest.mark.parametrize(("ago", "runs_expected"), [(3 * 3600, 1), (60, 0)])
def test_catch_up_after_downtime(site: Site, ago: float, runs_expected: int) -> None:
    site.configure(schedules="{cycle: {profile: cycle, every: 30m}}")
    site.people(3)
    _set_last(site, "cycle", time.time() - ago)
    service = site.make_service()
    service.start()
    try:
        time.sleep(1.5)
        assert service.wait_idle(30)
        (schedule,) = service.scheduler.snapshot()
    finally:
        service.stop()
    assert len(_runs(site)) == runs_expected
    if runs_expected:
        assert schedule["next_due"] == pytest.approx(schedule["last_started"] + 1800)
    else:
        assert schedule["next_due"] == pytest.approx(time.time() - ago + 1800, abs=5)


def test_a_manual_run_holding_the_store_makes_the_schedule_wait(site: Site) -> None:
    site.configure(schedules="{cycle: {profile: cycle, every: 1m}}")
    site.people(3)
    store = open_store(site.store_url, site.root)
    assert store.acquire_lock(RUN_LOCK, "idsync run elsewhere", 300)
    service = site.make_service()
    service.scheduler.retry_when_locked = 0.3
    service.start()
    try:
        time.sleep(1.0)
        assert _runs(site) == []
        (schedule,) = service.scheduler.snapshot()
        assert "holds this store" in schedule["waiting"]
        store.release_lock(RUN_LOCK, "idsync run elsewhere")
        deadline = time.monotonic() + 10
        while not _runs(site):
            assert time.monotonic() < deadline, "the schedule did not run once the store was free"
            time.sleep(0.1)
        assert service.wait_idle(30)
    finally:
        service.stop()
        store.close()
    assert [r.status for r in _runs(site)] == [RunStatus.SUCCESS]


def test_a_second_instance_waits_in_standby_and_takes_over(site: Site) -> None:
    site.configure(schedules="{}")
    site.people(3)
    first = site.make_service(heartbeat=0.2, standby_poll=0.2)
    second: Service | None = None
    first.start()
    try:
        second = site.make_service(heartbeat=0.2, standby_poll=0.2)
        second.start()
        assert first.role == "active" and second.role == "standby"
        with pytest.raises(ServiceUnavailable, match="standby"):
            second.start_run("full", origin="test")
        first.stop()
        deadline = time.monotonic() + 10
        while second.role != "active":
            assert time.monotonic() < deadline, "the standby instance did not take over"
            time.sleep(0.05)
        second.start_run("full", origin="test")
        assert second.wait_idle(30)
    finally:
        first.stop()
        if second is not None:
            second.stop()
    assert [r.status for r in _runs(site)] == [RunStatus.SUCCESS]


def test_a_run_failing_unexpectedly_is_recorded_as_such_and_waits_for_its_next_time(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: MemoryConnector) -> Iterator[ImportPage]:
        raise RuntimeError("a bug in the connector")

    monkeypatch.setattr(MemoryConnector, "full_import", broken)
    site.configure(schedules="{hr: {profile: hr-import, every: 2s}}")
    site.people(3)
    service = site.make_service()
    service.start()
    try:
        time.sleep(3)
        (schedule,) = service.scheduler.snapshot()
    finally:
        service.stop()
    runs = _runs(site)
    # once at start and once two seconds later: not back to back
    assert 1 <= len(runs) <= 3, [(r.id, r.status) for r in runs]
    for run in runs:
        assert run.status is RunStatus.STOPPED_SERVER
        (step,) = run.steps
        assert step.status is RunStatus.STOPPED_SERVER
        assert step.message == "stopped by an unexpected error: RuntimeError: a bug in the connector"
    assert schedule["last_status"] == "stopped-server"
    assert schedule["next_due"] == pytest.approx(schedule["last_started"] + 2)


def test_a_step_that_cannot_be_set_up_is_recorded_as_failed(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    site.configure()
    site.people(3)
    service = site.make_service()
    service.start()
    try:

        def unavailable(*args: object, **kw: object) -> None:
            raise OSError("the connector's library is missing")

        monkeypatch.setattr(service, "workspace", unavailable)
        run_id = service.start_run("hr-import", origin="test")
        assert service.wait_idle(30)
    finally:
        service.stop()
    (run,) = _runs(site)
    assert run.id == run_id and run.status is RunStatus.STOPPED_SERVER
    (step,) = run.steps
    assert step.connector == "hr" and step.message is not None and "library is missing" in step.message


def _berlin(site: Site, schedules: str) -> None:
    site.configure(schedules=schedules)
    config = site.root / "idsync.yaml"
    text = config.read_text(encoding="utf-8").replace("service:\n", "service:\n  timezone: Europe/Berlin\n", 1)
    config.write_text(text, encoding="utf-8")


def _loaded(site: Site) -> list[dict[str, object]]:
    """The schedules of /api/status once the scheduler has worked out their next times."""
    deadline = time.monotonic() + 10
    with site.client() as c:
        while True:
            schedules: list[dict[str, object]] = c.get("/api/status").json()["service"]["schedules"]
            if all(s["next_due"] is not None for s in schedules if s.get("enabled", True)):
                return schedules
            assert time.monotonic() < deadline, schedules
            time.sleep(0.05)


def test_next_runs_are_shown_in_the_schedules_zone_and_named(site: Site) -> None:
    from servicesite import TOKEN, served

    _berlin(site, "{nightly: {profile: full, cron: '0 2 * * *'}}")
    with served(site) as s:
        (nightly,) = _loaded(s)
        due = nightly["next_due"]
        assert isinstance(due, float)
        local = datetime.fromtimestamp(due, ZoneInfo("Europe/Berlin"))
        assert (local.hour, local.minute) == (2, 0)
        assert nightly["timezone"] == "Europe/Berlin"
        assert nightly["next_due_utc"] == datetime.fromtimestamp(due, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert nightly["next_due_local"] == local.isoformat()
        assert "Europe/Berlin" in str(nightly["when"])
        with httpx.Client(base_url=s.url) as browser:
            browser.post("/login", data={"token": TOKEN, "next": "/"})
            page = browser.get("/").text
        assert f"{local:%Y-%m-%d} 02:00:00 Europe/Berlin ({local.tzname()})" in page, page
        assert datetime.fromtimestamp(due, UTC).strftime("%H:%M:%SZ") not in page


def test_disabled_schedules_are_listed_as_disabled_and_never_fire(site: Site) -> None:
    from servicesite import TOKEN, served

    _berlin(
        site, "{nightly: {profile: full, cron: '0 2 * * *'}, paused: {profile: hr-import, every: 1m, enabled: false}}"
    )
    site.people(3)
    with served(site) as s:
        schedules = {str(x["name"]): x for x in _loaded(s)}
        assert set(schedules) == {"nightly", "paused"}
        paused = schedules["paused"]
        assert paused["enabled"] is False and paused["next_due"] is None and paused["profile"] == "hr-import"
        assert schedules["nightly"]["enabled"] is True
        with httpx.Client(base_url=s.url) as browser:
            browser.post("/login", data={"token": TOKEN, "next": "/"})
            page = browser.get("/").text
        row = page[page.index("<td>paused</td>") :].split("</tr>")[0]
        assert "disabled" in row, row
        time.sleep(1.5)  # a schedule every minute that never ran would have fired at once
        assert _runs(s) == []
        # switched off by a reload: still listed, as disabled
        config = s.root / "idsync.yaml"
        text = config.read_text(encoding="utf-8").replace("'0 2 * * *'}", "'0 2 * * *', enabled: false}")
        config.write_text(text, encoding="utf-8")
        with s.client() as c:
            assert c.post("/api/config/reload", json={}).status_code == 200
            listed = {x["name"]: x for x in c.get("/api/status").json()["service"]["schedules"]}
        assert listed["nightly"]["enabled"] is False and listed["nightly"]["next_due"] is None
        assert listed["paused"]["enabled"] is False
