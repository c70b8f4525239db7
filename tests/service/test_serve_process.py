"""``idsync serve`` as a real process on the quickstart workspace: a fast schedule runs again and again without
overlap, SIGTERM stops it after a committed page, a restart catches up, and a second instance waits in standby."""

from __future__ import annotations

import csv
import itertools
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from servicesite import IDSYNC_BIN, TOKEN, free_port

from idsync.cli.quickstart import write_workspace
from idsync.engine.run_profiles import RUN_LOCK
from idsync.engine.sync import PAGE as SYNC_PAGE
from idsync.model import RunStatus
from idsync.service.runtime import SERVICE_LOCK
from idsync.store import open_store

PEOPLE = 10000


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = write_workspace(tmp_path / "ws", people=PEOPLE, target="csv")
    (root / "token.txt").write_text(TOKEN, encoding="utf-8")
    with (root / "idsync.yaml").open("a", encoding="utf-8") as f:
        f.write(
            "\nservice:\n  token: ${file:token.txt}\n  allow_short_intervals: true\n"
            "  schedules:\n    cycle: {profile: cycle, every: 2s}\n"
        )
    return root


class Serve:
    def __init__(self, root: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._log_file = log.open("wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("IDSYNC_")}
        self.process = subprocess.Popen(
            [IDSYNC_BIN, "-C", str(root), "serve", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=self._log_file,
            env=env,
        )
        self.client = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        deadline = time.monotonic() + 30
        while True:
            assert self.process.poll() is None, log.read_text()
            try:
                if self.client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "idsync serve did not come up"
            time.sleep(0.1)

    def role(self) -> str:
        role: str = self.client.get("/healthz").json()["role"]
        return role

    def terminate(self, timeout: float = 60) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        finally:
            self.client.close()
            self._log_file.close()
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.client.close()
        self._log_file.close()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines() if line.strip()]


@contextmanager
def serving(root: Path, log: Path) -> Iterator[Serve]:
    serve = Serve(root, log)
    try:
        yield serve
    finally:
        serve.kill()


def _wait(what: str, check: Any, timeout: float = 60, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


def _running_sync(serve: Serve) -> dict[str, Any] | None:
    for run in serve.client.get("/api/progress").json()["runs"]:
        for step in run["steps"]:
            total = step["total"] or 0
            if (
                step["step"] == "delta-sync"
                and step["connector"] == "hr"
                and SYNC_PAGE <= step["done"] <= total - 2 * SYNC_PAGE
            ):
                return dict(step)
    return None


def _finished_runs(serve: Serve) -> list[dict[str, Any]]:
    return [
        r for r in serve.client.get("/api/runs", params={"limit": 100}).json()["runs"] if r["status"] != "in-progress"
    ]


def test_serve_runs_on_schedule_stops_on_sigterm_and_catches_up(workspace: Path, tmp_path: Path) -> None:
    with serving(workspace, tmp_path / "first.log") as first:
        step = _wait("the first sync to be well under way", lambda: _running_sync(first))
        assert first.terminate() == 0
    store = open_store("sqlite", workspace)
    try:
        (cut,) = store.runs(10)
        assert cut.id == step["run_id"] and cut.status is RunStatus.STOPPED_CANCELLED
        sync = next(s for s in cut.steps if s.kind.value == "delta-sync")
        assert sync.status is RunStatus.STOPPED_CANCELLED
        projected = store.mv_count("person")
        assert SYNC_PAGE <= projected < PEOPLE and projected % SYNC_PAGE == 0, projected
        assert sync.counters.projections == projected
        assert store.acquire_lock(RUN_LOCK, "probe", 1) and store.acquire_lock(SERVICE_LOCK, "probe", 1)
        store.release_lock(RUN_LOCK, "probe")
        store.release_lock(SERVICE_LOCK, "probe")
    finally:
        store.close()
    lines = first.lines()
    assert any(line["message"].startswith("stopping") for line in lines)
    assert any(line.get("run_id") == cut.id and line.get("step") == "delta-sync" for line in lines)

    with serving(workspace, tmp_path / "second.log") as second:
        # the cut-short run does not count as done: the schedule catches up at once, then goes on every 2 s
        runs = _wait("three more finished runs", lambda: len(_finished_runs(second)) >= 4 and _finished_runs(second))
        with serving(workspace, tmp_path / "standby.log") as standby:
            assert standby.role() == "standby"
            refused = standby.client.post("/api/runs", json={"profile": "cycle"})
            assert refused.status_code == 503 and "standby" in refused.json()["error"]["message"]
            assert second.terminate() == 0
            _wait("the standby instance to take over", lambda: standby.role() == "active", timeout=30, every=0.2)
            _wait("a run by the new active instance", lambda: len(_finished_runs(standby)) > len(runs), timeout=30)
            assert standby.terminate() == 0
    store = open_store("sqlite", workspace)
    try:
        all_runs = store.runs(1000)
        later = [r for r in all_runs if r.id != cut.id]
        # a terminate may land while a scheduled run is going: that run is cut short, every other one succeeds
        statuses = [(r.id, r.status) for r in later]
        assert all(r.status in (RunStatus.SUCCESS, RunStatus.STOPPED_CANCELLED) for r in later), statuses
        assert sum(r.status is RunStatus.STOPPED_CANCELLED for r in later) <= 2, statuses
        assert sum(r.status is RunStatus.SUCCESS for r in later) >= 4, statuses
        assert store.mv_count("person") == PEOPLE
        spans: dict[str, list[tuple[float, float]]] = {}
        for run in all_runs:
            for s in run.steps:
                assert s.ended is not None
                spans.setdefault(s.connector, []).append((s.started, s.ended))
        for connector, found in spans.items():
            found.sort()
            for a, b in itertools.pairwise(found):
                assert a[1] <= b[0], f"steps on {connector} overlapped"
    finally:
        store.close()
    with (workspace / "data" / "hr.csv").open(encoding="utf-8") as f:
        active = sum(1 for row in csv.DictReader(f) if row["status"] == "active")
    with (workspace / "data" / "directory.csv").open(encoding="utf-8") as f:
        assert sum(1 for _ in csv.DictReader(f)) == active


def test_sighup_reloads_the_configuration(workspace: Path, tmp_path: Path) -> None:
    config = workspace / "idsync.yaml"
    with serving(workspace, tmp_path / "hup.log") as serve:
        assert serve.client.get("/api/status").json()["service"]["config"]["generation"] == 1
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace("profiles:\n", "profiles:\n  hr-only: [{hr: delta-import}]\n"), encoding="utf-8")
        serve.process.send_signal(signal.SIGHUP)
        _wait(
            "the reload",
            lambda: serve.client.get("/api/status").json()["service"]["config"]["generation"] == 2,
            timeout=30,
            every=0.1,
        )
        started = serve.client.post("/api/runs", json={"profile": "hr-only"})
        assert started.status_code == 202, started.text
        # a broken file: logged with its position, and the service keeps running on the last good configuration
        config.write_text(text.replace("profiles:\n", "profiles:\n  hr-only: [{hr: nope}]\n"), encoding="utf-8")
        serve.process.send_signal(signal.SIGHUP)
        _wait("the failed reload to be logged", lambda: "not reloaded" in serve.log.read_text(encoding="utf-8"))
        assert serve.client.get("/api/status").json()["service"]["config"]["generation"] == 2
        assert serve.terminate() == 0
    failed = [line for line in serve.lines() if "not reloaded" in line["message"]]
    assert failed and re.search(r"idsync\.yaml:\d+:\d+", failed[0]["message"])
