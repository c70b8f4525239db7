"""Deletion threshold, staging mode, error limit, export confirmation and re-export."""

from __future__ import annotations

from lab import HR_TO_DIR, Lab, ok, person, step

from idsync.engine.run_profiles import Runner, RunOptions
from idsync.model import RunStatus, StepKind
from idsync.service.readmodel import Secrets, approve_deletes, cs_filter, search_cs

DELETE_ON_LEAVE = HR_TO_DIR.replace("deprovision: disable", "deprovision: delete")


def populate(lab: Lab, n: int, threshold: str = "") -> None:
    hr = lab.directory("hr")
    lab.directory("dir")
    for i in range(n):
        person(hr, f"{i:03}", f"G{i}", f"S{i}")
    lab.configure(DELETE_ON_LEAVE + threshold)
    ok(lab.cycle())
    assert len(lab.dirs["dir"]) == n


def test_deletion_threshold_stops_the_export_until_approved(lab: Lab) -> None:
    populate(lab, 12, "safety: {deletion_threshold: 5}\n")
    for i in range(8):
        lab.dirs["hr"].delete(f"{i:03}")
    run = lab.cycle()
    export = step(run, "dir", "export")
    assert export.status is RunStatus.STOPPED_DELETION_THRESHOLD and run.status is RunStatus.STOPPED_DELETION_THRESHOLD
    assert "8 pending deletes" in (export.message or "") and "idsync approve-deletes dir" in (export.message or "")
    assert len(lab.dirs["dir"]) == 12  # nothing was written
    assert not [s for s in run.steps if s.connector == "dir" and s.kind is StepKind.CONFIRMING_IMPORT]
    with lab.open() as ws:
        ws.store.approval_set("dir", 8)
    run = ok(lab.cycle())
    assert step(run, "dir", "export").counters.deletes == 8 and len(lab.dirs["dir"]) == 4
    with lab.open() as ws:
        assert ws.store.approval_get("dir") == 0  # an approval is used once


def test_deletion_threshold_counts_disables_too(lab: Lab) -> None:
    # a truncated HR file must not disable everyone either: disables are held and approved like deletes
    hr = lab.directory("hr")
    lab.directory("dir")
    for i in range(12):
        person(hr, f"{i:03}", f"G{i}", f"S{i}")
    lab.configure(HR_TO_DIR + "safety: {deletion_threshold: 5}\n")
    ok(lab.cycle())
    for i in range(6):
        person(hr, f"{i:03}", f"G{i}", f"S{i}", status="left")  # out of scope: disable, staying linked
    for i in range(6, 8):
        hr.delete(f"{i:03}")  # the MV object goes: disable, leaving a disconnector
    run = lab.cycle()
    export = step(run, "dir", "export")
    assert export.status is RunStatus.STOPPED_DELETION_THRESHOLD
    assert "8 pending deprovisionings (0 deletes, 8 disables)" in (export.message or "")
    assert all(o.attributes["accountEnabled"] == "True" for o in lab.dirs["dir"].objects())  # nothing written
    with lab.open() as ws:
        held = search_cs(ws.store, cs_filter(connector="dir", pending_delete=True), Secrets())
        assert held["total"] == 8  # what `search cs --pending-delete` shows for review
        assert approve_deletes(ws.store, ["hr", "dir"], "dir", None) == (8, 8)
    run = ok(lab.cycle())
    assert step(run, "dir", "export").counters.updates == 8
    assert sorted(o.attributes["accountEnabled"] for o in lab.dirs["dir"].objects()) == ["False"] * 8 + ["True"] * 4


def test_an_approval_covers_the_objects_pending_when_it_was_given(lab: Lab) -> None:
    populate(lab, 12, "safety: {deletion_threshold: 5}\n")
    hr = lab.dirs["hr"]
    for i in range(6):
        hr.delete(f"{i:03}")
    assert step(lab.cycle(), "dir", "export").status is RunStatus.STOPPED_DELETION_THRESHOLD
    with lab.open() as ws:
        assert approve_deletes(ws.store, ["hr", "dir"], "dir", None) == (6, 6)
    # before the export runs, one of them comes back and somebody else leaves: as many deletes, not the same ones
    person(hr, "000", "G0", "S0")
    hr.delete("006")
    run = lab.cycle()
    export = step(run, "dir", "export")
    assert export.status is RunStatus.STOPPED_DELETION_THRESHOLD
    assert "(1 of them not pending when the approval was given, so not reviewed)" in (export.message or "")
    assert len(lab.dirs["dir"]) == 12  # nothing was sent
    with lab.open() as ws:
        assert approve_deletes(ws.store, ["hr", "dir"], "dir", None) == (6, 6)
    run = ok(lab.cycle())
    assert step(run, "dir", "export").counters.deletes == 6 and len(lab.dirs["dir"]) == 6
    with lab.open() as ws:
        assert ws.store.approval_get("dir") == 0


