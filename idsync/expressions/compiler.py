"""Compile a syntax tree into one Python closure per node, validating as it goes.

All the checking happens here, once, when the configuration loads: unknown functions, attributes, variables and
dialect features, argument counts, empty arguments, and constant arguments a function can vet in advance (an
interval name, a regular expression). What is left for evaluation is a tree of closures with no interpretation
loop; sub-expressions whose inputs are all constants are folded into their value.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from idsync.expressions.catalog import LIBRARIES
from idsync.expressions.errors import (
    ArgumentFault,
    EvalFault,
    ExpressionEvaluationError,
    ExpressionValidationError,
    Origin,
)
from idsync.expressions.library import (
    ANY,
    BINDER,
    MULTI,
    SCALAR,
    BuildInfo,
    Closure,
    Compiled,
    FunctionSpec,
    constant,
)
from idsync.expressions.syntax import Attr, Binary, Call, Empty, Literal, Name, Node, Param, Unary, Var
from idsync.expressions.values import (
    AUTHORITATIVE_NULL,
    IGNORE_THIS_FLOW,
    Dialect,
    EvalContext,
    FlowSentinel,
    FlowSignal,
    Scope,
    collect,
    describe,
    equals,
    number,
    order,
    text,
    truth,
    values_of,
)
from idsync.model.names import closest

Attrs = Mapping[str, Any]
Ctx = EvalContext | None

FAULTS: tuple[type[BaseException], ...] = (EvalFault, TypeError, ValueError, ArithmeticError, IndexError, KeyError)
"""What a function's implementation may raise on bad data; turned into an ExpressionEvaluationError naming it."""

_CONSTANTS: dict[str, Any] = {"true": True, "false": False, "null": None, "nothing": None, "crlf": "\r\n"}
_SENTINELS: dict[str, FlowSentinel] = {"ignorethisflow": IGNORE_THIS_FLOW, "authoritativenull": AUTHORITATIVE_NULL}
_ENUMS = {
    name.lower(): name
    for name in (
        "vbTextCompare",
        "vbBinaryCompare",
        "CaseSensitive",
        "CaseInsensitive",
        "UTF8",
        "Unicode",
        "ASCII",
        "DC",
    )
}
_ARITHMETIC = frozenset({"+", "-", "*", "/"})
_ABSENT = object()


def fail(name: str, exc: BaseException) -> NoReturn:
    raise ExpressionEvaluationError(f"{name}: {exc}", function=name) from None


def guard(name: str, fn: Closure) -> Closure:
    def guarded(a: Attrs, c: Ctx) -> Any:
        try:
            return fn(a, c)
        except FAULTS as exc:
            fail(name, exc)

    return guarded


def attribute_lookup(key: str, exact: bool) -> Closure:
    """The closure reading one attribute. When the engine's spelling is known it is one dict lookup; otherwise
    a miss falls back to a case-insensitive scan, because attribute names are case-insensitive."""
    if exact:

        def attr(a: Attrs, c: Ctx) -> Any:
            return a.get(key)

        return attr
    low = key.lower()

    def attr_any_case(a: Attrs, c: Ctx) -> Any:
        v = a.get(key, _ABSENT)
        if v is _ABSENT:
            for k in a:
                if k.lower() == low:
                    return a[k]
            return None
        return v

    return attr_any_case


