"""Distinguished-name functions. Component values are returned as they are written in the DN, escapes
included: Microsoft's own rules test for "\\0ACNF:" (an escaped line feed) inside DNComponent's result."""

from __future__ import annotations

from typing import Any

from idsync.expressions.errors import EvalFault
from idsync.expressions.library import FunctionSpec, check_constant
from idsync.expressions.values import integer, text, text_or_empty


def split_dn(dn: str) -> list[str]:
    """The RDNs of a DN, split at commas (and semicolons) that are not escaped, without surrounding spaces."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    in_quotes = False
    while i < len(dn):
        ch = dn[i]
        if ch == "\\" and i + 1 < len(dn):
            current.append(dn[i : i + 2])
            i += 2
            continue
        if ch == '"':
            in_quotes = not in_quotes
        if ch in ",;" and not in_quotes:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def _rdn_value(rdn: str) -> str:
    i = 0
    while i < len(rdn):
        if rdn[i] == "\\":
            i += 2
            continue
        if rdn[i] == "=":
            return rdn[i + 1 :].strip()
        i += 1
    return rdn


def _rdn_type(rdn: str) -> str:
    return rdn.split("=", 1)[0].strip().lower() if "=" in rdn else ""


def dn_component(dn: Any, number: Any) -> str | None:
    s = text(dn)
    if s is None:
        return None
    n = integer(number)
    rdns = split_dn(s)
    return _rdn_value(rdns[n - 1]) if 1 <= n <= len(rdns) else None


def _skips_dc(options: Any) -> bool:
    if options is None:
        return False
    if text_or_empty(options).upper() != "DC":
        raise EvalFault(f'the only option is "DC" (ignore dc= components), got {options!r}')
    return True


def dn_component_rev(dn: Any, number: Any, options: Any = None) -> str | None:
    s = text(dn)
    if s is None:
        return None
    n = integer(number)
    rdns = split_dn(s)
    if _skips_dc(options):
        rdns = [r for r in rdns if _rdn_type(r) != "dc"]
    return _rdn_value(rdns[-n]) if 1 <= n <= len(rdns) else None


_SPECIAL = set(',+"\\<>;=')


def escape_dn_value(value: str) -> str:
    """Escape an attribute value for a DN (RFC 4514, plus '=' as AD writes it): special characters get a
    backslash, control characters and a leading '#' or space / trailing space are escaped too."""
    out: list[str] = []
    last = len(value) - 1
    for i, ch in enumerate(value):
        if ch in _SPECIAL or (i == 0 and ch in " #") or (i == last and ch == " "):
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\{ord(ch):02X}")
        else:
            out.append(ch)
    return "".join(out)


def escape_dn_component(value: Any) -> str | None:
    """Escape one RDN. Given "cn=value", only the value is escaped, as Microsoft's example
    ``EscapeDNComponent("CN=" & [displayName])`` needs."""
    s = text(value)
    if s is None:
        return None
    if "=" in s:
        attr, val = s.split("=", 1)
        if attr and all(ch.isalnum() or ch in "-." for ch in attr.strip()):
            return f"{attr}={escape_dn_value(val)}"
    return escape_dn_value(s)


DN_COMPONENT = FunctionSpec(
    "DNComponent",
    "DNComponent(dn, componentNumber)",
    "The value of the componentNumber-th DN component, counting from the left.",
    "DNComponent(CRef([dn]), 1)",
    "directory",
    2,
    2,
    impl=dn_component,
    numbers=frozenset({1}),
)
DN_COMPONENT_REV = FunctionSpec(
    "DNComponentRev",
    "DNComponentRev(dn, componentNumber[, options])",
    'The value of the componentNumber-th DN component counting from the right; option "DC" skips dc= parts.',
    'DNComponentRev(CRef([dn]), 1, "DC")',
    "directory",
    2,
    3,
    impl=dn_component_rev,
    check=check_constant(2, _skips_dc),
    numbers=frozenset({1}),
)
ESCAPE_DN_COMPONENT = FunctionSpec(
    "EscapeDNComponent",
    "EscapeDNComponent(value)",
    "One DN component with its special characters escaped for LDAP.",
    'EscapeDNComponent("CN=" & [displayName]) & "," & %ForestLDAP%',
    "directory",
    1,
    1,
    impl=escape_dn_component,
)
