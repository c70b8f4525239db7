"""OData query options as Graph applies them to directory objects: ``$select``, ``$top``, ``$filter`` and ``$count``.

``$filter`` is parsed into a predicate over an object's property dict. Supported: ``eq``, ``ne``, ``ge``, ``le``,
``in``, ``startswith``, ``endswith``, ``and``, ``or``, ``not``, parentheses, ``eq null`` and the lambda
``collection/any(x:x eq 'v')``. String literals follow OData: single-quoted, a quote inside doubled (``'O''Brien'``).
Directory string comparisons are case-insensitive. ``ne``, ``not`` and ``endswith`` are "advanced queries": Graph
serves them only with ``ConsistencyLevel: eventual`` and ``$count=true`` (page "Advanced query capabilities on
Microsoft Entra ID objects"). The known issues' limits hold: at most 15 ``in`` expressions outside advanced queries,
``eq`` values of at most 120 characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from idsync.testing.graph_emulator.errors import GraphError, bad_request, unsupported_query

Predicate = Callable[[Mapping[str, Any]], bool]

MAX_TOP = 999
# Graph known issues, query parameters: "When using the in operator, the request is limited to 15 expressions in the
# filter clause by default OR a URL length of 2,048 characters when using advanced query capabilities", and "When
# filtering using the eq operator, the maximum limit of the value to match is 120 characters".
MAX_IN_EXPRESSIONS = 15
MAX_EQ_VALUE = 120


@dataclass(frozen=True)
class QueryOptions:
    select: tuple[str, ...] | None
    top: int | None
    filter: Predicate | None
    filter_text: str | None
    count: bool
    advanced: bool


def parse_top(raw: str | None) -> int | None:
    """``$top`` on users and groups: 1-999, otherwise Graph's own 400 (quoted on Microsoft Q&A)."""
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"Invalid page size specified: '{raw}'. Must be between 1 and {MAX_TOP} inclusive.") from None
    if not 1 <= value <= MAX_TOP:
        raise GraphError(
            400,
            "Request_UnsupportedQuery",
            f"Invalid page size specified: '{raw}'. Must be between 1 and {MAX_TOP} inclusive.",
        )
    return value


def parse_select(raw: str | None, known: Callable[[str], bool], entity: str) -> tuple[str, ...] | None:
    if raw is None or not raw.strip():
        return None
    names = tuple(part.strip() for part in raw.split(",") if part.strip())
    for name in names:
        if not known(name):
            raise GraphError(
                400, "BadRequest", f"Could not find a property named '{name}' on type 'microsoft.graph.{entity}'."
            )
    return names


def parse_options(
    query: Mapping[str, str],
    headers: Mapping[str, str],
    *,
    known: Callable[[str], bool],
    entity: str,
) -> QueryOptions:
    count = query.get("$count", "").lower() == "true"
    advanced = headers.get("consistencylevel", "").lower() == "eventual"
    filter_text = query.get("$filter")
    predicate: Predicate | None = None
    if filter_text is not None and filter_text.strip():
        parsed = FilterParser(filter_text, known=known, entity=entity).parse()
        if parsed.advanced_only and not (advanced and count):
            raise unsupported_query(
                f"Unsupported or invalid query filter clause specified for property '{parsed.advanced_only}' "
                f"of resource '{entity.capitalize()}'."
            )
        if parsed.in_expressions > MAX_IN_EXPRESSIONS and not (advanced and count):
            raise unsupported_query(
                f"The 'in' operator is limited to {MAX_IN_EXPRESSIONS} expressions in the filter clause "
                f"({parsed.in_expressions} given) unless the query is an advanced query."
            )
        predicate = parsed.predicate
    return QueryOptions(
        select=parse_select(query.get("$select"), known, entity),
        top=parse_top(query.get("$top")),
        filter=predicate,
        filter_text=filter_text,
        count=count and advanced,
        advanced=advanced,
    )


