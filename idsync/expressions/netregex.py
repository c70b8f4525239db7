""".NET regular expressions, run by Python's re or, for what re cannot express, by the third-party regex package.

Identity engineers copy patterns from Microsoft's examples and their own .NET code: `\\p{L}` (a letter of any
script), `\\P{Lu}`, `\\p{IsGreek}` (a named block) and character class subtraction (`[a-z-[aeiou]]`). Python's re
knows none of them, so a pattern that uses one is translated for the regex package (imported only then, so that
loading a configuration without such a pattern stays light); every other pattern is compiled by re."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from idsync.expressions.errors import EvalFault

# A compiled pattern: re's, or the regex package's, whose Pattern and Match offer the same methods.
Pattern = re.Pattern[str]

_NET_NAMED_GROUP = re.compile(r"(?<!\\)\(\?<(?![=!])")
_NET_QUOTED_GROUP = re.compile(r"(?<!\\)\(\?'([A-Za-z_]\w*)'")
_NET_BACKREFERENCE = re.compile(r"\\k<([A-Za-z_]\w*)>|\\k'([A-Za-z_]\w*)'")
_NET_END = re.compile(r"(?<!\\)\\([zZ])")
_NET_SUBSTITUTION = re.compile(r"\$(?:\{([A-Za-z_]\w*|\d+)\}|(\d+)|(\$)|([&`'+_]))")

# The Unicode general categories .NET's \p{} accepts; any other name must be a named block (IsGreek).
_SUBCATEGORIES = {"L": "ultmo", "M": "nce", "N": "dlo", "P": "cdseifo", "S": "mcko", "Z": "slp", "C": "cfson"}
_CATEGORIES = frozenset(_SUBCATEGORIES) | {m + minor for m, minors in _SUBCATEGORIES.items() for minor in minors}
# Characters written escaped inside a translated class: the regex package's set syntax gives them meaning there.
_CLASS_SPECIAL = frozenset("[]-&|~^\\")


@dataclass
class _Translation:
    """What a walk over a pattern found: the text for the regex package, and whether re would do."""

    pattern: str = ""
    needs_regex: bool = False  # a \p{} property
    needs_sets: bool = False  # class subtraction: the regex package's VERSION1 set operations


def _property(pattern: str, i: int, found: _Translation) -> tuple[str, int]:
    """\\p{Name} or \\P{Name} at i: a general category as it is, a .NET named block (IsGreek) as the regex
    package's Block= property."""
    kind = pattern[i + 1]
    if i + 2 >= len(pattern) or pattern[i + 2] != "{":
        raise EvalFault(f"\\{kind} must be followed by a property name in braces, e.g. \\{kind}{{L}}")
    end = pattern.find("}", i + 3)
    if end < 0:
        raise EvalFault(f"\\{kind}{{ has no closing brace")
    name = pattern[i + 3 : end]
    found.needs_regex = True
    if name in _CATEGORIES:
        return f"\\{kind}{{{name}}}", end + 1
    if name.startswith("Is") and len(name) > 2:
        block = f"\\{kind}{{Block={name[2:]}}}"
        import regex  # only for the patterns re cannot run

        try:
            regex.compile(block)
        except regex.error:
            raise EvalFault(f"\\{kind}{{{name}}}: {name[2:]!r} is not a Unicode block") from None
        return block, end + 1
    raise EvalFault(
        f"unknown property \\{kind}{{{name}}}: .NET knows the Unicode general categories (L, Lu, Ll, Nd, P, …) "
        "and named blocks (IsGreek, IsCyrillic, IsBasicLatin, …)"
    )


def _escape(pattern: str, i: int, found: _Translation) -> tuple[str, int]:
    """One escape sequence at i, whole: \\p{…}, \\xHH, \\uHHHH, \\cX, an octal number or a backslash and one
    character."""
    if i + 1 >= len(pattern):
        raise EvalFault("the pattern ends with a lone backslash")
    kind = pattern[i + 1]
    if kind in "pP":
        return _property(pattern, i, found)
    width = {"x": 4, "u": 6, "c": 3}.get(kind, 2)
    if kind.isdigit():
        while width < 4 and i + width < len(pattern) and pattern[i + width] in "01234567":
            width += 1
    return pattern[i : i + width], i + width


def _atom(pattern: str, i: int, found: _Translation) -> tuple[str, int, bool]:
    """One member of a class at i, written for the regex package's set syntax; and whether it is a single
    character (so that it can bound a range)."""
    ch = pattern[i]
    if ch == "\\":
        text, end = _escape(pattern, i, found)
        return text, end, text[1] not in "pPdDwWsS"
    return ("\\" + ch if ch in _CLASS_SPECIAL else ch), i + 1, True


