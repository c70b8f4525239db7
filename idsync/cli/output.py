"""Printing: rich tables for people, one JSON document for scripts (``--json``)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from idsync.model import RunResult, RunStatus

STATUS_STYLE = {
    RunStatus.SUCCESS: "green",
    RunStatus.COMPLETED_ERRORS: "yellow",
    RunStatus.IN_PROGRESS: "cyan",
}


def console(stderr: bool = False) -> Console:
    """The one way the CLI builds a rich console. Emoji codes stay off: data is printed as it is, and a position
    such as ``idsync.yaml:100:41`` or a surname ending in ``:100:`` must not become an emoji. Markup stays on for
    the CLI's own styling; data is escaped where it is printed."""
    out = Console(stderr=stderr, highlight=False, soft_wrap=False, emoji=False)
    if not out.is_terminal:
        # logs and pipes: wide enough for a run table, never squeezed to 80 columns
        out = Console(stderr=stderr, highlight=False, soft_wrap=False, emoji=False, width=max(out.width, 140))
    return out


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def status_text(status: RunStatus) -> str:
    style = STATUS_STYLE.get(status, "red")
    return f"[{style}]{status.value}[/{style}]"


def run_table(run: RunResult) -> Table:
    table = Table(title=f"run {run.id} · {run.profile} · {run.status.value}" + (" · staging" if run.staging else ""))
    for column in ("connector", "step", "status", "adds", "updates", "deletes", "renames", "unchanged", "errors", "s"):
        table.add_column(column, justify="right" if column not in ("connector", "step", "status") else "left")
    for step in run.steps:
        c = step.counters
        table.add_row(
            step.connector,
            step.kind.value,
            status_text(step.status),
            str(c.adds),
            str(c.updates),
            str(c.deletes),
            str(c.renames),
            str(c.unchanged),
            str(c.errors) if not c.errors else f"[red]{c.errors}[/red]",
            f"{step.seconds:.2f}",
        )
    return table


def print_run(run: RunResult, out: Console) -> None:
    out.print(run_table(run))
    for step in run.steps:
        c = step.counters
        extra = []
        if step.kind.is_sync:
            extra = [
                f"{n} {label}"
                for n, label in (
                    (c.projections, "projected"),
                    (c.joins, "joined"),
                    (c.provisioned, "provisioned"),
                    (c.deprovisioned, "deprovisioned"),
                    (c.disconnections, "disconnected"),
                    (c.mv_deletes, "MV deleted"),
                )
                if n
            ]
        if step.kind.is_import and c.confirmed:
            extra.append(f"{c.confirmed} exports confirmed")
        if step.message or extra:
            detail = ", ".join(extra)
            message = step.message or ""
            out.print(f"  {step.connector} {step.kind.value}: {detail}{'; ' if detail and message else ''}{message}")
