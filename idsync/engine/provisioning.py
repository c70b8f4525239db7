"""Outbound: for an MV object that changed, what each target connector should hold.

Per target (connector, object type), the outbound rules of the MV object's type whose scope holds decide:
linked -> export flows; not linked -> outbound join (adopt an existing target object), else provision (stage an
add with the identifier flow, every flow and the initial-only flows); out of scope but linked -> deprovision.
"""

from __future__ import annotations

from typing import Any

from idsync.engine.context import SyncContext
from idsync.engine.deprovisioning import deprovision
from idsync.engine.errors import ObjectError
from idsync.engine.evaluation import in_scope
from idsync.engine.export_flows import desired_values, export_flows, identifier_value
from idsync.engine.join import join_connector_space
from idsync.engine.pending_exports import add_changes
from idsync.engine.references import waiting_for_link
from idsync.engine.rules import CompiledOutbound
from idsync.engine.uniqueness import identifier_holders
from idsync.model import CSObject, ExportOp, LinkState, MVObject, PendingExport


def outbound(ctx: SyncContext, mv: MVObject, links: list[CSObject]) -> list[CSObject]:
    """Evaluate every outbound rule for ``mv``. Returns the CS objects whose state changed (already saved)."""
    groups = ctx.rules.outbound_for(mv.object_type)
    if not groups:
        return []
    values = ctx.mv_values(mv)
    touched: list[CSObject] = []
    for (connector, object_type), group in groups.items():
        linked = next((c for c in links if c.connector == connector and c.object_type == object_type), None)
        scoped = [r for r in group if in_scope(r.scope, values, ctx.eval_ctx, r.name)]
        if not scoped:
            if linked is not None:
                rule = linking_rule(group, linked)
                if deprovision(ctx, linked, mv, rule, values, mv_deleted=False):
                    touched.append(linked)
            continue
        if linked is None:
            linked = _adopt(ctx, scoped, mv, values, connector, object_type)
            if linked is None:
                provisioner = next((r for r in scoped if r.provision), None)
                if provisioner is not None:
                    created = provision(ctx, provisioner, scoped, mv, values)
                    if created is not None:
                        touched.append(created)
                continue
            touched.append(linked)
        if export_flows(ctx, linked, mv, scoped, values):
            touched.append(linked)
    return touched


def linking_rule(group: list[CompiledOutbound], cs: CSObject) -> CompiledOutbound:
    name = (cs.link_rule or "").split(":", 1)[-1]
    return next((r for r in group if r.name == name), group[0])


def _adopt(
    ctx: SyncContext, scoped: list[CompiledOutbound], mv: MVObject, values: Any, connector: str, object_type: str
) -> CSObject | None:
    for rule in scoped:
        if not rule.joins:
            continue
        match = join_connector_space(ctx, rule.joins, connector, values, rule.name)
        if match is None:
            continue
        cs = ctx.store.cs_get(match.target_id)
        if cs is None:
            continue
        if cs.mv_id is not None and cs.mv_id != mv.id:
            raise ObjectError(
                f"outbound join: rule {rule.name!r} matches {connector} object {cs.identifier!r}, which is already "
                f"joined to MV #{cs.mv_id}",
                code="join-conflict",
            )
        if cs.link_state is LinkState.EXPLICIT:
            continue
        if cs.object_type != object_type:
            continue
        cs.mv_id = mv.id
        cs.link_state = LinkState.CONNECTOR
        cs.link_rule = f"joined-out:{rule.name}"
        ctx.step.counters.joins += 1
        waiting_for_link(ctx, cs)
        ctx.store.cs_save([cs])
        return cs
    return None


def provision(
    ctx: SyncContext, rule: CompiledOutbound, scoped: list[CompiledOutbound], mv: MVObject, values: Any
) -> CSObject | None:
    identifier = identifier_value(ctx, rule, values)
    if identifier is None:
        raise ObjectError(
            f"provisioning: the identifier flow of rule {rule.name!r} gave no value; the object cannot be created",
            code="provisioning-error",
        )
    existing = identifier_holders(ctx, rule.connector, identifier)
    if existing:
        other = existing[0]
        if other.mv_id == mv.id:
            return None
        held = ctx.store.cs_get(other.id)  # the refusal path only: a CSRef carries no link state
        if held is not None and held.link_state is LinkState.EXPLICIT:
            raise ObjectError(
                f"provisioning: {rule.connector} already has an object {identifier!r} (cs #{other.id}), an explicit "
                f"disconnector: it stays apart and no second object is created in its place; 'idsync disconnect "
                f"cs:{other.id} --clear' lets the join rules adopt it again",
                code="already-exists",
            )
        owner = f"joined to MV #{other.mv_id}" if other.mv_id is not None else "not joined"
        raise ObjectError(
            f"provisioning: {rule.connector} already has an object {identifier!r} (cs #{other.id}, {owner}); add an "
            f"outbound join rule to adopt it, or remove it",
            code="already-exists",
        )
    desired = desired_values(ctx, mv, scoped, values, rule.connector, rule.object_type, initial=True)
    schema = ctx.cs_schema(rule.connector, rule.object_type)
    cs = CSObject(
        id=0,
        connector=rule.connector,
        object_type=rule.object_type,
        identifier=identifier,
        link_state=LinkState.CONNECTOR,
        mv_id=mv.id,
        link_rule=f"provisioned:{rule.name}",
        pending_export=PendingExport(ExportOp.ADD, add_changes(schema, desired), None, rule.name),
    )
    ctx.store.cs_insert(cs)
    ctx.step.counters.provisioned += 1
    waiting_for_link(ctx, cs)
    return cs
