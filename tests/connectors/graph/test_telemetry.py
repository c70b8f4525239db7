"""The Graph connector reports the 429s it waited out and the requests it resent to a telemetry sink (what
``idsync serve`` turns into ``idsync_connector_events_total``)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from idsync.connectors.base import TELEMETRY_OPTION
from idsync.testing.graph_emulator import AppRegistration, GraphTenant

from .conftest import connect, new_user


class Sink:
    def __init__(self) -> None:
        self.events: Counter[tuple[str, str]] = Counter()

    def count(self, connector: str, event: str, n: int = 1) -> None:
        self.events[(connector, event)] += n


def test_throttling_and_retries_reach_the_telemetry_sink(
    tenant: GraphTenant, app: AppRegistration, tmp_path: Path
) -> None:
    tenant.configure_throttling(writes_per_150s=5, time_factor=0.002)
    sink = Sink()
    connector = connect(tenant, app, tmp_path, options={TELEMETRY_OPTION: sink}, concurrency=4)
    results = connector.export([new_user(i, f"burst{i}") for i in range(1, 61)])
    stats = connector.stats
    assert all(r.ok for r in results)
    assert sink.events == Counter()  # reported once, when the session ends
    connector.close()
    assert stats["throttled"] > 0
    assert sink.events[("entra", "throttled")] == stats["throttled"]
    assert sink.events[("entra", "retry")] == stats["retries"]
