"""Program flow: the special forms that choose what to evaluate (IIF, Switch, Coalesce, Select, Where, With),
raise (Error), or speak to precedence (IgnoreFlowIfNullOrEmpty) and to the target (SelectUniqueValue)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from idsync.expressions.errors import EvalFault
from idsync.expressions.library import BuildInfo, Closure, Compiled, FunctionSpec
from idsync.expressions.values import (
    IGNORE_THIS_FLOW,
    EvalContext,
    FlowSignal,
    Scope,
    collect,
    is_null_or_empty,
    text,
    truth,
    values_of,
)

Attrs = Mapping[str, Any]
Ctx = EvalContext | None


def _build_iif(info: BuildInfo, args: Sequence[Compiled]) -> Closure | Compiled:
    cond, yes, no = args
    if cond.const:
        try:
            return yes if truth(cond.value) else no
        except EvalFault:
            pass  # a constant condition that is not a boolean fails at run time, like any other
    cf, yf, nf = cond.fn, yes.fn, no.fn

    def iif(a: Attrs, c: Ctx) -> Any:
        v = cf(a, c)
        if v is True or (v is not False and v is not None and truth(v)):
            return yf(a, c)
        return nf(a, c)

    return iif


def _switch_key(value: Any) -> str:
    if value is None:
        return ""
    s = text(value)
    return "" if s is None else s


def _build_switch_entra(info: BuildInfo, args: Sequence[Compiled]) -> Closure:
    source, default = args[0].fn, args[1].fn
    keys, values = args[2::2], args[3::2]
    if all(k.const for k in keys):
        table: dict[str, Closure] = {}
        for k, v in zip(keys, values, strict=True):
            table.setdefault(_switch_key(k.value), v.fn)

        def switch(a: Attrs, c: Ctx) -> Any:
            s = source(a, c)
            if type(s) is not str:
                s = _switch_key(s)
            return table.get(s, default)(a, c)

        return switch
    pairs = [(k.fn, v.fn) for k, v in zip(keys, values, strict=True)]

    def switch_dynamic(a: Attrs, c: Ctx) -> Any:
        s = _switch_key(source(a, c))
        for kf, vf in pairs:
            if _switch_key(kf(a, c)) == s:
                return vf(a, c)
        return default(a, c)

    return switch_dynamic


def _build_switch_connect(info: BuildInfo, args: Sequence[Compiled]) -> Closure:
    """Connect's Switch "evaluates all expressions, even though it returns only one of them": a condition that
    fails (a division by zero) fails the object even after an earlier one was true. Only the chosen value is
    evaluated, which is what lets ``True, Error("Unknown city")`` close the list."""
    pairs = [(args[i].fn, args[i + 1].fn) for i in range(0, len(args), 2)]

    def switch(a: Attrs, c: Ctx) -> Any:
        chosen = None
        for cf, vf in pairs:
            if truth(cf(a, c)) and chosen is None:
                chosen = vf
        return None if chosen is None else chosen(a, c)

    return switch


def _build_coalesce(info: BuildInfo, args: Sequence[Compiled]) -> Closure:
    fns = [x.fn for x in args]

    def coalesce(a: Attrs, c: Ctx) -> Any:
        for f in fns:
            v = f(a, c)
            if v is not None:
                return v
        return None

    return coalesce


def _build_error(info: BuildInfo, args: Sequence[Compiled]) -> Closure:
    message = args[0].fn

    def error(a: Attrs, c: Ctx) -> Any:
        raise EvalFault(text(message(a, c)) or "error")

    return error


def _build_ignore_if_empty(info: BuildInfo, args: Sequence[Compiled]) -> Closure:
    inner = args[0].fn

    def ignore_if_empty(a: Attrs, c: Ctx) -> Any:
        v = inner(a, c)
        if is_null_or_empty(v):
            raise FlowSignal(IGNORE_THIS_FLOW)
        return v

    return ignore_if_empty


def _build_select_unique(info: BuildInfo, args: Sequence[Compiled]) -> Closure:
    fns = [x.fn for x in args]

    def select_unique(a: Attrs, c: Ctx) -> Any:
        taken: list[str] = []
        for f in fns:
            v = f(a, c)
            if v is None or v == "":
                continue
            candidate = text(v)
            assert candidate is not None
            if c is None or c.is_unique is None or c.is_unique(candidate):
                return candidate
            taken.append(candidate)
        if not taken:
            raise EvalFault("every candidate value is null or empty")
        raise EvalFault(f"all {len(taken)} candidate values are already in use: {', '.join(taken)}")

    return select_unique


def _build_select(info: BuildInfo, args: Sequence[Compiled]) -> Closure:
    name = info.binder
    collection, body = args[1].fn, args[2].fn

    def select(a: Attrs, c: Ctx) -> Any:
        out: list[Any] = []
        for v in values_of(collection(a, c)):
            collect(out, body(Scope(a, name, v), c))
        return out or None

    return select


def _build_where(info: BuildInfo, args: Sequence[Compiled]) -> Closure:
    name = info.binder
    collection, cond = args[1].fn, args[2].fn

    def where(a: Attrs, c: Ctx) -> Any:
        out = [v for v in values_of(collection(a, c)) if truth(cond(Scope(a, name, v), c))]
        return out or None

    return where


def _build_with(info: BuildInfo, args: Sequence[Compiled]) -> Closure:
    name = info.binder
    sub, body = args[1].fn, args[2].fn

    def with_(a: Attrs, c: Ctx) -> Any:
        return body(Scope(a, name, sub(a, c)), c)

    return with_


def _build_redact(info: BuildInfo, args: Sequence[Compiled]) -> Compiled:
    return args[0]


def _even_pairs(n: int) -> str | None:
    return None if n % 2 == 0 else "takes its arguments in pairs, so it needs an even number of them"


IIF = FunctionSpec(
    "IIF",
    "IIF(condition, valueIfTrue, valueIfFalse)",
    "valueIfTrue when the condition is true, else valueIfFalse (only the chosen branch is evaluated).",
    'IIF([country]="USA", [country], [department])',
    "program flow",
    3,
    3,
    kinds="saa",
    build=_build_iif,
)
SWITCH_ENTRA = FunctionSpec(
    "Switch",
    "Switch(source, defaultValue, key1, value1, key2, value2, …)",
    'The value paired with the first key equal to source (case-sensitive; a null source matches ""), '
    "else defaultValue (which may be left empty).",
    'Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney", "QLD", "Australia/Brisbane")',
    "program flow",
    4,
    None,
    kinds="sasa",
    repeat=2,
    build=_build_switch_entra,
    empty_ok=frozenset({1}),
    arity=_even_pairs,
)
SWITCH_CONNECT = FunctionSpec(
    "Switch",
    "Switch(expr1, value1[, expr2, value2 …])",
    "The value paired with the first condition that is true; null when none is.",
    'Switch([city] = "London", "English", [city] = "Rome", "Italian", True, Error("Unknown city"))',
    "program flow",
    2,
    None,
    kinds="sa",
    repeat=2,
    build=_build_switch_connect,
    arity=_even_pairs,
)
COALESCE = FunctionSpec(
    "Coalesce",
    "Coalesce(source1, source2, …, defaultValue)",
    "The first argument that is not null (an empty string is a value).",
    "Coalesce([mail], [userPrincipalName])",
    "program flow",
    1,
    None,
    kinds="a",
    build=_build_coalesce,
)
ERROR = FunctionSpec(
    "Error",
    "Error(message)",
    "Fails this object with the message; the run goes on with the next object.",
    'IIF(IsPresent([accountName]), [accountName], Error("AccountName is required"))',
    "program flow",
    1,
    1,
    build=_build_error,
    fold=False,
)
IGNORE_FLOW_IF_NULL_OR_EMPTY = FunctionSpec(
    "IgnoreFlowIfNullOrEmpty",
    "IgnoreFlowIfNullOrEmpty(expression)",
    "The value, or no contribution at all (IgnoreThisFlow) when it is null or empty.",
    "IgnoreFlowIfNullOrEmpty([department])",
    "program flow",
    1,
    1,
    kinds="a",
    build=_build_ignore_if_empty,
)
SELECT_UNIQUE_VALUE = FunctionSpec(
    "SelectUniqueValue",
    "SelectUniqueValue(uniqueValueRule1, uniqueValueRule2, …)",
    "The first candidate not already used in the target connector space, the metaverse or pending exports.",
    'SelectUniqueValue(Join("@", [givenName], "contoso.com"), Join("@", Mid([givenName], 1, 1), "contoso.com"))',
    "program flow",
    2,
    None,
    kinds="m",
    build=_build_select_unique,
    deterministic=False,
    top_level_only=True,
)
SELECT = FunctionSpec(
    "Select",
    "Select($item, attribute, function)",
    "Every value of a multi-valued attribute (or expression) passed through the function; nulls are dropped.",
    'Select($item, [otherPhone], Replace($item, "-", ""))',
    "program flow",
    3,
    3,
    kinds="bma",
    build=_build_select,
)
WHERE = FunctionSpec(
    "Where",
    "Where($item, attribute, condition)",
    "The values of a multi-valued attribute (or expression) for which the condition is true.",
    'Where($item, [proxyAddresses], Left($item, 5) = "SMTP:")',
    "program flow",
    3,
    3,
    kinds="bma",
    build=_build_where,
)
WITH = FunctionSpec(
    "With",
    "With($variable, subExpression, complexExpression)",
    "Evaluates subExpression once and names it $variable inside complexExpression.",
    "With($mail, Trim([mail]), IIF(IsPresent($mail), $mail, NULL))",
    "program flow",
    3,
    3,
    kinds="baa",
    build=_build_with,
)
REDACT = FunctionSpec(
    "Redact",
    "Redact(value)",
    "The value unchanged; marks the flow so that its value is never shown in logs or previews.",
    "Redact([employeeId])",
    "program flow",
    1,
    1,
    kinds="a",
    build=_build_redact,
)
