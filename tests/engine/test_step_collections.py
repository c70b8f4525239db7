"""While a step works through its pages the cyclic collector runs less often; afterwards it is as it was."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator

import pytest
from lab import HR_TO_DIR, Lab, ok, person

from idsync.engine.collector import STEP_GC_THRESHOLD, fewer_collections
from idsync.engine.run_profiles import Runner
from idsync.model import StepKind, StepResult


@pytest.fixture
def default_threshold() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*before)


def test_the_threshold_is_raised_during_the_step_and_put_back(default_threshold: tuple[int, int, int]) -> None:
    with fewer_collections():
        assert gc.get_threshold() == (STEP_GC_THRESHOLD, 10, 10)
    assert gc.get_threshold() == default_threshold
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("the step failed")
    assert gc.get_threshold() == default_threshold


def test_a_threshold_someone_changed_meanwhile_is_left_alone(default_threshold: tuple[int, int, int]) -> None:
    with fewer_collections():
        gc.set_threshold(2000, 10, 10)
    assert gc.get_threshold() == (2000, 10, 10)


def test_a_disabled_collector_stays_untouched(default_threshold: tuple[int, int, int]) -> None:
    gc.disable()
    try:
        with fewer_collections():
            assert gc.get_threshold() == default_threshold
    finally:
        gc.enable()


class ThresholdSeen:
    """A progress sink that notes the collector's threshold each step runs with (it is called inside the step)."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def start(self, step: StepResult, total: int | None) -> Callable[[int], None]:
        def advance(n: int) -> None:
            self.seen[step.kind.value] = gc.get_threshold()[0]

        return advance

    def finish(self, step: StepResult) -> None:
        pass


def test_import_sync_and_export_steps_run_with_the_raised_threshold(
    lab: Lab, default_threshold: tuple[int, int, int]
) -> None:
    lab.configure(HR_TO_DIR)
    hr = lab.directory("hr")
    lab.directory("dir")
    for n in range(5):
        person(hr, f"E{n}", "Ann", f"Lee{n}")
    sink = ThresholdSeen()
    with lab.open() as ws:
        run = Runner(ws, progress=sink).run_steps(
            "test", [("hr", StepKind.FULL_IMPORT), ("hr", StepKind.FULL_SYNC), ("dir", StepKind.EXPORT)]
        )
    ok(run)
    assert sink.seen == {"full-import": STEP_GC_THRESHOLD, "full-sync": STEP_GC_THRESHOLD, "export": STEP_GC_THRESHOLD}
    assert gc.get_threshold() == default_threshold
