"""Text functions of both dialects."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from idsync.expressions.diacritics import normalize_diacritics
from idsync.expressions.errors import EvalFault
from idsync.expressions.library import BuildInfo, Closure, Compiled, FunctionSpec, check_constant, vet_argument
from idsync.expressions.netregex import Pattern, dotnet_regex, dotnet_substitution
from idsync.expressions.values import integer, text, text_or_empty, values_of

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
    """Lower case the way .NET does it: character by character. Python's str.lower differs only by its
    final-sigma rule and by lowering İ to two characters, so it is used whenever neither can occur."""
    if "Σ" not in s:
        low = s.lower()
        if len(low) == len(s):
            return low
    return "".join(map(_lower_char, s))


def simple_upper(s: str) -> str:
    """Upper case the way .NET does it: character by character, so "ß" stays "ß" instead of becoming "SS".
    Python's str.upper differs only where a character expands, which changes the length."""
    up = s.upper()
    if len(up) == len(s):
        return up
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


# -- substrings ---------------------------------------------------------------------------------------------------


def left(string: Any, num_chars: Any) -> str:
    s = text_or_empty(string)
    n = integer(num_chars)
    if n < 0:
        return s
    return s[:n]


def right(string: Any, num_chars: Any) -> str:
    s = text_or_empty(string)
    n = integer(num_chars)
    if n < 0:
        return s
    return s[len(s) - n :] if n else ""


def mid(string: Any, start: Any, num_chars: Any = None) -> str:
    """Mid as Connect documents it: a negative count, or a start before 1 or past the end, returns the string."""
    s = text_or_empty(string)
    first = integer(start)
    n = len(s) if num_chars is None else integer(num_chars)
    if n == 0:
        return ""
    if n < 0 or first <= 0 or first > len(s):
        return s
    return s[first - 1 : first - 1 + n]


def length(value: Any) -> int:
    return len(text_or_empty(value))


def _strip(how: str) -> Any:
    def strip(value: Any) -> str | None:
        s = text(value)
        if s is None:
            return None
        return s.strip() if how == "both" else (s.lstrip() if how == "left" else s.rstrip())

    return strip


def strip_spaces(source: Any) -> str | None:
    s = text(source)
    return None if s is None else s.replace(" ", "")


def _pad_character(value: Any) -> str:
    if value is None:
        raise EvalFault("the pad character cannot be null")
    return _must_be_one_char(value, "the pad character")


def _pad(side: str) -> Any:
    def pad(string: Any, total: Any, pad_character: Any) -> str:
        ch = _pad_character(pad_character)
        if string is None:
            return ""  # "If string is null, the function returns an empty string."
        s = text_or_empty(string)
        missing = integer(total) - len(s)
        if missing <= 0:
            return s
        return ch * missing + s if side == "left" else s + ch * missing

    return pad


# -- searching ----------------------------------------------------------------------------------------------------


def _text_compare(compare: Any) -> bool:
    if compare is None:
        return False
    c = text_or_empty(compare).lower()
    if c in ("vbtextcompare", "1"):
        return True
    if c in ("vbbinarycompare", "0"):
        return False
    raise EvalFault(f"compare must be vbTextCompare or vbBinaryCompare, got {compare!r}")


def instr(string_check: Any, string_match: Any, start: Any = None, compare: Any = None) -> int:
    s, sub = text(string_check), text(string_match)
    if s is None or sub is None:
        return 0
    first = 1 if start is None else integer(start)
    if first < 1:
        raise EvalFault(f"start must be 1 or more, got {first}")
    if _text_compare(compare):
        s, sub = simple_lower(s), simple_lower(sub)
    return s.find(sub, first - 1) + 1


def instr_rev(string_check: Any, string_match: Any, start: Any = None, compare: Any = None) -> int:
    s, sub = text(string_check), text(string_match)
    if s is None or sub is None:
        return 0
    last = -1 if start is None else integer(start)
    if last == 0 or last < -1:
        raise EvalFault(f"start must be 1 or more (or -1 for the end), got {last}")
    end = len(s) if last == -1 else min(last, len(s))
    if _text_compare(compare):
        s, sub = simple_lower(s), simple_lower(sub)
    return s.rfind(sub, 0, end) + 1


def word(string: Any, word_number: Any, delimiters: Any) -> str:
    s = text_or_empty(string)
    n = integer(word_number)
    seps = text_or_empty(delimiters)
    if n < 1 or not s:
        return ""
    words = [w for w in re.split("[" + re.escape(seps) + "]", s) if w] if seps else [s]
    return words[n - 1] if n <= len(words) else ""


