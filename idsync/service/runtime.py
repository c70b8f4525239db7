"""The service instance: who may run on this store, the runs in progress, and a graceful stop.

Two locks in the store keep instances and processes apart:

* ``service`` — held (and renewed) by the one instance that runs schedules. A second ``idsync serve`` on the same
  store serves the API and dashboard read-only in *standby* and takes over within seconds when the first stops,
  or within the lock's lifetime when it dies.
* ``run`` — the engine's run lock (``idsync run`` and ``idsync cycle`` take it too). The active instance holds it
  while any of its runs is in progress, and gives it back when idle, so a manual run can happen between schedules
  but never during one.

Stopping (SIGTERM) lets each running step finish the page it is on and commit it, marks the runs
``stopped-cancelled``, and releases both locks.

The configuration is read again on request (SIGHUP, ``POST /api/config/reload``, the dashboard): connectors,
rules, run profiles, safety settings and schedules change for the runs that start afterwards, while a run in
progress finishes with the configuration it started with. A file that does not validate changes nothing (the
error, with file, line and column, is kept for the status). What the listening process itself was built with —
the store, address, port, TLS, token, worker count — needs a restart, and the answer says so.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from weakref import WeakSet

from idsync.config import ConfigError, ConfigIssue, LoadedConfig
from idsync.config.models import CYCLE, WorkspaceConfig
from idsync.connectors.base import TELEMETRY_OPTION
from idsync.connectors.registry import ConnectorRegistry
from idsync.engine.rules import RuleSet
from idsync.engine.run_profiles import RUN_LOCK, RunLocked, Runner, lock_holder_dead
from idsync.engine.workspace import Workspace, load_workspace_config
from idsync.model import RunStatus, StepKind
from idsync.model.redaction import SecretHidingHandler
from idsync.service.logs import log
from idsync.service.metrics import Metrics
from idsync.service.progress import LiveBoard
from idsync.service.readmodel import Secrets
from idsync.service.resources import ResourceLocks
from idsync.service.runs import RunExecution
from idsync.service.scheduler import Scheduler
from idsync.store import Store, open_store

SERVICE_LOCK = "service"
SERVICE_LOCK_TTL = 45.0
RUN_LOCK_TTL = 180.0
HEARTBEAT = 10.0
STANDBY_POLL = 2.0
RESTART_SETTINGS = ("bind", "port", "token", "tls_cert", "tls_key", "insecure_http", "workers", "public_metrics")
"""Service settings the running process was built with: a reload reports their change and keeps the old value."""


@dataclass(frozen=True)
class Generation:
    """One reading of the workspace's configuration. A run keeps the generation it started with."""

    loaded: LoadedConfig
    rules: RuleSet
    number: int
    loaded_at: float

    @property
    def config(self) -> WorkspaceConfig:
        return self.loaded.config


class ServiceUnavailable(Exception):
    """This instance does not run anything now (standby, or stopping)."""


class AlreadyRunning(Exception):
    def __init__(self, profile: str, run_id: int) -> None:
        super().__init__(f"{profile!r} is already running as run {run_id}")
        self.run_id = run_id


