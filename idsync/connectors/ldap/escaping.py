"""RFC 4515 filter values and RFC 4514 distinguished names: the only place LDAP text is escaped or parsed.

Every value that reaches a filter or a DN from data (an anchor, a name from HR, a member DN) goes through
here, so a name like ``Smith, John (contractor)`` can neither break nor widen a search.
"""

from __future__ import annotations

_FILTER_SPECIAL = {"\\": r"\5c", "*": r"\2a", "(": r"\28", ")": r"\29", "\x00": r"\00"}
_DN_SPECIAL = set(',+"\\<>;=')


class DNError(ValueError):
    """A distinguished name that cannot be parsed; the message quotes it and says where."""


def escape_filter_value(value: str | bytes) -> str:
    """Escape an assertion value for a search filter (RFC 4515 section 3).

    Text is escaped character by character (UTF-8 stays readable); bytes that are not UTF-8 are escaped
    byte by byte, as the RFC allows for any octet.
    """
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return "".join(f"\\{b:02x}" for b in value)
    return "".join(_FILTER_SPECIAL.get(ch, ch) for ch in value)


def escape_dn_value(value: str) -> str:
    """Escape an attribute value for use in an RDN (RFC 4514 section 2.4)."""
    if value == "":
        return ""
    out: list[str] = []
    last = len(value) - 1
    for i, ch in enumerate(value):
        if ch in _DN_SPECIAL:
            out.append("\\" + ch)
        elif ch < " " or ch == "\x7f":
            out.append(f"\\{ord(ch):02X}")
        elif ch == " " and (i == 0 or i == last):
            out.append("\\ ")
        elif ch == "#" and i == 0:
            out.append("\\#")
        else:
            out.append(ch)
    return "".join(out)


_HEX = frozenset("0123456789abcdefABCDEF")
_ESCAPABLE = frozenset(_DN_SPECIAL | {" ", "#"})


def _unescape(text: str, dn: str, strict: bool = False) -> str:
    """Value text of one AVA with its escapes resolved (``\\,`` and ``\\2C`` alike, multi-byte UTF-8 too).
    ``strict``: what RFC 4514 forbids and servers refuse as a bare "invalid DN" (a backslash before any other
    character, a ``#`` that does not start a hex string) is refused here, saying what to write instead."""
    if text.startswith("#"):
        if strict and (len(text) < 3 or len(text) % 2 == 0 or not _HEX.issuperset(text[1:])):
            raise DNError(
                f"DN {dn!r}: the value {text!r} starts with #, which marks a hex-encoded value; a name that starts "
                "with # is written \\# (EscapeDNComponent does this)"
            )
        return text  # BER-encoded value: kept as written
    raw = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text):
                raise DNError(f"DN {dn!r}: a value ends with a lone backslash")
            nxt = text[i + 1]
            pair = text[i + 1 : i + 3]
            if len(pair) == 2 and _HEX.issuperset(pair):
                raw.append(int(pair, 16))
                i += 3
                continue
            if strict and nxt not in _ESCAPABLE:
                raise DNError(
                    f'DN {dn!r}: \\{nxt} is not an escape; a backslash goes before one of , + " \\ < > ; = # or a '
                    "space, or two hex digits (write a backslash itself as \\\\)"
                )
            raw += nxt.encode("utf-8")
            i += 2
            continue
        raw += ch.encode("utf-8")
        i += 1
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DNError(f"DN {dn!r}: an escaped value is not UTF-8") from None


def _split(text: str, sep: str, dn: str) -> list[str]:
    """Split at unescaped ``sep`` characters (outside quotes)."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    quoted = False
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            current.append(text[i : i + 2])
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        if ch in sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    if quoted:
        raise DNError(f"DN {dn!r}: unbalanced quote")
    parts.append("".join(current))
    return parts


RDN = tuple[tuple[str, str], ...]
"""One RDN: its attribute-value pairs (more than one for a multi-valued RDN such as ``cn=a+uid=b``)."""


def parse_dn(dn: str, *, strict: bool = False) -> list[RDN]:
    """The RDNs of ``dn``, leaf first, with values unescaped. The empty DN (the root) has none. ``strict`` (for a
    DN about to be written) also refuses escapes and ``#`` values RFC 4514 does not allow."""
    if dn.strip() == "":
        return []
    try:
        dn.encode("utf-8")
    except UnicodeEncodeError:
        raise DNError(f"DN {dn!r} is not valid Unicode text") from None
    rdns: list[RDN] = []
    for rdn_text in _split(dn, ",;", dn):
        avas: list[tuple[str, str]] = []
        for ava in _split(rdn_text, "+", dn):
            attr, sep, value = ava.partition("=")
            attr = attr.strip()
            if not sep or not attr:
                raise DNError(f"DN {dn!r}: {ava.strip()!r} is not attribute=value")
            value = value.lstrip(" ")
            # a trailing space is only data when escaped
            while value.endswith(" ") and not value.endswith("\\ "):
                value = value[:-1]
            if value.startswith('"') and value.endswith('"') and len(value) >= 2:
                value = value[1:-1]
            avas.append((attr, _unescape(value, dn, strict)))
        rdns.append(tuple(avas))
    return rdns


def format_rdn(rdn: RDN) -> str:
    return "+".join(f"{attr}={escape_dn_value(value)}" for attr, value in rdn)


def build_dn(rdns: list[RDN]) -> str:
    return ",".join(format_rdn(r) for r in rdns)


