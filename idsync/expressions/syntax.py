"""The expression syntax tree. Every node keeps its source span so that validation errors can put a caret under
the exact text at fault."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Node:
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Literal(Node):
    """A string, number or boolean written in the source."""

    value: Any


@dataclass(frozen=True, slots=True)
class Attr(Node):
    """``[name]``: the value of a source attribute."""

    name: str


@dataclass(frozen=True, slots=True)
class Param(Node):
    """``%Domain.FQDN%``: a connector parameter (connect dialect)."""

    name: str


@dataclass(frozen=True, slots=True)
class Var(Node):
    """``$item``: a variable bound by Select, Where or With (connect dialect)."""

    name: str


@dataclass(frozen=True, slots=True)
class Name(Node):
    """A bare word: a built-in constant (True, NULL, IgnoreThisFlow, CRLF) or an enumeration value
    (vbTextCompare, UTF8, ...)."""

    name: str


@dataclass(frozen=True, slots=True)
class Empty(Node):
    """An omitted argument, as in ``Switch([a], , "1", "x")``."""


@dataclass(frozen=True, slots=True)
class Call(Node):
    name: str
    name_end: int
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Unary(Node):
    op: str
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    op: str
    op_start: int
    left: Node
    right: Node
