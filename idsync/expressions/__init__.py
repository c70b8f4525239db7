"""The attribute-flow expression language, in the two dialects identity engineers bring with them: Entra
provisioning / cloud sync (``Join(" ", [givenName], [surname])``) and Connect Sync / MIM declarative provisioning
(``IIF(IsPresent([mail]), [mail], Error("no mail"))``).

Expressions are parsed, validated and compiled into Python closures once, when the configuration loads, so that
a typo fails before any run and evaluation costs a few closure calls per object.
"""

from __future__ import annotations

from idsync.expressions.catalog import list_functions
from idsync.expressions.errors import (
    ExpressionError,
    ExpressionEvaluationError,
    ExpressionSyntaxError,
    ExpressionValidationError,
    Origin,
)
from idsync.expressions.expression import Expression, compile_expression
from idsync.expressions.library import FunctionInfo
from idsync.expressions.values import AUTHORITATIVE_NULL, IGNORE_THIS_FLOW, Dialect, EvalContext, FlowSentinel

__all__ = [
    "AUTHORITATIVE_NULL",
    "IGNORE_THIS_FLOW",
    "Dialect",
    "EvalContext",
    "Expression",
    "ExpressionError",
    "ExpressionEvaluationError",
    "ExpressionSyntaxError",
    "ExpressionValidationError",
    "FlowSentinel",
    "FunctionInfo",
    "Origin",
    "compile_expression",
    "list_functions",
]
