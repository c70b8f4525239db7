"""Store contract: run history (runs, steps, error rows, interrupted runs), deletion approvals, the export audit."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from idsync.model import ErrorRow, RunStatus, StepKind
from idsync.store import Store


def test_a_run_and_its_steps_round_trip(store: Store) -> None:
    run = store.run_start("nightly", staging=True)
    assert run.id > 0 and run.status is RunStatus.IN_PROGRESS and run.staging is True
    imp = store.step_start(run, "hr", StepKind.FULL_IMPORT)
    sync = store.step_start(run, "hr", StepKind.DELTA_SYNC)
    assert (imp.index, sync.index) == (0, 1) and run.steps == [imp, sync]
    imp.counters.adds, imp.counters.updates, imp.counters.confirmed = 1200, 3, 2
    imp.status, imp.ended, imp.message = RunStatus.SUCCESS, imp.started + 2.5, "full import instead of delta"
    store.step_save(imp)
    sync.counters.projections = 1200
    sync.status, sync.ended = RunStatus.COMPLETED_ERRORS, sync.started + 1
    store.step_save(sync)
    run.status = RunStatus.COMPLETED_ERRORS
    store.run_finish(run)
    assert run.ended is not None
    again = store.run_get(run.id)
    assert again == run
    assert again is not None and again.steps[0].counters.adds == 1200 and again.steps[1].counters.projections == 1200
    assert store.run_get(run.id + 100) is None


def test_runs_are_listed_newest_first(store: Store) -> None:
    ids = [store.run_start(f"p{i}", staging=False).id for i in range(5)]
    assert [r.id for r in store.runs()] == ids[::-1]
    assert [r.id for r in store.runs(limit=2)] == ids[:2:-1]
    assert [r.id for r in store.runs(limit=2, before=ids[3])] == [ids[2], ids[1]]
    assert [r.profile for r in store.runs(limit=1)] == ["p4"]


def test_interrupted_runs_and_their_status(store: Store) -> None:
    done = store.run_start("a", staging=False)
    done.status = RunStatus.SUCCESS
    store.run_finish(done)
    killed = store.run_start("b", staging=False)
    finished_step = store.step_start(killed, "hr", StepKind.FULL_IMPORT)
    finished_step.status, finished_step.ended = RunStatus.SUCCESS, finished_step.started + 1
    store.step_save(finished_step)
    store.step_start(killed, "hr", StepKind.FULL_SYNC)  # killed while this step ran
    assert [r.id for r in store.interrupted_runs()] == [killed.id]
    store.set_run_status(killed.id, RunStatus.STOPPED_CANCELLED)
    assert store.interrupted_runs() == []
    after = store.run_get(killed.id)
    assert after is not None and after.status is RunStatus.STOPPED_CANCELLED and after.ended is not None
    assert [s.status for s in after.steps] == [RunStatus.SUCCESS, RunStatus.STOPPED_CANCELLED]
    assert after.steps[0].ended == finished_step.ended and after.steps[1].ended is not None


def test_error_rows(store: Store) -> None:
    run = store.run_start("p", staging=False)
    step = store.step_start(run, "hr", StepKind.FULL_IMPORT)
    other = store.step_start(run, "ad", StepKind.EXPORT)
    rows = [
        ErrorRow(step.id, "hr", "not a date", "CN=Anna", 5, None, "hireDate", "import-error", "line 7", run_id=run.id),
        ErrorRow(step.id, "hr", "ambiguous join", cs_id=6, mv_id=9, run_id=run.id),
        ErrorRow(other.id, "ad", "refused", "CN=Bob", 7, code="export-error", run_id=run.id),
    ]
    store.add_errors(rows)
    store.add_errors([])
    got = store.errors(run_id=run.id)
    assert [(e.step_id, e.reason) for e in got] == [(r.step_id, r.reason) for r in rows]
    assert all(e.id is not None for e in got)
    for e, r in zip(got, rows, strict=True):
        e.id = None
        assert e == r
    assert [e.reason for e in store.errors(step_id=other.id)] == ["refused"]
    assert [e.reason for e in store.errors(run_id=run.id, limit=1)] == ["not a date"]
    assert store.errors(run_id=run.id + 1) == []


def test_many_error_rows_in_one_batch(store: Store) -> None:
    run = store.run_start("p", staging=False)
    step = store.step_start(run, "hr", StepKind.FULL_IMPORT)
    store.add_errors([ErrorRow(step.id, "hr", f"bad row {i}", run_id=run.id) for i in range(600)])
    got = store.errors(step_id=step.id, limit=10_000)
    assert [e.reason for e in got] == [f"bad row {i}" for i in range(600)]


def test_errors_of_one_object_newest_first(store: Store) -> None:
    if not hasattr(store, "errors_for_cs"):
        pytest.skip("optional")
    store.add_errors([ErrorRow(1, "hr", f"r{i}", cs_id=5 if i % 2 else 6) for i in range(6)])
    assert [e.reason for e in store.errors_for_cs(5, 2)] == ["r5", "r3"]


def test_approvals(store: Store) -> None:
    assert store.approval_get("ad") == 0
    store.approval_set("ad", 750)
    store.approval_set("hr", 3)
    assert store.approval_get("ad") == 750
    store.approval_set("ad", 800)
    assert store.approval_get("ad") == 800
    store.approval_set("ad", 0)
    assert (store.approval_get("ad"), store.approval_get("hr")) == (0, 3)


def test_audit(store: Store) -> None:
    changes = [["mail", "replace", ["anna@x.org"], "out-users"], ["proxy", "add", ["a", "b"], None]]
    warnings = ["ad 'CN=Anna': the export removes 1 member value(s) that name no object ('CN=Ext')"]
    store.audit_add(
        [
            {"at": 1000.5, "run_id": 1, "step_id": 2, "connector": "ad", "cs_id": 5, "identifier": "CN=Anna",
             "op": "update", "rule": "out-users", "result": "success", "changes": changes, "warnings": warnings},
            {"run_id": 1, "connector": "ad", "cs_id": 6, "op": "delete", "result": "refused"},
            {"run_id": 2, "connector": "ad", "cs_id": 5, "op": "add", "result": "success"},
        ]
    )  # fmt: skip
    store.audit_add([])
    anna = list(store.audit_search(cs_id=5))
    assert [a["op"] for a in anna] == ["add", "update"]  # newest first
    first = anna[1]
    assert {k: first[k] for k in ("at", "run_id", "step_id", "connector", "identifier", "rule", "result")} == {
        "at": 1000.5,
        "run_id": 1,
        "step_id": 2,
        "connector": "ad",
        "identifier": "CN=Anna",
        "rule": "out-users",
        "result": "success",
    }
    assert first["changes"] == changes and first["warnings"] == warnings
    assert isinstance(first["id"], int)
    run1 = list(store.audit_search(run_id=1))
    assert [(a["cs_id"], a["changes"], a["identifier"], a["warnings"]) for a in run1] == [
        (6, [], None, []),
        (5, changes, "CN=Anna", warnings),
    ]
    assert run1[0]["at"] > 1000.5  # stamped when added
    assert len(list(store.audit_search(limit=2))) == 2
    assert [a["op"] for a in store.audit_search(cs_id=5, run_id=2)] == ["add"]


def _schema_1_with_an_audit_row(store_url: str) -> None:
    """The database a store of schema version 1 left: its tables, and an export it audited."""
    from importlib import resources

    dialect = "sqlite" if store_url.startswith("sqlite") else "postgres"
    script = (resources.files(f"idsync.store.{dialect}") / "migrations" / "001_initial.sql").read_text("utf-8")
    row = "INSERT INTO audit(at, run_id, connector, cs_id, op, result, changes) VALUES (1.5, 1, 'ad', 5, 'update', "
    row += """'success', '[["mail","replace",["a@x.org"],null]]')"""
    if dialect == "sqlite":
        import sqlite3

        db = sqlite3.connect(store_url.removeprefix("sqlite:///"))
        db.executescript(f"{script};\n{row};\nPRAGMA user_version=1;")
        db.close()
        return
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(store_url, autocommit=True) as pg:
        pg.execute(script)
        pg.execute(row)
        pg.execute("CREATE TABLE schema_version (version integer NOT NULL); INSERT INTO schema_version VALUES (1)")


def test_an_audit_row_of_schema_version_1_reads_back_without_warnings(
    store_url: str, open_again: Callable[[], Store]
) -> None:
    _schema_1_with_an_audit_row(store_url)
    store = open_again()
    (old,) = store.audit_search(run_id=1)
    assert (old["cs_id"], old["changes"], old["warnings"]) == (5, [["mail", "replace", ["a@x.org"], None]], [])
    store.audit_add([{"run_id": 2, "connector": "ad", "op": "update", "result": "success", "warnings": ["w"]}])
    assert [a["warnings"] for a in store.audit_search(connector="ad")] == [["w"], []]
