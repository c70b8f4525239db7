"""The deletion threshold: an export that would delete too much waits for an operator, as Connect Sync's does.

An empty or truncated HR file must never delete or disable everyone. Before an export sends anything, the
connector's pending deprovisionings are counted: deletes, and the updates a ``disable`` deprovision action staged
(Connect Sync counts only deletes, but an account disabled by mistake locks its owner out just the same). Above the
threshold (an absolute number, default 500, or a percentage of the connector space) the export stops with
``stopped-deletion-threshold`` until they are approved.

An approval covers the objects pending when it was given, the ones the operator reviewed: an export lets through
only deprovisionings among them (fewer is fine: some may have been resolved since), and uses the approval up. A
different set of the same size, pending by the time the export runs, is held again.
"""

from __future__ import annotations

import json
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


APPROVED = "approved-deprovisionings:"
"""Meta key (per connector) of the CS ids an approval covers."""


def pending_ids(store: Store, connector: str) -> list[int]:
    """The CS ids of the deprovisionings pending in ``connector``, read a page at a time."""
    flt, after = CSFilter(connector=connector, export_ops=DEPROVISIONING), 0
    ids: list[int] = []
    while page := store.cs_page(flt, after, 1000):
        ids.extend(c.id for c in page)
        after = page[-1].id
    return ids


class PendingChanged(Exception):
    """What is pending is not what the operator reviewed: nothing was approved."""

    def __init__(self, pending: int, expected: int) -> None:
        super().__init__(f"{pending} pending, {expected} expected")
        self.pending = pending
        self.expected = expected


def approve(store: Store, connector: str, count: int | None, *, expected: int | None = None) -> tuple[int, int]:
    """Approve what is pending now (at most ``count``): its number, and which objects. Returns (approved,
    pending). With ``expected`` (how many the operator saw pending), raises ``PendingChanged`` and records nothing
    when a different number is pending now: the operator reviewed something else."""
    ids = pending_ids(store, connector)
    if expected is not None and len(ids) != expected:
        raise PendingChanged(len(ids), expected)
    approved = len(ids) if count is None else min(count, len(ids))
    with store.transaction():
        store.approval_set(connector, approved)
        store.set_meta(APPROVED + connector, json.dumps(ids) if approved else None)
    return approved, len(ids)


def approval_used(store: Store, connector: str) -> None:
    with store.transaction():
        store.approval_set(connector, 0)
        store.set_meta(APPROVED + connector, None)


def _unapproved(store: Store, connector: str) -> int:
    """How many pending deprovisionings the approval does not cover (0 for an approval recorded without its
    objects, by an earlier version)."""
    text = store.get_meta(APPROVED + connector)
    if not text:
        return 0
    covered = set(json.loads(text))
    return sum(1 for i in pending_ids(store, connector) if i not in covered)


def check_deletion_threshold(store: Store, connector: str, safety: Safety) -> ThresholdCheck:
    deletes, disables = pending_deprovisionings(store, connector)
    total = store.cs_count(CSFilter(connector=connector))
    check = ThresholdCheck(deletes, total, store.approval_get(connector), disables)
    if deletes == 0:
        return check
    unapproved = 0
    if deletes <= check.approved:
        unapproved = _unapproved(store, connector)
        if not unapproved:
            return check
    reasons = []
    if safety.deletion_threshold is not None and deletes > safety.deletion_threshold:
        reasons.append(f"more than the deletion threshold of {safety.deletion_threshold}")
    if safety.deletion_threshold_percent is not None and check.percent > safety.deletion_threshold_percent:
        reasons.append(
            f"{check.percent:.1f}% of the connector space, above the {safety.deletion_threshold_percent:g}% threshold"
        )
    if reasons:
        not_covered = (
            f" ({unapproved} of them not pending when the approval was given, so not reviewed)" if unapproved else ""
        )
        raise StepStopped(
            RunStatus.STOPPED_DELETION_THRESHOLD,
            f"export to {connector!r} stopped before sending anything: {check.what()}{not_covered}, "
            f"{' and '.join(reasons)}. Review them with `idsync search cs --connector {connector} --pending-delete`, "
            f"then approve with `idsync approve-deletes {connector}` and run the export again.",
        )
    return check
