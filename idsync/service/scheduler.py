"""Schedules: when each run profile runs, with catch-up after downtime and no pile-up.

The time of each schedule's last run is kept in the store, so a restarted service (or the standby instance that
takes over) knows what it missed. A schedule whose time passed while nothing ran fires once, at start — never
once per missed interval. A run still going when its next time comes delays that time instead of starting a second
run of the same profile. When another idsync process holds the store (a manual ``idsync run``), the schedule waits
and tries again shortly.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from idsync.config.models import Schedule, ServiceConfig
from idsync.config.schedule import Cron, format_duration
from idsync.engine.run_profiles import RunLocked
from idsync.model import RunStatus
from idsync.service.logs import log, log_context

if TYPE_CHECKING:
    from idsync.service.runs import RunExecution
    from idsync.service.runtime import Service

META_PREFIX = "service.schedule."
RETRY_WHEN_LOCKED = 15.0
TICK = 1.0


def zoned(ts: float, zone: ZoneInfo) -> str:
    """A time as the schedules are read: wall clock in ``zone``, the zone named (``2026-11-28 02:00:00
    Europe/Berlin (CET)``)."""
    local = datetime.fromtimestamp(ts, zone)
    abbreviation = local.tzname()
    named = zone.key if abbreviation in (None, zone.key) else f"{zone.key} ({abbreviation})"
    return f"{local:%Y-%m-%d %H:%M:%S} {named}"


@dataclass
class ScheduleState:
    name: str
    spec: Schedule
    next_due: float | None = None
    last: float | None = None
    last_run_id: int | None = None
    last_status: str | None = None
    running: int | None = None
    waiting: str | None = None

    def describe(self, zone: ZoneInfo | None = None) -> str:
        """``every 30m``, or ``cron 0 2 * * *`` with the zone its wall clock is read in when given."""
        interval = self.spec.interval
        if interval is not None:
            return f"every {format_duration(interval)}"
        return f"cron {self.spec.cron}" + (f" {zone.key}" if zone is not None else "")

    def to_json(self, zone: ZoneInfo) -> dict[str, Any]:
        """``next_due`` in seconds since 1970, and as text: in UTC and on the schedules' wall clock."""
        due = self.next_due
        return {
            "name": self.name,
            "profile": self.spec.profile,
            "enabled": self.spec.enabled,
            "when": self.describe(zone),
            "timezone": zone.key,
            "next_due": due,
            "next_due_utc": None if due is None else datetime.fromtimestamp(due, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "next_due_local": None if due is None else datetime.fromtimestamp(due, zone).isoformat(),
            "next_due_text": None if due is None else zoned(due, zone),
            "last_started": self.last,
            "last_run_id": self.last_run_id,
            "last_status": self.last_status,
            "running_run_id": self.running,
            "waiting": self.waiting,
        }


def next_due(spec: Schedule, last: float | None, now: float, zone: ZoneInfo, *, catch_up: bool) -> float:
    """When ``spec`` fires next, given when it last started (None: never) and the time now."""
    interval = spec.interval
    if interval is not None:
        if last is None:
            return now
        due = last + interval
        if due > now:
            return due
        if catch_up:
            return now
        missed = int((now - last) // interval)
        return last + (missed + 1) * interval
    assert spec.cron is not None
    cron = Cron.parse(spec.cron)
    moment = datetime.fromtimestamp(now, UTC)
    if last is None:
        return cron.next_after(moment, zone).timestamp()
    due = cron.next_after(datetime.fromtimestamp(last, UTC), zone).timestamp()
    if due > now:
        return due
    return now if catch_up else cron.next_after(moment, zone).timestamp()


class Scheduler:
    def __init__(self, service: Service) -> None:
        self.service = service
        settings = service.settings
        self.zone = ZoneInfo(settings.timezone)
        self.catch_up = settings.catch_up
        self.states = {name: ScheduleState(name, spec) for name, spec in settings.schedules.items()}
        """Every configured schedule; a disabled one is listed (with its last run) and never gets a next time."""
        self._loaded = False
        self.retry_when_locked = RETRY_WHEN_LOCKED
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def reconfigure(self, settings: ServiceConfig) -> None:
        """A reloaded configuration's schedules: an unchanged schedule keeps its state (and its run in progress);
        a new or changed one starts from its last recorded start, as at service start (catch-up included); a
        removed or disabled one stops firing."""
        with self._lock:
            self.zone = ZoneInfo(settings.timezone)
            self.catch_up = settings.catch_up
            states: dict[str, ScheduleState] = {}
            for name, spec in settings.schedules.items():
                old = self.states.get(name)
                if old is not None and old.spec == spec:
                    states[name] = old
                    continue
                states[name] = ScheduleState(name, spec, running=old.running if old is not None else None)
            self.states = states
            self._loaded = False  # the next tick reads each schedule's last start and works out its next time
        self._wake.set()

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [s.to_json(self.zone) for s in self.states.values()]

    # ------------------------------------------------------------------------------------------------------------
    def _load(self) -> None:
        """Read each schedule's last start from the store and work out its next time (catch-up included)."""
        store = self.service.store()
        now = time.time()
        with self._lock:
            for state in self.states.values():
                saved = store.get_meta(META_PREFIX + state.name)
                if saved:
                    data = json.loads(saved)
                    state.last = data.get("last")
                    state.last_run_id = data.get("run_id")
                    state.last_status = data.get("status")
                if not state.spec.enabled:
                    state.next_due = None
                    log.info(f"schedule {state.name}: disabled", extra={"schedule": state.name})
                    continue
                state.next_due = next_due(state.spec, state.last, now, self.zone, catch_up=self.catch_up)
                when = zoned(state.next_due, self.zone)
                missed = state.last is not None and state.next_due <= now
                log.info(
                    f"schedule {state.name}: {state.spec.profile} {state.describe(self.zone)}, next at {when}"
                    + (" (catching up after downtime)" if missed else ""),
                    extra={"schedule": state.name},
                )
        self._loaded = True

    def _loop(self) -> None:
        service = self.service
        while not service.stopping.is_set():
            wait = TICK
            try:
                if service.role == "active":
                    if not self._loaded:
                        self._load()
                    now = time.time()
                    for state in list(self.states.values()):
                        if state.running is None and state.next_due is not None and state.next_due <= now:
                            self._fire(state, now)
                        if state.next_due is not None:
                            wait = min(wait, max(state.next_due - time.time(), 0.05))
                else:
                    self._loaded = False
            except Exception:
                log.exception("the scheduler hit an unexpected error; it goes on")
            self._wake.wait(wait)
            self._wake.clear()

    def _fire(self, state: ScheduleState, now: float) -> None:
        from idsync.service.runtime import AlreadyRunning, ServiceUnavailable

        with log_context(schedule=state.name, profile=state.spec.profile):
            try:
                run_id = self.service.start_run(
                    state.spec.profile, origin=f"schedule {state.name}", on_finish=self.run_finished
                )
            except RunLocked as exc:
                holder = exc.holder or "another idsync process"
                waiting = (
                    f"{holder} (an idsync run, cycle or disconnect) holds this store; trying again every "
                    f"{format_duration(self.retry_when_locked)}"
                )
                if state.waiting is None:
                    log.info(f"schedule {state.name} waits: {waiting}")
                state.waiting = waiting
                state.next_due = now + self.retry_when_locked
                return
            except AlreadyRunning as exc:
                state.waiting = str(exc)
                state.next_due = now + self.retry_when_locked
                return
            except ServiceUnavailable:
                return
            except KeyError as exc:
                log.error(f"schedule {state.name}: {exc.args[0]}")
                state.next_due = None
                return
            with self._lock:
                state.running = run_id
                state.waiting = None

    def run_finished(self, execution: RunExecution) -> None:
        run = execution.run
        store = self.service.store()
        now = time.time()
        with self._lock:
            for state in self.states.values():
                if state.running != run.id:
                    continue
                state.running = None
                state.last_run_id = run.id
                state.last_status = run.status.value
                if run.status is RunStatus.STOPPED_CANCELLED and self.service.stopping.is_set():
                    # cut short by the service stopping: not done, so the next start catches it up. Any other
                    # outcome, a failure included, waits for the next time: retrying at once would start runs
                    # back to back for as long as the cause lasts
                    continue
                state.last = run.started
                state.last_run_id = run.id
                state.last_status = run.status.value
                if state.spec.enabled:
                    state.next_due = next_due(state.spec, state.last, now, self.zone, catch_up=self.catch_up)
                record = {"last": state.last, "run_id": run.id, "status": run.status.value}
                store.set_meta(META_PREFIX + state.name, json.dumps(record))
        self._wake.set()
