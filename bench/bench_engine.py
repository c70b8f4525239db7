"""Engine benchmark: full import, full sync and export of generated people, and a 100-change delta sync.

Each size runs in its own process so its peak RSS is its own. BENCH_SIZES=1000,100000 selects sizes (default
10000,100000,1000000). The last line printed is JSON with the figures.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000,1000000").split(",") if s.strip()]


def measure(size: int) -> dict[str, Any]:
    from idsync.cli.quickstart import write_workspace
    from idsync.engine.run_profiles import Runner
    from idsync.engine.workspace import Workspace
    from idsync.model import RunStatus, StepKind
    from idsync.testing.people import apply_changes

    root = Path(tempfile.mkdtemp(prefix=f"idsync-bench-{size}-")) / "ws"
    write_workspace(root, people=size)
    figures: dict[str, Any] = {"size": size}

    def timed(connector: str, kind: StepKind) -> tuple[float, Any]:
        with Workspace.load(root) as ws:
            start = time.perf_counter()
            run = Runner(ws).run_steps("bench", [(connector, kind)])
            seconds = time.perf_counter() - start
        (step,) = run.steps
        if step.status not in (RunStatus.SUCCESS, RunStatus.COMPLETED_ERRORS):
            raise SystemExit(f"{connector} {kind.value}: {step.status.value}: {step.message}")
        return seconds, step

    seconds, _ = timed("hr", StepKind.FULL_IMPORT)
    figures["full_import_objects_per_s"] = round(size / seconds)
    seconds, step = timed("hr", StepKind.FULL_SYNC)
    figures["full_sync_objects_per_s"] = round(size / seconds)
    figures["provisioned"] = step.counters.provisioned
    seconds, step = timed("directory", StepKind.EXPORT)
    figures["export_objects_per_s"] = round((step.counters.adds or 1) / seconds)
    timed("directory", StepKind.FULL_IMPORT)
    apply_changes(root / "data" / "hr.csv", 100, seed=7)
    seconds, _ = timed("hr", StepKind.DELTA_IMPORT)
    figures["delta_import_seconds"] = round(seconds, 3)
    seconds, step = timed("hr", StepKind.DELTA_SYNC)
    figures["delta_sync_seconds"] = round(seconds, 3)
    figures["delta_sync_processed"] = step.counters.updates + step.counters.adds + step.counters.unchanged
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    figures["store_mb"] = round((root / ".idsync" / "state.db").stat().st_size / 2**20)
    return figures


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(measure(int(sys.argv[2]))))
        return
    rows = []
    for size in SIZES:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(size)], check=True, capture_output=True, text=True
        ).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(f"measured {size:,}", file=sys.stderr)
    header = (
        f"{'people':>10} {'import/s':>10} {'sync/s':>10} {'export/s':>10} {'delta import s':>15} "
        f"{'delta sync s':>13} {'peak RSS MB':>12} {'store MB':>9}"
    )
    print(header)
    for r in rows:
        print(
            f"{r['size']:>10,} {r['full_import_objects_per_s']:>10,} {r['full_sync_objects_per_s']:>10,} "
            f"{r['export_objects_per_s']:>10,} {r['delta_import_seconds']:>15} {r['delta_sync_seconds']:>13} "
            f"{r['peak_rss_mb']:>12} {r['store_mb']:>9}"
        )
    summary = {
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}",
        "full_sync_objects_per_s": {str(r["size"]): r["full_sync_objects_per_s"] for r in rows},
        "full_import_objects_per_s": {str(r["size"]): r["full_import_objects_per_s"] for r in rows},
        "export_objects_per_s": {str(r["size"]): r["export_objects_per_s"] for r in rows},
        "delta_sync_seconds": {str(r["size"]): r["delta_sync_seconds"] for r in rows},
        "peak_rss_mb": max(r["peak_rss_mb"] for r in rows),
        "peak_rss_mb_by_size": {str(r["size"]): r["peak_rss_mb"] for r in rows},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
