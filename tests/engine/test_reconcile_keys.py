"""After a crash, an add that was in flight is looked for by its identifier and by keys the target keeps unique —
never by an ordinary value another object shares (which would adopt somebody else's object)."""

from __future__ import annotations

from lab import HR_TO_DIR, Lab, ok, person, step

from idsync.connectors.base import ConnectivityError
from idsync.model import RunStatus


def test_an_in_flight_add_is_not_matched_to_another_object_by_a_shared_value(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    person(hr, "2", "Bob", "Ray")
    lab.configure(
        HR_TO_DIR.replace(
            "  dir: {type: memory, directory: dir}", "  dir: {type: memory, directory: dir, export_batch_size: 2}"
        )
    )
    # the target goes down after the first add of the batch: Ann is created, Bob is not, both were in flight
    target.crash_after(1, ConnectivityError("the directory went away"))
    first = lab.cycle()
    assert step(first, "dir", "export").status is RunStatus.STOPPED_CONNECTIVITY
    assert [o.identifier for o in target.objects()] == ["uid=1,ou=people"]
    target.clear_failures()
    # both share accountEnabled, department and status: none of them may identify Bob's add
    second = ok(lab.cycle())
    assert sorted(o.identifier for o in target.objects()) == ["uid=1,ou=people", "uid=2,ou=people"]
    linked = {c.identifier: c.mv_id for c in lab.cs_objects("dir")}
    assert set(linked) == {"uid=1,ou=people", "uid=2,ou=people"} and all(linked.values())
    assert len({c.anchor for c in lab.cs_objects("dir")}) == 2
    assert [op for op, ident in target.exported if ident == "uid=1,ou=people" and op == "add"] == ["add"]
    assert step(second, "dir", "export").counters.errors == 0
