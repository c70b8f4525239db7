"""The deletion threshold: an export that would delete too much waits for an operator, as Connect Sync's does.

An empty or truncated HR file must never delete or disable everyone. Before an export sends anything, the
connector's pending deprovisionings are counted: deletes, and the updates a ``disable`` deprovision action staged
(Connect Sync counts only deletes, but an account disabled by mistake locks its owner out just the same). Above the
threshold (an absolute number, default 500, or a percentage of the connector space) the export stops with
``stopped-deletion-threshold`` until they are approved.
"""

from __future__ import annotations

from dataclasses import dataclass

from idsync.config import Safety
from idsync.engine.errors import StepStopped
from idsync.model import DEPROVISIONING, DISABLE, RunStatus
from idsync.store import CSFilter, Store


@dataclass(frozen=True, slots=True)
class ThresholdCheck:
    deletes: int
    """Pending deprovisionings: deletes and disables."""
    total: int
    approved: int
    disables: int = 0

    @property
    def percent(self) -> float:
        return 100.0 * self.deletes / self.total if self.total else 0.0

    def what(self) -> str:
        if not self.disables:
            return f"{self.deletes} pending deletes"
        deletes = self.deletes - self.disables
        return f"{self.deletes} pending deprovisionings ({deletes} deletes, {self.disables} disables)"


def pending_deprovisionings(store: Store, connector: str) -> tuple[int, int]:
    """(deletes and disables together, disables) pending in ``connector``: what the threshold counts and an
    approval covers."""
    both = store.cs_count(CSFilter(connector=connector, export_ops=DEPROVISIONING))
    return both, store.cs_count(CSFilter(connector=connector, export_ops=(DISABLE,))) if both else 0


def check_deletion_threshold(store: Store, connector: str, safety: Safety) -> ThresholdCheck:
    deletes, disables = pending_deprovisionings(store, connector)
    total = store.cs_count(CSFilter(connector=connector))
    check = ThresholdCheck(deletes, total, store.approval_get(connector), disables)
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
            f"export to {connector!r} stopped before sending anything: {check.what()}, {' and '.join(reasons)}. "
            f"Review them with `idsync search cs --connector {connector} --pending-delete`, then approve with "
            f"`idsync approve-deletes {connector}` and run the export again.",
        )
    return check
