"""Expression errors.

Two moments fail differently. A syntax or validation error is a configuration mistake: it is found when the
config loads, before any run, and it points at the offending text (line, column, caret) so the engineer can fix
the YAML. An evaluation error is one object's bad data (a malformed date, ``Error("...")``): the engine turns it
into that object's error row and the run goes on.
"""

from __future__ import annotations

from typing import NamedTuple


class Origin(NamedTuple):
    """Where the expression text sits inside a configuration file (1-based line and column); a plain
    ``(file, line, column)`` tuple is accepted wherever an Origin is."""

    file: str
    line: int
    column: int


class ExpressionError(Exception):
    """Base of every error raised by the expression language."""


class _PositionedError(ExpressionError):
    """An error that points at a place in the expression source."""

    def __init__(
        self,
        message: str,
        *,
        source: str,
        offset: int,
        length: int = 1,
        origin: Origin | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.offset = max(0, min(offset, len(source)))
        self.length = max(1, length)
        self.origin = origin
        line_start = source.rfind("\n", 0, self.offset) + 1
        line_end = source.find("\n", self.offset)
        if line_end < 0:
            line_end = len(source)
        self.expression_line = source.count("\n", 0, self.offset) + 1
        self.expression_column = self.offset - line_start + 1
        self._source_line = source[line_start:line_end]
        if origin is None:
            self.file: str | None = None
            self.line = self.expression_line
            self.column = self.expression_column
        else:
            self.file = origin.file
            self.line = origin.line + self.expression_line - 1
            self.column = (
                origin.column + self.expression_column - 1 if self.expression_line == 1 else self.expression_column
            )
        super().__init__(self._render())

    @property
    def caret(self) -> str:
        """The offending source line with ``^`` under the offending text."""
        visible = self._source_line.expandtabs(1)
        width = min(self.length, max(1, len(visible) - self.expression_column + 1))
        return f"{visible}\n{' ' * (self.expression_column - 1)}{'^' * width}"

    def _render(self) -> str:
        if self.file is not None:
            where = f"{self.file}:{self.line}:{self.column}"
        else:
            where = f"line {self.line}, column {self.column}"
        return f"{where}: {self.message}\n{self.caret}"


class ExpressionSyntaxError(_PositionedError):
    """The text is not a well-formed expression."""


class ExpressionValidationError(_PositionedError):
    """The text parses, but names an unknown function or attribute, has the wrong number of arguments, or uses
    something the chosen dialect does not have."""


class ExpressionEvaluationError(ExpressionError):
    """Evaluating the expression failed for one object. ``function`` names the function that failed (or the
    operator), and the message says why."""

    def __init__(self, message: str, *, function: str | None = None) -> None:
        self.function = function
        super().__init__(message)


class EvalFault(Exception):
    """Internal: a function's complaint about its arguments. The compiled call that caught it re-raises it as an
    ExpressionEvaluationError that names the function, so helpers need not know who called them."""


class ArgumentFault(EvalFault):
    """Internal: a compile-time check's complaint about one argument, so that validation points at it."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index
