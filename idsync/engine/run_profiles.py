"""Run profiles: named lists of steps, run one after another, with MIM's run statuses and run history.

A step that stops (connectivity, error limit, deletion threshold) stops the rest of its connector's steps in the
run; other connectors go on, since a system that is down stops its own import or export and nothing else. Before
the first step, exports left in flight by an interrupted run are reconciled.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from idsync.config import SecretError
from idsync.connectors.base import ConnectivityError, ConnectorError
from idsync.engine.collector import fewer_collections
from idsync.engine.context import SyncContext
from idsync.engine.errors import ErrorLog, StepStopped
from idsync.engine.export import Exporter
from idsync.engine.imports import Importer
from idsync.engine.reconciliation import in_flight_ids, reconcile
from idsync.engine.schema_cache import save_schema
from idsync.engine.sync import Synchronizer
from idsync.engine.workspace import Workspace
from idsync.expressions import EvalContext
from idsync.model import ErrorRow, RunResult, RunStatus, StepKind, StepResult
from idsync.model.redaction import scrub
from idsync.store import CSFilter

RUN_LOCK = "run"


class ProgressSink(Protocol):
    """How a front end watches a step: the CLI draws a progress bar, the service streams events."""

    def start(self, step: StepResult, total: int | None) -> Callable[[int], None]: ...

    def finish(self, step: StepResult) -> None: ...


class RunLocked(Exception):
    """Another holder has the store's run lock. ``holder``: its owner (``host:pid:…``), when known, for front ends
    that word the refusal for their own callers."""

    def __init__(self, message: str, holder: str | None = None) -> None:
        super().__init__(message)
        self.holder = holder


def lock_holder_dead(owner: str) -> bool:
    """Whether a store lock's owner (``host:pid:…``, as ``Runner`` and the service write it) is a process of this
    host that no longer runs. Public because every taker of the run lock (``idsync run``, ``idsync serve``) must
    take over the lock of a process killed here, which can never release it, and must not steal one held on
    another host, whose liveness it cannot see."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdecimal():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


StopRequest = Callable[[], str | None]
"""Asked after every page a step commits: the reason to stop there, or None to go on."""


@dataclass
class RunOptions:
    staging: bool | None = None
    """None: as configured."""
    error_limit: int | None = None
    stop: StopRequest | None = None
    """A graceful stop asked from outside (Ctrl-C, ``idsync serve`` stopping). The page just committed is the only
    point where a step may stop without losing anything, so that is where it is asked: with a reason, the step ends
    as ``stopped-cancelled``, what it committed stays, and no later step of the run starts."""