def _eager_call(name: str, spec: FunctionSpec, fns: Sequence[Closure]) -> Closure:
    impl = spec.impl
    assert impl is not None
    if spec.context:

        def call_ctx(a: Attrs, c: Ctx) -> Any:
            try:
                return impl(c, *[f(a, c) for f in fns])
            except FAULTS as exc:
                fail(name, exc)

        return call_ctx
    if len(fns) == 0:

        def call0(a: Attrs, c: Ctx) -> Any:
            try:
                return impl()
            except FAULTS as exc:
                fail(name, exc)

        return call0
    if len(fns) == 1:
        (f0,) = fns

        def call1(a: Attrs, c: Ctx) -> Any:
            try:
                return impl(f0(a, c))
            except FAULTS as exc:
                fail(name, exc)

        return call1
    if len(fns) == 2:
        f0, f1 = fns

        def call2(a: Attrs, c: Ctx) -> Any:
            try:
                return impl(f0(a, c), f1(a, c))
            except FAULTS as exc:
                fail(name, exc)

        return call2
    if len(fns) == 3:
        f0, f1, f2 = fns

        def call3(a: Attrs, c: Ctx) -> Any:
            try:
                return impl(f0(a, c), f1(a, c), f2(a, c))
            except FAULTS as exc:
                fail(name, exc)

        return call3

    def call_n(a: Attrs, c: Ctx) -> Any:
        try:
            return impl(*[f(a, c) for f in fns])
        except FAULTS as exc:
            fail(name, exc)

    return call_n


# --------------------------------------------------------------------------------------------------------------
# operators


def _concat(lf: Closure, rf: Closure) -> Closure:
    def concat(a: Attrs, c: Ctx) -> Any:
        left = lf(a, c)
        right = rf(a, c)
        if type(left) is not str:
            left = "" if left is None else text(left)
        if type(right) is not str:
            right = "" if right is None else text(right)
        return left + right

    return concat


def _equal(lf: Closure, rf: Closure) -> Closure:
    def equal(a: Attrs, c: Ctx) -> Any:
        left = lf(a, c)
        right = rf(a, c)
        if type(left) is str and type(right) is str:
            return left == right
        return equals(left, right)

    return equal


def _not_equal(lf: Closure, rf: Closure) -> Closure:
    def not_equal(a: Attrs, c: Ctx) -> Any:
        left = lf(a, c)
        right = rf(a, c)
        if left is None or right is None:
            return False
        if type(left) is str and type(right) is str:
            return left != right
        return not equals(left, right)

    return not_equal


def _ordering(test: Callable[[int], bool]) -> Callable[[Closure, Closure], Closure]:
    def make(lf: Closure, rf: Closure) -> Closure:
        def compare(a: Attrs, c: Ctx) -> Any:
            o = order(lf(a, c), rf(a, c))
            return False if o is None else test(o)

        return compare

    return make


def _and(lf: Closure, rf: Closure) -> Closure:
    def and_(a: Attrs, c: Ctx) -> Any:
        return truth(lf(a, c)) and truth(rf(a, c))

    return and_


def _or(lf: Closure, rf: Closure) -> Closure:
    def or_(a: Attrs, c: Ctx) -> Any:
        return truth(lf(a, c)) or truth(rf(a, c))

    return or_


def _whole(value: float | int) -> float | int:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _arithmetic(op: str) -> Callable[[Closure, Closure], Closure]:
    def make(lf: Closure, rf: Closure) -> Closure:
        def arith(a: Attrs, c: Ctx) -> Any:
            left = lf(a, c)
            right = rf(a, c)
            if left is None or right is None:
                return None
            if op == "+":
                if type(left) is str and type(right) is str:
                    return left + right  # MIM's "+" concatenates text
                return _whole(number(left) + number(right))
            x, y = number(left), number(right)
            if op == "-":
                return _whole(x - y)
            if op == "*":
                return _whole(x * y)
            if y == 0:
                raise EvalFault("division by zero")
            return _whole(x / y)

        return arith

    return make


_OPERATORS: dict[str, Callable[[Closure, Closure], Closure]] = {
    "&": _concat,
    "=": _equal,
    "<>": _not_equal,
    "<": _ordering(lambda o: o < 0),
    "<=": _ordering(lambda o: o <= 0),
    ">": _ordering(lambda o: o > 0),
    ">=": _ordering(lambda o: o >= 0),
    "&&": _and,
    "||": _or,
    "+": _arithmetic("+"),
    "-": _arithmetic("-"),
    "*": _arithmetic("*"),
    "/": _arithmetic("/"),
}


def _negate(f: Closure) -> Closure:
    def negate(a: Attrs, c: Ctx) -> Any:
        v = f(a, c)
        return None if v is None else -number(v)

    return negate


