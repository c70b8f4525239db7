"""Export attribute flow: the values an MV object wants in a target object, merged across rules by precedence."""

from __future__ import annotations

from typing import Any

from idsync.connectors.base import Capabilities
from idsync.engine.context import SyncContext
from idsync.engine.evaluation import evaluate, evaluate_flow, typed
from idsync.engine.outside_values import settle_removals
from idsync.engine.pending_exports import stage_update
from idsync.engine.references import record_unresolved, referrers, resolve_outbound
from idsync.engine.rules import CompiledFlow, CompiledOutbound
from idsync.engine.secrets import secret_attributes, withheld
from idsync.engine.uniqueness import unique_identifier, unique_in_target
from idsync.expressions import AUTHORITATIVE_NULL, IGNORE_THIS_FLOW
from idsync.model import AttributeChange, AttributeSpec, CSObject, ExportOp, MVObject, PendingExport


def desired_values(
    ctx: SyncContext,
    mv: MVObject,
    scoped: list[CompiledOutbound],
    values: Any,
    connector: str,
    object_type: str,
    *,
    initial: bool,
    flows_of: str = "flows",
    cs_id: int | None = None,
) -> dict[str, tuple[Any, str]]:
    """target attribute -> (desired storage value, rule), merging the in-scope rules by precedence. A secret
    attribute flows only into a new object, and only as a marker (see :mod:`idsync.engine.secrets`)."""
    out: dict[str, tuple[Any, str]] = {}
    unresolved: dict[str, list[str]] = {}
    eval_ctx = ctx.eval_ctx
    for rule, flow, spec, secret, later, reference in _plan(ctx, scoped, flows_of, connector, object_type):
        target = flow.target
        if target in out or (later and not initial):
            continue
        unique = unique_in_target(ctx, mv, connector, target, cs_id) if flow.picks_unique else None
        result = evaluate_flow(flow, values, eval_ctx, rule.name, unique)
        if result is IGNORE_THIS_FLOW:
            continue
        if result is AUTHORITATIVE_NULL:
            result = None
        elif reference:
            keys, missing = resolve_outbound(ctx, connector, [str(v) for v in _listify(result)])
            if missing:
                unresolved.setdefault(target, []).extend(missing)
            multi = (spec.multivalued if spec is not None else isinstance(result, list)) or isinstance(result, list)
            result = (sorted(keys) or None) if multi else (keys[0] if keys else None)
        else:
            result = typed(spec, result)
        if result is None and flow.skip_null:
            continue
        out[target] = (withheld(result) if secret else result, rule.name)
    for rule in scoped:
        for attr in rule.reference_targets:
            missing = unresolved.get(attr, [])
            record_unresolved(ctx, mv.id, f"{connector}/{attr}", "out", connector, missing)
            if missing:
                ctx.retry_out.add(mv.id)
    return out


ExportStep = tuple[CompiledOutbound, CompiledFlow, AttributeSpec | None, bool, bool, bool]
"""One candidate flow of a target object, with what evaluating it needs: (rule, flow, the target attribute's spec,
whether it is secret, whether it flows only into a new object, whether its values are references)."""


def _plan(
    ctx: SyncContext, scoped: list[CompiledOutbound], flows_of: str, connector: str, object_type: str
) -> list[ExportStep]:
    """The candidate flows of a target object in precedence order, worked out once per step and combination of
    rules (schemas and capabilities do not change during a step)."""
    key = (connector, object_type, tuple(r.order for r in scoped), flows_of)
    known = ctx.export_plans.get(key)
    if known is not None:
        return known
    specs = ctx.cs_schema(connector, object_type).attributes
    secrets = secret_attributes(ctx.capabilities(connector))
    known = []
    for rule, flow in ctx.rules.export_candidates(scoped, flows_of):
        secret = flow.target in secrets
        reference = flow.target in rule.reference_targets
        known.append((rule, flow, specs.get(flow.target), secret, flow.initial_only or secret, reference))
    ctx.export_plans[key] = known
    return known