class Runner:
    def __init__(self, ws: Workspace, options: RunOptions | None = None, progress: ProgressSink | None = None) -> None:
        self.ws = ws
        self.store = ws.store
        self.options = options or RunOptions()
        self.progress = progress
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{time.time_ns()}"

    @property
    def staging(self) -> bool:
        return self.ws.config.staging if self.options.staging is None else self.options.staging

    # entry points ------------------------------------------------------------------------------------------------
    def run_profile(self, name: str) -> RunResult:
        profile = self.ws.config.profiles.get(name)
        if profile is None:
            known = ", ".join(sorted(self.ws.config.profiles)) or "none defined; `idsync cycle` needs none"
            raise KeyError(f"no run profile named {name!r} (known: {known})")
        return self.run_steps(name, [(s.connector, StepKind(s.step)) for s in profile])

    def cycle_steps(self) -> list[tuple[str, StepKind]]:
        """Every connector: import, then sync, then export, then confirming import (Connect Sync's delta cycle), then
        a delta sync of what the confirming import staged. A confirmation is a pending import like any other (an
        inbound rule may take a value the target assigned, such as its id): syncing it in the same cycle leaves the
        cycle with nothing pending that it could have finished itself."""
        names = self.ws.connector_names()
        steps: list[tuple[str, StepKind]] = []
        for name in names:
            caps = self.ws.capabilities(name)
            has_watermark = self.store.get_watermark(name) is not None
            kind = StepKind.DELTA_IMPORT if caps.delta_import and has_watermark else StepKind.FULL_IMPORT
            steps.append((name, kind))
        steps += [(name, StepKind.DELTA_SYNC) for name in names]
        targets = {rule.connector for rule in self.ws.rules.outbound}
        exporters = [name for name in names if name in targets and self.ws.capabilities(name).export]
        steps += [(name, StepKind.EXPORT) for name in exporters]
        steps += [(name, StepKind.CONFIRMING_IMPORT) for name in exporters]
        steps += [(name, StepKind.DELTA_SYNC) for name in exporters]
        return steps

    def cycle(self) -> RunResult:
        return self.run_steps("cycle", self.cycle_steps())

    # the run -----------------------------------------------------------------------------------------------------
    def _lock(self) -> None:
        if self.store.acquire_lock(RUN_LOCK, self.owner, 6 * 3600):
            return
        holder = self.store.lock_holder(RUN_LOCK)
        if holder is not None and lock_holder_dead(holder):
            # the holder was killed on this machine (it cannot have released it): take the lock over
            self.store.release_lock(RUN_LOCK, holder)
            if self.store.acquire_lock(RUN_LOCK, self.owner, 6 * 3600):
                return
        raise RunLocked(
            f"another idsync run holds this workspace's store ({holder or 'unknown'}); wait for it to finish", holder
        )

    @contextlib.contextmanager
    def holding_run_lock(self) -> Iterator[None]:
        """The run lock, held by a run and by an operator's change to the store (``idsync disconnect``): one writer
        of sync state at a time per store. Runs found in progress under it were interrupted and are marked so."""
        self._lock()
        try:
            for stale in self.store.interrupted_runs():
                self.store.set_run_status(stale.id, RunStatus.STOPPED_CANCELLED)
            yield
        finally:
            self.store.release_lock(RUN_LOCK, self.owner)

    def run_steps(self, label: str, steps: list[tuple[str, StepKind]]) -> RunResult:
        with self.holding_run_lock():
            return self._run_steps(label, steps)

    def _run_steps(self, label: str, steps: list[tuple[str, StepKind]]) -> RunResult:
        run: RunResult | None = None
        try:
            run = self.store.run_start(label, self.staging)
            stopped: set[str] = set()
            for connector in dict.fromkeys(c for c, _ in steps):
                if in_flight_ids(self.store, connector):
                    self.reconcile(run, connector, stopped)
            now = datetime.now(UTC)
            cancelled = False
            for connector, kind in steps:
                if connector in stopped:
                    continue
                if self.stop_reason() is not None:
                    cancelled = True
                    break
                step = self.execute(run, connector, kind, now)
                if step.status.is_stopped:
                    stopped.add(connector)
            run.status = RunStatus.worst([s.status for s in run.steps]) if run.steps else RunStatus.SUCCESS
            if cancelled:
                run.status = RunStatus.STOPPED_CANCELLED
            self.store.run_finish(run)
            return run
        except KeyboardInterrupt:
            # aborted at once (a second Ctrl-C): the page in progress was rolled back with its transaction; the
            # history says so now rather than at the next run
            if run is not None:
                with contextlib.suppress(Exception):
                    self.store.set_run_status(run.id, RunStatus.STOPPED_CANCELLED)
            raise

    def reconcile(self, run: RunResult, connector: str, stopped: set[str]) -> None:
        """Settle the exports an interrupted run left in flight for ``connector``, as a step of ``run``; on failure
        ``connector`` joins ``stopped``. Public because the service runs it too, before its own (parallel) steps:
        nothing may be sent to a connector before what was in flight there is known to have arrived or not."""
        step = self.store.step_start(run, connector, StepKind.EXPORT)
        try:
            settled, released = reconcile(self.store, self.ws.connector(connector), connector)
            step.status = RunStatus.SUCCESS
            step.message = (
                f"reconciled exports left in flight by an interrupted run: {settled} settled, {released} resent later"
            )
        except (ConnectivityError, ConnectorError) as exc:
            step.status = RunStatus.STOPPED_CONNECTIVITY
            step.message = scrub(f"cannot reconcile exports left in flight: {exc}", self.ws.secret_values(connector))
            stopped.add(connector)
            self.ws.drop_connector(connector)
        step.ended = time.time()
        self.store.step_save(step)

    def execute(
        self,
        run: RunResult,
        connector: str,
        kind: StepKind,
        now: datetime | None = None,
        work: Callable[[StepResult, ErrorLog], None] | None = None,
    ) -> StepResult:
        """Run one step of ``run`` and record how it ended; ``work`` does a step's work other than the whole
        connector's (provisioning on demand: one object)."""
        step = self.store.step_start(run, connector, kind)
        limit = self.options.error_limit if self.options.error_limit is not None else self.ws.config.safety.error_limit
        errors = ErrorLog(step, limit)
        try:
            with fewer_collections():
                if work is not None:
                    work(step, errors)
                else:
                    self._work(step, errors, connector, kind, now)
            step.status = RunStatus.COMPLETED_ERRORS if errors.total else RunStatus.SUCCESS
        except StepStopped as exc:
            step.status = exc.status
            step.message = exc.message
        except ConnectivityError as exc:
            step.status = RunStatus.STOPPED_CONNECTIVITY
            step.message = str(exc)
            self.ws.drop_connector(connector)
        except SecretError as exc:
            step.status = RunStatus.STOPPED_CONFIG
            step.message = str(exc)
        except ConnectorError as exc:
            step.status = RunStatus.STOPPED_CONNECTIVITY
            step.message = str(exc)
            self.ws.drop_connector(connector)
        finally:
            self.store.add_errors(self.scrubbed(connector, errors.drain()))
            step.message = scrub(step.message, self.ws.secret_values(connector))
            step.ended = time.time()
            self.store.step_save(step)
            if self.progress:
                self.progress.finish(step)
        return step

    def scrubbed(self, connector: str, rows: list[ErrorRow]) -> list[ErrorRow]:
        """Error rows without the connector's secret values: a connected system's error may quote what it was
        sent (a token endpoint echoing the client secret)."""
        secrets = self.ws.secret_values(connector)
        for row in rows:
            row.reason = scrub(row.reason, secrets) or ""
            row.detail = scrub(row.detail, secrets)
        return rows

    def _work(self, step: StepResult, errors: ErrorLog, connector: str, kind: StepKind, now: datetime | None) -> None:
        """The step's own work; ``execute`` records how it ended."""
        if kind.is_import:
            instance = self.ws.connector(connector)
            schema = instance.schema()
            save_schema(self.store, connector, schema)
            self.ws.set_schema(connector, schema)
            advance = self._page_committed(step, lambda: None)
            outcome = Importer(
                self.store,
                instance,
                connector,
                schema,
                step,
                errors,
                confirmation_tries=self.ws.config.safety.export_confirmation_tries,
                progress=advance,
            ).run()
            step.message = outcome.message
        elif kind.is_sync:
            full = kind is StepKind.FULL_SYNC
            flt = CSFilter(connector=connector) if full else CSFilter(connector=connector, pending_import=True)
            advance = self._page_committed(step, lambda: self.store.cs_count(flt))
            # a sync has the key indexes it looks up to itself: the run lock, or the service's locks on the
            # metaverse and every connector space it provisions into
            with self.store.key_filters():
                Synchronizer(self.sync_context(step, errors, now), connector, full=full, progress=advance).run()
        else:
            self.export(step, errors, connector)

    def export(self, step: StepResult, errors: ErrorLog, connector: str, only: set[int] | None = None) -> None:
        """The export step's work: every pending export of ``connector``, or those of ``only``."""
        instance = self.ws.connector(connector)
        if not instance.capabilities.export:
            raise StepStopped(RunStatus.STOPPED_CONFIG, f"connector {connector!r} cannot export")
        advance = self._page_committed(
            step,
            lambda: (
                len(only)
                if only is not None
                else self.store.cs_count(CSFilter(connector=connector, pending_export=True))
            ),
        )
        try:
            step.message = Exporter(
                self.store,
                instance,
                connector,
                self.ws.rules,
                step,
                errors,
                self.ws.config.safety,
                staging=self.staging,
                progress=advance,
            ).run(only)
        finally:
            # a connector may buffer an export step (the CSV connector rewrites its file once, on close)
            self.ws.drop_connector(connector, quiet=False)

    def sync_context(self, step: StepResult, errors: ErrorLog, now: datetime | None = None) -> SyncContext:
        """What sync code needs for ``step``: this workspace's rules and schemas, its staging mode."""
        return SyncContext(
            self.store,
            self.ws.rules,
            self.ws.capabilities,
            self.ws.cs_schema,
            step,
            errors,
            EvalContext(now=now or datetime.now(UTC)),
            staging=self.staging,
        )

    def stop_reason(self) -> str | None:
        return self.options.stop() if self.options.stop is not None else None

    def _page_committed(self, step: StepResult, total: Callable[[], int | None]) -> Callable[[int], None] | None:
        """What a step calls after each page it committed: the front end's progress, then the stop request. The
        total is counted only for a front end that draws it."""
        shown = self.progress.start(step, total()) if self.progress else None
        if self.options.stop is None:
            return shown

        def advance(n: int) -> None:
            if shown is not None:
                shown(n)
            reason = self.stop_reason()
            if reason is not None:
                raise StepStopped(RunStatus.STOPPED_CANCELLED, reason)

        return advance