class Service:
    def __init__(
        self,
        root: Path | str,
        *,
        registry: ConnectorRegistry | None = None,
        options: dict[str, Any] | None = None,
        heartbeat: float = HEARTBEAT,
        standby_poll: float = STANDBY_POLL,
        log_handler: SecretHidingHandler | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.log_handler = log_handler
        """The handler writing this process's log lines (``logs.configure``): told every configuration's secrets."""
        self.registry = registry or ConnectorRegistry()
        loaded, rules = load_workspace_config(self.root, self.registry)
        self._check_schedules(loaded)
        self.generation = Generation(loaded, rules, 1, time.time())
        self.settings = loaded.config.service
        """The settings the process was built with (``RESTART_SETTINGS`` stay these until a restart)."""
        self.reload_error: str | None = None
        self._reload_lock = threading.Lock()
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.heartbeat = heartbeat
        self.standby_poll = standby_poll
        self.stopping = threading.Event()
        self.locks = ResourceLocks(self.settings.workers)
        self.board = LiveBoard()
        self._local = threading.local()
        self._stores: WeakSet[Any] = WeakSet()
        self.metrics = Metrics(self.store, lambda: list(self.config.connectors))
        self.options = dict(options or {})
        self.options[TELEMETRY_OPTION] = self.metrics
        self.role = "starting"
        self._lock = threading.RLock()
        self._runs: dict[int, RunExecution] = {}
        self._holds_run_lock = False
        self._heartbeat_thread = threading.Thread(target=self._heartbeat_loop, name="heartbeat", daemon=True)
        self.scheduler = Scheduler(self)
        with self.workspace() as ws:
            self.secrets = Secrets.of_workspace(ws)
            self._hide_secret_values(ws)

    def _hide_secret_values(self, ws: Workspace) -> None:
        """Keep the connectors' resolved secret values out of every log line."""
        if self.log_handler is not None:
            self.log_handler.hide(ws.all_secret_values())

    @property
    def loaded(self) -> LoadedConfig:
        return self.generation.loaded

    @property
    def rules(self) -> RuleSet:
        return self.generation.rules

    @property
    def config(self) -> WorkspaceConfig:
        return self.generation.config

    @staticmethod
    def _check_schedules(loaded: LoadedConfig) -> None:
        config = loaded.config
        issues = []
        for name, schedule in config.service.schedules.items():
            if schedule.profile != CYCLE and schedule.profile not in config.profiles:
                known = ", ".join(sorted(config.profiles)) or "none defined"
                path = ("service", "schedules", name, "profile")
                issues.append(
                    ConfigIssue(
                        f"schedule {name!r}: no run profile named {schedule.profile!r} (known: {known}; "
                        f"'{CYCLE}' is the delta cycle)",
                        loaded.position(path),
                        path,
                    )
                )
        if issues:
            raise ConfigError(issues)

    def require_active(self) -> None:
        """Raise ``ServiceUnavailable`` unless this instance may change the store: a standby serves reading only
        (the active instance makes every change), and a stopping one makes no new change."""
        if self.stopping.is_set():
            raise ServiceUnavailable("the service is stopping")
        if self.role != "active":
            raise ServiceUnavailable(
                "standby: another idsync serve instance runs this store's schedules and makes its changes; "
                "this one only reads"
            )

    def reload(self) -> dict[str, Any]:
        """Read the configuration again and use it for the runs that start from now on. Raises ``ConfigError``
        (file, line, column) and changes nothing when the file does not validate or names another store.

        A standby refuses (``ServiceUnavailable``): reading the rules may rebuild the store's key index, which is
        the active instance's to do. It reads the configuration again when it takes over."""
        if self.role == "standby":
            raise ServiceUnavailable("standby: this instance reads idsync.yaml again when it takes over")
        return self._reload()

    def _reload(self) -> dict[str, Any]:
        with self._reload_lock:
            try:
                loaded, rules = load_workspace_config(self.root, self.registry)
                self._check_schedules(loaded)
                if loaded.config.store != self.config.store:
                    path = ("store",)
                    raise ConfigError(
                        [
                            ConfigIssue(
                                "a running service cannot move to another store: restart it",
                                loaded.position(path),
                                path,
                            )
                        ]
                    )
                generation = Generation(loaded, rules, self.generation.number + 1, time.time())
                with self._workspace(generation) as ws:  # what a run would build first: its rules on the schemas
                    secrets = Secrets.of_workspace(ws)
                    self._hide_secret_values(ws)
            except Exception as exc:
                error = exc if isinstance(exc, ConfigError) else ConfigError([ConfigIssue(f"cannot be used: {exc}")])
                self.reload_error = str(error)
                log.error(f"configuration not reloaded, the running one stays: {error}")
                raise error from None
            new = loaded.config.service
            restart = [name for name in RESTART_SETTINGS if getattr(new, name) != getattr(self.settings, name)]
            with self._lock:
                self.generation = generation
                self.secrets = secrets
                self.reload_error = None
            self.scheduler.reconfigure(new)
            note = f"; restart to apply {', '.join(restart)}" if restart else ""
            log.info(f"configuration reloaded (generation {generation.number}){note}")
            return {**self.config_status(), "restart_needed": restart}

    def config_status(self) -> dict[str, Any]:
        """Which configuration runs start with, and why the last reload failed if it did."""
        return {
            "generation": self.generation.number,
            "loaded_at": self.generation.loaded_at,
            "reload_error": self.reload_error,
        }

    # stores and workspaces -------------------------------------------------------------------------------------
    def store(self) -> Store:
        """This thread's store connection (a store object is used by one thread)."""
        found: Store | None = getattr(self._local, "store", None)
        if found is None:
            found = open_store(self.config.store, self.root)
            self._local.store = found
            self._stores.add(found)
        return found

    def workspace(self, generation: Generation | None = None) -> AbstractContextManager[Workspace]:
        """A workspace of its own (store connection, connector instances) for one step in one thread, with the
        configuration of ``generation`` (the current one by default)."""
        return self._workspace(generation or self.generation)

    @contextmanager
    def _workspace(self, generation: Generation) -> Iterator[Workspace]:
        store = open_store(generation.config.store, self.root)
        ws = Workspace(self.root, generation.loaded, generation.rules, store, self.registry, self.options)
        try:
            ws.recompile()
            yield ws
        finally:
            ws.close()

    # lifecycle ---------------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._claim()
        self._heartbeat_thread.start()
        self.scheduler.start()

    def _acquire(self, store: Store, name: str, ttl: float) -> bool:
        """Take or renew a store lock; a holder that was killed on this host (it cannot release) is taken over."""
        if store.acquire_lock(name, self.owner, ttl):
            return True
        holder = store.lock_holder(name)
        if holder is not None and lock_holder_dead(holder):
            log.warning(f"taking over the {name} lock of {holder}, a process of this host that no longer runs")
            store.release_lock(name, holder)
            return store.acquire_lock(name, self.owner, ttl)
        return False

    def _claim(self) -> None:
        got = self._acquire(self.store(), SERVICE_LOCK, SERVICE_LOCK_TTL)
        with self._lock:
            if got and self.role == "standby":
                # the configuration may have changed while this instance could not read it again (see reload)
                try:
                    self._reload()
                except Exception:  # noqa: S110 - logged by the reload; the configuration it has stays
                    pass
            if got and self.role != "active":
                self.role = "active"
                log.info(f"active: this instance ({self.owner}) runs the schedules of {self.root}")
                self.scheduler.wake()
            elif not got and self.role == "active":
                self.role = "standby"
                log.error("lost the service lock to another instance: running no new steps here")
            elif not got and self.role == "starting":
                self.role = "standby"
                holder = self.store().lock_holder(SERVICE_LOCK) or "another instance"
                log.info(f"standby: {holder} runs this store's schedules; taking over if it stops")
            if self._holds_run_lock:
                self.store().acquire_lock(RUN_LOCK, self.owner, RUN_LOCK_TTL)
        self.metrics.active.set(1 if self.role == "active" else 0)

    def _heartbeat_loop(self) -> None:
        while not self.stopping.wait(self.heartbeat if self.role == "active" else self.standby_poll):
            try:
                self._claim()
            except Exception:
                log.exception("cannot renew the service lock (is the store reachable?)")

    def stop(self, timeout: float | None = None) -> None:
        """Graceful stop: no new step starts, running steps stop after their current page, locks are released."""
        if self.stopping.is_set() and self.role == "stopped":
            return
        log.info("stopping: running steps finish their current page")
        self.stopping.set()
        self.scheduler.stop()
        deadline = None if timeout is None else time.monotonic() + timeout
        for execution in list(self._runs.values()):
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            if not execution.join(left):
                log.error(f"run {execution.run_id} did not stop in time")
        if self._heartbeat_thread.is_alive():
            self._heartbeat_thread.join(self.heartbeat + 5)
        store = self.store()
        with self._lock:
            if self._holds_run_lock:
                store.release_lock(RUN_LOCK, self.owner)
                self._holds_run_lock = False
            store.release_lock(SERVICE_LOCK, self.owner)
            self.role = "stopped"
        for opened in list(self._stores):
            try:
                opened.close()
            except Exception:  # noqa: S110 - closing on the way out; the store may already be gone
                pass
        log.info("stopped")

    # runs ----------------------------------------------------------------------------------------------------
    def profile_steps(self, profile: str) -> list[tuple[str, StepKind]]:
        steps = self.config.profiles.get(profile)
        if steps is not None:
            return [(s.connector, StepKind(s.step)) for s in steps]
        if profile == CYCLE:
            with self.workspace() as ws:
                return Runner(ws).cycle_steps()
        known = ", ".join(sorted([*self.config.profiles, CYCLE]))
        raise KeyError(f"no run profile named {profile!r} (known: {known})")

    def start_run(
        self,
        profile: str,
        *,
        origin: str,
        steps: list[tuple[str, StepKind]] | None = None,
        on_finish: Callable[[RunExecution], None] | None = None,
    ) -> int:
        """Start a run in the background and return its id. ``steps`` overrides the profile's (``profile`` is then
        the run's label)."""
        with self._lock:
            self.require_active()
            for execution in self._runs.values():
                if execution.run.profile == profile:
                    raise AlreadyRunning(profile, execution.run_id)
            plan = steps if steps is not None else self.profile_steps(profile)
            store = self.store()
            self._take_run_lock(store)
            run = store.run_start(profile, self.config.staging)
            execution = RunExecution(self, run, plan, origin, on_finish=self._finished_callback(on_finish))
            self._runs[run.id] = execution
        execution.start()
        return run.id

    def _take_run_lock(self, store: Store) -> None:
        if self._holds_run_lock:
            return
        if not self._acquire(store, RUN_LOCK, RUN_LOCK_TTL):
            raise self.store_busy(store.lock_holder(RUN_LOCK), "start the run again")
        self._holds_run_lock = True
        for stale in store.interrupted_runs():
            # nothing of ours runs (we just took the lock), so these were left by a process that died
            store.set_run_status(stale.id, RunStatus.STOPPED_CANCELLED)
            log.warning(f"run {stale.id} ({stale.profile}) was interrupted earlier: marked stopped-cancelled")

    def store_busy(self, holder: str | None, again: str) -> RunLocked:
        """The refusal an API or dashboard caller gets while ``holder`` has the store's run lock: what holds it,
        that nothing was done, and when to try ``again`` (what to do once the store is free). Nothing waits on the
        caller's behalf: only schedules try again by themselves."""
        if holder == self.owner:
            with self._lock:
                runs = [f"run {e.run_id} ({e.run.profile})" for e in self._runs.values()]
            what = f"{', '.join(runs) or 'a run'} of this service holds the store"
            then = f"{again} when it has finished (the overview page and GET /api/progress show how far it is)"
        elif holder is not None and holder.startswith(f"{socket.gethostname()}:{os.getpid()}:"):
            what = "a disconnect made through this service holds the store"
            then = f"{again} in a moment"
        else:
            what = f"another idsync process ({holder or 'unknown'}: an idsync run, cycle or disconnect) holds the store"
            then = f"{again} when it has finished"
        return RunLocked(f"{what}: nothing was done; {then}", holder)

    def _finished_callback(self, extra: Callable[[RunExecution], None] | None) -> Callable[[RunExecution], None]:
        def finished(execution: RunExecution) -> None:
            with self._lock:
                self._runs.pop(execution.run_id, None)
                if not self._runs and self._holds_run_lock:
                    self.store().release_lock(RUN_LOCK, self.owner)
                    self._holds_run_lock = False
            if extra is not None:
                extra(execution)

        return finished

    def running(self) -> list[int]:
        with self._lock:
            return sorted(self._runs)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no run is in progress (tests and ``report``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                runs = list(self._runs.values())
            if not runs:
                return True
            runs[0].join(max(deadline - time.monotonic(), 0.0))
        return not self._runs

    def status(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "owner": self.owner,
            "config": self.config_status(),
            "schedules": self.scheduler.snapshot(),
            "running": self.board.snapshot()["runs"],
        }
