"""One run executed by the service: its steps in profile order wherever they overlap, in parallel where not.

A step waits for every earlier step of the same run whose footprint it shares (so a sync sees the imports before
it, and an export the sync before it), then for the resource locks against other runs. Within those rules steps on
independent connectors run at once, each in its own thread with its own store connection and connector instances.
As in ``Runner.run_steps``: exports left in flight by an interrupted run are reconciled first, and a step that stops
stops the rest of its connector's steps in this run while the other connectors go on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from idsync.config import SecretResolver
from idsync.engine.reconciliation import in_flight_ids
from idsync.engine.run_profiles import Runner, RunOptions
from idsync.engine.workspace import connector_secret_values
from idsync.model import RunResult, RunStatus, StepKind, StepResult
from idsync.model.redaction import scrub
from idsync.service.logs import log, log_context
from idsync.service.progress import StepProgress, stop_request
from idsync.service.resources import connector_space, step_resources

if TYPE_CHECKING:
    from idsync.service.runtime import Service

OBJECT_ERRORS_LOGGED = 50


@dataclass
class StepPlan:
    position: int
    connector: str
    kind: StepKind
    resources: frozenset[str]
    done: threading.Event = field(default_factory=threading.Event)
    result: StepResult | None = None


class RunExecution:
    def __init__(
        self,
        service: Service,
        run: RunResult,
        steps: list[tuple[str, StepKind]],
        origin: str,
        on_finish: Callable[[RunExecution], None] | None = None,
    ) -> None:
        self.service = service
        self.run = run
        self.origin = origin
        self.on_finish = on_finish
        self.generation = service.generation
        """The configuration this run started with: it keeps it to the end, whatever a reload brings."""
        config = self.generation.config
        self.plans = [StepPlan(i, c, k, step_resources(config, c, k)) for i, (c, k) in enumerate(steps)]
        self.stopped: set[str] = set()
        self.now = datetime.now(UTC)
        self._lock = threading.Lock()
        self._next_index = 0
        self._thread = threading.Thread(target=self._main, name=f"run-{run.id}", daemon=True)
        self.finished = threading.Event()

    @property
    def run_id(self) -> int:
        return self.run.id

    def start(self) -> None:
        self.service.board.run_started(self.run.id, self.run.profile, self.origin, self.run.started)
        self._thread.start()

    def join(self, timeout: float | None = None) -> bool:
        return self.finished.wait(timeout)

    # --------------------------------------------------------------------------------------------------------------
    def _main(self) -> None:
        with log_context(run_id=self.run.id, profile=self.run.profile):
            try:
                log.info(f"run {self.run.id} ({self.run.profile}) started by {self.origin}")
                self._reconcile()
                threads = [
                    threading.Thread(target=self._plan_thread, args=(p,), name=f"run-{self.run.id}-step-{p.position}")
                    for p in self.plans
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                self._finish()
            except Exception:
                log.exception(f"run {self.run.id} failed unexpectedly")
                self._finish(RunStatus.STOPPED_SERVER)
            finally:
                self.service.board.run_finished(self.run.id)
                try:
                    if self.on_finish is not None:
                        self.on_finish(self)
                finally:
                    self.finished.set()

    def _shell(self) -> RunResult:
        """The engine numbers a step by the length of ``run.steps``; parallel steps each get a stand-in run whose
        list is as long as the index reserved for them."""
        with self._lock:
            index = self._next_index
            self._next_index += 1
        placeholder = StepResult(0, self.run.id, 0, "", StepKind.FULL_IMPORT)
        return RunResult(self.run.id, self.run.profile, staging=self.run.staging, steps=[placeholder] * index)

    def _record(self, step: StepResult) -> None:
        with self._lock:
            self.run.steps.append(step)
            self.run.steps.sort(key=lambda s: s.index)

    def _reconcile(self) -> None:
        connectors = list(dict.fromkeys(p.connector for p in self.plans))
        store = self.service.store()
        waiting = [c for c in connectors if in_flight_ids(store, c)]
        for connector in waiting:
            resources = frozenset({connector_space(connector)})
            if not self.service.locks.acquire(resources, f"run {self.run.id}", self.service.stopping.is_set):
                return
            try:
                with self.service.workspace(self.generation) as ws:
                    shell = self._shell()
                    Runner(ws).reconcile(shell, connector, self.stopped)
                    self._record(shell.steps[-1])
            finally:
                self.service.locks.release(resources)

    def _plan_thread(self, plan: StepPlan) -> None:
        # a new thread starts with an empty context: the run's ids are set again
        with log_context(run_id=self.run.id, profile=self.run.profile, connector=plan.connector, step=plan.kind.value):
            try:
                for earlier in self.plans[: plan.position]:
                    if earlier.resources & plan.resources:
                        earlier.done.wait()
                if plan.connector in self.stopped or self.service.stopping.is_set():
                    return
                holder = f"run {self.run.id} step {plan.position}"
                if not self.service.locks.acquire(plan.resources, holder, self.service.stopping.is_set):
                    return
                try:
                    plan.result = self._execute(plan)
                finally:
                    self.service.locks.release(plan.resources)
                if plan.result is not None and plan.result.status.is_stopped:
                    with self._lock:
                        self.stopped.add(plan.connector)
            except Exception as exc:
                log.exception(f"step {plan.kind.value} of {plan.connector} failed unexpectedly")
                with self._lock:
                    self.stopped.add(plan.connector)
                if plan.result is None:
                    plan.result = self._record_failure(plan, exc)
            finally:
                plan.done.set()

    def _record_failure(self, plan: StepPlan, exc: Exception) -> StepResult | None:
        """A step that failed before the engine recorded it (its workspace or connector could not be set up):
        recorded as ``stopped-server`` with the exception, so the run does not look successful."""
        try:
            store = self.service.store()
            step = store.step_start(self._shell(), plan.connector, plan.kind)
            block = self.generation.config.connectors.get(plan.connector)
            self._fail(step, exc, connector_secret_values(SecretResolver(self.service.root), block))
            store.step_save(step)
            self._record(step)
            return step
        except Exception:
            log.exception(f"cannot record the failure of step {plan.kind.value} of {plan.connector}")
            return None

    @staticmethod
    def _fail(step: StepResult, exc: Exception, secrets: tuple[str, ...]) -> None:
        step.status = RunStatus.STOPPED_SERVER
        step.message = scrub(f"stopped by an unexpected error: {type(exc).__name__}: {exc}", secrets)
        step.ended = time.time()

    def _execute(self, plan: StepPlan) -> StepResult:
        service = self.service
        with service.workspace(self.generation) as ws:
            progress = StepProgress(service.board, service.metrics)
            options = RunOptions(staging=self.run.staging, stop=stop_request(service.stopping.is_set))
            runner = Runner(ws, options, progress)
            shell = self._shell()
            try:
                step = runner.execute(shell, plan.connector, plan.kind, self.now)
            except Exception as exc:
                if not shell.steps or not shell.steps[-1].id:
                    raise
                step = shell.steps[-1]
                self._fail(step, exc, ws.secret_values(plan.connector))
                ws.store.step_save(step)
                log.exception(f"step {plan.kind.value} of {plan.connector} failed unexpectedly")
            self._record(step)
            if step.counters.errors:
                self._log_object_errors(ws.store, step)
            return step

    @staticmethod
    def _log_object_errors(store: object, step: StepResult) -> None:
        reader = getattr(store, "errors", None)
        if reader is None:
            return
        rows = reader(step_id=step.id, limit=OBJECT_ERRORS_LOGGED)
        for e in rows:
            log.warning(
                f"{e.connector} {e.identifier or ''}: {e.attribute + ': ' if e.attribute else ''}{e.reason}",
                extra={
                    "step_id": step.id,
                    "cs_id": e.cs_id,
                    "mv_id": e.mv_id,
                    "identifier": e.identifier,
                    "code": e.code,
                },
            )
        if step.counters.errors > len(rows):
            log.warning(
                f"{step.counters.errors - len(rows)} more object errors in this step: "
                f"idsync history {step.run_id} --errors",
                extra={"step_id": step.id},
            )

    def _finish(self, forced: RunStatus | None = None) -> None:
        run = self.run
        statuses = [s.status for s in run.steps]
        skipped = any(p.result is None and p.connector not in self.stopped for p in self.plans)
        if forced is not None:
            run.status = forced
        elif skipped and self.service.stopping.is_set():
            run.status = RunStatus.STOPPED_CANCELLED
        else:
            run.status = RunStatus.worst(statuses) if statuses else RunStatus.SUCCESS
        run.ended = time.time()
        self.service.store().run_finish(run)
        if self.service.metrics is not None:
            self.service.metrics.run_finished(run)
        level = 20 if not run.status.is_stopped else 30
        log.log(
            level,
            f"run {run.id} ({run.profile}): {run.status.value}",
            extra={"data": {"status": run.status.value, "seconds": round(run.ended - run.started, 3)}},
        )
