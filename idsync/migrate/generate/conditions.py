"""Scoping conditions as ``connect``-dialect expressions: MIM's declared connector filters (which say which objects
stay disconnectors, so the scope is their negation) and Azure AD Connect's scoping filters (groups AND'ed inside,
OR'ed together).

A negative test is written ``IIF(test, False, True)`` rather than with ``<>``: a comparison with an absent value
is false in idsync, while Connect's NOTEQUAL (and MIM's inequality) hold for an object without the attribute, as
``cloudMastered NOTEQUAL True`` must for every object that never came from the cloud.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from idsync.migrate.model import FilterCondition, ScopeCondition
from idsync.migrate.translate import Dialect, attribute_ref, string_literal

_NUMBER = re.compile(r"^-?\d+$")


class UntranslatableCondition(ValueError):
    """A condition with no faithful expression; the message says which and why."""


def _literal(value: str) -> str:
    text = value.strip()
    if _NUMBER.match(text):
        return text
    if text.lower() in ("true", "false"):
        return "True" if text.lower() == "true" else "False"
    return string_literal(value, Dialect.CONNECT)


def _text(value: str) -> str:
    return string_literal(value, Dialect.CONNECT)


def negate(test: str) -> str:
    return f"IIF({test}, False, True)"


def _mask(value: str) -> str:
    text = value.strip()
    if not _NUMBER.match(text):
        raise UntranslatableCondition(f"the bit mask {value!r} is not a number")
    return text


Build = Callable[[str, str], str]

# MIM's declared connector-filter operators (<filter-alternative><condition operator="...">).
_MIM: dict[str, Build] = {
    "equality": lambda a, v: f"{a} = {_literal(v)}",
    "inequality": lambda a, v: negate(f"{a} = {_literal(v)}"),
    "present": lambda a, v: f"IsPresent({a})",
    "not-present": lambda a, v: negate(f"IsPresent({a})"),
    "less-than": lambda a, v: f"{a} < {_literal(v)}",
    "less-than-or-equal": lambda a, v: f"{a} <= {_literal(v)}",
    "greater-than": lambda a, v: f"{a} > {_literal(v)}",
    "greater-than-or-equal": lambda a, v: f"{a} >= {_literal(v)}",
    "substring-start": lambda a, v: f"Left({a}, {len(v)}) = {_text(v)}",
    "not-substring-start": lambda a, v: negate(f"Left({a}, {len(v)}) = {_text(v)}"),
    "substring-end": lambda a, v: f"Right({a}, {len(v)}) = {_text(v)}",
    "not-substring-end": lambda a, v: negate(f"Right({a}, {len(v)}) = {_text(v)}"),
    "substring-any": lambda a, v: f"InStr({a}, {_text(v)}) > 0",
    "not-substring-any": lambda a, v: negate(f"InStr({a}, {_text(v)}) > 0"),
    "bit-on": lambda a, v: f"BitAnd({a}, {_mask(v)}) = {_mask(v)}",
    "bit-off": lambda a, v: f"BitAnd({a}, {_mask(v)}) = 0",
}

# Azure AD Connect scoping-filter operators (<scope-condition><operator>...).
_CONNECT: dict[str, Build] = {
    "EQUAL": _MIM["equality"],
    "NOTEQUAL": _MIM["inequality"],
    "ISNOTNULL": _MIM["present"],
    "ISNULL": _MIM["not-present"],
    "LESSTHAN": _MIM["less-than"],
    "LESSTHAN_OR_EQUAL": _MIM["less-than-or-equal"],
    "GREATERTHAN": _MIM["greater-than"],
    "GREATERTHAN_OR_EQUAL": _MIM["greater-than-or-equal"],
    "STARTSWITH": _MIM["substring-start"],
    "NOTSTARTSWITH": _MIM["not-substring-start"],
    "ENDSWITH": _MIM["substring-end"],
    "NOTENDSWITH": _MIM["not-substring-end"],
    "CONTAINS": _MIM["substring-any"],
    "NOTCONTAINS": _MIM["not-substring-any"],
    "ISBITSET": _MIM["bit-on"],
    "ISBITNOTSET": _MIM["bit-off"],
}


def _condition(table: dict[str, Build], key: str, attribute: str, value: str) -> str:
    build = table.get(key)
    if build is None:
        raise UntranslatableCondition(f"the operator {key!r} on {attribute!r} is not one idsync can express")
    if "%" in value:
        raise UntranslatableCondition(f"the value {value!r} of {attribute!r} names a Connect parameter")
    return build(attribute_ref(attribute), value)


def _any_of(groups: list[list[str]]) -> str:
    def all_of(tests: list[str]) -> str:
        return tests[0] if len(tests) == 1 else " && ".join(f"({t})" for t in tests)

    parts = [all_of(g) for g in groups if g]
    if len(parts) == 1:
        return parts[0]
    return " || ".join(f"({p})" for p in parts)


def connector_filter_scope(alternatives: Sequence[Sequence[FilterCondition]]) -> str | None:
    """The inbound scope that keeps the objects a declared connector filter does not filter out."""
    groups = [
        [_condition(_MIM, c.operator.strip().lower(), c.attribute, c.value) for c in alt] for alt in alternatives if alt
    ]
    if not groups:
        return None
    return negate(_any_of(groups))


def scoping_filter(groups: Sequence[Sequence[ScopeCondition]]) -> str | None:
    """A Connect scoping filter: true when any group has every condition true."""
    built = [[_condition(_CONNECT, c.operator.strip().upper(), c.attribute, c.value) for c in g] for g in groups if g]
    if not built:
        return None
    return _any_of(built)