def _listify(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def identifier_value(ctx: SyncContext, rule: CompiledOutbound, values: Any, own: int | None = None) -> str | None:
    """The identifier (DN, key) the rule's identifier flow gives; ``own`` is the object that holds it now, so a
    SelectUniqueValue there does not count the object's own identifier as taken."""
    if rule.identifier is None:
        return None
    eval_ctx = ctx.eval_ctx
    if rule.identifier_picks_unique:
        eval_ctx = eval_ctx.with_unique(unique_identifier(ctx, rule.connector, own))
    result = evaluate(
        rule.identifier, values, eval_ctx, what="identifier of rule {!r}", about=(rule.name,), attribute=None
    )
    if result is None or result is IGNORE_THIS_FLOW or result is AUTHORITATIVE_NULL:
        return None
    if isinstance(result, list):
        result = result[0] if result else None
    text = str(result).strip() if result is not None else ""
    return text or None


def same_identifier(caps: Capabilities, wanted: str, current: str) -> bool:
    """No rename is due: equal under the target's case rules, and no change of case the object itself would keep
    (a name corrected from "Mcdonald" to "McDonald" is a rename the directory performs)."""
    if not caps.case_insensitive_identifiers:
        return wanted == current
    if wanted.casefold() != current.casefold():
        return False
    key = caps.identifier_case_key
    return wanted == current or key is None or key(wanted) == key(current)


def export_flows(ctx: SyncContext, cs: CSObject, mv: MVObject, scoped: list[CompiledOutbound], values: Any) -> bool:
    """Stage the export flows of a linked object (and a rename when its identifier flow moved)."""
    pending = cs.pending_export
    restored = pending is not None and pending.op is ExportOp.DELETE and pending.in_flight and cs.anchor is None
    if restored and pending is not None:
        # back in scope before the reconciliation: the delete of an add in flight is that add again, still in flight
        cs.pending_export = PendingExport(ExportOp.ADD, [], None, pending.rule, in_flight=True)
    new_object = cs.anchor is None and cs.pending_export is not None and cs.pending_export.op is ExportOp.ADD
    before = (cs.identifier, cs.pending_export.new_identifier if cs.pending_export else None)
    desired = desired_values(ctx, mv, scoped, values, cs.connector, cs.object_type, initial=new_object, cs_id=cs.id)
    new_identifier = None
    caps = ctx.capabilities(cs.connector)
    identifier_rule = next((r for r in scoped if r.identifier is not None), None)
    if identifier_rule is not None:
        wanted = identifier_value(ctx, identifier_rule, values, own=cs.id)
        if wanted is not None:
            same = same_identifier(caps, wanted, cs.identifier)
            if not same:
                if new_object:
                    cs.identifier = wanted
                elif caps.rename:
                    new_identifier = wanted
    schema = ctx.cs_schema(cs.connector, cs.object_type)
    withdrawn = cs.pending_export is not None and cs.pending_export.op is ExportOp.DELETE and not new_object
    if withdrawn:
        cs.pending_export = None  # back in scope (or adopted again): the delete is withdrawn, and that is a change
    warnings: list[str] = []

    def review(changes: list[AttributeChange]) -> tuple[list[AttributeChange], list[str]]:
        kept, found = settle_removals(ctx, cs, scoped, desired, changes)
        warnings.extend(found)
        return kept, found

    changed = stage_update(cs, schema, desired, new_identifier=new_identifier, rule=scoped[0].name, review=review)
    if warnings:
        ctx.warnings[cs.id] = warnings
    else:
        ctx.warnings.pop(cs.id, None)
    changed = changed or withdrawn or restored
    if changed:
        ctx.store.cs_save([cs])
    after = (cs.identifier, cs.pending_export.new_identifier if cs.pending_export else None)
    if (before != after or withdrawn) and caps.references_by == "identifier":
        # references to this object hold its identifier: the objects that name it must name the new one, or name it
        # again now that its delete is withdrawn (``references.resolve_outbound`` leaves out an object being deleted)
        ctx.retry_out |= referrers(ctx, mv.id)
    return changed
