"""Live progress of running steps, and the graceful stop that rides on the same seam.

The engine calls a step's progress callback after each page it has committed (import page, sync page, export
batch), then asks the run's stop request (``RunOptions.stop``). That is exactly where a step may stop without losing
anything: once the service is stopping, ``stop_request`` gives the reason and the engine ends the step as
``stopped-cancelled``; the page just committed stays, the next run goes on from there. ``idsync run`` does the same
on Ctrl-C.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from idsync.engine.run_profiles import StopRequest
from idsync.model import StepResult
from idsync.service.logs import log
from idsync.service.metrics import Metrics

STOP_MESSAGE = (
    "idsync serve was asked to stop: the step stopped after its last committed page; the next run goes on from there"
)
SAMPLES = 120


@dataclass
class LiveStep:
    run_id: int
    step_id: int
    connector: str
    kind: str
    started: float
    total: int | None = None
    done: int = 0
    samples: list[tuple[float, int]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        elapsed = max(time.time() - self.started, 1e-6)
        return {
            "run_id": self.run_id,
            "step_id": self.step_id,
            "connector": self.connector,
            "step": self.kind,
            "started": self.started,
            "total": self.total,
            "done": self.done,
            "percent": round(100.0 * self.done / self.total, 1) if self.total else None,
            "per_second": round(self.done / elapsed, 1),
            "samples": list(self.samples),
        }


class LiveBoard:
    """What runs right now, for the dashboard and ``/api/progress`` (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._steps: dict[int, LiveStep] = {}
        self._runs: dict[int, dict[str, Any]] = {}

    def run_started(self, run_id: int, profile: str, origin: str, started: float) -> None:
        with self._lock:
            self._runs[run_id] = {"run_id": run_id, "profile": profile, "origin": origin, "started": started}

    def run_finished(self, run_id: int) -> None:
        with self._lock:
            self._runs.pop(run_id, None)

    def step_started(self, step: StepResult, total: int | None) -> LiveStep:
        live = LiveStep(step.run_id, step.id, step.connector, step.kind.value, step.started or time.time(), total)
        with self._lock:
            self._steps[step.id] = live
        return live

    def advance(self, live: LiveStep, n: int) -> None:
        with self._lock:
            live.done += n
            live.samples.append((round(time.time() - live.started, 2), live.done))
            if len(live.samples) > SAMPLES:
                del live.samples[: len(live.samples) - SAMPLES]

    def step_finished(self, step_id: int) -> None:
        with self._lock:
            self._steps.pop(step_id, None)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            runs = [dict(r) for r in self._runs.values()]
            steps = [s.to_json() for s in self._steps.values()]
        for run in runs:
            run["steps"] = [s for s in steps if s["run_id"] == run["run_id"]]
        return {"runs": sorted(runs, key=lambda r: r["run_id"])}

    def running_connectors(self) -> list[str]:
        with self._lock:
            return [s.connector for s in self._steps.values()]


def stop_request(stopping: Callable[[], bool]) -> StopRequest:
    """The engine's stop request while the service runs: the reason, once it is stopping."""
    return lambda: STOP_MESSAGE if stopping() else None


class StepProgress:
    """The engine's ProgressSink for one step run by the service."""

    def __init__(self, board: LiveBoard, metrics: Metrics | None) -> None:
        self.board = board
        self.metrics = metrics
        self.live: LiveStep | None = None

    def start(self, step: StepResult, total: int | None) -> Callable[[int], None]:
        live = self.live = self.board.step_started(step, total)
        if self.metrics is not None:
            self.metrics.running.inc()
        return lambda n: self.board.advance(live, n)

    def finish(self, step: StepResult) -> None:
        if self.live is not None:
            self.board.step_finished(step.id)
            if self.metrics is not None:
                self.metrics.running.dec()
        if self.metrics is not None:
            self.metrics.step_finished(step)
        level = 20 if not step.status.is_stopped else 30
        log.log(
            level,
            f"step {step.kind.value} of {step.connector}: {step.status.value}",
            extra={
                "step_id": step.id,
                "data": {
                    ("detail" if k == "message" else k): v
                    for k, v in step.summary().items()
                    if k not in ("connector", "step")
                },
            },
        )