def _sentinel(sentinel: FlowSentinel) -> Closure:
    def signal(a: Attrs, c: Ctx) -> Any:
        raise FlowSignal(sentinel)

    return signal


def _parameter(name: str) -> Closure:
    def parameter(a: Attrs, c: Ctx) -> Any:
        if c is not None and name in c.parameters:
            return c.parameters[name]
        raise ExpressionEvaluationError(f"parameter %{name}% has no value for this connector", function=f"%{name}%")

    return parameter


def _variable(name: str) -> Closure:
    def variable(a: Attrs, c: Ctx) -> Any:
        return a.get(name)

    return variable


def _per_value(key: str, lookup: Closure, body: Closure) -> Closure:
    """Evaluate ``body`` once per value of a multi-valued attribute (bound to that one value), collecting the
    non-null results: Connect's "the function operates over every value"."""

    def per_value(a: Attrs, c: Ctx) -> Any:
        values = lookup(a, c)
        if type(values) is not list:
            return body(a, c)
        out: list[Any] = []
        for v in values:
            collect(out, body(Scope(a, key, v), c))
        return out or None

    return per_value


def _value_count(lookup: Closure) -> Closure:
    def value_count(a: Attrs, c: Ctx) -> Any:
        return len(values_of(lookup(a, c)))

    return value_count


# --------------------------------------------------------------------------------------------------------------


@dataclass
class CompileResult:
    root: Compiled
    references: frozenset[str]
    direct_attribute: str | None
    deterministic: bool
    redacted: bool


