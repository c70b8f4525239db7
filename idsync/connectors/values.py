"""Attribute changes applied to storage-form values, for connectors whose system does not apply them itself
(files, the in-memory test directory).

Multi-valued additions and removals have set semantics under the attribute's comparison rule: adding a value that
is there, or removing one that is not, changes nothing and is not an error — exports are replayed after a crash.
"""

from __future__ import annotations

from typing import Any

from idsync.model import AttributeSpec, AttributeValueError, ValueOp, as_list, coerce, normalize


def change_value(spec: AttributeSpec, op: ValueOp, values: list[Any]) -> Any:
    """The storage-form value one change carries: a scalar or ``None`` for a single-valued replace, a list (or
    ``None``) otherwise. Raises :class:`AttributeValueError` naming the attribute."""
    given = [v for v in values if v is not None]
    if op is ValueOp.REPLACE and not spec.multivalued:
        if len(given) > 1:
            raise AttributeValueError(f"{spec.name}: single-valued, given {len(given)} values")
        return coerce(spec, given[0]) if given else None
    if op is not ValueOp.REPLACE and not spec.multivalued:
        raise AttributeValueError(f"{spec.name}: single-valued; send a replace, not {op.value}")
    return coerce(spec, given)


def apply_change(spec: AttributeSpec, current: Any, op: ValueOp, value: Any) -> Any:
    """``current`` after one change whose value came from :func:`change_value`."""
    if op is ValueOp.REPLACE:
        return value
    if op is ValueOp.ADD:
        return add_values(spec, as_list(current), as_list(value)) or None
    return remove_values(spec, as_list(current), as_list(value)) or None


def add_values(spec: AttributeSpec, current: list[Any], values: list[Any]) -> list[Any]:
    seen = {normalize(spec, v) for v in current}
    out = list(current)
    for value in values:
        key = normalize(spec, value)
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out


def remove_values(spec: AttributeSpec, current: list[Any], values: list[Any]) -> list[Any]:
    gone = {normalize(spec, v) for v in values}
    return [v for v in current if normalize(spec, v) not in gone]
