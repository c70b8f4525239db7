"""Reference values that name no object of the connector space: kept by a ``manage: known-values`` flow, said aloud
when a flow that owns the attribute removes them.

A group's ``member`` read from a directory may name entries idsync never imported: a member an administrator added
by hand from an OU outside the connector's containers, a member from another forest. An export flow that owns the
attribute (MIM's export attribute flow, the default) removes every value it does not want, those included; that is
a well-known way to lose members, so the removal is announced (on the pending export, which ``idsync show`` prints,
and in the sync step's message) with the way to keep them. A ``manage: known-values`` flow removes only the values
that name objects of the connector space — a leaver idsync deprovisions is one until its delete is exported — and
leaves the others alone.
"""

from __future__ import annotations

from typing import Any

from idsync.engine.context import SyncContext
from idsync.engine.references import PLACEHOLDER
from idsync.engine.rules import KNOWN_VALUES, CompiledOutbound
from idsync.model import AttributeChange, CSObject, ValueOp
from idsync.store.rows import identifier_key

EXAMPLES = 2
"""Values a warning quotes; the rest it counts."""


def settle_removals(
    ctx: SyncContext,
    cs: CSObject,
    scoped: list[CompiledOutbound],
    desired: dict[str, tuple[Any, str]],
    changes: list[AttributeChange],
) -> tuple[list[AttributeChange], list[str]]:
    """The changes to stage for ``cs``, and the warnings they deserve: a known-values flow's removals lose the
    values outside the connector space; an owning flow's removals keep them, with a warning each attribute."""
    kept: list[AttributeChange] = []
    warnings: list[str] = []
    for change in changes:
        rule = _rule(scoped, desired, change)
        if change.op is not ValueOp.REMOVE or rule is None or change.name not in rule.reference_targets:
            kept.append(change)
            continue
        outside = _outside(ctx, cs.connector, change.values)
        if not outside:
            kept.append(change)
        elif _known_values(rule, change.name):
            inside = [v for v in change.values if v not in outside]
            if inside:
                kept.append(AttributeChange(change.name, change.op, inside, change.rule))
        else:
            kept.append(change)
            warnings.append(_warning(cs, rule, change.name, outside))
    return kept, warnings


def step_warning(warnings: dict[int, list[str]], others: str) -> str | None:
    """A step's message about them: the first in full, and how many objects more (``others`` says where to see
    them)."""
    texts = [w for found in warnings.values() for w in found]
    if not texts:
        return None
    more = len(warnings) - 1
    tail = f" (and {more} more objects: {others})" if more else ""
    return f"warning: {texts[0]}{tail}"


def _rule(
    scoped: list[CompiledOutbound], desired: dict[str, tuple[Any, str]], change: AttributeChange
) -> CompiledOutbound | None:
    """The rule whose flow gave the attribute its desired value (the one that won by precedence)."""
    if change.name not in desired:
        return None
    name = desired[change.name][1]
    return next((r for r in scoped if r.name == name), None)


def _known_values(rule: CompiledOutbound, target: str) -> bool:
    return any(f.target == target and f.known_values for f in rule.flows)


def _outside(ctx: SyncContext, connector: str, values: list[Any]) -> list[Any]:
    """The values that name no object of ``connector``'s connector space (by identifier or anchor, as its
    references hold them)."""
    texts = {str(v) for v in values if not str(v).startswith(PLACEHOLDER)}
    if not texts:
        return []
    if ctx.capabilities(connector).references_by == "identifier":
        found = ctx.store.cs_refs_by_identifier(connector, texts)
        return [v for v in values if str(v) in texts and not found.get(identifier_key(str(v)))]
    anchors = ctx.store.cs_refs_by_anchor(connector, texts)
    return [v for v in values if str(v) in texts and str(v) not in anchors]


def _warning(cs: CSObject, rule: CompiledOutbound, attribute: str, outside: list[Any]) -> str:
    examples = ", ".join(repr(str(v)) for v in outside[:EXAMPLES])
    more = f" and {len(outside) - EXAMPLES} more" if len(outside) > EXAMPLES else ""
    return (
        f"{cs.connector} {cs.identifier!r}: the export removes {len(outside)} {attribute} value(s) that name no "
        f"object of the {cs.connector} connector space ({examples}{more}), because the {attribute} flow of rule "
        f"{rule.name!r} owns the attribute; to keep values idsync does not know, set manage: {KNOWN_VALUES} on "
        "that flow"
    )
