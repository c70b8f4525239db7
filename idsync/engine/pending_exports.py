"""Pending exports: the difference between what the metaverse wants in a target and what the target holds.

Desired values are compared with the *expected* target state — the hologram overlaid with exported values not yet
confirmed — so a value already sent is not sent again while its confirmation is on the way. Pending exports are
recomputed from scratch at every evaluation, which makes a sync idempotent: evaluating an object twice stages the
same changes once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from idsync.model import (
    AttributeChange,
    Attributes,
    AttributeSpec,
    AttributeType,
    CSObject,
    ExportOp,
    ObjectTypeSchema,
    PendingExport,
    ValueOp,
    as_list,
    normalize,
    recased,
    values_equal,
)


def expected_state(cs: CSObject) -> Attributes:
    """What the target is believed to hold once exports in flight land."""
    if not cs.unconfirmed:
        return cs.hologram
    state = dict(cs.hologram)
    for attr, memo in cs.unconfirmed.items():
        value = memo.get("value")
        if value is None:
            state.pop(attr, None)
        else:
            state[attr] = value
    return state


def _spec(schema: ObjectTypeSchema, attr: str, value: Any, current: Any) -> AttributeSpec:
    spec = schema.attributes.get(attr)
    if spec is not None:
        return spec
    return _unknown_spec(attr, isinstance(value, list) or isinstance(current, list))


@lru_cache(maxsize=4096)
def _unknown_spec(attr: str, multivalued: bool) -> AttributeSpec:
    """An attribute the target's schema does not describe (yet): text, compared exactly. Specs are immutable, so
    one per name serves every object (a target without a discovered schema would build one per value otherwise)."""
    return AttributeSpec(attr, multivalued=multivalued)


def attribute_changes(
    schema: ObjectTypeSchema, desired: Mapping[str, tuple[Any, str]], expected: Attributes
) -> list[AttributeChange]:
    """desired: attribute -> (value, rule). Returns replace / add / remove changes."""
    changes: list[AttributeChange] = []
    for attr in sorted(desired):
        value, rule = desired[attr]
        current = expected.get(attr)
        spec = _spec(schema, attr, value, current)
        if values_equal(spec, current, value) and (current == value or not recased(spec, current, value)):
            continue  # equal as written (the commonest answer, decided without a call), or under the rule and in case
        if spec.multivalued:
            want = {normalize(spec, v): v for v in as_list(value)}
            have = {normalize(spec, v): v for v in as_list(current)}
            added = [v for k, v in want.items() if k not in have]
            removed = [v for k, v in have.items() if k not in want]
            if spec.type is AttributeType.STRING and (
                _kept_in_another_case(want, have) or _same_but_case(added, removed)
            ):
                # a value rewritten in another case: added and removed one by one, a server that compares them
                # ignoring case takes the add for the value it holds and then removes it; one replace is exact
                changes.append(AttributeChange(attr, ValueOp.REPLACE, list(want.values()), rule))
                continue
            if added:
                changes.append(AttributeChange(attr, ValueOp.ADD, added, rule))
            if removed:
                changes.append(AttributeChange(attr, ValueOp.REMOVE, removed, rule))
        else:
            changes.append(AttributeChange(attr, ValueOp.REPLACE, [] if value is None else [value], rule))
    return changes


def _kept_in_another_case(want: dict[Any, Any], have: dict[Any, Any]) -> bool:
    """A value both hold under the comparison rule (``want``, ``have``: key -> value), written in another case."""
    return any(want[key] != have[key] for key in want.keys() & have.keys())


def _same_but_case(added: list[Any], removed: list[Any]) -> bool:
    """An added and a removed value that differ only in case (a rule that compares exactly saw two values)."""
    removing = {v.casefold() for v in removed if isinstance(v, str)}
    return any(isinstance(v, str) and v.casefold() in removing for v in added)


def add_changes(schema: ObjectTypeSchema, desired: Mapping[str, tuple[Any, str]]) -> list[AttributeChange]:
    """A new object: every non-null desired value, as replace (single) or add (multi)."""
    changes = []
    specs = schema.attributes
    for attr in sorted(desired):
        value, rule = desired[attr]
        if value is None:
            continue
        spec = specs.get(attr)
        if spec.multivalued if spec is not None else isinstance(value, list):
            changes.append(AttributeChange(attr, ValueOp.ADD, list(as_list(value)), rule))
        else:
            changes.append(AttributeChange(attr, ValueOp.REPLACE, [value], rule))
    return changes


Review = Callable[[list[AttributeChange]], tuple[list[AttributeChange], list[str]]]
"""What an update's changes go through before they are staged: the changes to keep, and warnings about them."""


def stage_update(
    cs: CSObject,
    schema: ObjectTypeSchema,
    desired: Mapping[str, tuple[Any, str]],
    *,
    new_identifier: str | None,
    rule: str | None,
    deprovisioning: bool = False,
    review: Review | None = None,
) -> bool:
    """Recompute ``cs.pending_export`` for a linked object. Returns True when it changed.

    An add still in flight stays in flight: it may have reached the target before a crash, and only the
    reconciliation's lookup may decide whether to send it again (restaged here, it would be sent blindly)."""
    previous = cs.pending_export
    before = previous.to_json() if previous else None
    if previous is not None and previous.op is ExportOp.ADD and cs.anchor is None:
        changes = add_changes(schema, desired)
        cs.pending_export = PendingExport(ExportOp.ADD, changes, None, rule, in_flight=previous.in_flight)
    else:
        changes = attribute_changes(schema, desired, expected_state(cs))
        warnings: list[str] = []
        if review is not None and changes:
            changes, warnings = review(changes)
        if changes or new_identifier is not None:
            tries = cs.pending_export.tries if cs.pending_export else 0
            cs.pending_export = PendingExport(
                ExportOp.UPDATE, changes, new_identifier, rule, tries, deprovisioning=deprovisioning, warnings=warnings
            )
        else:
            cs.pending_export = None
    after = cs.pending_export.to_json() if cs.pending_export else None
    return before != after


def stage_delete(cs: CSObject, rule: str | None) -> None:
    """An add in flight becomes a delete in flight: the reconciliation removes the object if the add reached the
    target, and forgets it if not."""
    previous = cs.pending_export
    in_flight = previous is not None and previous.op is ExportOp.ADD and previous.in_flight
    cs.pending_export = PendingExport(ExportOp.DELETE, [], None, rule, in_flight=in_flight)
