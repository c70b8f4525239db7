"""The export step's passes: values held back for objects not yet added go in a later pass of the same step."""

from __future__ import annotations

from lab import HR_TO_DIR, Lab, ok, person, step

from idsync.model import ExportOp


def test_a_failed_add_with_held_back_references_is_not_sent_again_in_the_same_step(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    # the employee's manager is added in the same export, so the employee's manager value waits for a later pass
    person(hr, "1", "Emp", "Loyee", manager="9")
    person(hr, "9", "Man", "Ager")
    target.fail(identifier="uid=1,ou=people", op="add", code="constraint", message="the directory refuses uid=1")
    lab.configure(HR_TO_DIR)
    run = lab.cycle()
    export = step(run, "dir", "export")
    errors = [e for e in lab.errors(run) if e.connector == "dir"]
    assert [e.identifier for e in errors] == ["uid=1,ou=people"], "one error row for one failed object"
    assert export.counters.adds == 1 and export.counters.errors == 1
    (pending,) = lab.cs_objects("dir", pending_export=True)
    assert pending.identifier == "uid=1,ou=people" and pending.pending_export is not None
    assert pending.pending_export.op is ExportOp.ADD and pending.pending_export.tries == 1
    assert {c.name for c in pending.pending_export.changes} >= {"manager", "employeeId"}, "nothing was lost"
    # the next export tries it again, manager included
    target.clear_failures()
    ok(lab.cycle())
    emp, man = target.find("uid=1,ou=people"), target.find("uid=9,ou=people")
    assert emp is not None and man is not None and emp.attributes["manager"] == man.anchor
