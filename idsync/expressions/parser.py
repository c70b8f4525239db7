"""Tokenizer and precedence-climbing parser for both dialects.

One grammar serves both languages; what a dialect does not have (arithmetic, %parameters%, $variables,
IgnoreThisFlow) parses here and is refused by the compiler with a message that names the dialect, which is more
useful than a bare syntax error.

Operator levels, loosest first: ``||``; ``&&``; comparisons; then ``&``, ``+``, ``-``, ``*``, ``/`` together.
Connect's reference says its operators share one priority and run left to right ("the * is not evaluated before
-"); we keep that for the value operators, but bind comparisons tighter than the logical ones so that the
conditions in Microsoft's own default rules (``IsPresent([a]) = False || [b] = "x"``) mean what they say.
"""

from __future__ import annotations

from dataclasses import dataclass

from idsync.expressions.errors import ExpressionSyntaxError, Origin
from idsync.expressions.syntax import Attr, Binary, Call, Empty, Literal, Name, Node, Param, Unary, Var

MAX_DEPTH = 100
"""Deepest nesting accepted; real rules nest about ten deep, and a bound keeps the compiler's recursion safe."""

_BINARY_POWER = {
    "||": 10,
    "&&": 20,
    "=": 30,
    "<>": 30,
    "<": 30,
    "<=": 30,
    ">": 30,
    ">=": 30,
    "&": 40,
    "+": 40,
    "-": 40,
    "*": 40,
    "/": 40,
}
_UNARY_POWER = 50
_DIGITS = frozenset("0123456789")

