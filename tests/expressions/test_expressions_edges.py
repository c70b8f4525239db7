"""Edge cases: nulls, empty strings, multi-valued input, Unicode (combining marks, non-Latin scripts, emoji),
very long strings, and the guarantee that bad data fails one object with ExpressionEvaluationError and nothing
else."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from idsync.expressions import (
    IGNORE_THIS_FLOW,
    EvalContext,
    ExpressionEvaluationError,
    ExpressionValidationError,
    compile_expression,
    list_functions,
)
from idsync.expressions.catalog import LIBRARIES
from idsync.expressions.values import Dialect

SAMPLES: list[Any] = [
    None,
    "",
    "x",
    " Zoë 👩🏽‍💻 ",
    "李小龍",
    0,
    -1,
    3,
    True,
    b"\x01\x02",
    ["a", "b"],
    [],
    "2012-03-16-07:00",
]
NAMES = [f"a{i}" for i in range(len(SAMPLES))]


def _argument_lists(min_args: int, max_args: int | None) -> list[int]:
    top = min_args + 2 if max_args is None else max_args
    return [n for n in range(min_args, top + 1) if n <= 8]


@pytest.mark.parametrize("dialect", ["entra", "connect"])
def test_every_function_fails_bad_data_only_with_an_evaluation_error(dialect: str) -> None:
    """Every function, with every arity it accepts, fed nulls, empties, numbers, booleans, binary, lists, emoji
    and dates in each position: it returns a value or raises ExpressionEvaluationError, never anything else."""
    ctx = EvalContext(now=datetime(2024, 1, 1, tzinfo=UTC), is_unique=lambda v: True)
    attrs = dict(zip(NAMES, SAMPLES, strict=True))
    library = LIBRARIES[Dialect(dialect)]
    rng = random.Random(20240401)
    checked = 0
    for spec in library.functions.values():
        if spec.name in ("Select", "Where", "With"):
            continue  # their first argument is a variable; covered by the reference examples
        for n in _argument_lists(spec.min_args, spec.max_args):
            if spec.arity is not None and spec.arity(n):
                continue
            combos = list(itertools.islice(itertools.product(range(len(SAMPLES)), repeat=n), 200))
            combos += [tuple(rng.randrange(len(SAMPLES)) for _ in range(n)) for _ in range(200)]
            for combo in combos:
                args = ", ".join(f"[{NAMES[i]}]" for i in combo)
                expr = compile_expression(f"{spec.name}({args})", dialect=dialect)
                try:
                    expr.evaluate(attrs, ctx)
                except ExpressionEvaluationError as err:
                    assert err.function, err
                checked += 1
    assert checked > 1000


def test_null_behaviour_follows_the_references() -> None:
    # Left, Mid, Word, PadLeft, PadRight: "If string is null, return empty string" (unpadded)
    for text in ("Left([a], 2)", "Mid([a], 1, 2)", 'Word([a], 1, " ")'):
        assert compile_expression(text).evaluate({}) == ""
    for text in ('PadLeft([a], 3, "0")', 'PadRight([a], 3, "0")'):
        assert compile_expression(text, dialect="connect").evaluate({}) == ""
    assert compile_expression('PadLeft([a], 3, "0")', dialect="connect").evaluate({"a": ""}) == "000"
    # most functions pass null through
    for text in ("ToLower([a])", "Trim([a])", "NormalizeDiacritics([a])", "CStr([a])", 'Split([a], ",")'):
        assert compile_expression(text).evaluate({}) is None
    assert compile_expression("IsPresent([a])").evaluate({"a": []}) is False
    assert compile_expression("Count([a])").evaluate({}) == 0


def test_empty_strings_are_values_but_not_present() -> None:
    assert compile_expression("IsNull([a])").evaluate({"a": ""}) is False
    assert compile_expression("IsPresent([a])").evaluate({"a": ""}) is False
    assert compile_expression("Coalesce([a], [b])").evaluate({"a": "", "b": "x"}) == ""
    assert compile_expression('Join("-", [a], [b])').evaluate({"a": "", "b": "x"}) == "x"


@pytest.mark.parametrize(
    ("text", "attrs", "expected"),
    [
        ('Join(" ", [givenName], [sn])', {"givenName": "Иван", "sn": "Петров"}, "Иван Петров"),
        ("PCase([n])", {"n": "иван ПЕТРОВ"}, "Иван Петров"),
        ("ToUpper([n])", {"n": "ελένη"}, "ΕΛΈΝΗ"),
        ('Switch([dept], "?", "営業", "Sales", "開発", "Engineering")', {"dept": "開発"}, "Engineering"),
        ('Join("", [a], [b])', {"a": "مرحبا", "b": " بالعالم"}, "مرحبا بالعالم"),
        # characters are Unicode code points: an emoji is one character, a flag is two
        ("Left([s], 1)", {"s": "😀x"}, "😀"),
        ("Mid([s], 2, 1)", {"s": "a😀b"}, "😀"),
        ('Word([s], 2, " ")', {"s": "🇳🇿 kia ora"}, "kia"),
        ("ToLower([s])", {"s": "ÅSA 👍"}, "åsa 👍"),
        ("StripSpaces([s])", {"s": "Zoë\u00a0Ann Lee"}, "Zoë\u00a0AnnLee"),  # only U+0020 is a space here
        ('InStr([s], "e\u0301")', {"s": "Rene\u0301"}, 4),  # combining marks are characters of their own
    ],
)
def test_unicode(text: str, attrs: dict[str, Any], expected: Any) -> None:
    assert compile_expression(text).evaluate(attrs) == expected


def test_connect_length_counts_code_points() -> None:
    assert compile_expression("Len([s])", dialect="connect").evaluate({"s": "Zoë👩🏽"}) == 5


def test_very_long_strings() -> None:
    long = ("Zoë Åström-Müller " * 60_000).strip()  # about a million characters
    assert compile_expression("Len(Trim([s]))", dialect="connect").evaluate({"s": long}) == len(long)
    normalized = compile_expression("NormalizeDiacritics([s])").evaluate({"s": long})
    assert len(normalized) == len(long) and "ë" not in normalized and normalized.startswith("Zoe Astrom-Muller")
    joined = compile_expression('Join("|", [s], [s])').evaluate({"s": long})
    assert len(joined) == 2 * len(long) + 1
    parts = compile_expression('Split([s], " ")').evaluate({"s": long})
    assert len(parts) == 120_000
    assert compile_expression('Replace([s], "Zoë", , , "Z", , )').evaluate({"s": long}).count("Z ") == 60_000
    assert compile_expression("Left([s], 3)").evaluate({"s": long}) == "Zoë"


def test_multi_valued_values_through_functions() -> None:
    attrs = {"p": ["SMTP:A@X.COM", "smtp:b@x.com", "SMTP:A@X.COM"]}
    assert compile_expression("Count(RemoveDuplicates([p]))").evaluate(attrs) == 2
    assert compile_expression("ToLower([p])", multivalued=["p"]).evaluate(attrs) == [
        "smtp:a@x.com",
        "smtp:b@x.com",
        "smtp:a@x.com",
    ]
    assert compile_expression("Item([p], 2)").evaluate(attrs) == "smtp:b@x.com"
    assert compile_expression("IsPresent([p])").evaluate(attrs) is True
    # a single value counts as one value
    assert compile_expression("Count([p])").evaluate({"p": "x"}) == 1


def test_evaluation_errors_name_the_function_and_the_reason() -> None:
    cases = [
        ('CDate("not a date")', "CDate", "'not a date' is not a date/time"),
        ('FormatDateTime([d], , "yyyyMMdd", "yyyy")', "FormatDateTime", "does not match the date/time format"),
        ("Left([s], [n])", "Left", "'x' is not a number"),
        ('ConvertFromBase64("***")', "ConvertFromBase64", "not base64"),
        ("DateFromNum(9223372036854775807)", "DateFromNum", "outside the range of dates"),
        ("Item([p], 0)", "Item", "out of range"),
    ]
    for text, function, reason in cases:
        with pytest.raises(ExpressionEvaluationError) as info:
            compile_expression(text).evaluate({"d": "2020", "s": "abc", "n": "x", "p": ["a"]})
        assert info.value.function == function
        assert str(info.value).startswith(f"{function}: ")
        assert reason in str(info.value)


def test_a_constant_that_always_fails_still_fails_only_when_evaluated() -> None:
    # the failing branch is never taken, so the expression is valid
    expr = compile_expression('IIF([a] = "x", "ok", CDate("never"))')
    assert expr.evaluate({"a": "x"}) == "ok"
    with pytest.raises(ExpressionEvaluationError, match="CDate"):
        expr.evaluate({"a": "y"})


def test_every_function_has_a_unique_name_per_dialect_and_documentation() -> None:
    for dialect in ("entra", "connect"):
        names = [i.name.lower() for i in list_functions(dialect)]
        assert len(names) == len(set(names))


def test_unknown_variable_and_misplaced_binder() -> None:
    with pytest.raises(ExpressionValidationError, match="unknown variable \\$x"):
        compile_expression("Trim($x)", dialect="connect")
    with pytest.raises(ExpressionValidationError, match="must be a variable"):
        compile_expression("Select([a], [b], Trim([a]))", dialect="connect")
    with pytest.raises(ExpressionValidationError, match="connect dialect"):
        compile_expression("Trim($x)")


def test_a_sentinel_takes_effect_from_inside_other_functions() -> None:
    expr = compile_expression('Join(",", IgnoreFlowIfNullOrEmpty([a]), [b])')
    assert expr.evaluate({"b": "x"}) is IGNORE_THIS_FLOW
    assert expr.evaluate({"a": "y", "b": "x"}) == "y,x"


def test_redact_marks_the_expression() -> None:
    expr = compile_expression("Redact([employeeId])")
    assert expr.redacted and expr.evaluate({"employeeId": "E1"}) == "E1"
    assert not compile_expression("[employeeId]").redacted


def test_reference_page_lists_every_function() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "expressions.md").read_text(encoding="utf-8")
    for dialect in ("entra", "connect"):
        for info in list_functions(dialect):
            assert f"`{info.signature}`" in page, info.signature
