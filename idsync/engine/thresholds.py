"""The deletion threshold: an export that would delete too much waits for an operator, as Connect Sync's does.

An empty or truncated HR file must never disable everyone. Before an export sends anything, the connector's
pending deletes are counted; above the threshold (an absolute number, default 500, or a percentage of the
connector space) the export stops with ``stopped-deletion-threshold`` until the deletes are approved.
"""

from __future__ import annotations

from dataclasses import dataclass

from idsync.config import Safety
from idsync.engine.errors import StepStopped
from idsync.model import RunStatus
from idsync.store import CSFilter, Store


@dataclass(frozen=True, slots=True)
class ThresholdCheck:
    deletes: int
    total: int
    approved: int

    @property
    def percent(self) -> float:
        return 100.0 * self.deletes / self.total if self.total else 0.0


def check_deletion_threshold(store: Store, connector: str, safety: Safety) -> ThresholdCheck:
    deletes = store.cs_count(CSFilter(connector=connector, export_op="delete"))
    total = store.cs_count(CSFilter(connector=connector))
    check = ThresholdCheck(deletes, total, store.approval_get(connector))
    if deletes == 0 or deletes <= check.approved:
        return check
    reasons = []
    if safety.deletion_threshold is not None and deletes > safety.deletion_threshold:
        reasons.append(f"more than the deletion threshold of {safety.deletion_threshold}")
    if safety.deletion_threshold_percent is not None and check.percent > safety.deletion_threshold_percent:
        reasons.append(
            f"{check.percent:.1f}% of the connector space, above the {safety.deletion_threshold_percent:g}% threshold"
        )
    if reasons:
        raise StepStopped(
            RunStatus.STOPPED_DELETION_THRESHOLD,
            f"export to {connector!r} stopped before sending anything: {deletes} pending deletes, "
            f"{' and '.join(reasons)}. Review them with `idsync search cs --connector {connector} --pending-delete`, "
            f"then approve with `idsync approve-deletes {connector}` and run the export again.",
        )
    return check
