"""Killed at any point of an export step (SIGKILL), the CSV target is never torn, and every batch that was
acknowledged is in the file once the next step has replayed the journal."""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from idsync.connectors.base import ConnectorContext
from idsync.connectors.csv import connector_type
from idsync.connectors.csv.journal import journal_path
from idsync.testing.contract import read_pages

ROWS = 5_000
BATCHES = 30

CHILD = """
import sys, time
from idsync.connectors.base import ConnectorContext, ExportItem
from idsync.connectors.csv import connector_type
from idsync.model import AttributeChange, ExportOp, ValueOp

config = {"type": "csv", "path": "hr.csv", "object_type": "person", "anchor": "id"}
target = connector_type.create("hr", config, ConnectorContext(sys.argv[1]))
print("ready", flush=True)
for batch in range(int(sys.argv[2])):
    items = [
        ExportItem(i, "person", ExportOp.ADD, f"n{batch}-{i}",
                   changes=[AttributeChange("name", ValueOp.REPLACE, [f"New {batch}-{i}"])])
        for i in range(20)
    ]
    items.append(ExportItem(99, "person", ExportOp.UPDATE, str(batch), str(batch),
                            [AttributeChange("name", ValueOp.REPLACE, [f"Renamed {batch}"])]))
    assert all(r.ok for r in target.export(items))
    print(f"acked {batch}", flush=True)
    time.sleep(0.01)
target.close()
print("closed", flush=True)
"""


def seed(folder: Path) -> None:
    with (folder / "hr.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name"])
        writer.writerows([str(i), f"Person {i}"] for i in range(ROWS))


@pytest.mark.parametrize("delay", [0.0, 0.1, 0.2, 0.3, 0.36, 0.42, None])
def test_a_killed_export_step_loses_nothing_acknowledged_and_tears_nothing(tmp_path: Path, delay: float | None) -> None:
    """Kill points range from before the first batch, through the batches, to the rewrite at close (how far
    the child got depends on the machine: the assertions hold wherever it stopped); ``None`` lets it finish."""
    seed(tmp_path)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path), str(BATCHES)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    if delay is not None:
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
    output = child.stdout.read().split()
    assert child.wait() == (0 if delay is None else -signal.SIGKILL) or "closed" in output
    acked = {int(word) for word in output if word.isdigit()}

    # the file on disk is whole: the old content or the new, every row with both fields
    with (tmp_path / "hr.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["id", "name"]
    assert all(len(row) == 2 for row in rows)
    assert len({row[0] for row in rows[1:]}) == len(rows) - 1

    # the next step replays whatever the killed one acknowledged
    config = {"type": "csv", "path": "hr.csv", "object_type": "person", "anchor": "id"}
    imported = read_pages(connector_type.create("hr", config, ConnectorContext(str(tmp_path))).full_import())
    assert not imported.issues
    names = {r.anchor: r.attributes["name"] for r in imported.records}
    assert len(names) == len(imported.records), "no row twice"
    for batch in acked:
        assert names[str(batch)] == f"Renamed {batch}"
        assert all(names[f"n{batch}-{i}"] == f"New {batch}-{i}" for i in range(20))
    assert sum(1 for anchor in names if anchor.startswith("n")) % 20 == 0, "batches are all or nothing"
    assert not journal_path(tmp_path / "hr.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hr.csv"]
