"""compile_expression and the compiled Expression the engine evaluates."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from idsync.expressions.compiler import compile_tree
from idsync.expressions.dates import format_us, utc
from idsync.expressions.errors import Origin
from idsync.expressions.parser import parse
from idsync.expressions.values import Dialect, EvalContext, FlowSentinel, FlowSignal


def _iso(value: datetime) -> str:
    return utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


class Expression:
    """A compiled attribute-flow expression. Immutable and safe to share between threads and runs."""

    __slots__ = (
        "_date_text",
        "_fn",
        "dialect",
        "direct_attribute",
        "is_constant",
        "redacted",
        "references",
        "text",
    )

    def __init__(
        self,
        text: str,
        dialect: Dialect,
        fn: Any,
        references: frozenset[str],
        direct_attribute: str | None,
        is_constant: bool,
        redacted: bool,
    ) -> None:
        self.text = text
        self.dialect = dialect
        self._fn = fn
        self.references = references
        """The attribute names the expression reads (as the engine spells them when ``attributes`` was given)."""
        self.direct_attribute = direct_attribute
        """Set when the whole expression is one ``[attr]``: the engine can copy the value without evaluating."""
        self.is_constant = is_constant
        """No attribute references, parameters or non-deterministic functions: the value never changes."""
        self.redacted = redacted
        """The expression uses Redact(): never show its value in logs, previews or reports."""
        # Entra documents DateTime results as en-US text; Connect has no DateTime attribute type, so a date
        # leaving a Connect expression takes the engine's storage form (ISO 8601 UTC).
        self._date_text = format_us if dialect is Dialect.ENTRA else _iso

    def __repr__(self) -> str:
        return f"Expression({self.text!r}, dialect={self.dialect.value!r})"

    def evaluate(self, attrs: Mapping[str, Any], ctx: EvalContext | None = None) -> Any:
        """The expression's value for one object: None (null), a scalar, a list (multi-valued) or one of the
        sentinels IGNORE_THIS_FLOW / AUTHORITATIVE_NULL. Raises ExpressionEvaluationError when it fails for
        this object."""
        try:
            value = self._fn(attrs, ctx)
        except FlowSignal as signal:
            return signal.sentinel
        t = type(value)
        if t is str or value is None or t is int or t is bool:
            return value
        return self._finish(value)

    def _finish(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return self._date_text(value)
        if isinstance(value, list):
            out = [self._finish(v) for v in value if v is not None]
            return out or None
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bytearray):
            return bytes(value)
        if isinstance(value, FlowSentinel):
            return value
        return value


def compile_expression(
    text: str,
    dialect: Dialect | str = Dialect.ENTRA,
    attributes: Collection[str] | None = None,
    multivalued: Collection[str] = (),
    origin: Origin | tuple[str, int, int] | None = None,
    *,
    spelled: bool = True,
    reference_attributes: Collection[str] = (),
) -> Expression:
    """Parse, validate and compile an expression once, when the configuration loads.

    ``attributes``, when given, are the source attribute names the expression may read: an unknown ``[attr]`` is
    then a validation error. ``multivalued`` names the multi-valued ones, so that a multi-valued attribute used
    where one value is expected runs the expression per value. ``spelled=False`` says the names only check the
    expression (a connector's schema, whose objects might spell a name in another case): it then reads every name
    as written, in any case, exactly as without ``attributes``. ``origin`` is where the text sits in the
    configuration file; errors then report that file's line and column. ``reference_attributes`` names the
    attributes that hold references (DNs), which some functions treat apart (Connect's Contains matches them
    whole).
    """
    try:
        d = Dialect(dialect)
    except ValueError:
        raise ValueError(f"unknown expression dialect {dialect!r} (expected 'entra' or 'connect')") from None
    where = Origin(*origin) if origin is not None else None
    tree = parse(text, where)
    result = compile_tree(
        tree,
        source=text,
        dialect=d,
        attributes=attributes,
        multivalued=multivalued,
        origin=where,
        spelled=spelled,
        reference_attributes=reference_attributes,
    )
    return Expression(
        text=text,
        dialect=d,
        fn=result.root.fn,
        references=result.references,
        direct_attribute=result.direct_attribute,
        is_constant=not result.references and result.deterministic,
        redacted=result.redacted,
    )
