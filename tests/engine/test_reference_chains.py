"""Chains of references in one sync: each object names one that the source lists after it (a manager's manager's
manager, a group in a group), so every level waits for the next to be linked; one sync settles them all, and says
what it leaves waiting."""

from __future__ import annotations

from lab import HR_TO_DIR, Lab, ok, person, step
from test_outside_values import CONFIG, DIR_SCHEMA, HR_SCHEMA

from idsync.engine.sync import RETRIES
from idsync.model import RunResult

LEVELS = 8


def _nothing_waits(lab: Lab, run: RunResult) -> None:
    with lab.open() as ws:
        assert ws.store.unresolved_count() == 0
        assert ws.store.get_meta(RETRIES) is None
    assert all(s.message is None for s in run.steps if s.kind.is_sync), [s.message for s in run.steps]


def test_a_chain_of_managers_each_listed_before_its_manager_settles_in_one_sync(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    for level in range(1, LEVELS + 1):
        person(hr, str(level), f"Level{level}", "Chain", manager=str(level + 1) if level < LEVELS else None)
    lab.configure(HR_TO_DIR)
    run = ok(lab.cycle())
    for level in range(1, LEVELS):
        entry, manager = target.find(f"uid={level},ou=people"), target.find(f"uid={level + 1},ou=people")
        assert entry is not None and manager is not None
        assert entry.attributes["manager"] == manager.anchor, level
    top = target.find(f"uid={LEVELS},ou=people")
    assert top is not None and "manager" not in top.attributes
    _nothing_waits(lab, run)
    again = ok(lab.cycle())
    assert step(again, "dir", "export").counters.updates == 0


def test_a_group_in_a_group_in_a_group_each_listed_before_its_members_settles_in_one_sync(lab: Lab) -> None:
    hr, target = lab.directory("hr", schema=HR_SCHEMA), lab.directory("dir", schema=DIR_SCHEMA)
    for level in range(1, LEVELS + 1):
        member = f"g{level + 1}" if level < LEVELS else "1"
        hr.add("group", f"g{level}", {"name": f"g{level}", "members": [member]}, anchor=f"g{level}")
    hr.add("person", "1", {"employeeId": "1", "status": "active"}, anchor="1")
    lab.configure(CONFIG.replace("MEMBER_FLOW", "members"))
    run = ok(lab.cycle())
    for level in range(1, LEVELS + 1):
        group = target.find(f"cn=g{level},ou=groups")
        assert group is not None
        want = f"cn=g{level + 1},ou=groups" if level < LEVELS else "uid=1,ou=people"
        assert group.attributes["member"] == [want], level
    _nothing_waits(lab, run)
    again = ok(lab.cycle())
    assert step(again, "dir", "export").counters.updates == 0


def test_what_a_sync_leaves_waiting_is_counted_and_named_in_its_message(lab: Lab) -> None:
    hr = lab.directory("hr")
    lab.directory("dir")
    person(hr, "1", "Emp", "Loyee", manager="9")  # nobody in HR is 9
    person(hr, "2", "Other", "Loyee", manager="8")
    person(hr, "3", "Third", "Loyee", manager="1")
    lab.configure(HR_TO_DIR)
    run = ok(lab.cycle())
    message = step(run, "hr", "delta-sync").message or ""
    emp = lab.mv_by("employeeId", "1")
    assert message.startswith("2 MV objects left waiting for references"), message
    assert f"mv:{emp.id} manager -> hr:9" in message and "manager -> hr:8" in message, message
    with lab.open() as ws:
        assert ws.store.unresolved_count() == 2  # kept: the link that resolves them brings them back
    person(hr, "9", "Man", "Ager")
    again = ok(lab.run(("hr", "full-import"), ("hr", "full-sync")))
    assert lab.mv_by("employeeId", "1").attributes["manager"] == str(lab.mv_by("employeeId", "9").id)
    message = step(again, "hr", "full-sync").message or ""
    assert message.startswith("1 MV object left waiting for references") and "manager -> hr:8" in message, message
    assert "hr:9" not in message
