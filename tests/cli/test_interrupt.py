"""Ctrl-C on ``idsync cycle``: the step ends after the page in progress commits, the run is recorded as
stopped-cancelled, the summary prints, and the next cycle converges. A second Ctrl-C aborts at once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from idsync.cli.quickstart import write_workspace
from idsync.store import CSFilter, Store, open_store

PEOPLE = 4000


def idsync(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "idsync", *args], capture_output=True, text=True, timeout=300)


def _workspace(root: Path, page_size: int) -> Path:
    """The CSV demo, its HR file read ``page_size`` rows per page, each page committed on its own."""
    write_workspace(root, people=PEOPLE, target="csv")
    config = root / "idsync.yaml"
    text = config.read_text(encoding="utf-8")
    paged = text.replace("    path: data/hr.csv\n", f"    path: data/hr.csv\n    page_size: {page_size}\n")
    config.write_text(paged, "utf-8")
    return root


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An import of many short pages: Ctrl-C lands in the middle of it."""
    return _workspace(tmp_path / "ws", 1)


@pytest.fixture
def two_pages(tmp_path: Path) -> Path:
    """An import of two long pages: a second Ctrl-C lands before the page the first one waits for commits."""
    return _workspace(tmp_path / "ws", PEOPLE // 2)


def _interrupt_once_imported(root: Path, store: Store, times: int) -> subprocess.Popen[str]:
    """Start a cycle; once its import has committed a page, press Ctrl-C ``times`` times."""
    process = subprocess.Popen(
        [sys.executable, "-m", "idsync", "-C", str(root), "cycle", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while store.cs_count(CSFilter(connector="hr")) == 0:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the import did not start"
        time.sleep(0.01)
    for _ in range(times):
        process.send_signal(signal.SIGINT)
        time.sleep(0.02)
    return process


def test_ctrl_c_stops_the_import_after_a_committed_page_and_the_next_cycle_converges(workspace: Path) -> None:
    store = open_store("sqlite", workspace)  # created before the run, which then finds it migrated
    try:
        process = _interrupt_once_imported(workspace, store, 1)
        out, err = process.communicate(timeout=120)
        assert process.returncode == 2, err  # a stopped run
        run = json.loads(out)
        assert run["status"] == "stopped-cancelled"
        # the import stopped; no later step (sync, export) started
        assert [(s["connector"], s["step"], s["status"]) for s in run["steps"]] == [
            ("hr", "full-import", "stopped-cancelled")
        ]
        imported = run["steps"][0]["adds"]
        assert 0 < imported < PEOPLE
        assert "Ctrl-C" in run["steps"][0]["message"] and "Ctrl-C again" in err
        # every page counted was committed, and nothing else
        assert store.cs_count(CSFilter(connector="hr")) == imported
    finally:
        store.close()
    history = json.loads(idsync("-C", str(workspace), "history", "--json").stdout)
    assert history[0]["run_id"] == run["run_id"] and history[0]["status"] == "stopped-cancelled"

    done = idsync("-C", str(workspace), "cycle", "--json")
    assert done.returncode == 0, done.stderr
    steps = {(s["connector"], s["step"]): s for s in json.loads(done.stdout)["steps"]}
    assert steps[("hr", "full-import")]["adds"] == PEOPLE - imported
    assert steps[("hr", "delta-sync")]["adds"] == PEOPLE  # every person projected once
    again = json.loads(idsync("-C", str(workspace), "cycle", "--json").stdout)
    assert again["status"] == "success"
    assert all(s["adds"] == s["updates"] == s["deletes"] == 0 for s in again["steps"] if s["step"] == "export")


def test_a_second_ctrl_c_aborts_at_once_and_the_run_is_recorded_cancelled(two_pages: Path) -> None:
    store = open_store("sqlite", two_pages)
    try:
        process = _interrupt_once_imported(two_pages, store, 2)
        out, err = process.communicate(timeout=120)
    finally:
        store.close()
    assert process.returncode == 130 and out == "" and "aborted" in err, err
    history = json.loads(idsync("-C", str(two_pages), "history", "--json").stdout)
    assert history[0]["status"] == "stopped-cancelled"
    done = idsync("-C", str(two_pages), "cycle", "--json")
    assert done.returncode == 0, done.stderr
    assert {s["connector"]: s["adds"] for s in json.loads(done.stdout)["steps"] if s["step"] == "delta-sync"}[
        "hr"
    ] == PEOPLE