def quote_literal(value: str) -> str:
    """An OData string literal: the counterpart of the parser's unquoting, for clients and tests."""
    return "'" + value.replace("'", "''") + "'"


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*')
      | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))
      | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-]))
      | (?P<number>-?\d+(?:\.\d+)?(?![\w-]))
      | (?P<name>[A-Za-z_][\w.]*(?:/[A-Za-z_][\w.]*)*)
      | (?P<punct>[(),:])
    )""",
    re.VERBOSE,
)

_COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
_ADVANCED_OPERATORS = {"ne", "not", "endswith"}


@dataclass
class _Token:
    kind: str
    text: str
    value: Any


@dataclass
class ParsedFilter:
    predicate: Predicate
    advanced_only: str | None
    in_expressions: int = 0  # values in the filter's ``in`` lists: more than 15 need an advanced query


class FilterParser:
    """Recursive descent over ``or`` > ``and`` > ``not`` > comparison/function/lambda > parentheses."""

    def __init__(self, text: str, *, known: Callable[[str], bool], entity: str) -> None:
        self.text = text
        self.known = known
        self.entity = entity
        self.tokens = self._tokenize(text)
        self.pos = 0
        self.advanced_only: str | None = None
        self.in_expressions = 0
        self._lambda_var: str | None = None

    def _error(self, detail: str) -> GraphError:
        return bad_request(f"Invalid filter clause: {detail}", code="BadRequest")

    def _tokenize(self, text: str) -> list[_Token]:
        tokens: list[_Token] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise self._error(f"syntax error at position {pos} in '{text}'.")
            kind = match.lastgroup or ""
            raw = match.group(kind)
            value: Any = raw
            if kind == "string":
                value = raw[1:-1].replace("''", "'")
            elif kind == "number":
                value = float(raw) if "." in raw else int(raw)
            elif kind == "name" and raw in ("true", "false"):
                kind, value = "bool", raw == "true"
            elif kind == "name" and raw == "null":
                kind, value = "null", None
            tokens.append(_Token(kind, raw, value))
            pos = match.end()
        return tokens

    def _peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _next(self) -> _Token:
        token = self._peek()
        if token is None:
            raise self._error(f"unexpected end of '{self.text}'.")
        self.pos += 1
        return token

    def _expect(self, text: str) -> None:
        token = self._next()
        if token.text.lower() != text:
            raise self._error(f"expected '{text}' but found '{token.text}'.")

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token is not None and token.kind == "name" and token.text.lower() == word:
            self.pos += 1
            return True
        return False

    def parse(self) -> ParsedFilter:
        predicate = self._or()
        if self._peek() is not None:
            raise self._error(f"unexpected '{self._peek().text}' in '{self.text}'.")  # type: ignore[union-attr]
        return ParsedFilter(predicate, self.advanced_only, self.in_expressions)

    def _or(self) -> Predicate:
        left = self._and()
        while self._keyword("or"):
            right = self._and()
            left = _either(left, right)
        return left

    def _and(self) -> Predicate:
        left = self._not()
        while self._keyword("and"):
            right = self._not()
            left = _both(left, right)
        return left

    def _not(self) -> Predicate:
        if self._keyword("not"):
            self.advanced_only = self.advanced_only or "not"
            inner = self._not()
            return lambda obj: not inner(obj)
        return self._primary()

    def _primary(self) -> Predicate:
        token = self._peek()
        if token is None:
            raise self._error(f"unexpected end of '{self.text}'.")
        if token.text == "(":
            self.pos += 1
            inner = self._or()
            self._expect(")")
            return inner
        if token.kind != "name":
            raise self._error(f"unexpected '{token.text}'.")
        lowered = token.text.lower()
        following = self.tokens[self.pos + 1] if self.pos + 1 < len(self.tokens) else None
        if lowered in ("startswith", "endswith") and following is not None and following.text == "(":
            return self._string_function(lowered)
        if "/" in token.text and token.text.lower().endswith(("/any", "/all")):
            return self._lambda()
        return self._comparison()

    def _property(self, token: _Token) -> str:
        name = token.text
        if self._lambda_var is not None and name == self._lambda_var:
            return name
        if not self.known(name):
            raise GraphError(
                400, "BadRequest", f"Could not find a property named '{name}' on type 'microsoft.graph.{self.entity}'."
            )
        return name

    def _literal(self) -> Any:
        token = self._next()
        if token.kind in ("string", "number", "bool", "null", "datetime", "guid"):
            return token.value
        raise self._error(f"expected a literal but found '{token.text}'.")

    def _operand(self, name: str) -> Callable[[Mapping[str, Any]], Any]:
        if self._lambda_var is not None and name == self._lambda_var:
            return lambda item: item.get("$it")
        return lambda obj: obj.get(name)

    def _string_function(self, function: str) -> Predicate:
        self._next()
        self._expect("(")
        name = self._property(self._next())
        self._expect(",")
        literal = self._literal()
        self._expect(")")
        if not isinstance(literal, str):
            raise self._error(f"{function} needs a string literal.")
        if function == "endswith":
            self.advanced_only = self.advanced_only or name
        getter = self._operand(name)
        needle = literal.lower()

        def matches(obj: Mapping[str, Any]) -> bool:
            value = getter(obj)
            values = value if isinstance(value, list) else [value]
            for item in values:
                if isinstance(item, str):
                    text = item.lower()
                    if text.startswith(needle) if function == "startswith" else text.endswith(needle):
                        return True
            return False

        return matches

    def _comparison(self) -> Predicate:
        name = self._property(self._next())
        op_token = self._next()
        op = op_token.text.lower()
        getter = self._operand(name)
        if op == "in":
            self._expect("(")
            values = [self._literal()]
            while self._peek() is not None and self._peek().text == ",":  # type: ignore[union-attr]
                self.pos += 1
                values.append(self._literal())
            self._expect(")")
            self.in_expressions += len(values)
            wanted = [_fold(v) for v in values]
            return lambda obj: _fold(getter(obj)) in wanted
        if op not in _COMPARISONS:
            raise self._error(f"unknown operator '{op_token.text}'.")
        if op in _ADVANCED_OPERATORS:
            self.advanced_only = self.advanced_only or name
        raw = self._literal()
        if op == "eq" and isinstance(raw, str) and len(raw) > MAX_EQ_VALUE:
            raise unsupported_query(
                f"The value to match with the 'eq' operator on property '{name}' is limited to {MAX_EQ_VALUE} "
                "characters."
            )
        literal = _fold(raw)

        def compare(obj: Mapping[str, Any]) -> bool:
            value = getter(obj)
            if isinstance(value, list):
                return any(_apply(op, _fold(item), literal) for item in value)
            return _apply(op, _fold(value), literal)

        return compare

    def _lambda(self) -> Predicate:
        token = self._next()
        collection, _, quantifier = token.text.rpartition("/")
        self._property(_Token("name", collection, collection))
        self._expect("(")
        variable = self._next()
        if variable.kind != "name":
            raise self._error("expected a lambda variable.")
        self._expect(":")
        outer = self._lambda_var
        self._lambda_var = variable.text
        body = self._or()
        self._lambda_var = outer
        self._expect(")")
        use_all = quantifier.lower() == "all"

        def quantified(obj: Mapping[str, Any]) -> bool:
            items = obj.get(collection) or []
            results = (body({"$it": item}) for item in items)
            return all(results) if use_all else any(results)

        return quantified


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _apply(op: str, left: Any, right: Any) -> bool:
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        if op == "ge":
            return bool(left >= right)
        if op == "le":
            return bool(left <= right)
        if op == "gt":
            return bool(left > right)
        return bool(left < right)
    except TypeError:
        return False


def _either(left: Predicate, right: Predicate) -> Predicate:
    return lambda obj: left(obj) or right(obj)


def _both(left: Predicate, right: Predicate) -> Predicate:
    return lambda obj: left(obj) and right(obj)


def id_filter_values(text: str) -> list[str] | None:
    """The only ``$filter`` the delta functions accept: ``id eq '...'`` joined by ``or``. None if it is not that."""
    parts = re.split(r"\s+or\s+", text.strip(), flags=re.IGNORECASE)
    ids: list[str] = []
    for part in parts:
        match = re.fullmatch(r"\(?\s*id\s+eq\s+'((?:[^']|'')*)'\s*\)?", part.strip(), flags=re.IGNORECASE)
        if match is None:
            return None
        ids.append(match.group(1).replace("''", "'"))
    return ids
