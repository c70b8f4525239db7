"""Function specifications: what a function is called, what it takes, and how it is compiled.

A function is either *eager* (``impl`` receives evaluated argument values) or a *special form* (``build``
receives the compiled arguments and returns a closure), which is how IIF, Switch, Coalesce and friends evaluate
only the branch they need. The position kinds drive multi-valued handling: a multi-valued attribute used where a
single value is expected makes the enclosing expression run once per value, as Connect documents
(``Trim([proxyAddresses])`` trims every value).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from idsync.expressions.errors import ArgumentFault, EvalFault

if TYPE_CHECKING:
    from idsync.expressions.values import Dialect, EvalContext

Closure = Callable[[Mapping[str, Any], "EvalContext | None"], Any]

SCALAR = "s"
"""A single value; a multi-valued attribute here makes its region run per value."""
MULTI = "m"
"""A whole multi-valued value (Count, Item, Join's sources...); starts a region of its own."""
ANY = "a"
"""Whatever the argument is, passed through untouched (IIF's branches, IsNull's operand)."""
BINDER = "b"
"""A $variable that the function binds (Select, Where, With)."""


@dataclass(slots=True)
class Compiled:
    """A compiled sub-expression. ``const`` marks a value known at compile time, which lets callers fold."""

    fn: Closure
    const: bool = False
    value: Any = None


def constant(value: Any) -> Compiled:
    def const(a: Mapping[str, Any], c: EvalContext | None) -> Any:
        return value

    return Compiled(const, True, value)


def check_constant(index: int, validate: Callable[[Any], object]) -> Callable[[Sequence[Compiled]], None]:
    """A compile-time check running ``validate`` on argument ``index`` when it is given as a constant (an
    interval name, an encoding, a compare mode): a bad one would fail every object, so it fails validation."""

    def check(args: Sequence[Compiled]) -> None:
        if index < len(args) and args[index].const and args[index].value is not None:
            vet_argument(index, validate, args[index].value)

    return check


def vet_argument(index: int, validate: Callable[[Any], Any], value: Any) -> Any:
    """``validate(value)`` for argument ``index`` at compile time: its complaint names that argument."""
    try:
        return validate(value)
    except EvalFault as exc:
        raise ArgumentFault(str(exc), index) from None


@dataclass(frozen=True, slots=True)
class BuildInfo:
    """What a special form's builder may want to know about its call site."""

    name: str
    dialect: Dialect
    binder: str = ""
    """The $variable a binding form (Select, Where, With) binds."""
    reference_args: frozenset[int] = frozenset()
    """The argument positions that read a reference attribute (a DN, Connect's ref and mvref) whole."""


Builder = Callable[[BuildInfo, Sequence[Compiled]], "Closure | Compiled"]


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    name: str
    signature: str
    summary: str
    example: str
    category: str
    min_args: int
    max_args: int | None
    kinds: str = SCALAR
    """One position kind per parameter; extra arguments repeat the last ``repeat`` kinds."""
    repeat: int = 1
    impl: Callable[..., Any] | None = None
    build: Builder | None = None
    context: bool = False
    """``impl`` takes the EvalContext (possibly None) before the argument values."""
    deterministic: bool = True
    """False for Now, Guid, the random functions and SelectUniqueValue: never folded, never constant."""
    empty_ok: frozenset[int] = frozenset()
    """Argument positions that may be left empty, as in ``Switch([a], , "1", "x")``."""
    numbers: frozenset[int] = frozenset()
    """Argument positions that take a number: a constant there that is no number is a validation error."""
    arity: Callable[[int], str | None] | None = None
    """An extra rule on the argument count beyond min/max; returns a message when broken."""
    check: Callable[[Sequence[Compiled]], None] | None = None
    """A compile-time check of constant arguments (an interval name, a regex); raises EvalFault."""
    top_level_only: bool = False
    fold: bool = True

    def kind(self, index: int) -> str:
        if index < len(self.kinds):
            return self.kinds[index]
        tail = self.kinds[-self.repeat :]
        return tail[(index - len(self.kinds)) % self.repeat]


@dataclass(frozen=True, slots=True)
class FunctionInfo:
    """What ``idsync expr functions`` lists."""

    name: str
    signature: str
    summary: str
    example: str
    category: str


@dataclass(frozen=True, slots=True)
class Library:
    """The functions of one dialect, looked up case-insensitively, and the names it refuses with a reason."""

    functions: Mapping[str, FunctionSpec]
    refused: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, specs: Sequence[FunctionSpec], refused: Mapping[str, str]) -> Library:
        table: dict[str, FunctionSpec] = {}
        for spec in specs:
            key = spec.name.lower()
            if key in table:
                raise ValueError(f"function {spec.name} is defined twice")
            table[key] = spec
        return cls(table, {k.lower(): v for k, v in refused.items()})

    def get(self, name: str) -> FunctionSpec | None:
        return self.functions.get(name.lower())

    def infos(self) -> list[FunctionInfo]:
        return sorted(
            (FunctionInfo(s.name, s.signature, s.summary, s.example, s.category) for s in self.functions.values()),
            key=lambda i: i.name.lower(),
        )
