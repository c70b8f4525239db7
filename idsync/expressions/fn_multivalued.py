"""Functions over multi-valued attributes. A single value counts as one value and null as none."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from idsync.expressions.errors import ArgumentFault, EvalFault
from idsync.expressions.fn_text import simple_lower
from idsync.expressions.library import BuildInfo, Closure, Compiled, FunctionSpec, check_constant
from idsync.expressions.values import integer, text, text_or_empty, values_of


def count(attribute: Any) -> int:
    return len(values_of(attribute))


def item(attribute: Any, index: Any) -> Any:
    values = values_of(attribute)
    i = integer(index)
    if not 1 <= i <= len(values):
        raise EvalFault(f"index {i} is out of range: the attribute has {len(values)} value(s), numbered from 1")
    return values[i - 1]


def item_or_null(attribute: Any, index: Any) -> Any:
    values = values_of(attribute)
    i = integer(index)
    return values[i - 1] if 1 <= i <= len(values) else None


def _case_insensitive(case_type: Any) -> bool:
    if case_type is None:
        return False
    kind = text_or_empty(case_type).lower()
    if kind not in ("caseinsensitive", "casesensitive"):
        raise EvalFault(f"case type must be CaseInsensitive or CaseSensitive, got {case_type!r}")
    return kind == "caseinsensitive"


def contains(attribute: Any, search: Any, case_type: Any = None) -> int:
    """The 1-based index of the first value containing ``search``, or 0."""
    needle = text_or_empty(search)
    insensitive = _case_insensitive(case_type)
    if insensitive:
        needle = simple_lower(needle)
    for i, value in enumerate(values_of(attribute), start=1):
        s = text(value)
        if s is not None and needle in (simple_lower(s) if insensitive else s):
            return i
    return 0


def contains_reference(attribute: Any, search: Any) -> int:
    """Connect's Contains on a reference attribute: "the searched string must exactly match the value"."""
    needle = text_or_empty(search)
    for i, value in enumerate(values_of(attribute), start=1):
        if text(value) == needle:
            return i
    return 0


def _build_contains(info: BuildInfo, args: Sequence[Compiled]) -> Closure:
    """Contains matches a substring of a string value, and a reference value (a DN) only whole, with no case
    type (Connect documents ``Contains(mvref attribute, str search)`` as case-sensitive and nothing else)."""
    attribute, search = args[0].fn, args[1].fn
    if 0 in info.reference_args:
        if len(args) == 3:
            raise ArgumentFault(
                "a reference attribute is matched whole and case-sensitively: Contains takes no case type for it", 2
            )
        return lambda a, c: contains_reference(attribute(a, c), search(a, c))
    if len(args) == 3:
        case_type = args[2].fn
        return lambda a, c: contains(attribute(a, c), search(a, c), case_type(a, c))
    return lambda a, c: contains(attribute(a, c), search(a, c))


def remove_duplicates(attribute: Any) -> Any:
    if not isinstance(attribute, list):
        return attribute
    seen: set[Any] = set()
    out = []
    for v in attribute:
        if v not in seen:
            seen.add(v)
            out.append(v)
    return out


def _delimiter(delimiter: Any) -> str:
    sep = text_or_empty(delimiter)
    if not sep:
        raise EvalFault("the delimiter is empty")
    return sep


def _split_parts(value: Any, delimiter: Any) -> tuple[str, str] | None:
    s = text(value)
    if s is None:
        return None
    return s, _delimiter(delimiter)


def split_entra(source: Any, delimiter: Any) -> list[str] | None:
    """Entra's Split: items are trimmed ("PermissionSetOne, PermissionSetTwo" gives two clean names, as the
    reference shows) and empty items dropped."""
    parts = _split_parts(source, delimiter)
    if parts is None:
        return None
    s, sep = parts
    return [part.strip() for part in s.split(sep) if part.strip()] or None


def split_connect(value: Any, delimiter: Any, limit: Any = None) -> list[str] | None:
    parts = _split_parts(value, delimiter)
    if parts is None:
        return None
    s, sep = parts
    if limit is None:
        return s.split(sep)
    n = integer(limit)
    if n < 1:
        raise EvalFault(f"limit must be 1 or more, got {n}")
    return s.split(sep, n - 1)


COUNT = FunctionSpec(
    "Count",
    "Count(attribute)",
    "How many values the attribute has.",
    "Count([proxyAddresses])",
    "multi-valued",
    1,
    1,
    kinds="m",
    impl=count,
)
ITEM = FunctionSpec(
    "Item",
    "Item(attribute, index)",
    "The index-th value (from 1); an error when there is no such value.",
    "Item([proxyAddresses], 1)",
    "multi-valued",
    2,
    2,
    kinds="ms",
    impl=item,
    numbers=frozenset({1}),
)
ITEM_OR_NULL = FunctionSpec(
    "ItemOrNull",
    "ItemOrNull(attribute, index)",
    "The index-th value (from 1), or null when there is none.",
    "ItemOrNull([proxyAddresses], 2)",
    "multi-valued",
    2,
    2,
    kinds="ms",
    impl=item_or_null,
    numbers=frozenset({1}),
)
CONTAINS = FunctionSpec(
    "Contains",
    "Contains(attribute, search[, caseType])",
    "The index (from 1) of the first value containing search (of a reference attribute: equal to it), or 0; "
    "caseType is CaseSensitive (default) or CaseInsensitive.",
    'Contains([proxyAddresses], "SMTP:")',
    "multi-valued",
    2,
    3,
    kinds="mss",
    build=_build_contains,
    check=check_constant(2, _case_insensitive),
)
REMOVE_DUPLICATES = FunctionSpec(
    "RemoveDuplicates",
    "RemoveDuplicates(attribute)",
    "The values with duplicates removed, in their order.",
    "RemoveDuplicates([proxyAddresses])",
    "multi-valued",
    1,
    1,
    kinds="m",
    impl=remove_duplicates,
)
SPLIT_ENTRA = FunctionSpec(
    "Split",
    "Split(source, delimiter)",
    "The text split at the delimiter into trimmed values.",
    'Split([extensionAttribute5], ",")',
    "multi-valued",
    2,
    2,
    impl=split_entra,
    check=check_constant(1, _delimiter),
)
SPLIT_CONNECT = FunctionSpec(
    "Split",
    "Split(value, delimiter[, limit])",
    "The text split at the delimiter into at most limit values.",
    'Split("SMTP:john.doe@contoso.com,smtp:jd@contoso.com", ",")',
    "multi-valued",
    2,
    3,
    impl=split_connect,
    check=check_constant(1, _delimiter),
    numbers=frozenset({2}),
)
