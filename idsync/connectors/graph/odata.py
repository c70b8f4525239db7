"""OData ``$filter`` text. Every literal the connector puts in a filter goes through :func:`literal`: a value such as
``O'Brien`` must not end the string early and turn the rest of the value into query syntax."""

from __future__ import annotations

import re
from collections.abc import Iterable

_PROPERTY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*$")

Literal = str | int | bool | None


def literal(value: Literal) -> str:
    """An OData literal: strings single-quoted with inner quotes doubled, booleans and null as keywords.

    URL encoding is the HTTP client's job (httpx encodes ``'``, ``#``, ``&``, ``+`` and ``%`` in query values).
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise TypeError(f"an OData literal must be text, a number, a boolean or null, not {type(value).__name__}")
    return "'" + value.replace("'", "''") + "'"


def _property(name: str) -> str:
    if not _PROPERTY.match(name):
        raise ValueError(f"{name!r} is not a property name")
    return name


def eq(name: str, value: Literal) -> str:
    return f"{_property(name)} eq {literal(value)}"


def one_of(name: str, values: Iterable[Literal]) -> str:
    items = [literal(v) for v in values]
    if not items:
        raise ValueError("one_of needs at least one value")
    return f"{_property(name)} in ({', '.join(items)})"
