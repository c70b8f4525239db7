"""The values an expression works with, and the conversions between them.

Inside an evaluation a value is ``None`` (null), ``str``, ``int``, ``float``, ``bool``, ``bytes``, a ``datetime``
(UTC, from CDate/Now/DateAdd...) or a ``list`` of those (multi-valued). Both Microsoft languages convert loosely
between them the way .NET does (``True`` prints as "True", a DateTime as "3/16/2020 7:00:00 AM"), and so do we,
but a value that cannot be converted is an error naming the function, never a silent guess.
"""

from __future__ import annotations

import enum
import random as _random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from idsync.expressions.dates import format_us, parse_loose
from idsync.expressions.errors import EvalFault
from idsync.model import as_list


class Dialect(enum.StrEnum):
    """Which Microsoft reference an expression follows."""

    ENTRA = "entra"
    """Entra provisioning and cloud sync attribute-mapping expressions (the default)."""
    CONNECT = "connect"
    """Entra Connect Sync / MIM declarative provisioning expressions."""


class FlowSentinel:
    """A result that is not a value but an instruction to attribute-flow precedence."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self) -> str:
        return _SENTINEL_NAMES[self.name]


IGNORE_THIS_FLOW = FlowSentinel("IgnoreThisFlow")
"""The flow contributes nothing; precedence moves on to the next contributor."""
AUTHORITATIVE_NULL = FlowSentinel("AuthoritativeNull")
"""The attribute becomes null, even over lower-precedence contributors that have a value."""
_SENTINEL_NAMES = {"IgnoreThisFlow": "IGNORE_THIS_FLOW", "AuthoritativeNull": "AUTHORITATIVE_NULL"}


class FlowSignal(Exception):
    """Internal: raised where IgnoreThisFlow / AuthoritativeNull is produced, caught by Expression.evaluate.
    Raising lets the sentinel leave any depth of nesting without every function checking its arguments."""

    def __init__(self, sentinel: FlowSentinel) -> None:
        super().__init__(sentinel.name)
        self.sentinel = sentinel


@dataclass(slots=True)
class EvalContext:
    """What an evaluation may need besides the attributes; the engine makes one per run (or per object when
    ``is_unique`` is bound to a target attribute)."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    """The time Now() returns: fixed per run so that a run is reproducible."""
    is_unique: Callable[[str], bool] | None = None
    """SelectUniqueValue asks this whether a candidate is free; None means the first candidate wins."""
    random: _random.Random | None = None
    """Source of RandomString, RandomNum and Guid; None means the operating system's secure generator."""
    parameters: Mapping[str, str] = field(default_factory=dict)
    """Connect's %Parameter% values (Domain.FQDN, Forest.LDAP, Connector.ID...), supplied by the connector."""

    def with_unique(self, is_unique: Callable[[str], bool]) -> EvalContext:
        """This context with SelectUniqueValue asking ``is_unique``. Built directly, once per provisioned object:
        ``dataclasses.replace`` costs more than the flow it serves. A new field goes here too."""
        return EvalContext(self.now, is_unique, self.random, self.parameters)


class Scope(Mapping[str, Any]):
    """Attributes plus one bound name: a variable ($item), or a multi-valued attribute bound to one of its values
    while an expression is evaluated per value. Chaining instead of copying keeps binding O(1)."""

    __slots__ = ("name", "parent", "value")

    def __init__(self, parent: Mapping[str, Any], name: str, value: Any) -> None:
        self.parent = parent
        self.name = name
        self.value = value

    def get(self, key: str, default: Any = None) -> Any:
        if key == self.name:
            return self.value
        return self.parent.get(key, default)

    def __getitem__(self, key: str) -> Any:
        if key == self.name:
            return self.value
        return self.parent[key]

    def __iter__(self) -> Iterator[str]:
        yield self.name
        for key in self.parent:
            if key != self.name:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)


def describe(value: Any) -> str:
    """A short, safe rendering of a value for an error message."""
    if isinstance(value, bytes):
        return f"binary value of {len(value)} bytes"
    if isinstance(value, list):
        return f"multi-valued value with {len(value)} values"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def text(value: Any) -> str | None:
    """A value as a string (None stays None), the way .NET's ToString renders it."""
    t = type(value)
    if t is str:
        return value
    if value is None:
        return None
    if t is bool:
        return "True" if value else "False"
    if t is int:
        return str(value)
    if t is float:
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return format_us(value)
    if isinstance(value, list):
        raise EvalFault(
            f"got a {describe(value)} where a single value is expected "
            "(declare the attribute multi-valued so the expression runs per value, or use Item/Join)"
        )
    if isinstance(value, bytes | bytearray):
        raise EvalFault(f"got a {describe(value)} where text is expected (use ConvertToBase64 or StringFromGuid)")
    raise EvalFault(f"cannot use {describe(value)} as text")


