"""An add in flight when a run died stays in flight until the reconciliation has looked for it, even when a sync
changes or deprovisions the object meanwhile (the target being down for the reconciliation in between)."""

from __future__ import annotations

from lab import HR_TO_DIR, Lab, person, step

from idsync.model import ExportOp, RunStatus


def _crash_after_first_add(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    person(hr, "2", "Bob", "Ray")
    lab.configure(HR_TO_DIR)
    lab.run(("hr", "full-import"), ("dir", "full-import"), ("hr", "full-sync"))
    target.crash_after(1, KeyboardInterrupt())  # the process dies: Ann's add applied, Bob's not sent
    try:
        lab.run(("dir", "export"))
    except KeyboardInterrupt:
        pass
    assert [o.identifier for o in target.objects()] == ["uid=1,ou=people"]
    target.clear_failures()


def _adds(lab: Lab, identifier: str) -> list[str]:
    return [op for op, ident in lab.dirs["dir"].exported if ident == identifier and op == "add"]


def test_an_in_flight_add_changed_by_a_sync_is_looked_up_not_sent_again(lab: Lab) -> None:
    _crash_after_first_add(lab)
    target = lab.dirs["dir"]
    target.available = False  # the reconciliation cannot run: the HR change is synced meanwhile
    person(lab.dirs["hr"], "1", "Ann", "Lee", department="Legal")
    down = lab.run(("hr", "delta-import"), ("hr", "delta-sync"), ("dir", "export"))
    assert step(down, "hr", "delta-sync").counters.updates == 1
    ann = next(c for c in lab.cs_objects("dir") if c.identifier == "uid=1,ou=people")
    assert ann.pending_export is not None and ann.pending_export.in_flight
    target.available = True
    after = lab.run(("dir", "export"), ("dir", "confirming-import"), ("hr", "delta-sync"), ("dir", "export"))
    assert after.status is RunStatus.SUCCESS, [(s.connector, s.kind.value, s.message) for s in after.steps]
    assert _adds(lab, "uid=1,ou=people") == ["add"]  # adopted by the lookup, never created twice
    assert sorted(o.identifier for o in target.objects()) == ["uid=1,ou=people", "uid=2,ou=people"]
    assert target.find("uid=1,ou=people").attributes["department"] == "Legal"  # the change still reached it


def test_an_in_flight_add_deprovisioned_meanwhile_is_removed_if_it_arrived(lab: Lab) -> None:
    _crash_after_first_add(lab)
    target = lab.dirs["dir"]
    target.available = False
    person(lab.dirs["hr"], "1", "Ann", "Lee", status="left")  # out of scope: disable
    person(lab.dirs["hr"], "2", "Bob", "Ray", status="left")
    lab.run(("hr", "delta-import"), ("hr", "delta-sync"))
    pending = {c.identifier: c.pending_export for c in lab.cs_objects("dir")}
    # both adds were in flight: neither may be forgotten as never exported, each waits as a delete in flight
    assert {i: (p.op, p.in_flight) for i, p in pending.items() if p} == {
        "uid=1,ou=people": (ExportOp.DELETE, True),
        "uid=2,ou=people": (ExportOp.DELETE, True),
    }
    target.available = True
    after = lab.run(("dir", "export"), ("dir", "confirming-import"))
    assert after.status is RunStatus.SUCCESS, [(s.connector, s.kind.value, s.message) for s in after.steps]
    assert target.objects() == []  # Ann's interrupted add is undone; Bob's never arrived and is forgotten
    assert lab.cs_objects("dir") == []
    assert _adds(lab, "uid=2,ou=people") == []


def test_an_in_flight_add_deprovisioned_then_back_in_scope_is_the_add_again(lab: Lab) -> None:
    _crash_after_first_add(lab)
    target = lab.dirs["dir"]
    target.available = False
    person(lab.dirs["hr"], "1", "Ann", "Lee", status="left")
    lab.run(("hr", "delta-import"), ("hr", "delta-sync"))
    person(lab.dirs["hr"], "1", "Ann", "Lee")  # back before the target was reachable again
    lab.run(("hr", "delta-import"), ("hr", "delta-sync"))
    ann = next(c for c in lab.cs_objects("dir") if c.identifier == "uid=1,ou=people")
    assert ann.pending_export is not None
    assert (ann.pending_export.op, ann.pending_export.in_flight) == (ExportOp.ADD, True)
    target.available = True
    after = lab.run(("dir", "export"), ("dir", "confirming-import"))
    assert after.status is RunStatus.SUCCESS, [(s.connector, s.kind.value, s.message) for s in after.steps]
    assert _adds(lab, "uid=1,ou=people") == ["add"]  # the interrupted add, adopted: not created twice, not deleted
    assert sorted(o.identifier for o in target.objects()) == ["uid=1,ou=people", "uid=2,ou=people"]
    assert target.find("uid=1,ou=people").attributes["accountEnabled"] == "True"
