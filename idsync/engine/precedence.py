"""Inbound attribute flow with precedence: who sets each metaverse attribute.

For every MV attribute the contributors are the inbound flows that target it, across all connectors, ordered by
precedence (lower wins) and then by their order in the configuration. The value comes from the best contributor
whose rule applies to a CS object linked to the MV object. Null is a value unless the flow says ``skip_null``;
``IgnoreThisFlow`` (and Entra's IgnoreFlowIfNullOrEmpty) hands over to the next contributor; ``AuthoritativeNull``
forces null. Initial-only flows count only while the MV object is being projected, and afterwards keep the value
they set until a better contributor speaks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from idsync.engine.context import SyncContext
from idsync.engine.evaluation import evaluate_flow, in_scope, typed
from idsync.engine.references import record_unresolved, resolve_inbound
from idsync.engine.rules import CompiledInbound
from idsync.engine.uniqueness import unique_in_metaverse
from idsync.expressions import AUTHORITATIVE_NULL, IGNORE_THIS_FLOW
from idsync.model import Contribution, CSObject, MVObject, as_list, values_equal


def rule_applies(ctx: SyncContext, rule: CompiledInbound, cs: CSObject) -> bool:
    key = (rule.name, cs.id)
    cached = ctx.scope_cache.get(key)
    if cached is not None:
        return cached
    if cs.connector != rule.connector or cs.object_type != rule.object_type:
        result = False
    else:
        result = rule.scope is None or in_scope(rule.scope, ctx.cs_values(cs), ctx.eval_ctx, rule.name)
    ctx.scope_cache[key] = result
    return result


def contributed_attributes(ctx: SyncContext, mv: MVObject, cs: CSObject, changed: Iterable[str] | None) -> set[str]:
    """The MV attributes a change of ``cs`` can affect; ``changed=None`` means all of them."""
    if changed is None:
        out = set(ctx.rules.inbound_targets(cs.connector, cs.object_type, mv.object_type))
        scope_moved = True
    else:
        changed_set = set(changed)
        out = set()
        scope_moved = False
        for rule in ctx.rules.inbound_for(cs.connector, cs.object_type):
            if rule.mv_type != mv.object_type:
                continue
            rule_scope_moved = not rule.scope_references.isdisjoint(changed_set)
            scope_moved = scope_moved or rule_scope_moved
            for flow in rule.flows:
                if rule_scope_moved or not flow.references.isdisjoint(changed_set):
                    out.add(flow.target)
    if scope_moved:
        # whatever it set before may have to fall to another contributor now
        out.update(attr for attr, c in mv.provenance.items() if c.cs_id == cs.id)
    return out


def recompute(
    ctx: SyncContext,
    mv: MVObject,
    links: list[CSObject],
    attributes: Iterable[str],
    *,
    projecting: CSObject | None = None,
) -> set[str]:
    """Recompute ``attributes`` of ``mv`` from its linked CS objects. Returns the names whose values changed."""
    plan = ctx.rules.mv_attributes(mv.object_type)
    current_values, provenance = mv.attributes, mv.provenance
    by_source: dict[tuple[str, str], CSObject] = {}
    for link in links:
        by_source.setdefault((link.connector, link.object_type), link)
    inputs: dict[int, Mapping[str, Any]] = {}
    made: dict[tuple[str, int], Contribution] = {}
    changed: set[str] = set()
    for attr in sorted(set(attributes)):
        spec, is_reference, contributors = plan.get(attr) or (None, False, ())
        value: object = None
        contribution: Contribution | None = None
        for rule, flow in contributors:
            cs = by_source.get((rule.connector, rule.object_type))
            if cs is None or (rule.scope is not None and not rule_applies(ctx, rule, cs)):
                continue
            current = provenance.get(attr)
            if flow.initial_only and cs is not projecting:
                if current is not None and current.rule == rule.name and current.cs_id == cs.id:
                    value, contribution = current_values.get(attr), current
                    break
                continue
            values = inputs.get(cs.id)
            if values is None:
                values = inputs[cs.id] = ctx.cs_values(cs)
            unique = unique_in_metaverse(ctx, mv, attr) if flow.picks_unique else None
            result = evaluate_flow(flow, values, ctx.eval_ctx, rule.name, unique)
            if result is IGNORE_THIS_FLOW:
                continue
            if result is AUTHORITATIVE_NULL:
                result = None
            else:
                if is_reference:
                    assert spec is not None
                    result = _resolve_reference(ctx, mv, attr, rule, result, multivalued=spec.multivalued)
                else:
                    result = typed(spec, result)
                if result is None and flow.skip_null:
                    continue
            value = result
            if current is not None and current.rule == rule.name and current.cs_id == cs.id:
                contribution = current  # the same contributor as before: lineage unchanged
            else:
                # one instance per contributor serves all its attributes: nothing changes a Contribution in place
                key = (rule.name, cs.id)
                contribution = made.get(key)
                if contribution is None:
                    contribution = made[key] = Contribution(cs.connector, rule.name, cs.id)
            break
        else:
            if is_reference:
                record_unresolved(ctx, mv.id, attr, "in", "", [])
        old = current_values.get(attr)
        if value is None:
            current_values.pop(attr, None)
        else:
            current_values[attr] = value
        if contribution is None:
            provenance.pop(attr, None)
        else:
            provenance[attr] = contribution
        if old is None or value is None:
            if old is not value:
                changed.add(attr)
        elif type(old) is str and type(value) is str and old == value:
            continue  # the commonest unchanged value, decided without normalizing
        elif spec is None or not values_equal(spec, old, value):
            changed.add(attr)
    return changed


def _resolve_reference(
    ctx: SyncContext, mv: MVObject, attr: str, rule: CompiledInbound, result: object, *, multivalued: bool
) -> object:
    keys = [str(v) for v in as_list(result)]
    resolved, missing = resolve_inbound(ctx, rule.connector, keys)
    record_unresolved(ctx, mv.id, attr, "in", rule.connector, missing)
    if missing:
        ctx.retry_in.add(mv.id)
    if multivalued:
        return sorted(set(resolved), key=_id_order) or None
    return resolved[0] if resolved else None


def _id_order(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdecimal() else (0, value)
