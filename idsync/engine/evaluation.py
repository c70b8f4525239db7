"""Evaluating flows against an object's values: input shaping, failure wrapping, result typing."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from idsync.engine.errors import ObjectError
from idsync.engine.rules import CompiledFlow, truthy
from idsync.expressions import (
    AUTHORITATIVE_NULL,
    IGNORE_THIS_FLOW,
    EvalContext,
    Expression,
    ExpressionEvaluationError,
)
from idsync.model import AttributeSpec, AttributeType, AttributeValueError, ObjectTypeSchema, coerce

SENTINELS = (IGNORE_THIS_FLOW, AUTHORITATIVE_NULL)
_MISSING = object()
_UTC_TEXT = re.compile(r"[1-9]\d{3}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
"""The storage form of a date-time (``format_datetime``): such a text coerces to itself once it is a valid date."""


def _valid_date(text: str) -> bool:
    try:
        datetime.fromisoformat(text[:-1])
    except ValueError:
        return False
    return True


def binary_attributes(schema: ObjectTypeSchema) -> frozenset[str]:
    return frozenset(a.name for a in schema.attributes.values() if a.type is AttributeType.BINARY)


def expression_input(attrs: Mapping[str, Any], binary: frozenset[str]) -> Mapping[str, Any]:
    """Storage form -> what expressions see: binary values as bytes, everything else unchanged (no copy)."""
    if not binary or binary.isdisjoint(attrs):
        return attrs
    out = dict(attrs)
    for name in binary.intersection(attrs):
        value = out[name]
        if isinstance(value, list):
            out[name] = [base64.b64decode(v) for v in value]
        elif isinstance(value, str):
            out[name] = base64.b64decode(value)
    return out


def evaluate(
    expr: Expression,
    values: Mapping[str, Any],
    ctx: EvalContext,
    *,
    what: str,
    attribute: str | None,
    about: tuple[Any, ...] = (),
) -> Any:
    """``what`` names the expression in the error a failure becomes, with ``about`` put into its fields
    only then: a sync evaluates several expressions per object and almost never fails."""
    try:
        return expr.evaluate(values, ctx)
    except ExpressionEvaluationError as exc:
        raise ObjectError(f"{what.format(*about)}: {exc}", attribute=attribute, code="expression-error") from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise ObjectError(
            f"{what.format(*about)}: {type(exc).__name__}: {exc} in {expr.text!r}",
            attribute=attribute,
            code="expression-error",
        ) from None


def evaluate_flow(
    flow: CompiledFlow,
    values: Mapping[str, Any],
    ctx: EvalContext,
    rule: str,
    unique: Callable[[str], bool] | None = None,
) -> Any:
    direct = flow.expression.direct_attribute
    if direct is not None:
        # the commonest flow, [attr]: no need to enter the expression machinery for a plain value
        value = values.get(direct, _MISSING)
        if value is not _MISSING and not isinstance(value, list):
            return value
    if unique is not None and flow.picks_unique:
        ctx = ctx.with_unique(unique)
    return evaluate(
        flow.expression, values, ctx, what="flow {!r} of rule {!r}", about=(flow.target, rule), attribute=flow.target
    )


def in_scope(expr: Expression | None, values: Mapping[str, Any], ctx: EvalContext, rule: str) -> bool:
    if expr is None:
        return True
    return truthy(evaluate(expr, values, ctx, what="scope of rule {!r}", about=(rule,), attribute=None))


def typed(spec: AttributeSpec | None, value: Any) -> Any:
    """A flow result in storage form for the attribute it feeds. Sentinels pass through."""
    if value is None or value is IGNORE_THIS_FLOW or value is AUTHORITATIVE_NULL:
        return value
    if spec is None:
        if type(value) is str:
            return value or None
        if isinstance(value, bytes):
            return base64.b64encode(value).decode("ascii")
        if isinstance(value, tuple | set):
            return list(value)
        if value == "" or value == []:
            return None
        return value
    if not spec.multivalued:
        # values already in storage form, the commonest results (a copied source value), need no coercion
        kind, t = spec.type, type(value)
        if t is str and kind is AttributeType.STRING:
            return value or None
        if (t is int and kind is AttributeType.INTEGER) or (t is bool and kind is AttributeType.BOOLEAN):
            return value
        if t is str and kind is AttributeType.DATETIME and _UTC_TEXT.fullmatch(value) and _valid_date(value):
            return value
    try:
        return coerce(spec, value)
    except AttributeValueError as exc:
        raise ObjectError(str(exc), attribute=spec.name, code="type-error") from None