def text_or_empty(value: Any) -> str:
    """As ``text``, with null as the empty string (what Left, Mid, Word... document for a null string)."""
    s = text(value)
    return "" if s is None else s


def number(value: Any) -> int | float:
    """A value as a number: integers, booleans (1/0), and strings holding a decimal or &H hexadecimal number."""
    t = type(value)
    if t is int:
        return value
    if t is bool:
        return 1 if value else 0
    if t is float:
        return value
    if t is str:
        parsed = parse_number(value)
        if parsed is None:
            raise EvalFault(f"{describe(value)} is not a number")
        return parsed
    if value is None:
        raise EvalFault("got null where a number is expected")
    raise EvalFault(f"got a {describe(value)} where a number is expected")


def integer(value: Any) -> int:
    n = number(value)
    if isinstance(n, float):
        if not n.is_integer():
            raise EvalFault(f"{n} is not a whole number")
        return int(n)
    return n


def parse_number(s: str) -> int | float | None:
    body = s.strip()
    if body[:2].upper() == "&H":
        try:
            return int(body[2:], 16)
        except ValueError:
            return None
    try:
        return int(body)
    except ValueError:
        pass
    try:
        f = float(body)
    except ValueError:
        return None
    if f != f or f in (float("inf"), float("-inf")):
        return None
    return int(f) if f.is_integer() else f


def truth(value: Any) -> bool:
    """A condition's truth: booleans, numbers (non-zero), "True"/"False" (any case) and numeric strings.
    Null is false: Entra documents that a condition on a null attribute "fails"."""
    if value is True:
        return True
    if value is False or value is None:
        return False
    t = type(value)
    if t is int or t is float:
        return value != 0
    if t is str:
        low = value.strip().lower()
        if low == "true":
            return True
        if low == "false" or low == "":
            return False
        parsed = parse_number(value)
        if parsed is not None:
            return parsed != 0
        raise EvalFault(f"{describe(value)} is not a boolean (True or False)")
    if isinstance(value, list):
        raise EvalFault(f"a {describe(value)} is not a boolean")
    raise EvalFault(f"{describe(value)} is not a boolean")


def as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return parse_loose(value)
    if value is None:
        raise EvalFault("got null where a date/time is expected")
    raise EvalFault(f"got {describe(value)} where a date/time is expected")


values_of = as_list
"""The values of a possibly multi-valued value: null is no values, a single value is one."""


def collect(out: list[Any], value: Any) -> None:
    """Add one result of a per-value evaluation: nulls are dropped, lists are flattened."""
    if value is None:
        return
    if type(value) is list:
        out.extend(v for v in value if v is not None)
    else:
        out.append(value)


def is_null_or_empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list) and all(v is None or v == "" for v in value))


# --------------------------------------------------------------------------------------------------------------
# comparison


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    """Bring two non-null values to one type, as the comparison operators see them."""
    ta, tb = type(a), type(b)
    if ta is tb and ta is not bool:
        return a, b
    if ta is bool or tb is bool:
        return truth(a), truth(b)
    if ta in (int, float) and tb in (int, float):
        return a, b
    if ta in (int, float) and tb is str:
        nb = parse_number(b)
        return (a, nb) if nb is not None else (text(a), b)
    if tb in (int, float) and ta is str:
        na = parse_number(a)
        return (na, b) if na is not None else (a, text(b))
    if isinstance(a, datetime) or isinstance(b, datetime):
        return as_datetime(a), as_datetime(b)
    if isinstance(a, list) or isinstance(b, list):
        raise EvalFault(
            "cannot compare a multi-valued value (declare the attribute multi-valued so the expression runs per "
            "value, or use Contains)"
        )
    if ta is bytes and tb is bytes:
        return a, b
    return text(a), text(b)


def equals(a: Any, b: Any) -> bool:
    """``=``: case-sensitive for text, numeric between numbers and numeric text; null equals nothing."""
    if a is None or b is None:
        return False
    if type(a) is str and type(b) is str:
        return a == b
    x, y = _comparable(a, b)
    return x == y


def order(a: Any, b: Any) -> int | None:
    """-1, 0 or 1 as ``a`` sorts before, with or after ``b``; None when either is null."""
    if a is None or b is None:
        return None
    x, y = _comparable(a, b)
    try:
        return -1 if x < y else (1 if x > y else 0)
    except TypeError:
        raise EvalFault(f"cannot order {describe(a)} and {describe(b)}") from None


def make_rng(rng: _random.Random | None) -> _random.Random:
    return rng if rng is not None else _random.SystemRandom()
