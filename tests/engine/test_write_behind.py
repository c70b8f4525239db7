"""A sync whose pages are committed behind (``Store.write_behind``) leaves the store exactly as one whose pages land
each before the next is read: the quickstart's people over many small pages (managers named across pages,
generated unique names taken by earlier pages, references waiting for a later page), a full sync and then a delta
sync of changes. The writer is slowed down so that pages are read and decided while the one before is still being
written."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import idsync.engine.sync as sync_module
from idsync.cli.quickstart import write_workspace
from idsync.engine.run_profiles import Runner
from idsync.engine.workspace import Workspace
from idsync.model import RunStatus, StepKind
from idsync.store.held import HeldWrites
from idsync.store.sqlite.store import SQLiteStore
from idsync.store.write_behind import Write, WriteBehind
from idsync.testing.people import apply_changes

TABLES = {
    "cs": "SELECT * FROM cs ORDER BY id",
    "mv": "SELECT * FROM mv ORDER BY id",
    "cs_keys": "SELECT * FROM cs_keys ORDER BY cs_id, attribute, value",
    "mv_keys": "SELECT * FROM mv_keys ORDER BY mv_id, attribute, value",
    "unresolved": "SELECT * FROM unresolved ORDER BY mv_id, attribute, direction, connector, ref",
    "errors": "SELECT run_id, connector, cs_id, mv_id, identifier, attribute, code, reason FROM errors ORDER BY id",
    "meta": "SELECT * FROM meta WHERE key NOT LIKE 'lock%' ORDER BY key",
}


def _run(root: Path) -> dict[str, list[tuple[object, ...]]]:
    write_workspace(root, people=600, target="csv")
    steps = [("hr", StepKind.FULL_IMPORT), ("hr", StepKind.FULL_SYNC)]
    with Workspace.load(root) as ws:
        run = Runner(ws).run_steps("initial", steps)
        assert all(s.status is RunStatus.SUCCESS for s in run.steps), [s.message for s in run.steps]
        assert run.steps[1].counters.provisioned > 500
    apply_changes(root / "data" / "hr.csv", 150, seed=3)
    with Workspace.load(root) as ws:
        run = Runner(ws).run_steps("delta", [("hr", StepKind.DELTA_IMPORT), ("hr", StepKind.DELTA_SYNC)])
        assert all(s.status is RunStatus.SUCCESS for s in run.steps), [s.message for s in run.steps]
    with sqlite3.connect(root / ".idsync" / "state.db") as db:
        return {table: db.execute(sql).fetchall() for table, sql in TABLES.items()}


def test_pages_committed_behind_leave_the_store_as_pages_committed_in_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync_module, "PAGE", 37)
    submit = WriteBehind.submit

    def landed(self: WriteBehind, batch: HeldWrites) -> None:
        submit(self, batch)
        self.wait()

    with monkeypatch.context() as m:
        m.setattr(WriteBehind, "submit", landed)  # each page's writes land before the next page is read
        in_turn = _run(tmp_path / "in-turn")

    prepare = SQLiteStore._prepare_behind

    def slow(self: SQLiteStore, batch: HeldWrites) -> Write:
        write = prepare(self, batch)

        def slowly() -> None:
            time.sleep(0.02)  # a slow disk: the next page is read and decided meanwhile
            write()

        return slowly

    seen: list[HeldWrites] = []
    in_flight: Callable[[WriteBehind], HeldWrites | None] = WriteBehind.in_flight

    def watched(self: WriteBehind) -> HeldWrites | None:
        batch = in_flight(self)
        if batch is not None:
            seen.append(batch)
        return batch

    monkeypatch.setattr(SQLiteStore, "_prepare_behind", slow)
    monkeypatch.setattr(WriteBehind, "in_flight", watched)
    behind = _run(tmp_path / "behind")

    assert len({id(b) for b in seen}) > 5  # pages were read beside many batches in flight
    for table, rows in in_turn.items():
        assert behind[table] == rows, table
