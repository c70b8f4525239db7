"""Text functions of both dialects."""

from __future__ import annotations

from typing import Any

from idsync.expressions.diacritics import normalize_diacritics
from idsync.expressions.errors import EvalFault
from idsync.expressions.library import FunctionSpec
from idsync.expressions.values import text, text_or_empty, values_of

_TURKIC = ("tr", "az")


def _is_turkic(culture: Any) -> bool:
    c = text(culture)
    return bool(c) and c.lower().replace("_", "-").split("-")[0] in _TURKIC  # type: ignore[union-attr]


def _lower_char(ch: str) -> str:
    low = ch.lower()
    return low if len(low) == 1 else low[0]  # only İ lowers to two characters; its simple mapping is i


def _upper_char(ch: str) -> str:
    up = ch.upper()
    return up if len(up) == 1 else ch  # ß, ŉ, ligatures: no single upper-case character, left as they are


def simple_lower(s: str) -> str:
    """Lower case the way .NET does it: character by character (Python's str.lower adds a final-sigma rule)."""
    if s.isascii():
        return s.lower()
    return "".join(map(_lower_char, s))


def simple_upper(s: str) -> str:
    """Upper case the way .NET does it: character by character, so "ß" stays "ß" instead of becoming "SS"."""
    if s.isascii():
        return s.upper()
    return "".join(map(_upper_char, s))


def to_lower(source: Any, culture: Any = None) -> str | None:
    s = text(source)
    if s is None:
        return None
    if culture is not None and _is_turkic(culture):
        s = s.replace("I", "ı")
    return simple_lower(s)


def to_upper(source: Any, culture: Any = None) -> str | None:
    s = text(source)
    if s is None:
        return None
    if culture is not None and _is_turkic(culture):
        s = s.replace("i", "İ")
    return simple_upper(s)


def _normalize(source: Any) -> str | None:
    s = text(source)
    return None if s is None else normalize_diacritics(s)


def join_entra(separator: Any, *sources: Any) -> str:
    """Entra's Join: null and empty sources are left out, multi-valued sources give every value. Microsoft's own
    example relies on it: ``Join(", ", "", [surname], [givenName])`` is "Doe, John"."""
    sep = text_or_empty(separator)
    parts: list[str] = []
    for source in sources:
        if type(source) is str:
            if source:
                parts.append(source)
            continue
        for v in values_of(source):
            s = text(v)
            if s:
                parts.append(s)
    return sep.join(parts)


def join_connect(values: Any, delimiter: Any = " ") -> str | None:
    """Connect's Join: the values of one multi-valued attribute, separated by the delimiter (a space when
    omitted)."""
    if values is None:
        return None
    sep = text_or_empty(delimiter)
    return sep.join(text_or_empty(v) for v in values_of(values) if v is not None)


def append(source: Any, suffix: Any) -> str:
    return text_or_empty(source) + text_or_empty(suffix)


def _must_be_one_char(value: Any, what: str) -> str:
    s = text_or_empty(value)
    if len(s) != 1:
        raise EvalFault(f"{what} must be exactly one character, got {s!r}")
    return s


JOIN_ENTRA = FunctionSpec(
    "Join",
    "Join(separator, source1, source2, …)",
    "The sources joined with the separator; null and empty sources are skipped, multi-valued ones give every value.",
    'Join(" ", [givenName], [surname])',
    "text",
    2,
    None,
    kinds="sm",
    impl=join_entra,
)
JOIN_CONNECT = FunctionSpec(
    "Join",
    "Join(attribute[, delimiter])",
    "The values of a multi-valued attribute joined with the delimiter (a space when omitted).",
    'Join([proxyAddresses], ",")',
    "multi-valued",
    1,
    2,
    kinds="ms",
    impl=join_connect,
)
TO_LOWER = FunctionSpec(
    "ToLower",
    "ToLower(source[, culture])",
    "The source in lower case (invariant culture, or the given one, e.g. tr-TR).",
    'ToLower("John.Smith@Contoso.com")',
    "text",
    1,
    2,
    impl=to_lower,
)
TO_UPPER = FunctionSpec(
    "ToUpper",
    "ToUpper(source[, culture])",
    "The source in upper case (invariant culture, or the given one, e.g. tr-TR).",
    'ToUpper("contoso")',
    "text",
    1,
    2,
    impl=to_upper,
)
LCASE = FunctionSpec("LCase", "LCase(value)", "The value in lower case.", 'LCase("TeSt")', "text", 1, 1, impl=to_lower)
UCASE = FunctionSpec("UCase", "UCase(value)", "The value in upper case.", 'UCase("TeSt")', "text", 1, 1, impl=to_upper)
NORMALIZE_DIACRITICS = FunctionSpec(
    "NormalizeDiacritics",
    "NormalizeDiacritics(source)",
    "Latin letters without their accents (Zoë → Zoe, æ → ae, ß → ss); other scripts are left alone.",
    "NormalizeDiacritics([givenName])",
    "text",
    1,
    1,
    impl=_normalize,
)
APPEND = FunctionSpec(
    "Append",
    "Append(source, suffix)",
    "The source with the suffix added to its end.",
    'Append([userPrincipalName], ".test")',
    "text",
    2,
    2,
    impl=append,
)
