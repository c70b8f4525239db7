"""``idsync expr``: try an expression against attribute values, and list the functions of a dialect."""

from __future__ import annotations

import base64
import json
import sys
from datetime import UTC, datetime
from typing import Any

import click

from idsync.expressions import (
    Dialect,
    EvalContext,
    ExpressionEvaluationError,
    ExpressionSyntaxError,
    ExpressionValidationError,
    FlowSentinel,
    compile_expression,
    list_functions,
)

EXIT_EVALUATION_ERROR = 1
EXIT_INVALID = 3
EXIT_USAGE = 4

_DIALECT = click.option(
    "--dialect",
    type=click.Choice([d.value for d in Dialect]),
    default=Dialect.ENTRA.value,
    show_default=True,
    help="entra: Entra provisioning / cloud sync expressions; connect: Connect Sync / MIM sync rules.",
)


class _UsageError(click.UsageError):
    exit_code = EXIT_USAGE


def _parse_attrs(pairs: tuple[str, ...]) -> tuple[dict[str, Any], list[str]]:
    """NAME=VALUE pairs; a name given more than once becomes a multi-valued attribute."""
    values: dict[str, list[str]] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise _UsageError(f"--attr expects NAME=VALUE, got {pair!r}")
        values.setdefault(name.strip(), []).append(value)
    attrs: dict[str, Any] = {k: (v if len(v) > 1 else v[0]) for k, v in values.items()}
    return attrs, [k for k, v in values.items() if len(v) > 1]


def _describe(value: Any) -> tuple[str, Any]:
    """(type name, JSON-ready value)."""
    if value is None:
        return "null", None
    if isinstance(value, FlowSentinel):
        return "sentinel", value.name
    if isinstance(value, bool):
        return "boolean", value
    if isinstance(value, int | float):
        return "number", value
    if isinstance(value, bytes):
        return "binary", base64.b64encode(value).decode("ascii")
    if isinstance(value, list):
        return "multi-valued", [_describe(v)[1] for v in value]
    return "string", str(value)


def _plain(value: Any) -> str:
    kind, data = _describe(value)
    if kind == "null":
        return "(null)"
    if kind == "binary":
        return f"(binary, base64) {data}"
    if kind == "multi-valued":
        return "\n".join(_plain(v) for v in value)
    return str(data)


@click.group("expr")
def expr() -> None:
    """Evaluate attribute-flow expressions and list their functions."""


@expr.command("eval")
@click.argument("expression")
@_DIALECT
@click.option(
    "--attr",
    "attr_pairs",
    multiple=True,
    metavar="NAME=VALUE",
    help="An attribute value; repeat a name to give a multi-valued attribute several values.",
)
@click.option(
    "--reference",
    "reference_names",
    multiple=True,
    metavar="NAME",
    help="An attribute that holds references (DNs), as a reference attribute of the metaverse or a source would.",
)
@click.option("--now", "now_text", metavar="ISO-8601", help="The time Now() returns (default: the current time).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def eval_command(
    expression: str,
    dialect: str,
    attr_pairs: tuple[str, ...],
    reference_names: tuple[str, ...],
    now_text: str | None,
    as_json: bool,
) -> None:
    """Evaluate EXPRESSION against the given attribute values and print the result."""
    attrs, multivalued = _parse_attrs(attr_pairs)
    now = datetime.now(UTC)
    if now_text:
        try:
            now = datetime.fromisoformat(now_text.replace("Z", "+00:00"))
        except ValueError:
            raise _UsageError(f"--now expects an ISO 8601 date/time, got {now_text!r}") from None
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
    report: dict[str, Any] = {"expression": expression, "dialect": dialect}
    try:
        compiled = compile_expression(
            expression, dialect=dialect, multivalued=multivalued, reference_attributes=reference_names
        )
        report["references"] = sorted(compiled.references)
        value = compiled.evaluate(attrs, EvalContext(now=now))
    except (ExpressionSyntaxError, ExpressionValidationError) as err:
        kind = "syntax" if isinstance(err, ExpressionSyntaxError) else "validation"
        _fail(
            as_json,
            report,
            {"kind": kind, "message": err.message, "line": err.line, "column": err.column, "caret": err.caret},
            str(err),
            EXIT_INVALID,
        )
        return
    except ExpressionEvaluationError as err:
        _fail(
            as_json,
            report,
            {"kind": "evaluation", "message": str(err), "function": err.function},
            str(err),
            EXIT_EVALUATION_ERROR,
        )
        return
    kind, data = _describe(value)
    if as_json:
        click.echo(json.dumps({**report, "ok": True, "type": kind, "result": data}, ensure_ascii=False))
    else:
        click.echo(_plain(value))


def _fail(as_json: bool, report: dict[str, Any], error: dict[str, Any], text: str, code: int) -> None:
    if as_json:
        click.echo(json.dumps({**report, "ok": False, "error": error}, ensure_ascii=False))
    else:
        click.echo(f"error: {text}", err=True)
    sys.exit(code)


@expr.command("functions")
@_DIALECT
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def functions_command(dialect: str, as_json: bool) -> None:
    """List the functions of a dialect with their signatures."""
    infos = list_functions(dialect)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "dialect": dialect,
                    "functions": [
                        {
                            "name": i.name,
                            "signature": i.signature,
                            "summary": i.summary,
                            "example": i.example,
                            "category": i.category,
                        }
                        for i in infos
                    ],
                },
                ensure_ascii=False,
            )
        )
        return
    for info in infos:
        click.echo(f"{info.signature}\n    {info.summary}\n    e.g. {info.example}")
