"""A target that answers an add with the anchor of an object the connector space already has (an upsert): the
object that did not get its own target object gets an error row, and the export goes on."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from lab import HR_TO_DIR, Lab, person, step

from idsync.connectors.base import ExportItem, ExportResult
from idsync.connectors.memory import MemoryDirectory
from idsync.connectors.memory.connector import MemoryConnector
from idsync.engine.disconnection import disconnect
from idsync.engine.run_profiles import Runner
from idsync.model import CSObject, ExportOp, LinkState, RunStatus


def _answer_with(monkeypatch: pytest.MonkeyPatch, identifier: str | None, anchor: str) -> None:
    """The target treats the add of ``identifier`` (of every object: None) as one of the object it has under
    ``anchor``: it creates nothing and answers with that anchor."""
    real = MemoryConnector.export

    def export(self: MemoryConnector, items: Sequence[ExportItem]) -> list[ExportResult]:
        upserted = [i for i in items if i.op is ExportOp.ADD and identifier in (None, i.identifier)]
        results = real(self, [i for i in items if i not in upserted])
        return results + [ExportResult(i.cs_id, True, anchor=anchor) for i in upserted]

    monkeypatch.setattr(MemoryConnector, "export", export)


def _stray(lab: Lab) -> tuple[MemoryDirectory, str, CSObject]:
    """Ann in HR, and already in the target under another name with nothing to join her by: imported there as a
    disconnector. Returns the target, her anchor there and that connector-space object."""
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    held = target.add("user", "uid=ann,ou=old", {"givenName": "Ann"})
    lab.configure(HR_TO_DIR)
    lab.run(("dir", "full-import"))
    (stray,) = lab.cs_objects("dir")
    assert stray.anchor == held and stray.mv_id is None
    return target, held, stray


def test_an_add_answered_with_a_joined_objects_anchor_is_that_objects_error(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    hr = lab.directory("hr")
    lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    lab.configure(HR_TO_DIR)
    lab.cycle()
    (ann,) = lab.cs_objects("dir")
    assert ann.anchor is not None and ann.mv_id is not None
    person(hr, "2", "Bob", "Ray")
    person(hr, "3", "Cy", "Fox")
    _answer_with(monkeypatch, "uid=2,ou=people", ann.anchor)
    run = lab.cycle()
    export = step(run, "dir", "export")
    assert export.status is RunStatus.COMPLETED_ERRORS and run.status is RunStatus.COMPLETED_ERRORS
    assert export.counters.adds == 1 and export.counters.errors == 1
    (error,) = [e for e in lab.errors(run) if e.code == "anchor-taken"]
    assert error.identifier == "uid=2,ou=people" and f"cs #{ann.id}" in error.reason
    assert f"anchor {ann.anchor!r}" in error.reason
    objects = {c.identifier: c for c in lab.cs_objects("dir")}
    assert objects["uid=1,ou=people"].anchor == ann.anchor and objects["uid=1,ou=people"].mv_id == ann.mv_id
    bob = objects["uid=2,ou=people"]
    assert bob.anchor is None and bob.pending_export is not None and bob.pending_export.op is ExportOp.ADD
    assert not bob.pending_export.in_flight and bob.error is not None
    staged = {c.name for c in bob.pending_export.changes}
    assert staged >= {"employeeId", "displayName", "department", "accountEnabled"}, "the add is kept whole"
    cy = objects["uid=3,ou=people"]
    assert cy.anchor is not None and cy.pending_export is None and not cy.unconfirmed  # sent and confirmed


def test_an_add_answered_with_an_unjoined_objects_anchor_takes_its_place(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, held, stray = _stray(lab)
    _answer_with(monkeypatch, "uid=1,ou=people", held)
    run = lab.cycle()
    assert step(run, "dir", "export").counters.errors == 0
    (ann,) = lab.cs_objects("dir")
    assert ann.anchor == held and ann.mv_id is not None and ann.id != stray.id
    assert len(target.objects()) == 1  # the target created nothing


def test_an_add_answered_with_an_explicit_disconnectors_anchor_leaves_it_apart(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, held, stray = _stray(lab)
    with lab.open() as ws:
        assert disconnect(Runner(ws), stray.id, explicit=True) is not None  # an operator keeps it apart
    _answer_with(monkeypatch, "uid=1,ou=people", held)
    run = lab.cycle()
    (error,) = [e for e in lab.errors(run) if e.code == "anchor-taken"]
    assert error.identifier == "uid=1,ou=people" and "explicit-disconnector" in error.reason
    kept = {c.id: c for c in lab.cs_objects("dir")}[stray.id]
    assert kept.anchor == held and kept.link_state is LinkState.EXPLICIT


def test_two_adds_of_one_batch_answered_with_one_anchor(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second add of a batch that the target answers with the anchor it gave the first is the error row."""
    hr = lab.directory("hr")
    lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    person(hr, "2", "Bob", "Ray")
    lab.configure(HR_TO_DIR)
    _answer_with(monkeypatch, None, "one-object")
    run = lab.run(("hr", "full-import"), ("hr", "full-sync"), ("dir", "export"))
    export_step = step(run, "dir", "export")
    assert export_step.counters.adds == 1 and export_step.counters.errors == 1
    objects = sorted(lab.cs_objects("dir"), key=lambda c: c.id)
    assert objects[0].anchor == "one-object" and objects[0].pending_export is None
    assert objects[1].anchor is None and objects[1].error is not None and "anchor 'one-object'" in objects[1].error


def test_an_add_left_in_flight_is_not_settled_on_an_explicit_disconnectors_object(lab: Lab) -> None:
    """After a crash, the lookup of an add in flight finds, by a unique key, the object an operator keeps apart: that
    object did not come from the add, so it stays apart, as when an export answers with its anchor, and the add is
    sent again."""
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    held = target.add("user", "uid=ann,ou=old", {"employeeId": "1"})
    unique = "dir: {type: memory, directory: dir, unique_attributes: [employeeId]}"
    lab.configure(HR_TO_DIR.replace("dir: {type: memory, directory: dir}", unique))
    lab.run(("dir", "full-import"))
    (stray,) = lab.cs_objects("dir")
    with lab.open() as ws:
        assert disconnect(Runner(ws), stray.id, explicit=True) is not None
    target.crash_after(0, KeyboardInterrupt())  # the process dies as it sends Ann's add: nothing applied
    with pytest.raises(KeyboardInterrupt):
        lab.run(("hr", "full-import"), ("hr", "full-sync"), ("dir", "export"))
    target.clear_failures()
    lab.cycle()
    assert [op for op, identifier in target.exported if identifier == "uid=1,ou=people"] == ["add"]
    kept = {c.id: c for c in lab.cs_objects("dir")}[stray.id]
    assert kept.anchor == held and kept.link_state is LinkState.EXPLICIT and kept.mv_id is None
    ann = target.find("uid=1,ou=people")
    assert ann is not None and ann.anchor != held
    (linked,) = [c for c in lab.cs_objects("dir") if c.mv_id is not None]
    assert linked.anchor == ann.anchor
