"""The run lock: one run at a time per store; a holder killed on this host is taken over, a live one refuses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from lab import HR_TO_DIR, Lab, ok, person

from idsync.engine.run_profiles import RUN_LOCK, RunLocked, lock_holder_dead


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_lock_holder_dead_only_for_a_gone_process_of_this_host() -> None:
    host = socket.gethostname()
    assert lock_holder_dead(f"{host}:{_dead_pid()}:1")
    assert not lock_holder_dead(f"{host}:{os.getpid()}:1")
    # another host's process cannot be seen from here: never taken for dead
    assert not lock_holder_dead(f"not-{host}:{_dead_pid()}:1")
    assert not lock_holder_dead("something else")


@pytest.mark.parametrize("alive", [True, False])
def test_a_run_takes_over_a_dead_holder_and_refuses_a_live_one(lab: Lab, alive: bool) -> None:
    lab.directory("dir")
    person(lab.directory("hr"), "1", "Ann", "Lee")
    lab.configure(HR_TO_DIR)
    holder = f"{socket.gethostname()}:{os.getpid() if alive else _dead_pid()}:7"
    with lab.open() as ws:
        assert ws.store.acquire_lock(RUN_LOCK, holder, 3600)
    if alive:
        with pytest.raises(RunLocked, match=holder):
            lab.cycle()
        assert lab.mv_objects() == []
    else:
        ok(lab.cycle())
        assert len(lab.mv_objects()) == 1
        with lab.open() as ws:
            assert ws.store.lock_holder(RUN_LOCK) is None