@dataclass
class _Compiler:
    source: str
    dialect: Dialect
    attributes: Mapping[str, str] | None  # lower-case name -> the engine's spelling
    multivalued: frozenset[str]  # lower-case names
    origin: Origin | None
    spelled: bool = True
    """The values read are keyed by exactly the spellings in ``attributes``; otherwise the names only check the
    expression and it reads the names as written, in any case."""
    reference_typed: frozenset[str] = frozenset()  # lower-case names of the reference attributes
    references: set[str] = field(default_factory=set)
    deterministic: bool = True
    redacted: bool = False

    def __post_init__(self) -> None:
        self.library = LIBRARIES[self.dialect]
        self.other = LIBRARIES[Dialect.CONNECT if self.dialect is Dialect.ENTRA else Dialect.ENTRA]

    # -- errors ------------------------------------------------------------------------------------------------

    def error(self, start: int, end: int, message: str) -> ExpressionValidationError:
        return ExpressionValidationError(
            message, source=self.source, offset=start, length=max(1, end - start), origin=self.origin
        )

    def dialect_error(self, node: Node, what: str) -> ExpressionValidationError:
        return self.error(
            node.start,
            node.end,
            f"{what} is not part of the {self.dialect.value} dialect (it belongs to the connect dialect; set "
            "'dialect: connect' on the rule or flow)",
        )

    # -- names -------------------------------------------------------------------------------------------------

    def resolve_attribute(self, node: Node, name: str) -> str:
        if self.attributes is None:
            return name
        found = self.attributes.get(name.lower())
        if found is None:
            message = f"unknown attribute [{name}]"
            close = closest(name, self.attributes.values(), cutoff=0.75)
            if close:
                message += f"; did you mean [{close}]?"
            raise self.error(node.start, node.end, message)
        return found if self.spelled else name

    @property
    def exact(self) -> bool:
        """Whether an attribute is read with one dict lookup, under the engine's spelling."""
        return self.attributes is not None and self.spelled

    def is_multivalued(self, name: str) -> bool:
        return name.lower() in self.multivalued

    def attr_name(self, node: Node) -> str | None:
        """The attribute a node reads as a whole, if it is one: ``[x]`` or Connect's ``ImportedValue("x")``."""
        if isinstance(node, Attr):
            return node.name
        if (
            isinstance(node, Call)
            and node.name.lower() == "importedvalue"
            and len(node.args) == 1
            and isinstance(node.args[0], Literal)
            and isinstance(node.args[0].value, str)
        ):
            return node.args[0].value
        return None

    def reference_args(self, node: Call) -> frozenset[int]:
        """The positions of ``node``'s arguments that read a reference attribute whole."""
        return frozenset(
            i
            for i, arg in enumerate(node.args)
            if (name := self.attr_name(arg)) is not None and name.lower() in self.reference_typed
        )

    # -- multi-valued regions ----------------------------------------------------------------------------------

    def scalar_multivalued(self, node: Node, kind: str) -> set[str]:
        """The multi-valued attributes read where a single value is expected, inside ``node``'s region."""
        name = self.attr_name(node)
        if name is not None:
            return {name} if kind == SCALAR and self.is_multivalued(name) else set()
        if isinstance(node, Binary):
            return self.scalar_multivalued(node.left, SCALAR) | self.scalar_multivalued(node.right, SCALAR)
        if isinstance(node, Unary):
            return self.scalar_multivalued(node.operand, SCALAR)
        if isinstance(node, Call):
            spec = self.library.get(node.name)
            if spec is None:
                return set()
            found: set[str] = set()
            for i, arg in enumerate(node.args):
                k = spec.kind(i)
                if k not in (MULTI, BINDER):
                    found |= self.scalar_multivalued(arg, k)
            return found
        return set()

    def region(self, node: Node, compiled: Compiled) -> Compiled:
        names = self.scalar_multivalued(node, ANY)
        if not names:
            return compiled
        if len({n.lower() for n in names}) > 1:
            listed = " and ".join(f"[{n}]" for n in sorted(names))
            raise self.error(
                node.start,
                node.end,
                f"uses the multi-valued attributes {listed} where single values are expected; the expression can "
                "run per value of one multi-valued attribute only (use Select or Item for the others)",
            )
        key = self.resolve_attribute(node, next(iter(names)))
        lookup = attribute_lookup(key, self.exact)
        return Compiled(_per_value(key, lookup, compiled.fn))

    # -- compile -----------------------------------------------------------------------------------------------

    def compile_root(self, node: Node) -> Compiled:
        return self.region(node, self.compile(node, ANY, frozenset(), top=True))

    def compile(self, node: Node, kind: str, variables: frozenset[str], top: bool = False) -> Compiled:
        if isinstance(node, Literal):
            return constant(node.value)
        if isinstance(node, Attr):
            key = self.resolve_attribute(node, node.name)
            self.references.add(key)
            return Compiled(attribute_lookup(key, self.exact))
        if isinstance(node, Name):
            return self.compile_name(node)
        if isinstance(node, Param):
            if self.dialect is not Dialect.CONNECT:
                raise self.dialect_error(node, f"the parameter %{node.name}%")
            self.deterministic = False
            return Compiled(_parameter(node.name))
        if isinstance(node, Var):
            if self.dialect is not Dialect.CONNECT:
                raise self.dialect_error(node, f"the variable {node.name}")
            if node.name.lower() not in variables:
                raise self.error(
                    node.start, node.end, f"unknown variable {node.name}: variables are bound by Select, Where and With"
                )
            return Compiled(_variable(node.name.lower()))
        if isinstance(node, Unary):
            operand = self.compile(node.operand, SCALAR, variables)
            return self.fold(guard("operator -", _negate(operand.fn)), [operand])
        if isinstance(node, Binary):
            return self.compile_binary(node, variables)
        if isinstance(node, Call):
            return self.compile_call(node, variables, top)
        if isinstance(node, Empty):
            return constant(None)
        raise AssertionError(node)  # pragma: no cover

    def fold(self, fn: Closure, inputs: Sequence[Compiled]) -> Compiled:
        """Evaluate now when every input is a constant; a failure is left to happen at run time, because the
        branch holding it may never be taken."""
        if all(i.const for i in inputs):
            try:
                return constant(fn({}, None))
            except (ExpressionEvaluationError, FlowSignal):
                pass
        return Compiled(fn)

    def compile_name(self, node: Name) -> Compiled:
        low = node.name.lower()
        if low in _CONSTANTS:
            return constant(_CONSTANTS[low])
        if low in _SENTINELS:
            if self.dialect is not Dialect.CONNECT:
                raise self.error(
                    node.start,
                    node.end,
                    f"{node.name} is a connect-dialect literal; in the entra dialect use "
                    "IgnoreFlowIfNullOrEmpty(...) (or set 'dialect: connect')",
                )
            return Compiled(_sentinel(_SENTINELS[low]))
        if low in _ENUMS:
            return constant(_ENUMS[low])
        if self.library.get(node.name) is not None:
            raise self.error(node.start, node.end, f"{node.name} is a function: call it as {node.name}(...)")
        raise self.error(
            node.start,
            node.end,
            f"unknown name {node.name!r} (attributes are written in brackets: [{node.name}]; strings in double quotes)",
        )

    def compile_binary(self, node: Binary, variables: frozenset[str]) -> Compiled:
        if node.op in _ARITHMETIC and self.dialect is not Dialect.CONNECT:
            raise self.error(
                node.op_start,
                node.op_start + len(node.op),
                f"the arithmetic operator {node.op} is not part of the {self.dialect.value} dialect (set "
                "'dialect: connect'; use & to join text)",
            )
        left = self.compile(node.left, SCALAR, variables)
        right = self.compile(node.right, SCALAR, variables)
        fn = guard(f"operator {node.op}", _OPERATORS[node.op](left.fn, right.fn))
        return self.fold(fn, [left, right])

    def lookup_function(self, node: Call) -> FunctionSpec:
        spec = self.library.get(node.name)
        if spec is not None:
            return spec
        low = node.name.lower()
        where = (node.start, node.name_end)
        if low in self.library.refused:
            raise self.error(*where, f"{node.name} is not supported: it {self.library.refused[low]}")
        if self.other.get(node.name) is not None:
            other = Dialect.CONNECT if self.dialect is Dialect.ENTRA else Dialect.ENTRA
            raise self.error(
                *where,
                f"{node.name} is a function of the {other.value} dialect, not of {self.dialect.value} "
                f"(set 'dialect: {other.value}' on the rule or flow)",
            )
        message = f"unknown function {node.name}"
        close = closest(node.name, (s.name for s in self.library.functions.values()), cutoff=0.7)
        if close:
            message += f"; did you mean {close}?"
        raise self.error(*where, message)

    def check_arguments(self, node: Call, spec: FunctionSpec) -> None:
        n = len(node.args)
        where = (node.start, node.name_end)
        too_few = n < spec.min_args
        too_many = spec.max_args is not None and n > spec.max_args
        if too_few or too_many:
            if spec.max_args is None:
                expected = f"at least {spec.min_args}"
            elif spec.min_args == spec.max_args:
                expected = str(spec.min_args)
            else:
                expected = f"{spec.min_args} to {spec.max_args}"
            plural = "" if expected in ("1", "at least 1") else "s"
            raise self.error(*where, f"{spec.name} takes {expected} argument{plural} ({spec.signature}), got {n}")
        if spec.arity is not None:
            problem = spec.arity(n)
            if problem:
                raise self.error(*where, f"{spec.name} {problem} ({spec.signature}), got {n}")
        for i, arg in enumerate(node.args):
            if isinstance(arg, Empty) and i not in spec.empty_ok:
                raise self.error(
                    arg.start, arg.start + 1, f"argument {i + 1} of {spec.name} is empty ({spec.signature})"
                )

    def check_numbers(self, node: Call, spec: FunctionSpec, args: Sequence[Compiled]) -> None:
        """A constant that is no number where the function takes one fails every object: say so now, at it."""
        for i in spec.numbers:
            if i < len(args) and args[i].const and args[i].value is not None:
                try:
                    number(args[i].value)
                except EvalFault:
                    arg = node.args[i]
                    raise self.error(
                        arg.start,
                        arg.end,
                        f"argument {i + 1} of {spec.name} must be a number, got {describe(args[i].value)} "
                        f"({spec.signature})",
                    ) from None

    def compile_call(self, node: Call, variables: frozenset[str], top: bool) -> Compiled:
        low = node.name.lower()
        if self.dialect is Dialect.CONNECT and low in ("importedvalue", "valuecount"):
            return self.compile_attribute_function(node, low)
        spec = self.lookup_function(node)
        self.check_arguments(node, spec)
        if spec.top_level_only and not top:
            raise self.error(
                node.start, node.name_end, f"{spec.name} must be the whole expression; it cannot be nested"
            )
        binder = ""
        args: list[Compiled] = []
        for i, arg in enumerate(node.args):
            kind = spec.kind(i)
            if kind == BINDER:
                if not isinstance(arg, Var):
                    raise self.error(
                        arg.start, arg.end, f"argument {i + 1} of {spec.name} must be a variable such as $item"
                    )
                binder = arg.name.lower()
                args.append(constant(None))
                continue
            scope = variables | {binder} if binder and i == len(node.args) - 1 else variables
            compiled = self.compile(arg, kind, scope)
            if kind == MULTI:
                compiled = self.region(arg, compiled)
            args.append(compiled)
        self.check_numbers(node, spec, args)
        if spec.check is not None:
            try:
                spec.check(args)
            except EvalFault as exc:
                at = node.args[exc.index] if isinstance(exc, ArgumentFault) else node
                raise self.error(at.start, at.end, f"{spec.name}: {exc}") from None
        if not spec.deterministic:
            self.deterministic = False
        if spec.name == "Redact":
            self.redacted = True
        if spec.build is not None:
            try:
                info = BuildInfo(spec.name, self.dialect, binder, self.reference_args(node))
                built = spec.build(info, args)
            except EvalFault as exc:
                at = node.args[exc.index] if isinstance(exc, ArgumentFault) else node
                raise self.error(at.start, at.end, f"{spec.name}: {exc}") from None
            if isinstance(built, Compiled):
                return built
            return Compiled(guard(spec.name, built))
        fn = _eager_call(spec.name, spec, [a.fn for a in args])
        if spec.fold and spec.deterministic and not spec.context:
            return self.fold(fn, args)
        return Compiled(fn)

    def compile_attribute_function(self, node: Call, low: str) -> Compiled:
        """Connect's ImportedValue("attr") (the attribute's confirmed value) and ValueCount("attr") (how many
        values it has): both name an attribute in a string, so they are references like [attr]."""
        label = "ImportedValue" if low == "importedvalue" else "ValueCount"
        if len(node.args) != 1 or not (isinstance(node.args[0], Literal) and isinstance(node.args[0].value, str)):
            raise self.error(
                node.start, node.end, f'{label} takes one attribute name in double quotes, as in {label}("mail")'
            )
        arg = node.args[0]
        key = self.resolve_attribute(arg, str(arg.value))
        self.references.add(key)
        lookup = attribute_lookup(key, self.exact)
        return Compiled(lookup if low == "importedvalue" else _value_count(lookup))


def compile_tree(
    node: Node,
    *,
    source: str,
    dialect: Dialect,
    attributes: Collection[str] | None,
    multivalued: Collection[str],
    origin: Origin | None,
    spelled: bool = True,
    reference_attributes: Collection[str] = (),
) -> CompileResult:
    attribute_map = None if attributes is None else {a.lower(): a for a in attributes}
    compiler = _Compiler(
        source,
        dialect,
        attribute_map,
        frozenset(m.lower() for m in multivalued),
        origin,
        spelled,
        frozenset(r.lower() for r in reference_attributes),
    )
    root = compiler.compile_root(node)
    direct = None
    if isinstance(node, Attr):
        direct = compiler.resolve_attribute(node, node.name)
    return CompileResult(
        root=root,
        references=frozenset(compiler.references),
        direct_attribute=direct,
        deterministic=compiler.deterministic,
        redacted=compiler.redacted,
    )
