"""A full import stages deletes for the objects it did not see only when it read the whole system: one that stops
part-way (the source went away) deletes nothing, and the next full import finishes the job."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lab import HR_TO_DIR, Lab, ok, person, step

from idsync.connectors.base import ConnectivityError, ImportPage
from idsync.connectors.memory.connector import MemoryConnector
from idsync.model import ImportOp, RunStatus


def test_a_full_import_that_stops_part_way_stages_no_delete(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    hr = lab.directory("hr")
    lab.directory("dir")
    for n in range(10):
        person(hr, f"{n:02}", "G", f"S{n}")
    lab.configure(HR_TO_DIR.replace("anchor_from_identifier: true}", "anchor_from_identifier: true, page_size: 3}"))
    ok(lab.cycle())
    hr.delete("09")  # a real delete, which the interrupted import must not stage either
    read_all = MemoryConnector.full_import

    def stops_after_a_page(self: MemoryConnector) -> Iterator[ImportPage]:
        for index, page in enumerate(read_all(self)):
            if index == 1:
                raise ConnectivityError("the HR system went away mid-read")
            yield page

    monkeypatch.setattr(MemoryConnector, "full_import", stops_after_a_page)
    run = lab.run(("hr", "full-import"), ("hr", "full-sync"))
    assert step(run, "hr", "full-import").status is RunStatus.STOPPED_CONNECTIVITY
    pending = [c.pending_import for c in lab.cs_objects("hr") if c.pending_import is not None]
    assert not [p for p in pending if p.op is ImportOp.DELETE]
    assert len(lab.mv_objects()) == 10
    monkeypatch.setattr(MemoryConnector, "full_import", read_all)
    run = ok(lab.run(("hr", "full-import"), ("hr", "full-sync")))
    assert step(run, "hr", "full-import").counters.deletes == 1 and len(lab.mv_objects()) == 9