def _character_class(pattern: str, i: int, found: _Translation) -> tuple[str, int]:
    """The class opening at i, as the regex package's set syntax; .NET's subtraction [base-[excluded]], which
    must end the class, becomes [[base]--[excluded]]."""
    j = i + 1
    negated = j < len(pattern) and pattern[j] == "^"
    j += negated
    members: list[str] = []
    excluded: str | None = None
    first = True
    while True:
        if j >= len(pattern):
            raise EvalFault("a character class [ has no closing ]")
        ch = pattern[j]
        if ch == "]" and not first:
            j += 1
            break
        if ch == "-" and not first and pattern.startswith("-[", j):
            excluded, j = _character_class(pattern, j + 1, found)
            if j >= len(pattern) or pattern[j] != "]":
                raise EvalFault("a subtracted class [-[…]] must come last in its character class")
            j += 1
            found.needs_sets = True
            break
        atom, j, single = _atom(pattern, j, found)
        if single and pattern.startswith("-", j) and j + 1 < len(pattern) and pattern[j + 1] not in "[]":
            high, j, _ = _atom(pattern, j + 1, found)
            atom = f"{atom}-{high}"
        members.append(atom)
        first = False
    base = ("[^" if negated else "[") + "".join(members) + "]"
    return (base if excluded is None else f"[{base}--{excluded}]"), j


def _translate(pattern: str) -> _Translation:
    found = _Translation()
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            piece, i = _escape(pattern, i, found)
        elif ch == "[":
            piece, i = _character_class(pattern, i, found)
        elif pattern.startswith("(?#", i):  # a comment: copied as it is, brackets and all
            end = pattern.find(")", i)
            piece, i = (pattern[i:], len(pattern)) if end < 0 else (pattern[i : end + 1], end + 1)
        else:
            piece, i = ch, i + 1
        out.append(piece)
    found.pattern = "".join(out)
    return found


def dotnet_regex(pattern: str) -> Pattern:
    """A .NET regular expression: named groups are written (?<name>…) there, (?P<name>…) here, and the end
    anchors differ; Unicode categories, named blocks and class subtraction go to the regex package."""
    converted = _NET_NAMED_GROUP.sub("(?P<", pattern)
    converted = _NET_QUOTED_GROUP.sub(r"(?P<\1>", converted)
    converted = _NET_BACKREFERENCE.sub(lambda m: f"(?P={m.group(1) or m.group(2)})", converted)
    # .NET's \z is the very end (Python's \Z); its \Z also matches before a final new line
    converted = _NET_END.sub(lambda m: r"\Z" if m.group(1) == "z" else r"(?=\n?\Z)", converted)
    try:
        found = _translate(converted)
    except EvalFault as exc:
        raise EvalFault(f"invalid regular expression {pattern!r}: {exc}") from None
    if not found.needs_regex and not found.needs_sets:
        try:
            return re.compile(found.pattern)
        except re.error as exc:
            raise EvalFault(f"invalid regular expression {pattern!r}: {exc}") from None
    import regex  # only for the patterns re cannot run

    flags = regex.VERSION1 if found.needs_sets else regex.VERSION0
    try:
        compiled: Pattern = regex.compile(found.pattern, flags)
    except regex.error as exc:
        raise EvalFault(f"invalid regular expression {pattern!r}: {exc}") from None
    return compiled


def _match_part(code: str, groups: int) -> Callable[[re.Match[str]], str]:
    """.NET's substitutions of the match itself: $& the match, $` the input before it, $' the input after it,
    $_ the whole input, $+ the last group."""
    if code == "&":
        return lambda m: m.group(0)
    if code == "`":
        return lambda m: m.string[: m.start()]
    if code == "'":
        return lambda m: m.string[m.end() :]
    if code == "_":
        return lambda m: m.string
    return lambda m: (m.group(groups) or "") if groups else ""


def dotnet_substitution(template: str, regex: Pattern) -> Any:
    """A .NET replacement string (``${name}``, ``$1``, ``$$``, ``$&``...) as a function of a match."""
    parts: list[tuple[bool, str | int]] = []
    specials: dict[int, Callable[[re.Match[str]], str]] = {}
    pos = 0
    for m in _NET_SUBSTITUTION.finditer(template):
        parts.append((False, template[pos : m.start()]))
        if m.group(3):
            parts.append((False, "$"))
        elif m.group(4):
            specials[len(parts)] = _match_part(m.group(4), regex.groups)
            parts.append((False, ""))
        else:
            ref = m.group(1) or m.group(2)
            group: str | int = int(ref) if ref.isdecimal() else ref
            if isinstance(group, int) and group > regex.groups:
                raise EvalFault(f"the replacement refers to group ${group}, which the pattern does not have")
            if isinstance(group, str) and group not in regex.groupindex:
                raise EvalFault(f"the replacement refers to group ${{{group}}}, which the pattern does not name")
            parts.append((True, group))
        pos = m.end()
    parts.append((False, template[pos:]))

    if specials:

        def expand_with_match_parts(m: re.Match[str]) -> str:
            return "".join(
                specials[i](m) if i in specials else (m.group(p) or "") if is_group else str(p)
                for i, (is_group, p) in enumerate(parts)
            )

        return expand_with_match_parts

    def expand(m: re.Match[str]) -> str:
        return "".join((m.group(p) or "") if is_group else str(p) for is_group, p in parts)

    return expand
