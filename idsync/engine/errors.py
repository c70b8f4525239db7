"""Per-object failures and the step's error budget.

A failure of one object (bad value, ambiguous join, expression error, target refusal) is an ``ObjectError``: it
becomes an error row and the step goes on, until the step's error limit stops it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from idsync.model import CSObject, ErrorRow, RunStatus, StepResult


class ObjectError(Exception):
    """One object's failure. The message is the reason; ``attribute`` names what failed, when one did."""

    def __init__(self, reason: str, *, attribute: str | None = None, code: str = "error") -> None:
        super().__init__(reason)
        self.reason = reason
        self.attribute = attribute
        self.code = code


class StepStopped(Exception):
    """The step cannot go on: error limit, deletion threshold, connectivity, cancellation."""

    def __init__(self, status: RunStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class ErrorLog:
    """Collects a step's error rows and enforces its error limit."""

    step: StepResult
    limit: int
    rows: list[ErrorRow] = field(default_factory=list)
    total: int = 0

    def add(
        self,
        reason: str,
        *,
        cs: CSObject | None = None,
        mv_id: int | None = None,
        identifier: str | None = None,
        attribute: str | None = None,
        code: str = "error",
        detail: str | None = None,
        connector: str | None = None,
    ) -> ErrorRow:
        row = ErrorRow(
            step_id=self.step.id,
            run_id=self.step.run_id,
            connector=connector or (cs.connector if cs else self.step.connector),
            reason=reason,
            identifier=identifier or (cs.identifier if cs else None),
            cs_id=cs.id if cs and cs.id else None,
            mv_id=mv_id if mv_id is not None else (cs.mv_id if cs else None),
            attribute=attribute,
            code=code,
            detail=detail,
        )
        self.rows.append(row)
        self.total += 1
        self.step.counters.errors += 1
        return row

    def from_exception(self, exc: ObjectError, *, cs: CSObject | None = None, mv_id: int | None = None) -> ErrorRow:
        return self.add(exc.reason, cs=cs, mv_id=mv_id, attribute=exc.attribute, code=exc.code)

    @property
    def reached(self) -> bool:
        return bool(self.limit) and self.total >= self.limit

    def check_limit(self) -> None:
        if self.reached:
            raise StepStopped(
                RunStatus.STOPPED_ERROR_LIMIT,
                f"stopped after {self.total} errors (error limit {self.limit}); fix the causes or raise "
                "safety.error_limit",
            )

    def drain(self) -> list[ErrorRow]:
        rows, self.rows = self.rows, []
        return rows