def rdn(attr: str, value: str) -> str:
    """``attr=value`` with the value escaped: how a DN is made from data."""
    return f"{attr}={escape_dn_value(value)}"


def check_dn(dn: str) -> None:
    """Raise :class:`DNError` for a DN that is not to be written as it is (see ``strict`` of :func:`parse_dn`);
    only escapes and ``#`` can make it so, and most DNs have neither."""
    if "\\" in dn or "#" in dn:
        parse_dn(dn, strict=True)


def parent_dn(dn: str) -> str:
    return build_dn(parse_dn(dn)[1:])


def parent_text(dn: str) -> str:
    """The parent DN, as written when nothing in the DN is escaped or quoted (the usual case: no parse), else as
    :func:`parent_dn` spells it."""
    if "\\" in dn or '"' in dn:
        return parent_dn(dn)
    return dn.split(",", 1)[1] if "," in dn else ""


def leaf_rdn(dn: str) -> str:
    parts = parse_dn(dn)
    if not parts:
        raise DNError("the empty DN has no RDN")
    return format_rdn(parts[0])


def canonical_dn(dn: str) -> str:
    """The one spelling of ``dn`` idsync keeps: each value escaped as :func:`escape_dn_value` does, no spaces
    around separators.

    Servers spell the same DN differently (OpenLDAP answers ``R&D\\2C Europe`` for ``R&D\\, Europe``), while
    identifiers and DN references are compared as text. Escaping the way the ``EscapeDNComponent`` function does
    lets a DN built by an expression equal the one the server reports, so no rename or update is ever staged for
    a difference of spelling. Most DNs have nothing to respell and return as they are, cheaply. A DN this parser
    cannot read, or one with a BER-encoded value (``=#04...``), stays as the server wrote it.
    """
    if "=#" in dn:
        return dn
    if not (
        "\\" in dn
        or '"' in dn
        or ";" in dn
        or " ," in dn
        or ", " in dn
        or " =" in dn
        or "= " in dn
        or " +" in dn
        or "+ " in dn
        or dn[:1] == " "
        or dn[-1:] == " "
        or not dn.isprintable()
    ):
        return dn  # already canonical: the common case costs a few scans, not a parse
    try:
        return build_dn(parse_dn(dn))
    except DNError:
        return dn


def normalize_dn(dn: str) -> str:
    """A comparison key: attribute names and values case-folded, escaping canonical, spaces trimmed."""
    return ",".join(
        "+".join(sorted(f"{a.lower()}={escape_dn_value(v.casefold())}" for a, v in r)) for r in parse_dn(dn)
    )


def dn_within(dn: str, base: str) -> bool:
    """``dn`` is ``base`` or below it."""
    child, parent = parse_dn(dn), parse_dn(base)
    if len(child) < len(parent):
        return False
    tail = child[len(child) - len(parent) :] if parent else []
    return normalize_dn(build_dn(tail)) == normalize_dn(base)


def _simple(dn: str) -> bool:
    """No escapes, quotes, alternative separators or multi-valued RDNs: splitting at commas is parsing."""
    return not ("\\" in dn or '"' in dn or ";" in dn or "+" in dn or "=#" in dn)


def _plain_key(dn: str) -> str:
    return ",".join(f"{a.strip()}={v.strip()}" for a, _, v in (p.partition("=") for p in dn.split(","))).casefold()


def _plain(dn: str) -> bool:
    """A DN whose comparison key is its text split at commas, as :func:`normalize_dn` would give it: nothing in it
    would be escaped, and every comma separates RDNs (which is what directories return)."""
    return (
        _simple(dn)
        and dn.isprintable()
        and not ("<" in dn or ">" in dn or "#" in dn)
        and dn.count("=") == dn.count(",") + 1
    )


def dn_key(dn: str) -> str:
    """The comparison key :func:`normalize_dn` gives, cheaply for a plain DN; a DN that does not parse is its
    case-folded text."""
    if _plain(dn):
        return _plain_key(dn)
    try:
        return normalize_dn(dn)
    except DNError:
        return dn.casefold()


def dn_keys(dn: str) -> tuple[str, str]:
    """Comparison keys of ``dn`` and of its parent (``""`` for the root), as :func:`dn_key` gives them."""
    if _plain(dn):
        parent = dn.partition(",")[2]
        return _plain_key(dn), _plain_key(parent) if parent else ""
    try:
        return normalize_dn(dn), normalize_dn(parent_dn(dn))
    except DNError:
        return dn.casefold(), ""


def leaf_values(dn: str) -> RDN:
    """The attribute-value pairs of the DN's first RDN, unescaped (cheaply for plain DNs). A DN with a part that
    is not attribute=value (an unescaped comma inside a name) raises :class:`DNError` naming that part, as
    :func:`parse_dn` does, rather than reaching the server."""
    if _simple(dn) and dn.isascii():
        parts = [p.partition("=") for p in dn.split(",")]
        if all(sep and attr.strip() for attr, sep, _ in parts):
            attr, _, value = parts[0]
            return ((attr.strip(), value.strip()),)
    rdns = parse_dn(dn)
    if not rdns:
        raise DNError("the empty DN has no RDN")
    return rdns[0]


def leaf_case_key(dn: str) -> str:
    """The DN's leaf RDN with its attribute types in lower case and its values as written: what differs when an
    entry's own name changes case, and not when only its type's or its parents' spelling does."""
    try:
        return "+".join(sorted(f"{attr.lower()}={value}" for attr, value in leaf_values(dn)))
    except DNError:
        return dn
