"""Progress bars for long steps, drawn on stderr only when it is a terminal."""

from __future__ import annotations

from collections.abc import Callable

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from idsync.cli.output import console
from idsync.model import StepResult


class RichProgress:
    def __init__(self) -> None:
        self._progress: Progress | None = None
        self._task: int | None = None

    def start(self, step: StepResult, total: int | None) -> Callable[[int], None]:
        out = console(stderr=True)
        if not out.is_terminal:
            return lambda n: None
        self._progress = Progress(
            # the label is data (a connector's name): no markup, no emoji codes, no format fields
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=out,
            transient=True,
        )
        self._progress.start()
        task = self._progress.add_task(f"{step.connector} {step.kind.value}", total=total)
        self._task = task
        progress = self._progress
        return lambda n: progress.advance(task, n)

    def finish(self, step: StepResult) -> None:
        if self._progress is not None:
            self._progress.stop()
        self._progress = None
        self._task = None
