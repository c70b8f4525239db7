"""Provisioning on demand: one object from its source to its targets, now, and nothing else."""

from __future__ import annotations

from lab import HR_TO_DIR, Lab, ok, person, step

from idsync.engine.on_demand import OnDemand, provision_on_demand
from idsync.engine.run_profiles import Runner, RunOptions
from idsync.model import RunStatus


def on_demand(lab: Lab, identifier: str, *, staging: bool = False) -> OnDemand:
    with lab.open() as ws:
        known = ws.store.cs_by_identifier("hr", [identifier]).get(identifier.casefold(), [])
        runner = Runner(ws, RunOptions(staging=staging) if staging else None)
        return provision_on_demand(runner, "hr", identifier, known[0].id if known else None)


def test_a_new_hire_reaches_the_directory_and_nothing_else_moves(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    lab.configure(HR_TO_DIR)
    ok(lab.cycle())
    with lab.open() as ws:
        watermark = ws.store.get_watermark("hr")
    person(hr, "2", "Bob", "Roe", manager="1")  # the new hire
    person(hr, "3", "Cy", "Poe")  # another change the night's run is for
    person(hr, "1", "Ann", "Lee", department="Legal")

    done = on_demand(lab, "2")

    assert done.run.status is RunStatus.SUCCESS and not done.missing
    assert [(s.connector, s.kind.value) for s in done.run.steps] == [
        ("hr", "delta-import"),
        ("hr", "delta-sync"),
        ("dir", "export"),
    ]
    account = target.find("uid=2,ou=people")
    assert account is not None and account.attributes["displayName"] == "Bob Roe"
    manager = target.find("uid=1,ou=people")
    assert manager is not None and account.attributes["manager"] == manager.anchor
    (outcome,) = done.targets
    assert (outcome.connector, outcome.staged, outcome.sent, outcome.held) == ("dir", "add", True, None)
    assert done.source is not None and done.mv_id == done.source.mv_id is not None
    # the others wait for the next run: not imported, not synced, not exported; the watermark did not move
    assert [c.anchor for c in lab.cs_objects("hr")] == ["1", "2"]
    assert manager.attributes["department"] == "Sales" and target.find("uid=3,ou=people") is None
    with lab.open() as ws:
        assert ws.store.get_watermark("hr") == watermark
    run = ok(lab.cycle())
    assert step(run, "dir", "export").counters.adds == 1  # Cy alone; Bob went on demand
    assert manager.attributes["department"] == "Legal"


def test_a_leaver_is_never_disabled_on_demand(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    lab.configure(HR_TO_DIR)
    ok(lab.cycle())
    person(hr, "1", "Ann", "Lee", status="leaver")

    done = on_demand(lab, "1")

    (outcome,) = done.targets
    assert (outcome.staged, outcome.sent) == ("disable", False)
    assert outcome.held is not None and "deletion threshold" in outcome.held
    assert [s.kind.value for s in done.run.steps] == ["delta-import", "delta-sync"]
    account = target.find("uid=1,ou=people")
    assert account is not None and account.attributes["accountEnabled"] == "True"
    ok(lab.run(("dir", "export")))
    assert account.attributes["accountEnabled"] == "False"


def test_staging_mode_imports_and_syncs_and_sends_nothing(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    lab.configure(HR_TO_DIR)
    person(hr, "1", "Ann", "Lee")
    done = on_demand(lab, "1", staging=True)
    (outcome,) = done.targets
    assert (outcome.staged, outcome.sent, outcome.held) == ("add", False, "staging mode: nothing is sent")
    assert target.objects() == [] and lab.cs_objects("dir")[0].pending_export is not None


def test_an_object_neither_imported_nor_in_the_system_stops_the_run_and_says_so(lab: Lab) -> None:
    lab.directory("hr")
    lab.directory("dir")
    lab.configure(HR_TO_DIR)
    done = on_demand(lab, "404")
    assert done.missing and done.run.status is RunStatus.STOPPED_CONFIG
    assert done.run.steps[0].message == "hr has no object '404' (looked up by its identifier)"
    assert lab.cs_objects("hr") == [] and done.targets == []


def test_an_object_gone_from_the_system_is_deleted_by_its_sync(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    person(hr, "2", "Bob", "Roe")
    lab.configure(HR_TO_DIR)
    ok(lab.cycle())
    hr.delete("2")
    done = on_demand(lab, "2")
    assert done.source is None and step(done.run, "hr", "delta-sync").counters.mv_deletes == 1
    (outcome,) = done.targets  # its account is disabled by the regular export, not on demand
    assert outcome.staged == "disable" and not outcome.sent
    assert [c.anchor for c in lab.cs_objects("hr")] == ["1"]
    assert target.find("uid=2,ou=people") is not None
