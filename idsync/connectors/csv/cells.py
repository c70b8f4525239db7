"""How a storage-form value is written in a CSV cell and read back.

The property everything here keeps is ``parse(format(v)) == v`` for every storage-form value ``v``, so an export
followed by a confirming import confirms every value it wrote.

A multi-valued cell joins its values with the separator. A separator or a backslash inside a value is escaped with
a backslash; a backslash before any other character stays as typed, so a hand-written ``DOMAIN\\user`` reads as
it looks. Empty values are null (as :func:`idsync.model.coerce` says) and are never written.
"""

from __future__ import annotations

from typing import Any

from idsync.model import AttributeSpec, AttributeType, AttributeValueError, as_list, coerce

ESCAPE = "\\"


def split_values(text: str, separator: str) -> list[str]:
    if ESCAPE not in text:
        return text.split(separator)
    values: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == ESCAPE and i + 1 < len(text) and text[i + 1] in (separator, ESCAPE):
            current.append(text[i + 1])
            i += 2
            continue
        if char == separator:
            values.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    values.append("".join(current))
    return values


def join_values(texts: list[str], separator: str) -> str:
    return separator.join(t.replace(ESCAPE, ESCAPE + ESCAPE).replace(separator, ESCAPE + separator) for t in texts)


def format_one(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def format_cell(spec: AttributeSpec, value: Any, separator: str) -> str:
    """A storage-form value (scalar, list or ``None``) as cell text."""
    if value is None:
        return ""
    if spec.multivalued:
        return join_values([format_one(v) for v in as_list(value)], separator)
    return format_one(value)


def parse_cell(spec: AttributeSpec, text: str, separator: str) -> Any:
    """Cell text as a storage-form value; raises :class:`AttributeValueError` naming the column."""
    if not text:
        return None
    if spec.type is AttributeType.STRING and not spec.multivalued:
        return text
    if spec.multivalued:
        return coerce(spec, split_values(text, separator))
    return coerce(spec, text)


def cell_values(spec: AttributeSpec, text: str, separator: str) -> list[Any]:
    """A multi-valued cell's values, keeping as text any value that does not fit the column's type: a value
    added or removed by an export must not make the rest of the cell unreadable."""
    out: list[Any] = []
    for piece in split_values(text, separator) if text else []:
        if not piece:
            continue
        try:
            out.append(coerce(spec, [piece])[0])
        except AttributeValueError:
            out.append(piece)
    return out
