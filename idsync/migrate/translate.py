"""MIM attribute mappings and sync-rule ``<fn>`` trees as expression text in idsync's two dialects.

``entra`` follows Microsoft's reference for attribute-mapping expressions (app provisioning and cloud sync):
concatenation is ``Join("", ...)``, strings escape ``\\`` and ``"`` with a backslash. ``connect`` follows the Connect
Sync functions reference, a subset of VBA: concatenation is ``&``, a quote inside a string is doubled, and ``NULL``
and ``CRLF`` are built-in constants. MIM's functions are those of the MIM 2016 functions reference.

A function with no equivalent in the target dialect is never approximated: the translation carries no text and
says why, so the generator can list it for a person to rewrite. Only text is produced here; compiling it is the
expression package's job.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from idsync.migrate.model import (
    AttributeArg,
    ConstantMapping,
    DirectMapping,
    DnPartMapping,
    FnArg,
    FnCall,
    LiteralArg,
    Mapping,
    ScriptedMapping,
    SyncRuleMapping,
)
from idsync.migrate.reader.flows import REDACTED


class Dialect(enum.StrEnum):
    ENTRA = "entra"
    CONNECT = "connect"


@dataclass(frozen=True, slots=True)
class Translation:
    text: str | None
    """The expression, or None when some part has no faithful equivalent (see problems)."""
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.text is not None


@dataclass(slots=True)
class _Context:
    dialect: Dialect
    problems: list[str] = field(default_factory=list)

    def fail(self, message: str) -> str:
        self.problems.append(message)
        return "?"


Render = Callable[[list[str]], str]

# MIM function -> (number of arguments, or None for "one or more"; renderer per dialect, None = no equivalent).
_COMPARISONS = {
    "Eq": "=",
    "NotEquals": "<>",
    "LessThan": "<",
    "GreaterThan": ">",
    "LessThanOrEquals": "<=",
    "GreaterThanOrEquals": ">=",
}


def _call(name: str) -> Render:
    return lambda args: f"{name}({', '.join(args)})"


_FUNCTIONS: dict[str, tuple[int, Render | None, Render | None]] = {
    # name: (arity, entra, connect)
    "UpperCase": (1, _call("ToUpper"), _call("UCase")),
    "LowerCase": (1, _call("ToLower"), _call("LCase")),
    "ProperCase": (1, _call("PCase"), _call("PCase")),
    "Trim": (1, _call("Trim"), _call("Trim")),
    "LTrim": (1, None, _call("LTrim")),
    "RTrim": (1, None, _call("RTrim")),
    "LeftPad": (3, None, _call("PadLeft")),
    "RightPad": (3, None, _call("PadRight")),
    "BitAnd": (2, _call("BitAnd"), _call("BitAnd")),
    "BitOr": (2, None, _call("BitOr")),
    "DateTimeFormat": (2, None, lambda a: f"FormatDateTime(CDate({a[0]}), {a[1]})"),
    "ConvertSidToString": (1, _call("StringFromSID"), _call("StringFromSid")),
    "ConvertStringToGuid": (1, None, _call("CGuid")),
    "ReplaceString": (3, lambda a: f"Replace({a[0]}, {a[1]}, , , {a[2]}, , )", _call("Replace")),
    "Word": (3, _call("Word"), _call("Word")),
    "Left": (2, _call("Left"), _call("Left")),
    "Right": (2, None, _call("Right")),
    "Mid": (3, _call("Mid"), _call("Mid")),
    "CRLF": (0, None, lambda a: "CRLF"),
    "RandomNum": (2, None, _call("RandomNum")),
    "EscapeDNComponent": (1, None, _call("EscapeDNComponent")),
    "Null": (0, None, lambda a: "NULL"),
    "IIF": (3, _call("IIF"), _call("IIF")),
    "IsPresent": (1, _call("IsPresent"), _call("IsPresent")),
}


def string_literal(value: str, dialect: Dialect) -> str:
    if dialect is Dialect.ENTRA:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return '"' + value.replace('"', '""') + '"'


def attribute_ref(name: str) -> str:
    return f"[{name}]"


def _arg(node: FnArg, ctx: _Context, operand: bool) -> str:
    """One argument; ``operand`` means it stands beside an operator, where a comparison needs parentheses."""
    if isinstance(node, AttributeArg):
        return attribute_ref(node.name)
    if isinstance(node, LiteralArg):
        if node.value == REDACTED:
            return ctx.fail("a literal of a password flow was redacted; supply it from a secret reference")
        return string_literal(node.value, ctx.dialect) if node.quoted else node.value
    text = _fn(node, ctx)
    if operand and (node.name in _COMPARISONS or (node.name == "+" and ctx.dialect is Dialect.CONNECT)):
        return f"({text})"
    return text


def _fn(fn: FnCall, ctx: _Context) -> str:
    if fn.name == "+":
        if not fn.args:
            return ctx.fail("a concatenation (+) without arguments")
        parts = [_arg(a, ctx, operand=True) for a in fn.args]
        if len(parts) == 1:
            return parts[0]
        if ctx.dialect is Dialect.ENTRA:
            return f'Join("", {", ".join(parts)})'
        return " & ".join(parts)
    if fn.name in _COMPARISONS:
        if len(fn.args) != 2:
            return ctx.fail(f"{fn.name} takes 2 arguments, this one has {len(fn.args)}")
        left, right = (_arg(a, ctx, operand=True) for a in fn.args)
        return f"{left} {_COMPARISONS[fn.name]} {right}"
    spec = _FUNCTIONS.get(fn.name)
    if spec is None:
        return ctx.fail(f"the MIM function {fn.name!r} is not one this translator knows")
    arity, entra, connect = spec
    if len(fn.args) != arity:
        return ctx.fail(f"{fn.name} takes {arity} argument(s), this one has {len(fn.args)}")
    render = entra if ctx.dialect is Dialect.ENTRA else connect
    if render is None:
        return ctx.fail(f"{fn.name} has no equivalent in the {ctx.dialect.value} dialect")
    return render([_arg(a, ctx, operand=False) for a in fn.args])


def translate_fn(fn: FnCall, dialect: Dialect) -> Translation:
    ctx = _Context(dialect)
    text = _fn(fn, ctx)
    return Translation(None if ctx.problems else text, tuple(ctx.problems))


def translate_mapping(mapping: Mapping, dialect: Dialect) -> Translation:
    """A flow's mapping as one expression; scripted mappings and redacted constants cannot be translated."""
    if isinstance(mapping, DirectMapping):
        if mapping.intrinsic and mapping.source != "dn":
            return Translation(None, (f"the intrinsic source <{mapping.source}> has no attribute equivalent",))
        return Translation(attribute_ref(mapping.source))
    if isinstance(mapping, ConstantMapping):
        return _constant(mapping.value, dialect)
    if isinstance(mapping, DnPartMapping):
        if dialect is Dialect.CONNECT:
            return Translation(f"DNComponent(CRef([dn]), {mapping.part})")
        return Translation(f"DNComponent([dn], {mapping.part})")
    if isinstance(mapping, ScriptedMapping):
        return Translation(
            None, (f"computed by a rules extension ({mapping.script_context or 'no script context'}); rewrite it",)
        )
    assert isinstance(mapping, SyncRuleMapping)
    if mapping.expression is not None:
        return translate_fn(mapping.expression, dialect)
    if mapping.constant is not None:
        return _constant(mapping.constant, dialect)
    if len(mapping.sources) == 1:
        return Translation(attribute_ref(mapping.sources[0]))
    return Translation(None, (f"a {mapping.mapping_type} sync-rule mapping with sources {mapping.sources}",))


def _constant(value: str, dialect: Dialect) -> Translation:
    if value == REDACTED:
        return Translation(None, ("the constant is a password; supply it from a secret reference",))
    return Translation(string_literal(value, dialect))
