"""The Graph connector against the emulated tenant under Graph's documented write limits, scaled to test time.

Exports 10,000 users (with employee ids, so the soft-deleted-user check runs as in production) and 100 security
groups of 50 members on average, the way the engine's export step does: items in batches of the connector's export
batch size, users first, then the groups referencing them. The emulator throttles with Graph's identity limits
(3,000 writes per 150 s per app and tenant, resource units by tenant size) with every window multiplied by
``--time-factor``; its clock is real time, so the connector waits the Retry-After it is given.

Figures:
- budget_utilization: the achieved write rate over the rate the budget allows (3,000 per 150 s x time factor).
  Graph's limit is a sliding window: write k can be accepted once write k - 3,000 has left it; every delay beyond
  that is budget left unused, so the figure is window / (window + mean delay), 1.0 for a connector that reuses
  every freed slot at once.
- requests_per_user: HTTP requests of the whole export (both phases, lookups included) per user created.
- failed, duplicates: export results that were not successes; users or groups created more than once.
- delta_100_seconds: a delta import of 100 changed users in the 10,000-user tenant.
The last line is JSON with those figures.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import shutil
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from idsync.config import SecretResolver
from idsync.connectors.base import ConnectorContext, ExportItem, ExportResult
from idsync.connectors.graph.config import GraphConfig
from idsync.connectors.graph.connector import GraphConnector
from idsync.model import AttributeChange, ExportOp, ValueOp
from idsync.testing.graph_emulator import GraphTenant

WRITES_PER_150S = 3000
DEPARTMENTS = ["Sales", "Engineering", "Finance", "HR", "Legal", "Support", "Marketing", "Operations"]


def _put(name: str, value: Any) -> AttributeChange:
    return AttributeChange(name, ValueOp.REPLACE, [value])


def user_items(count: int) -> list[ExportItem]:
    rng = random.Random(7)
    items = []
    for i in range(count):
        alias = f"bench.user{i:05d}"
        changes = [
            _put("accountEnabled", True),
            _put("displayName", f"Bench User {i:05d}"),
            _put("mailNickname", alias),
            _put("userPrincipalName", f"{alias}@contoso.com"),
            _put("employeeId", f"B{i:06d}"),
            _put("department", rng.choice(DEPARTMENTS)),
            _put("usageLocation", "NO"),
        ]
        items.append(ExportItem(i + 1, "user", ExportOp.ADD, f"{alias}@contoso.com", changes=changes))
    return items


def group_items(count: int, members: list[str], average: int) -> list[ExportItem]:
    rng = random.Random(11)
    items = []
    for g in range(count):
        size = rng.randint(1, 2 * average - 1)
        chosen = rng.sample(members, size)
        changes = [
            _put("displayName", f"Bench group {g:03d}"),
            _put("mailEnabled", False),
            _put("securityEnabled", True),
            AttributeChange("members", ValueOp.ADD, chosen),
        ]
        items.append(ExportItem(100_000 + g, "group", ExportOp.ADD, f"bench-group-{g:03d}", changes=changes))
    return items


class Sampler:
    """Samples the emulator's counters every few milliseconds (writes accepted, 429s) for the utilization."""

    def __init__(self, tenant: GraphTenant, period: float = 0.005) -> None:
        self.tenant = tenant
        self.period = period
        self.samples: list[tuple[float, int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            stats = self.tenant.stats()
            self.samples.append((time.monotonic(), int(stats["writes"]), int(stats["throttled"])))
            time.sleep(self.period)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        stats = self.tenant.stats()
        self.samples.append((time.monotonic(), int(stats["writes"]), int(stats["throttled"])))

    def time_of(self, write: int) -> float:
        """When Graph accepted its ``write``-th write (linear between samples)."""
        before = self.samples[0]
        for sample in self.samples:
            if sample[1] >= write:
                span = sample[1] - before[1]
                share = (write - before[1]) / span if span > 0 else 1.0
                return before[0] + (sample[0] - before[0]) * share
            before = sample
        return self.samples[-1][0]

    def utilization(self, limit: int, window: float) -> tuple[float, float]:
        """How promptly the connector reuses the write budget; and the mean delay in seconds.

        Graph's limit is a sliding window: write k may be accepted once write k - limit has left the window, that
        is ``window`` seconds after it was accepted. Every write after the first ``limit`` waited for such a slot;
        the delay beyond the window is budget the connector left unused. A budget used at once, every time, gives
        ``window / (window + mean delay)`` = 1; the figure is the achieved write rate over the rate allowed."""
        total = self.samples[-1][1]
        if total <= limit:
            return 0.0, 0.0
        step = max(1, (total - limit) // 2000)
        delays = [
            max(0.0, self.time_of(k) - self.time_of(k - limit) - window) for k in range(limit + 1, total + 1, step)
        ]
        mean = sum(delays) / len(delays)
        return window / (window + mean), mean


def export_all(connector: GraphConnector, items: list[ExportItem]) -> list[ExportResult]:
    size = connector.capabilities.export_batch_size
    results: list[ExportResult] = []
    for start in range(0, len(items), size):
        results.extend(connector.export(items[start : start + size]))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--members", type=int, default=50, help="average members per group")
    parser.add_argument("--time-factor", type=float, default=0.02, help="150 s windows become 150 x this")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--http", action="store_true", help="over real HTTP (uvicorn) instead of in-process")
    args = parser.parse_args()

    tenant = GraphTenant("contoso", domains=("contoso.onmicrosoft.com", "contoso.com"), seed=1)
    tenant.configure_throttling(enabled=True, time_factor=args.time_factor, writes_per_150s=WRITES_PER_150S)
    app = tenant.add_app("idsync-bench")
    workspace = Path(tempfile.mkdtemp(prefix="idsync-bench-graph-"))
    secrets = SecretResolver(workspace, {"BENCH_SECRET": app.client_secret})
    block: dict[str, Any] = {
        "type": "graph",
        "tenant": "contoso.com",
        "client_id": app.client_id,
        "client_secret": "${env:BENCH_SECRET}",
        "concurrency": args.concurrency,
        "max_throttle_waits": 10_000,
    }

    def run(base: str | None) -> dict[str, Any]:
        if base is None:
            block.update(login_endpoint="https://login.emulator.test", graph_endpoint="https://graph.emulator.test")
            options: dict[str, Any] = {"graph_transport": tenant.transport()}
        else:
            block.update(login_endpoint=base, graph_endpoint=base, insecure_http=True)
            options = {}
        connector = GraphConnector(
            "entra", GraphConfig.model_validate(block), ConnectorContext(str(workspace), secrets, options)
        )
        connector.test_connection()
        requests_before = connector.stats["http_requests"]
        users = user_items(args.users)
        started = time.monotonic()
        with Sampler(tenant) as sampler:
            user_results = export_all(connector, users)
            created = [r.anchor for r in user_results if r.ok and r.anchor]
            group_results = export_all(connector, group_items(args.groups, created, args.members))
        export_seconds = time.monotonic() - started
        requests = connector.stats["http_requests"] - requests_before
        window = 150 * args.time_factor
        budget = WRITES_PER_150S / window
        utilization, measured = sampler.utilization(WRITES_PER_150S, window)
        stats = connector.stats

        names = Counter(u["userPrincipalName"].lower() for u in tenant.users())
        groups = Counter(g["mailNickname"].lower() for g in tenant.groups())
        duplicates = sum(n - 1 for n in names.values() if n > 1) + sum(n - 1 for n in groups.values() if n > 1)
        duplicates += max(0, len(tenant.users()) - args.users) + max(0, len(tenant.groups()) - args.groups)
        failed = sum(1 for r in [*user_results, *group_results] if not r.ok)
        member_links = sum(len(tenant.members(g["id"])) for g in tenant.groups())

        started = time.monotonic()
        watermark = list(connector.full_import())[-1].watermark
        full_seconds = time.monotonic() - started
        assert watermark is not None
        rng = random.Random(3)
        changed = rng.sample(created, 100)
        for n, user_id in enumerate(changed):
            tenant.update(user_id, jobTitle=f"Changed {n}")
        started = time.monotonic()
        pages = list(connector.delta_import(watermark))
        delta_seconds = time.monotonic() - started
        delta_records = sum(len(p.records) for p in pages)
        connector.close()
        return {
            "export_seconds": export_seconds,
            "writes": tenant.stats()["writes"],
            "throttled": stats["throttled"],
            "budget": budget,
            "utilization": utilization,
            "measured": measured,
            "requests": requests,
            "failed": failed,
            "duplicates": duplicates,
            "member_links": member_links,
            "full_seconds": full_seconds,
            "delta_seconds": delta_seconds,
            "delta_records": delta_records,
            "lowest_concurrency": stats["lowest_concurrency"],
        }

    try:
        if args.http:
            with tenant.serve() as base_url:
                figures = run(base_url)
        else:
            figures = run(None)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)

    users = args.users
    print(
        f"Graph connector export, {users:,} users + {args.groups} groups (~{args.members} members), "
        f"{'HTTP' if args.http else 'in-process'}, time factor {args.time_factor}, Python {platform.python_version()}"
    )
    rows = [
        ("write budget (writes/s, scaled)", f"{figures['budget']:,.0f}"),
        ("export wall time (s)", f"{figures['export_seconds']:.1f}"),
        ("writes accepted by Graph", f"{figures['writes']:,}"),
        ("429 answers", f"{figures['throttled']:,}"),
        ("lowest concurrency reached", f"{figures['lowest_concurrency']}"),
        ("budget utilization (mean reuse delay)", f"{figures['utilization']:.2f} ({figures['measured']:.3f} s)"),
        ("HTTP requests per created user", f"{figures['requests'] / users:.3f}"),
        ("failed objects", f"{figures['failed']}"),
        ("duplicated objects", f"{figures['duplicates']}"),
        ("group member links", f"{figures['member_links']:,}"),
        ("full import of the tenant (s)", f"{figures['full_seconds']:.2f}"),
        (f"delta import of 100 changes ({figures['delta_records']} records) (s)", f"{figures['delta_seconds']:.3f}"),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value:>22}")
    print(
        json.dumps(
            {
                "budget_utilization": round(figures["utilization"], 3),
                "requests_per_user": round(figures["requests"] / users, 4),
                "failed": figures["failed"],
                "duplicates": figures["duplicates"],
                "delta_100_seconds": round(figures["delta_seconds"], 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
