"""Crash trials: a real ``idsync`` process killed with SIGKILL at random moments of a cycle, then cycles run again
until nothing is left pending. The tests compare what the target then holds with an uninterrupted run's."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

CHANGES = ("adds", "updates", "deletes", "renames")


def _argv(workspace: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "idsync", "-C", str(workspace), *args]


def _environ(extra: Mapping[str, str] | None) -> dict[str, str] | None:
    return None if extra is None else {**os.environ, **extra}


def kill_cycles(
    workspace: Path,
    rnd: random.Random,
    *,
    kills: tuple[int, int] = (1, 3),
    delay: tuple[float, float] = (0.3, 2.5),
    progress: Callable[[], int] | None = None,
    writes: tuple[int, int] = (1, 200),
    env: Mapping[str, str] | None = None,
) -> int:
    """Start ``idsync cycle`` a random number of times in ``kills`` and SIGKILL each, if it is still running, after
    a random delay in ``delay`` seconds or, given ``progress`` (a count of the objects the target holds), once the
    target has a random number in ``writes`` more objects than when the cycle started: in the middle of an export.
    Returns how many were killed."""
    killed = 0
    for _ in range(rnd.randint(*kills)):
        goal = 0 if progress is None else progress() + rnd.randint(*writes)
        proc = subprocess.Popen(
            _argv(workspace, "cycle"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_environ(env)
        )
        if progress is None:
            time.sleep(rnd.uniform(*delay))
        else:
            deadline = time.monotonic() + 120
            while proc.poll() is None and progress() < goal and time.monotonic() < deadline:
                time.sleep(0.01)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(timeout=60)
    return killed


def converge(workspace: Path, *, env: Mapping[str, str] | None = None, cycles: int = 4) -> None:
    """Run cycles until one exports nothing and leaves nothing pending, at most ``cycles``; each must succeed."""
    status: dict[str, Any] = {}
    for _ in range(cycles):
        done = subprocess.run(_argv(workspace, "cycle", "--json"), capture_output=True, timeout=300, env=_environ(env))
        assert done.returncode == 0, done.stderr.decode() + done.stdout.decode()[-3000:]
        exports = [s for s in json.loads(done.stdout)["steps"] if s["step"] == "export"]
        shown = subprocess.run(_argv(workspace, "status", "--json"), capture_output=True, check=True, env=_environ(env))
        status = json.loads(shown.stdout)
        pending = [c for c in status["connectors"] if c["pending_imports"] or c["pending_exports"]]
        if not pending and not any(s[k] for s in exports for k in CHANGES):
            return
    raise AssertionError(f"no convergence after {cycles} cycles: {status}")
