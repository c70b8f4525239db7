"""Preview shows what a sync of one object would do, including to the objects its MV object is linked to."""

from __future__ import annotations

from lab import HR_TO_DIR, Lab, ok, person

from idsync.engine.preview import preview
from idsync.model import ExportOp, ImportOp, LinkState


def test_preview_of_a_deletion_shows_the_mv_deletion_and_the_deprovisioning_it_stages(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    person(hr, "2", "Bob", "Ray")
    lab.configure(HR_TO_DIR)
    ok(lab.cycle())
    hr.delete("1")
    lab.run(("hr", "delta-import"))
    ann = next(c for c in lab.cs_objects("hr") if c.identifier == "1")
    assert ann.pending_import is not None and ann.pending_import.op is ImportOp.DELETE
    with lab.open() as ws:
        result = preview(ws, cs_id=ann.id)
    assert result.mv_deleted and result.cs_after is None
    staged = {c.identifier: c for c in result.links_after}
    account = staged["uid=1,ou=people"]  # unlinked by the deletion, disabled: what the sync would export
    assert account.link_state is LinkState.DISCONNECTOR and account.pending_export is not None
    assert account.pending_export.op is ExportOp.UPDATE
    assert [(c.name, c.values) for c in account.pending_export.changes] == [("accountEnabled", [False])]
    # nothing was committed
    assert {c.identifier: c.mv_id is not None for c in lab.cs_objects("dir")} == {
        "uid=1,ou=people": True,
        "uid=2,ou=people": True,
    }
    assert len(lab.mv_objects()) == 2 and target.find("uid=1,ou=people") is not None