def test_deletion_threshold_as_a_percentage(lab: Lab) -> None:
    populate(lab, 10, "safety: {deletion_threshold: null, deletion_threshold_percent: 25}\n")
    for i in range(3):
        lab.dirs["hr"].delete(f"{i:03}")
    run = lab.cycle()
    assert step(run, "dir", "export").status is RunStatus.STOPPED_DELETION_THRESHOLD
    assert "30.0% of the connector space" in (step(run, "dir", "export").message or "")


def test_staging_mode_computes_everything_and_writes_nothing(lab: Lab) -> None:
    hr = lab.directory("hr")
    lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    person(hr, "2", "Bob", "Ray")
    lab.configure(HR_TO_DIR)
    run = ok(lab.cycle(staging=True))
    assert run.staging
    export = step(run, "dir", "export")
    assert export.counters.adds == 2 and export.counters.exported_pending == 2
    assert "staging mode" in (export.message or "")
    assert len(lab.dirs["dir"]) == 0
    pending = lab.cs_objects("dir", pending_export=True)
    assert sorted(c.identifier for c in pending) == ["uid=1,ou=people", "uid=2,ou=people"]
    run = ok(lab.cycle())
    assert step(run, "dir", "export").counters.adds == 2 and len(lab.dirs["dir"]) == 2


def test_error_limit_stops_the_step(lab: Lab) -> None:
    hr = lab.directory("hr")
    lab.directory("dir")
    for i in range(30):
        hr.add("person", f"{i:03}", {"employeeId": f"{i:03}", "givenName": "X", "status": "active"}, anchor=f"{i:03}")
    failing = "displayName: 'Error(\"no display name\")'"
    lab.configure(HR_TO_DIR.replace("displayName: 'Join(\" \", [givenName], [sn])'", failing))
    with lab.open() as ws:
        run = Runner(ws, RunOptions(error_limit=10)).run_steps(
            "t", [("hr", StepKind.FULL_IMPORT), ("hr", StepKind.FULL_SYNC), ("dir", StepKind.EXPORT)]
        )
    sync = step(run, "hr", "full-sync")
    assert sync.status is RunStatus.STOPPED_ERROR_LIMIT and sync.counters.errors == 10
    assert sync.counters.projections == 0  # the failed objects' work was rolled back, counts included
    assert step(run, "dir", "export").status is RunStatus.SUCCESS  # another connector goes on
    assert run.status is RunStatus.STOPPED_ERROR_LIMIT


def test_a_target_that_keeps_another_value_is_re_exported_then_reported_once(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    target.normalize("displayName", lambda v: v.upper())
    person(hr, "1", "Ann", "Lee")
    lab.configure(HR_TO_DIR + "safety: {export_confirmation_tries: 2}\n")
    first = ok(lab.cycle())
    assert step(first, "dir", "export").counters.adds == 1
    second = lab.cycle()
    assert step(second, "dir", "export").counters.updates == 1  # re-exported once
    errors = [e for e in lab.errors(second) if e.code == "export-not-confirmed"]
    assert len(errors) == 1 and "'ANN LEE' instead of 'Ann Lee'" in errors[0].reason
    assert errors[0].attribute == "displayName" and errors[0].identifier == "uid=1,ou=people"
    updates = [op for op, ident in target.exported if op == "update"]
    assert len(updates) == 1
    # no loop: neither delta cycles nor a full sync send it again, and it is not reported again
    third = ok(lab.cycle())
    full = ok(lab.run(("hr", "full-sync"), ("dir", "full-sync"), ("dir", "export"), ("dir", "full-import")))
    assert step(third, "dir", "export").counters.updates == 0 and step(full, "dir", "export").counters.updates == 0
    assert [op for op, _ in target.exported if op == "update"] == updates
    # a new wanted value is exported normally
    person(hr, "1", "Ann", "Lee-Smith")
    fourth = lab.cycle()
    assert step(fourth, "dir", "export").counters.updates == 1
