"""Bad input: the object gets an error row naming it, the attribute and the reason; the run goes on; nothing
already staged is lost."""

from __future__ import annotations

from pathlib import Path

from lab import HR_TO_DIR, Lab, ok, person, step

from idsync.model import RunStatus

CSV_SOURCE = HR_TO_DIR.replace(
    "  hr: {type: memory, directory: hr, anchor_from_identifier: true}",
    "  hr: {type: csv, path: hr.csv, object_type: person, anchor: employeeId, columns: {managerId: reference, "
    "level: integer}}",
)
HEADER = "employeeId,givenName,sn,department,status,managerId,level\n"


def write(lab: Lab, rows: str) -> None:
    (lab.root / "hr.csv").write_text(HEADER + rows, encoding="utf-8")


def test_malformed_rows_and_bad_values_are_error_rows(lab: Lab) -> None:
    lab.directory("dir")
    write(
        lab,
        "1,Ann,Lee,Sales,active,,3\n"
        "2,Bob,Ray,Sales,active,,three\n"  # not an integer
        "3,Cy,Ng,Sales\n"  # too few columns
        "1,Dup,Licate,Sales,active,,1\n"  # duplicate anchor
        "4,Di,Ana,Legal,active,,5\n",
    )
    lab.configure(CSV_SOURCE)
    run = lab.cycle()
    assert run.status is RunStatus.COMPLETED_ERRORS
    imported = step(run, "hr", "full-import")
    assert imported.status is RunStatus.COMPLETED_ERRORS and imported.counters.adds == 2
    errors = {e.identifier: e for e in lab.errors(run)}
    assert set(errors) == {"1", "2", "3"}
    assert errors["2"].attribute == "level" and "'three' is not an integer" in errors["2"].reason
    assert errors["3"].attribute == "status" and "4 fields where the header has 7" in errors["3"].reason
    assert "the anchor '1' is already used" in errors["1"].reason
    assert sorted(o.identifier for o in lab.dirs["dir"].objects()) == ["uid=1,ou=people", "uid=4,ou=people"]


def test_a_malformed_row_is_not_taken_for_a_delete(lab: Lab) -> None:
    lab.directory("dir")
    write(lab, "1,Ann,Lee,Sales,active,,3\n2,Bob,Ray,Sales,active,,4\n")
    lab.configure(CSV_SOURCE)
    ok(lab.cycle())
    write(lab, "1,Ann,Lee,Sales,active,,3\n2,Bob,Ray,Sales,active,,four\n")
    run = lab.cycle()
    assert step(run, "hr", "delta-import").counters.deletes == 0
    assert len(lab.mv_objects()) == 2 and len(lab.dirs["dir"]) == 2


def test_a_flow_failing_on_one_object_does_not_stop_the_others(lab: Lab) -> None:
    hr = lab.directory("hr")
    lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    person(hr, "2", "Bob", "Ray", department="BROKEN")
    failing = 'IIF([department] = "BROKEN", Error("department BROKEN is not a department"), [department])'
    lab.configure(HR_TO_DIR.replace("      department: department\n", f"      department: '{failing}'\n", 1))
    run = lab.cycle()
    assert run.status is RunStatus.COMPLETED_ERRORS
    (error,) = lab.errors(run)
    assert error.identifier == "2" and error.attribute == "department"
    assert "department BROKEN is not a department" in error.reason
    assert error.reason.startswith("flow 'department' of rule 'hr-people': ")  # which flow of which rule
    assert [o.identifier for o in lab.dirs["dir"].objects()] == ["uid=1,ou=people"]
    # fixed at the source: the object goes through at the next cycle
    person(hr, "2", "Bob", "Ray", department="Legal")
    ok(lab.cycle())
    assert len(lab.dirs["dir"]) == 2


def test_target_refusal_is_an_error_row_and_the_batch_goes_on(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    for i in range(5):
        person(hr, str(i), f"G{i}", f"S{i}")
    target.fail(identifier="uid=2,ou=people", op="add", code="constraint", message="the directory refuses uid=2")
    lab.configure(HR_TO_DIR)
    run = lab.cycle()
    export = step(run, "dir", "export")
    assert export.counters.adds == 4 and export.counters.errors == 1
    (error,) = [e for e in lab.errors(run) if e.connector == "dir"]
    assert error.identifier == "uid=2,ou=people" and "refuses uid=2" in error.reason
    pending = lab.cs_objects("dir", pending_export=True)
    assert [c.identifier for c in pending] == ["uid=2,ou=people"]  # kept for the next export
    target.clear_failures()
    ok(lab.cycle())
    assert len(target) == 5


def test_unknown_profile_and_missing_workspace_are_clear(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from idsync.cli.main import cli

    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "status"])
    assert result.exit_code == 3
    assert "no configuration" in result.output
