"""A stop request (Ctrl-C, the service stopping) is answered after a committed page: the step ends as
stopped-cancelled with what it committed, no later step starts, and the next run converges."""

from __future__ import annotations

from lab import HR_TO_DIR, Lab, ok, person, step

from idsync.engine.run_profiles import Runner, RunOptions
from idsync.model import RunStatus, StepKind

PEOPLE = 30


class StopAfter:
    """Gives a reason to stop from the ``times + 1``-th time it is asked on (the engine asks before each step and
    after each committed page)."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.asked = 0

    def __call__(self) -> str | None:
        self.asked += 1
        return "asked to stop" if self.asked > self.times else None


def _lab(lab: Lab) -> Lab:
    hr = lab.directory("hr")
    lab.directory("dir")
    for n in range(PEOPLE):
        person(hr, f"{n:03}", f"Given{n}", f"Sur{n}")
    lab.configure(HR_TO_DIR.replace("anchor_from_identifier: true}", "anchor_from_identifier: true, page_size: 4}"))
    return lab


def test_a_stop_ends_the_import_after_its_page_and_starts_no_later_step(lab: Lab) -> None:
    _lab(lab)
    stop = StopAfter(3)  # before the import, then after its first and second page: go on
    with lab.open() as ws:
        run = Runner(ws, RunOptions(stop=stop)).cycle()
    assert run.status is RunStatus.STOPPED_CANCELLED
    assert [(s.connector, s.kind, s.status) for s in run.steps] == [
        ("hr", StepKind.FULL_IMPORT, RunStatus.STOPPED_CANCELLED)
    ]
    assert run.steps[0].message == "asked to stop"
    # three pages of four were committed (the third one answered the request), nothing more
    assert run.steps[0].counters.adds == 12 == len(lab.cs_objects("hr"))
    assert lab.mv_objects() == []
    again = ok(lab.cycle())
    assert step(again, "hr", "full-import").counters.adds == PEOPLE - 12
    assert len(lab.mv_objects()) == PEOPLE and len(lab.dirs["dir"].objects()) == PEOPLE


def test_a_stop_between_steps_marks_the_run_cancelled(lab: Lab) -> None:
    _lab(lab)
    asked: list[str] = []

    def after_the_first_step() -> str | None:
        # the engine asks before each step and after each page; the first step's pages all go on
        asked.append("x")
        return "asked to stop" if len(lab.cs_objects("hr")) == PEOPLE else None

    with lab.open() as ws:
        run = Runner(ws, RunOptions(stop=after_the_first_step)).cycle()
    assert run.status is RunStatus.STOPPED_CANCELLED and asked
    assert [(s.connector, s.kind.value) for s in run.steps] == [("hr", "full-import")]
    assert len(lab.cs_objects("hr")) == PEOPLE
    assert lab.mv_objects() == []
