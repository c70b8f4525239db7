"""Ctrl-C on ``idsync cycle``: the step ends after the page in progress commits, the run is recorded as
stopped-cancelled, the summary prints, and the next cycle converges. A second Ctrl-C aborts at once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from idsync.cli.quickstart import write_workspace
from idsync.store import CSFilter, Store, open_store

PEOPLE = 4000


Done = subprocess.CompletedProcess[str]


def idsync(*args: str) -> Done:
    return subprocess.run([sys.executable, "-m", "idsync", *args], capture_output=True, text=True, timeout=300)


def shown(done: Done) -> str:
    """What a failed assertion about a process prints: its exit code and everything it wrote."""
    return f"exit code {done.returncode}\n--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}"


def document(done: Done, code: int = 0) -> Any:
    """The JSON document ``done`` printed, after checking it exited with ``code``."""
    assert done.returncode == code, shown(done)
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        pytest.fail(f"no JSON document on stdout ({exc})\n{shown(done)}")


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


ACKNOWLEDGED = "Ctrl-C again"
"""What the first Ctrl-C prints once the process has taken it."""


def _interrupt_once_imported(root: Path, store: Store, times: int) -> Done:
    """Run a cycle; once its import has committed a page, press Ctrl-C ``times`` times, each after the previous one
    was acknowledged, as a person does. Two signals sent before the process runs its handler are one (a pending
    signal is a flag, not a count): on a busy machine a quick second press would be lost."""
    stderr = root / "cycle.stderr"
    with stderr.open("w", encoding="utf-8") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "idsync", "-C", str(root), "cycle", "--json"],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    deadline = time.monotonic() + 120
    while store.cs_count(CSFilter(connector="hr")) == 0 and process.poll() is None:
        assert time.monotonic() < deadline, "the import did not start"
        time.sleep(0.01)
    for press in range(times):
        if press:
            while ACKNOWLEDGED not in stderr.read_text(encoding="utf-8") and process.poll() is None:
                assert time.monotonic() < deadline, "the first Ctrl-C was not acknowledged"
                time.sleep(0.01)
        if process.poll() is not None:
            break
        process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, out, stderr.read_text(encoding="utf-8"))


def test_ctrl_c_stops_the_import_after_a_committed_page_and_the_next_cycle_converges(workspace: Path) -> None:
    store = open_store("sqlite", workspace)  # created before the run, which then finds it migrated
    try:
        stopped = _interrupt_once_imported(workspace, store, 1)
        run = document(stopped, 2)  # a stopped run
        assert run["status"] == "stopped-cancelled", shown(stopped)
        # the import stopped; no later step (sync, export) started
        assert [(s["connector"], s["step"], s["status"]) for s in run["steps"]] == [
            ("hr", "full-import", "stopped-cancelled")
        ], shown(stopped)
        imported = run["steps"][0]["adds"]
        assert 0 < imported < PEOPLE, shown(stopped)
        assert "Ctrl-C" in run["steps"][0]["message"] and ACKNOWLEDGED in stopped.stderr, shown(stopped)
        # every page counted was committed, and nothing else
        assert store.cs_count(CSFilter(connector="hr")) == imported, shown(stopped)
    finally:
        store.close()
    listed = idsync("-C", str(workspace), "history", "--json")
    history = document(listed)
    assert history[0]["run_id"] == run["run_id"] and history[0]["status"] == "stopped-cancelled", shown(listed)

    done = idsync("-C", str(workspace), "cycle", "--json")
    steps = {(s["connector"], s["step"]): s for s in document(done)["steps"]}
    assert steps[("hr", "full-import")]["adds"] == PEOPLE - imported, shown(done)
    assert steps[("hr", "delta-sync")]["adds"] == PEOPLE, shown(done)  # every person projected once
    again = idsync("-C", str(workspace), "cycle", "--json")
    second = document(again)
    assert second["status"] == "success", shown(again)
    assert all(s["adds"] == s["updates"] == s["deletes"] == 0 for s in second["steps"] if s["step"] == "export"), shown(
        again
    )


def test_a_second_ctrl_c_aborts_at_once_and_the_run_is_recorded_cancelled(tmp_path: Path) -> None:
    for attempt in range(3):
        root = _workspace(tmp_path / f"ws{attempt}", PEOPLE // 2)
        store = open_store("sqlite", root)
        try:
            aborted = _interrupt_once_imported(root, store, 2)
        finally:
            store.close()
        if aborted.returncode != 2:
            break
        # the first Ctrl-C was taken as a page committed, and the run stopped there at once: no page was left in
        # progress for the second one to abort (a graceful stop, as the first test shows); try again
        assert document(aborted, 2)["status"] == "stopped-cancelled", shown(aborted)
    assert aborted.returncode == 130 and aborted.stdout == "" and "aborted" in aborted.stderr, shown(aborted)
    listed = idsync("-C", str(root), "history", "--json")
    assert document(listed)[0]["status"] == "stopped-cancelled", shown(listed)
    done = idsync("-C", str(root), "cycle", "--json")
    synced = {s["connector"]: s["adds"] for s in document(done)["steps"] if s["step"] == "delta-sync"}
    assert synced["hr"] == PEOPLE, shown(done)


def test_a_ctrl_c_after_the_run_returned_leaves_its_summary_and_exit_code_alone() -> None:
    """A second press that comes once the run has ended (the first was taken as a page committed, and the run
    stopped there) has nothing left to abort: the summary printed, stopped-cancelled and exit code 2, stands. It
    must not turn into "aborted" and exit code 130 after the document that says otherwise."""
    from idsync.cli.run import CtrlC

    before = signal.getsignal(signal.SIGINT)
    with CtrlC() as ctrl_c:
        signal.raise_signal(signal.SIGINT)
        assert ctrl_c() == CtrlC.REASON  # the first press: a stop request, no exception
        ctrl_c.run_returned()
        signal.raise_signal(signal.SIGINT)  # raised KeyboardInterrupt here, in the middle of the summary
        assert ctrl_c() == CtrlC.REASON
    assert signal.getsignal(signal.SIGINT) is before