_HINTS = {
    "==": "use = to compare",
    "!=": "use <> for 'not equal'",
    "!": "use Not(...) to negate",
    "'": "strings are written in double quotes",
    "\u201c": "this is a curly quote; strings need straight double quotes",
    "\u201d": "this is a curly quote; strings need straight double quotes",
}
_WORD_HINTS = {"and": "use && for 'and'", "or": "use || for 'or'", "not": "use Not(...) to negate"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # attr, string, number, param, var, ident, op, eof
    value: object
    start: int
    end: int


def _is_ident_start(ch: str) -> bool:
    return ch.isalpha() or ch == "_"


def _is_ident_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


class _Lexer:
    def __init__(self, source: str, origin: Origin | None) -> None:
        self.src = source
        self.origin = origin
        self.pos = 0

    def error(self, message: str, start: int, length: int = 1) -> ExpressionSyntaxError:
        return ExpressionSyntaxError(message, source=self.src, offset=start, length=length, origin=self.origin)

    def tokens(self) -> list[Token]:
        out: list[Token] = []
        src = self.src
        n = len(src)
        while True:
            while self.pos < n and src[self.pos].isspace():
                self.pos += 1
            if self.pos >= n:
                out.append(Token("eof", None, n, n))
                return out
            out.append(self._next())

    def _next(self) -> Token:
        src = self.src
        start = self.pos
        ch = src[start]
        if ch == "[":
            end = src.find("]", start + 1)
            newline = src.find("\n", start + 1)
            if end < 0 or (0 <= newline < end):
                raise self.error("unterminated attribute reference: missing ']'", start)
            name = src[start + 1 : end].strip()
            if not name:
                raise self.error("empty attribute reference '[]'", start, 2)
            self.pos = end + 1
            return Token("attr", name, start, end + 1)
        if ch == '"':
            return self._string(start)
        if ch in _DIGITS:
            return self._number(start)
        if ch == "&" and src[start + 1 : start + 2] in ("H", "h") and self._hex_follows(start + 2):
            end = start + 2
            while end < len(src) and src[end] in "0123456789abcdefABCDEF":
                end += 1
            if end < len(src) and _is_ident_char(src[end]):
                raise self.error("malformed hexadecimal number", start, end - start + 1)
            self.pos = end
            return Token("number", int(src[start + 2 : end], 16), start, end)
        if ch == "%":
            end = src.find("%", start + 1)
            name = src[start + 1 : end] if end > 0 else ""
            if end < 0 or not name or any(c.isspace() for c in name):
                raise self.error("unterminated parameter: expected %Name%", start)
            self.pos = end + 1
            return Token("param", name, start, end + 1)
        if ch == "$":
            end = start + 1
            while end < len(src) and _is_ident_char(src[end]):
                end += 1
            if end == start + 1:
                raise self.error("expected a variable name after '$'", start)
            self.pos = end
            return Token("var", src[start:end], start, end)
        if _is_ident_start(ch):
            end = start + 1
            while end < len(src) and _is_ident_char(src[end]):
                end += 1
            self.pos = end
            return Token("ident", src[start:end], start, end)
        two = src[start : start + 2]
        if two in _HINTS:
            raise self.error(f"unexpected '{two}': {_HINTS[two]}", start, 2)
        if two in ("&&", "||", "<>", "<=", ">="):
            self.pos = start + 2
            return Token("op", two, start, start + 2)
        if ch in "&=<>+-*/(),":
            self.pos = start + 1
            return Token("op", ch, start, start + 1)
        if ch in _HINTS:
            raise self.error(f"unexpected {ch!r}: {_HINTS[ch]}", start)
        raise self.error(f"unexpected character {ch!r}", start)

    def _hex_follows(self, at: int) -> bool:
        return at < len(self.src) and self.src[at] in "0123456789abcdefABCDEF"

    def _string(self, start: int) -> Token:
        src = self.src
        out: list[str] = []
        i = start + 1
        n = len(src)
        while i < n:
            ch = src[i]
            if ch == '"':
                self.pos = i + 1
                return Token("string", "".join(out), start, i + 1)
            if ch == "\\" and i + 1 < n and src[i + 1] in '"\\':
                out.append(src[i + 1])
                i += 2
                continue
            out.append(ch)
            i += 1
        raise self.error("unterminated string: missing closing '\"'", start)

    def _number(self, start: int) -> Token:
        src = self.src
        end = start
        while end < len(src) and src[end] in _DIGITS:
            end += 1
        value: int | float
        if end + 1 < len(src) and src[end] == "." and src[end + 1] in _DIGITS:
            end += 1
            while end < len(src) and src[end] in _DIGITS:
                end += 1
            value = float(src[start:end])
        else:
            value = int(src[start:end])
        if end < len(src) and _is_ident_char(src[end]):
            bad = end
            while bad < len(src) and _is_ident_char(src[bad]):
                bad += 1
            raise self.error("malformed number", start, bad - start)
        self.pos = end
        return Token("number", value, start, end)


class _Parser:
    def __init__(self, source: str, origin: Origin | None) -> None:
        self.lexer = _Lexer(source, origin)
        self.toks = self.lexer.tokens()
        self.i = 0
        self.nesting = 0

    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def error(self, message: str, tok: Token | None = None) -> ExpressionSyntaxError:
        t = tok or self.tok
        return self.lexer.error(message, t.start, max(1, t.end - t.start))

    def describe(self, tok: Token) -> str:
        if tok.kind == "eof":
            return "the end of the expression"
        return repr(self.lexer.src[tok.start : tok.end])

    def parse(self) -> Node:
        if self.tok.kind == "eof":
            raise self.error("the expression is empty")
        node, _ = self.expression(0)
        if self.tok.kind != "eof":
            tok = self.tok
            hint = _WORD_HINTS.get(str(tok.value).lower()) if tok.kind == "ident" else None
            message = f"unexpected {self.describe(tok)} after a complete expression"
            if hint:
                message += f": {hint}"
            elif tok.kind in ("attr", "string", "number", "ident", "var", "param"):
                message += " (missing ',' or operator?)"
            raise self.error(message, tok)
        return node

    def check_depth(self, depth: int, tok: Token) -> int:
        if depth > MAX_DEPTH:
            raise self.error(f"the expression nests deeper than {MAX_DEPTH} levels", tok)
        return depth

    def expression(self, min_power: int) -> tuple[Node, int]:
        """Parse operators binding tighter than ``min_power``; returns the node and the depth of its tree."""
        left, depth = self.prefix()
        while True:
            tok = self.tok
            if tok.kind != "op":
                break
            power = _BINARY_POWER.get(str(tok.value))
            if power is None or power <= min_power:
                break
            self.i += 1
            right, right_depth = self.expression(power)
            depth = self.check_depth(max(depth, right_depth) + 1, tok)
            left = Binary(left.start, right.end, str(tok.value), tok.start, left, right)
        return left, depth

    def prefix(self) -> tuple[Node, int]:
        tok = self.tok
        kind = tok.kind
        if kind == "string" or kind == "number":
            self.i += 1
            return Literal(tok.start, tok.end, tok.value), 1
        if kind == "attr":
            self.i += 1
            return Attr(tok.start, tok.end, str(tok.value)), 1
        if kind == "param":
            self.i += 1
            return Param(tok.start, tok.end, str(tok.value)), 1
        if kind == "var":
            self.i += 1
            return Var(tok.start, tok.end, str(tok.value)), 1
        if kind == "ident":
            self.i += 1
            nxt = self.tok
            if nxt.kind == "op" and nxt.value == "(":
                return self.call(tok)
            return Name(tok.start, tok.end, str(tok.value)), 1
        if kind == "op" and tok.value == "(":
            self.i += 1
            self.nesting += 1
            if self.nesting > MAX_DEPTH:
                raise self.error(f"the expression nests deeper than {MAX_DEPTH} levels", tok)
            inner, depth = self.expression(0)
            self.nesting -= 1
            if not (self.tok.kind == "op" and self.tok.value == ")"):
                raise self.error(
                    f"expected ')' to close the '(' at column {self._column(tok)}, found {self.describe(self.tok)}"
                )
            self.i += 1
            return inner, depth
        if kind == "op" and tok.value == "-":
            self.i += 1
            self.nesting += 1
            if self.nesting > MAX_DEPTH:
                raise self.error(f"the expression nests deeper than {MAX_DEPTH} levels", tok)
            operand, depth = self.expression(_UNARY_POWER)
            self.nesting -= 1
            return Unary(tok.start, operand.end, "-", operand), self.check_depth(depth + 1, tok)
        raise self.error(f"expected a value, found {self.describe(tok)}", tok)

    def _column(self, tok: Token) -> int:
        return tok.start - self.lexer.src.rfind("\n", 0, tok.start)

    def call(self, name_tok: Token) -> tuple[Call, int]:
        self.i += 1  # "("
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise self.error(f"the expression nests deeper than {MAX_DEPTH} levels", name_tok)
        args: list[Node] = []
        depth = 0
        if self.tok.kind == "op" and self.tok.value == ")":
            end = self.tok.end
            self.i += 1
            self.nesting -= 1
            return Call(name_tok.start, end, str(name_tok.value), name_tok.end, ()), 1
        while True:
            tok = self.tok
            if tok.kind == "op" and tok.value in (",", ")"):
                args.append(Empty(tok.start, tok.start))
            else:
                arg, arg_depth = self.expression(0)
                args.append(arg)
                depth = max(depth, arg_depth)
            tok = self.tok
            if tok.kind == "op" and tok.value == ",":
                self.i += 1
                continue
            if tok.kind == "op" and tok.value == ")":
                self.i += 1
                self.nesting -= 1
                node = Call(name_tok.start, tok.end, str(name_tok.value), name_tok.end, tuple(args))
                return node, self.check_depth(depth + 1, name_tok)
            raise self.error(
                f"expected ',' or ')' in the call to {name_tok.value} (opened at column {self._column(name_tok)}),"
                f" found {self.describe(tok)}",
                tok,
            )


def parse(source: str, origin: Origin | None = None) -> Node:
    """Parse ``source`` into a syntax tree, or raise ExpressionSyntaxError pointing at the fault."""
    return _Parser(source, origin).parse()
