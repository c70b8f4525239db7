"""Prometheus metrics: what each step processed, errors, durations, pending exports, throttling and retries.

Counters are fed as steps finish; the connector-space gauges (pending exports, deletes, objects in error) are read
from the store at scrape time, so they are right even for work done by ``idsync run`` outside the service. The
registry belongs to one service instance: nothing here is process-global.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from idsync.engine.thresholds import pending_deprovisionings
from idsync.model import RunResult, StepResult
from idsync.store import CSFilter, Store

OUTCOMES = ("adds", "updates", "deletes", "renames", "unchanged", "errors")
DURATION_BUCKETS = (0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, float("inf"))
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _StoreGauges(Collector):
    def __init__(self, store: Callable[[], Store], connectors: Callable[[], list[str]]) -> None:
        self._store = store
        self._connectors = connectors

    def collect(self) -> Iterator[GaugeMetricFamily]:
        store = self._store()
        families = {
            "pending_exports": GaugeMetricFamily(
                "idsync_pending_exports", "Pending exports waiting in a connector space.", labels=["connector"]
            ),
            "pending_deletes": GaugeMetricFamily(
                "idsync_pending_deletes", "Pending deletes waiting in a connector space.", labels=["connector"]
            ),
            "objects_in_error": GaugeMetricFamily(
                "idsync_objects_in_error",
                "Connector-space objects whose last sync or export failed.",
                labels=["connector"],
            ),
            "objects": GaugeMetricFamily(
                "idsync_connector_space_objects", "Objects in a connector space.", labels=["connector"]
            ),
        }
        for name in self._connectors():
            families["pending_exports"].add_metric(
                [name], store.cs_count(CSFilter(connector=name, pending_export=True))
            )
            families["pending_deletes"].add_metric([name], pending_deprovisionings(store, name)[0])
            families["objects_in_error"].add_metric([name], store.cs_count(CSFilter(connector=name, error=True)))
            families["objects"].add_metric([name], store.cs_count(CSFilter(connector=name)))
        yield from families.values()


class Metrics:
    def __init__(self, store: Callable[[], Store], connectors: Callable[[], list[str]]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.objects = Counter(
            "idsync_step_objects", "Objects a step processed, by outcome.", ["connector", "step", "outcome"], registry=r
        )
        self.errors = Counter(
            "idsync_step_errors", "Object errors recorded by steps.", ["connector", "step"], registry=r
        )
        self.steps = Counter("idsync_steps", "Steps finished, by status.", ["connector", "step", "status"], registry=r)
        self.duration = Histogram(
            "idsync_step_duration_seconds",
            "How long steps took.",
            ["connector", "step"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.runs = Counter("idsync_runs", "Runs finished, by profile and status.", ["profile", "status"], registry=r)
        self.last_run = Gauge(
            "idsync_last_run_timestamp_seconds",
            "When the last run of a profile ended.",
            ["profile", "status"],
            registry=r,
        )
        self.running = Gauge("idsync_steps_running", "Steps running now.", registry=r)
        self.active = Gauge("idsync_service_active", "1 when this instance runs schedules, 0 in standby.", registry=r)
        self.events = Counter(
            "idsync_connector_events",
            "What connectors report beyond step counters: throttled (HTTP 429) and retry.",
            ["connector", "event"],
            registry=r,
        )
        r.register(_StoreGauges(store, connectors))

    # the Telemetry protocol of idsync.connectors.base
    def count(self, connector: str, event: str, n: int = 1) -> None:
        self.events.labels(connector, event).inc(n)

    def step_finished(self, step: StepResult) -> None:
        kind = step.kind.value
        for outcome in OUTCOMES:
            value = getattr(step.counters, outcome)
            if value:
                self.objects.labels(step.connector, kind, outcome).inc(value)
        if step.counters.errors:
            self.errors.labels(step.connector, kind).inc(step.counters.errors)
        self.steps.labels(step.connector, kind, step.status.value).inc()
        self.duration.labels(step.connector, kind).observe(step.seconds)

    def run_finished(self, run: RunResult) -> None:
        self.runs.labels(run.profile, run.status.value).inc()
        self.last_run.labels(run.profile, run.status.value).set(run.ended or 0)

    def exposition(self) -> bytes:
        data: Any = generate_latest(self.registry)
        return bytes(data)
