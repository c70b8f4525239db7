"""Run history: runs, steps, counters and per-object error rows."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class StepKind(enum.StrEnum):
    FULL_IMPORT = "full-import"
    DELTA_IMPORT = "delta-import"
    FULL_SYNC = "full-sync"
    DELTA_SYNC = "delta-sync"
    EXPORT = "export"
    CONFIRMING_IMPORT = "confirming-import"

    @property
    def is_import(self) -> bool:
        return self in (StepKind.FULL_IMPORT, StepKind.DELTA_IMPORT, StepKind.CONFIRMING_IMPORT)

    @property
    def is_sync(self) -> bool:
        return self in (StepKind.FULL_SYNC, StepKind.DELTA_SYNC)


class RunStatus(enum.StrEnum):
    """MIM's run status words."""

    IN_PROGRESS = "in-progress"
    SUCCESS = "success"
    COMPLETED_ERRORS = "completed-errors"
    STOPPED_DELETION_THRESHOLD = "stopped-deletion-threshold"
    STOPPED_ERROR_LIMIT = "stopped-error-limit"
    STOPPED_CONNECTIVITY = "stopped-connectivity"
    STOPPED_CONFIG = "stopped-config"
    STOPPED_CANCELLED = "stopped-cancelled"
    STOPPED_SERVER = "stopped-server"
    """An unexpected error (a bug in idsync or in a connector, not a failure it knows how to report): the step's
    message names the exception. Not a cancel: nobody asked the run to stop."""

    @property
    def is_stopped(self) -> bool:
        return self.value.startswith("stopped-")

    @property
    def exit_code(self) -> int:
        """The command-line contract: 0 success, 1 completed with errors, 2 stopped, 3 stopped by the configuration
        (as an invalid configuration is: the operator has to change it before a new run can do better)."""
        if self is RunStatus.SUCCESS:
            return 0
        if self is RunStatus.COMPLETED_ERRORS:
            return 1
        if self is RunStatus.STOPPED_CONFIG:
            return 3
        return 2

    @staticmethod
    def worst(statuses: list[RunStatus]) -> RunStatus:
        order = [
            RunStatus.SUCCESS,
            RunStatus.COMPLETED_ERRORS,
            RunStatus.STOPPED_ERROR_LIMIT,
            RunStatus.STOPPED_DELETION_THRESHOLD,
            RunStatus.STOPPED_CONNECTIVITY,
            RunStatus.STOPPED_CANCELLED,
            RunStatus.STOPPED_SERVER,
            RunStatus.STOPPED_CONFIG,
        ]
        worst = RunStatus.SUCCESS
        for s in statuses:
            if s in order and order.index(s) > order.index(worst):
                worst = s
        return worst


COUNTERS = ("adds", "updates", "deletes", "renames", "unchanged", "errors")
SYNC_COUNTERS = ("projections", "joins", "disconnections", "provisioned", "deprovisioned", "mv_deletes")


@dataclass(slots=True)
class StepCounters:
    adds: int = 0
    updates: int = 0
    deletes: int = 0
    renames: int = 0
    unchanged: int = 0
    errors: int = 0
    projections: int = 0
    joins: int = 0
    disconnections: int = 0
    provisioned: int = 0
    deprovisioned: int = 0
    mv_deletes: int = 0
    confirmed: int = 0
    """Imports: objects whose only change was the arrival of values idsync exported (export confirmation)."""
    exported_pending: int = 0
    """Export steps: pending exports left after the step (staging mode, deletion threshold, failures)."""

    def to_json(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(slots=True)
class StepResult:
    id: int
    run_id: int
    index: int
    connector: str
    kind: StepKind
    status: RunStatus = RunStatus.IN_PROGRESS
    counters: StepCounters = field(default_factory=StepCounters)
    started: float = 0.0
    ended: float | None = None
    message: str | None = None

    @property
    def seconds(self) -> float:
        return round((self.ended or self.started) - self.started, 3)

    def summary(self) -> dict[str, Any]:
        c = self.counters
        out: dict[str, Any] = {
            "connector": self.connector,
            "step": self.kind.value,
            "status": self.status.value,
            "adds": c.adds,
            "updates": c.updates,
            "deletes": c.deletes,
            "renames": c.renames,
            "unchanged": c.unchanged,
            "errors": c.errors,
            "seconds": self.seconds,
        }
        if self.kind.is_sync:
            for name in SYNC_COUNTERS:
                out[name] = getattr(c, name)
        if self.message:
            out["message"] = self.message
        return out


@dataclass(slots=True)
class RunResult:
    id: int
    profile: str
    status: RunStatus = RunStatus.IN_PROGRESS
    started: float = 0.0
    ended: float | None = None
    staging: bool = False
    steps: list[StepResult] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "run_id": self.id,
            "profile": self.profile,
            "status": self.status.value,
            "staging": self.staging,
            "started": self.started,
            "ended": self.ended,
            "steps": [s.summary() for s in self.steps],
        }


@dataclass(slots=True)
class ErrorRow:
    """One object's failure in one step: it names the object, the attribute and the reason."""

    step_id: int
    connector: str
    reason: str
    identifier: str | None = None
    cs_id: int | None = None
    mv_id: int | None = None
    attribute: str | None = None
    code: str = "error"
    detail: str | None = None
    id: int | None = None
    run_id: int | None = None

    def describe(self) -> str:
        who = self.identifier or (f"cs#{self.cs_id}" if self.cs_id else f"mv#{self.mv_id}")
        attr = f" attribute {self.attribute}:" if self.attribute else ""
        return f"{self.connector} {who}:{attr} {self.reason}"
