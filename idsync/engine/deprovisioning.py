"""Deprovisioning: what happens to a target object when its MV object leaves scope or is deleted.

``delete`` stages a delete (or simply forgets an add never exported); ``disable`` applies the rule's deprovision
flows (accountEnabled = false, a move to a leavers OU) and stays linked; ``disconnect`` unlinks and leaves the
target as it is; ``keep`` stays linked and stops flowing. When the MV object itself is deleted, nothing can stay
linked: ``disable`` and ``keep`` then leave a disconnector behind.

An add that was in flight when a run died may or may not have created the object; the reconciliation finds out
before anything else is sent. Deprovisioned meanwhile, by ``delete`` or ``disable``, it becomes a delete in flight:
the reconciliation forgets it when the add never arrived, and otherwise deletes what the interrupted add created
(an object the target held only for that moment, which nobody has used).
"""

from __future__ import annotations

from typing import Any

from idsync.engine.context import SyncContext
from idsync.engine.export_flows import desired_values
from idsync.engine.pending_exports import stage_delete, stage_update
from idsync.engine.references import mark_referrers
from idsync.engine.rules import CompiledOutbound
from idsync.model import CSObject, ExportOp, LinkState, MVObject


def deprovision(
    ctx: SyncContext, cs: CSObject, mv: MVObject, rule: CompiledOutbound, values: Any, *, mv_deleted: bool
) -> bool:
    """Apply ``rule``'s deprovision action to ``cs``. Returns True when something changed (saved or removed)."""
    action = rule.deprovision
    pending = cs.pending_export
    unsent_add = cs.add_unconfirmed
    in_flight = pending is not None and pending.in_flight
    if unsent_add and action in ("delete", "disable") and not in_flight:
        # the target never saw it: nothing to delete or disable there
        ctx.store.cs_delete([cs.id])
        ctx.step.counters.deprovisioned += 1
        mark_referrers(ctx, mv.id)
        return True
    before = (cs.pending_export.to_json() if cs.pending_export else None, cs.mv_id, cs.link_state)
    if action == "delete" or (unsent_add and action == "disable"):
        # disabling an add still in flight deletes what it may have created (the module's docstring)
        stage_delete(cs, rule.name)
        if mv_deleted:
            _unlink(cs)
    elif action == "disable":
        desired = desired_values(
            ctx, mv, [rule], values, cs.connector, cs.object_type, initial=False, flows_of="deprovision_flows"
        )
        schema = ctx.cs_schema(cs.connector, cs.object_type)
        stage_update(cs, schema, desired, new_identifier=None, rule=rule.name, deprovisioning=True)
        if mv_deleted:
            _unlink(cs)
    elif action == "disconnect":
        cs.pending_export = None
        _unlink(cs)
    else:  # keep
        if cs.pending_export is not None and cs.pending_export.op is not ExportOp.ADD:
            cs.pending_export = None
        if mv_deleted:
            _unlink(cs)
    after = (cs.pending_export.to_json() if cs.pending_export else None, cs.mv_id, cs.link_state)
    if before == after:
        return False
    if cs.mv_id is None or (cs.pending_export is not None and cs.pending_export.op is ExportOp.DELETE):
        mark_referrers(ctx, mv.id)
    ctx.store.cs_save([cs])
    ctx.step.counters.deprovisioned += 1
    return True


def _unlink(cs: CSObject) -> None:
    cs.mv_id = None
    cs.link_state = LinkState.DISCONNECTOR
    cs.link_rule = None