# -- proper case --------------------------------------------------------------------------------------------------

# The categories .NET's ToTitleCase treats as word separators (the Entra reference lists them).
_SEPARATOR_CATEGORIES = frozenset(
    {"Zs", "Zl", "Zp", "Cc", "Cf", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So"}
)


def _title_char(ch: str) -> str:
    title = ch.title()
    return title if len(title) == 1 else ch  # ǆ becomes ǅ; ß and the ligatures have no single title letter


def _to_title_case(s: str) -> str:
    """.NET's ToTitleCase of the lower-cased text, which Entra's PCase calls when no separators are given: a
    word starts at a letter (so "1st" becomes "1St") and runs to the next separator; an apostrophe does not end
    it ("o'neil" becomes "O'neil", which is why the reference passes "'" for "Pinto-De'Silva")."""
    out: list[str] = []
    in_word = False
    for ch in simple_lower(s):
        if in_word:
            if ch != "'" and unicodedata.category(ch) in _SEPARATOR_CATEGORIES:
                in_word = False
            out.append(ch)
        elif unicodedata.category(ch)[0] == "L":
            out.append(_title_char(ch))
            in_word = True
        else:
            out.append(ch)
    return "".join(out)


def pcase_entra(source: Any, word_separators: Any = None) -> str | None:
    """Entra's PCase: every word's first letter upper case, the rest lower case. Words are separated by the
    given characters, or else as .NET's ToTitleCase separates them (spaces, punctuation, symbols)."""
    s = text(source)
    if s is None:
        return None
    seps = text(word_separators)
    if not seps:
        return _to_title_case(s)
    out: list[str] = []
    at_start = True
    for ch in s:
        if ch in seps:
            out.append(ch)
            at_start = True
        elif at_start:
            out.append(_title_char(ch))
            at_start = False
        else:
            out.append(_lower_char(ch))
    return "".join(out)


def pcase_connect(value: Any) -> str | None:
    """Connect's PCase: space-delimited words get an upper-case first letter and lower-case rest, except words
    that are entirely upper case (acronyms), which it documents it leaves alone."""
    s = text(value)
    if s is None:
        return None
    return " ".join(w if (w.isupper() and len(w) > 1) else w[:1].upper() + simple_lower(w[1:]) for w in s.split(" "))


# -- replacing ----------------------------------------------------------------------------------------------------

_MONIKERS = (("\\n", "\n"), ("\\r", "\r"), ("\\t", "\t"))


def _monikers(s: str) -> str:
    for moniker, ch in _MONIKERS:
        s = s.replace(moniker, ch)
    return s


def replace_connect(string: Any, old_value: Any, new_value: Any) -> str | None:
    s = text(string)
    if s is None:
        return None
    old = _monikers(text_or_empty(old_value))
    if not old:
        return s
    return s.replace(old, _monikers(text_or_empty(new_value)))


def parse_replace_pattern(pattern: str) -> dict[str, str | int | None]:
    """ReplaceChars' dictionary "{source}:{target},…". White space is ignored; a source is one character; the
    reference also writes the last pair as "{sourceN},{targetN}", which is accepted too."""
    body = "".join(pattern.split())
    entries = body.split(",") if body else []
    table: dict[str, str | int | None] = {}
    i = 0
    while i < len(entries):
        entry = entries[i]
        if ":" in entry:
            source, target = entry.split(":", 1)
            i += 1
        elif len(entry) == 1 and i + 1 < len(entries) and ":" not in entries[i + 1]:
            source, target = entry, entries[i + 1]
            i += 2
        else:
            raise EvalFault(f"replace pattern entry {entry!r} is not source:target")
        if len(source) != 1:
            raise EvalFault(f"replace pattern source {source!r} must be exactly one character")
        table[source] = target
    return table


def replace_chars(string: Any, replace_pattern: Any) -> str | None:
    s = text(string)
    if s is None:
        return None
    table = parse_replace_pattern(text_or_empty(replace_pattern))
    return s.translate(str.maketrans(table)) if table else s


# -- Entra's Replace: plain, template and .NET regular-expression modes ------------------------------------------


def replace_group(regex: Pattern, group: str, source: str, replacement: str) -> str:
    """Replace only the text the named group matched, in every match."""
    if group not in regex.groupindex:
        raise EvalFault(f"the pattern has no group named {group!r}")

    def one(m: re.Match[str]) -> str:
        start, end = m.span(group)
        whole = m.group(0)
        if start < 0:
            return whole
        offset = m.start()
        return whole[: start - offset] + replacement + whole[end - offset :]

    return regex.sub(one, source)


def _given(arg: Compiled) -> bool:
    return not (arg.const and arg.value is None)


def _regex_source(arg: Compiled) -> Any:
    """A closure giving the compiled regex: compiled now when the pattern is a constant, else cached per
    pattern seen (a pattern read from an attribute is unusual, but allowed)."""
    if arg.const:
        compiled = dotnet_regex(text_or_empty(arg.value))
        return lambda a, c: compiled
    cache: dict[str, Pattern] = {}
    fn = arg.fn

    def regex(a: Any, c: Any) -> Pattern:
        pattern = text_or_empty(fn(a, c))
        found = cache.get(pattern)
        if found is None:
            found = dotnet_regex(pattern)
            if len(cache) < 64:
                cache[pattern] = found
        return found

    return regex


def _build_replace_entra(info: BuildInfo, args: Sequence[Compiled]) -> Closure:
    source, old, _, group, replacement, attribute, template = (a.fn for a in args)
    given = [_given(a) for a in args]
    if given[1] and given[6]:

        def template_mode(a: Any, c: Any) -> Any:
            s = text(source(a, c))
            if s is None:
                return None
            return text_or_empty(template(a, c)).replace(text_or_empty(old(a, c)), s)

        return template_mode
    if given[1]:

        def plain_mode(a: Any, c: Any) -> Any:
            s = text(source(a, c))
            if s is None:
                return None
            o = text_or_empty(old(a, c))
            return s.replace(o, text_or_empty(replacement(a, c))) if o else s

        return plain_mode
    if not given[2]:
        raise EvalFault(
            "give oldValue (with replacementValue or template) or regexPattern (with replacementValue, or "
            "regexGroupName and replacementValue or replacementAttributeName)"
        )
    regex = vet_argument(2, _regex_source, args[2])
    if given[3] and given[5]:

        def attribute_mode(a: Any, c: Any) -> Any:
            s = source(a, c)
            if s is not None and s != "":
                return s
            other = text(attribute(a, c))
            if other is None:
                return s
            m = regex(a, c).search(other)
            return m.group(text_or_empty(group(a, c))) if m else s

        return attribute_mode
    if given[3]:

        def group_mode(a: Any, c: Any) -> Any:
            s = text(source(a, c))
            if s is None:
                return None
            return replace_group(regex(a, c), text_or_empty(group(a, c)), s, text_or_empty(replacement(a, c)))

        return group_mode
    if args[4].const and args[2].const:
        fixed = vet_argument(4, lambda v: dotnet_substitution(text_or_empty(v), regex(None, None)), args[4].value)

        def regex_mode_fixed(a: Any, c: Any) -> Any:
            s = text(source(a, c))
            return None if s is None else regex(a, c).sub(fixed, s)

        return regex_mode_fixed

    def regex_mode(a: Any, c: Any) -> Any:
        s = text(source(a, c))
        if s is None:
            return None
        r = regex(a, c)
        return r.sub(dotnet_substitution(text_or_empty(replacement(a, c)), r), s)

    return regex_mode


# -- specifications -----------------------------------------------------------------------------------------------


def _spec(name: str, signature: str, summary: str, example: str, lo: int, hi: int | None, **kw: Any) -> FunctionSpec:
    return FunctionSpec(name, signature, summary, example, kw.pop("category", "text"), lo, hi, **kw)


LEFT = _spec(
    "Left",
    "Left(string, numChars)",
    "The first numChars characters (all of them when numChars < 0; empty for a null string).",
    'Left("John Doe", 3)',
    2,
    2,
    impl=left,
    numbers=frozenset({1}),
)
RIGHT = _spec(
    "Right",
    "Right(string, numChars)",
    "The last numChars characters (all of them when numChars < 0; empty for a null string).",
    'Right("John Doe", 3)',
    2,
    2,
    impl=right,
    numbers=frozenset({1}),
)
MID_ENTRA = _spec(
    "Mid",
    "Mid(source, start, length)",
    "length characters from position start (1-based); fewer when the string ends first.",
    "Mid([givenName], 1, 3)",
    3,
    3,
    impl=mid,
    numbers=frozenset({1, 2}),
)
MID_CONNECT = _spec(
    "Mid",
    "Mid(string, start[, numChars])",
    "numChars characters from position start (1-based), or the rest of the string.",
    'Mid("John Doe", 3, 5)',
    2,
    3,
    impl=mid,
    numbers=frozenset({1, 2}),
)
LEN = _spec("Len", "Len(value)", "The number of characters.", 'Len("John Doe")', 1, 1, impl=length)
TRIM = _spec(
    "Trim", "Trim(value)", "Without leading and trailing white space.", 'Trim(" Test ")', 1, 1, impl=_strip("both")
)
LTRIM = _spec("LTrim", "LTrim(value)", "Without leading white space.", 'LTrim(" Test ")', 1, 1, impl=_strip("left"))
RTRIM = _spec("RTrim", "RTrim(value)", "Without trailing white space.", 'RTrim(" Test ")', 1, 1, impl=_strip("right"))
STRIP_SPACES = _spec(
    "StripSpaces",
    "StripSpaces(source)",
    'Without any space (" ") characters.',
    "StripSpaces([displayName])",
    1,
    1,
    impl=strip_spaces,
)
PAD_LEFT = _spec(
    "PadLeft",
    "PadLeft(string, length, padCharacter)",
    "Padded on the left with padCharacter up to length characters.",
    'PadLeft("User", 10, "0")',
    3,
    3,
    impl=_pad("left"),
    check=check_constant(2, _pad_character),
    numbers=frozenset({1}),
)
PAD_RIGHT = _spec(
    "PadRight",
    "PadRight(string, length, padCharacter)",
    "Padded on the right with padCharacter up to length characters.",
    'PadRight("User", 10, "0")',
    3,
    3,
    impl=_pad("right"),
    check=check_constant(2, _pad_character),
    numbers=frozenset({1}),
)
INSTR = _spec(
    "InStr",
    "InStr(string, find[, start[, compare]])",
    "The 1-based position of the first occurrence of find, or 0; compare is vbBinaryCompare or vbTextCompare.",
    'InStr("The quick brown fox", "quick")',
    2,
    4,
    impl=instr,
    check=check_constant(3, _text_compare),
    numbers=frozenset({2}),
)
INSTR_REV = _spec(
    "InStrRev",
    "InStrRev(string, find[, start[, compare]])",
    "The 1-based position of the last occurrence of find (ending at or before start), or 0.",
    'InStrRev("abbcdbbbef", "bb")',
    2,
    4,
    impl=instr_rev,
    check=check_constant(3, _text_compare),
    numbers=frozenset({2}),
)
WORD = _spec(
    "Word",
    "Word(string, wordNumber, delimiters)",
    "The wordNumber-th word, words being separated by any of the delimiter characters; empty when none.",
    'Word("The quick brown fox", 3, " ")',
    3,
    3,
    impl=word,
    numbers=frozenset({1}),
)
PCASE_ENTRA = _spec(
    "PCase",
    "PCase(source[, wordSeparators])",
    "Every word with an upper-case first letter and lower-case rest.",
    'PCase([lastName], " \'-")',
    1,
    2,
    impl=pcase_entra,
)
PCASE_CONNECT = _spec(
    "PCase",
    "PCase(string)",
    "Every space-delimited word with an upper-case first letter and lower-case rest (all-capital words kept).",
    'PCase("TEsT")',
    1,
    1,
    impl=pcase_connect,
)
REPLACE_CONNECT = _spec(
    "Replace",
    "Replace(string, oldValue, newValue)",
    r"Every occurrence of oldValue replaced by newValue (\n, \r and \t stand for new line, return and tab).",
    r'Replace([address], "\r\n", ", ")',
    3,
    3,
    impl=replace_connect,
)
REPLACE_ENTRA = _spec(
    "Replace",
    "Replace(source, oldValue, regexPattern, regexGroupName, replacementValue, replacementAttributeName, template)",
    "Replaces oldValue (or fills a template), or applies a .NET regular expression; leave unused arguments empty.",
    'Replace([mail], "@contoso.com", , , "", , )',
    7,
    7,
    kinds="sssssss",
    build=_build_replace_entra,
    empty_ok=frozenset(range(1, 7)),
)
REPLACE_CHARS = _spec(
    "ReplaceChars",
    "ReplaceChars(string, replacePattern)",
    'Each character listed in the pattern ("ö:o,ß:ss,’:") replaced by its target (an empty target removes it).',
    'ReplaceChars("Räksmörgås", "Å:A,Ä:A,Ö:O,å:a,ä:a,ö:o")',
    2,
    2,
    impl=replace_chars,
    check=check_constant(1, lambda v: parse_replace_pattern(text_or_empty(v))),
)
