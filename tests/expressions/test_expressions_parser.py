"""Parse errors point at the offending text; configuration positions carry through; any input either compiles
or raises the documented error types."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idsync.expressions import (
    EvalContext,
    ExpressionEvaluationError,
    ExpressionSyntaxError,
    ExpressionValidationError,
    compile_expression,
    list_functions,
)


@pytest.mark.parametrize(
    ("text", "message", "column", "width"),
    [
        ('Join(" ", [a] [b])', "expected ',' or ')' in the call to Join", 15, 3),
        ('Join(" ", [a]', "expected ',' or ')' in the call to Join", 14, 1),
        ('"unterminated', "unterminated string", 1, 1),
        ("[givenName", "unterminated attribute reference", 1, 1),
        ("[]", "empty attribute reference", 1, 2),
        ("", "the expression is empty", 1, 1),
        ("   ", "the expression is empty", 4, 1),
        ('[a] == "x"', "use = to compare", 5, 2),
        ('[a] != "x"', "use <> for 'not equal'", 5, 2),
        ("'x'", "double quotes", 1, 1),
        ("\u201cx\u201d", "curly quote", 1, 1),
        ('[a] = "x" And [b] = "y"', "use && for 'and'", 11, 3),
        ("IIF([a], 1, 2) x", "after a complete expression", 16, 1),
        ("(1 & 2", "expected ')' to close the '(' at column 1", 7, 1),
        ("Left([a], 2", "expected ',' or ')'", 12, 1),
        ("12abc", "malformed number", 1, 5),
        ("@", "unexpected character '@'", 1, 1),
        ("$", "expected a variable name", 1, 1),
        ("%Domain", "unterminated parameter", 1, 1),
        ("*", "expected a value", 1, 1),
    ],
)
def test_syntax_errors_point_at_the_fault(text: str, message: str, column: int, width: int) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        compile_expression(text, dialect="connect")
    err = info.value
    assert message in err.message
    assert err.line == 1
    assert err.column == column
    source_line, marker = err.caret.split("\n")
    assert source_line == text.split("\n")[0]
    assert marker == " " * (column - 1) + "^" * width


def test_multi_line_expression_reports_the_right_line() -> None:
    text = 'Switch([Active], ,\n  "1", IIF([x] > 5, "False", "True"),\n  "0" "False")'
    with pytest.raises(ExpressionSyntaxError) as info:
        compile_expression(text)
    err = info.value
    assert (err.line, err.column) == (3, 7)
    assert err.caret == '  "0" "False")\n      ^^^^^^^'


def test_origin_offsets_positions_into_the_configuration_file() -> None:
    with pytest.raises(ExpressionValidationError) as info:
        compile_expression('Join(" ", [a], Nope([b]))', origin=("idsync.yaml", 12, 20))
    err = info.value
    assert (err.file, err.line, err.column) == ("idsync.yaml", 12, 20 + 15)
    assert str(err).startswith("idsync.yaml:12:35: unknown function Nope")
    with pytest.raises(ExpressionSyntaxError) as info2:
        compile_expression('Join(" ",\n [a] [b])', origin=("idsync.yaml", 12, 20))
    # on a later line the column is the expression's own (a YAML block scalar starts each line afresh)
    assert (info2.value.line, info2.value.column) == (13, 6)
    assert "idsync.yaml:13:6" in str(info2.value)


def test_validation_errors_for_arity_and_empty_arguments() -> None:
    with pytest.raises(ExpressionValidationError) as info:
        compile_expression('IIF([a] = "x", "y")')
    assert "IIF takes 3 arguments (IIF(condition, valueIfTrue, valueIfFalse)), got 2" in info.value.message
    assert info.value.caret.split("\n")[1] == "^^^"
    with pytest.raises(ExpressionValidationError, match="argument 2 of IIF is empty"):
        compile_expression('IIF([a] = "x", , "y")')


@pytest.mark.parametrize(
    ("text", "dialect", "message", "column", "width"),
    [
        # a constant that is no number where a number is taken fails every object, so it fails validation
        ('Left([a], "three")', "entra", "argument 2 of Left must be a number, got 'three'", 11, 7),
        ('IIF([a] = "x", Mid([b], "one", 2), [b])', "entra", "must be a number", 25, 5),  # even in a branch
        ('DateAdd("d", "seven", CDate([hired]))', "entra", "must be a number", 14, 7),
        ('Item([proxyAddresses], "first")', "entra", "must be a number", 24, 7),
        ('RandomString(10, 2, "two", 2, 1)', "entra", "must be a number", 21, 5),
        ('Split([a], ",", "all")', "connect", "must be a number", 17, 5),
        # and so does a constant option the function does not know
        ('DateAdd("fortnight", 1, CDate([hired]))', "entra", "interval must be one of", 9, 11),
        ('InStr([a], "b", 1, "vbCaseCompare")', "entra", "compare must be", 20, 15),
        ('FormatDateTime([d], , "yyyy\'", "yyyy")', "entra", "unterminated quoted literal", 23, 7),
        ('FormatDateTime([d], "yyyy", "yyyy\'")', "entra", "unterminated quoted literal", 29, 7),
        ('FormatDateTime([d], "Bogus", "yyyy", "yyyy")', "entra", "not a DateTimeStyles value", 21, 7),
        ('Replace([a], , "(unclosed", , "x", , )', "entra", "invalid regular expression", 16, 11),
        ('Replace([a], , "(?<n>x)", , "${m}", , )', "entra", "does not name", 29, 6),
        ('Contains([p], "x", "IgnoreCase")', "connect", "case type must be", 20, 12),
    ],
)
def test_a_bad_constant_argument_fails_validation_at_it(
    text: str, dialect: str, message: str, column: int, width: int
) -> None:
    with pytest.raises(ExpressionValidationError, match=re.escape(message)) as info:
        compile_expression(text, dialect=dialect)
    assert info.value.column == column
    assert info.value.caret.split("\n")[1] == " " * (column - 1) + "^" * width


def test_numeric_text_and_computed_numbers_are_numbers() -> None:
    assert compile_expression('Left([a], "3")').evaluate({"a": "abcdef"}) == "abc"
    assert compile_expression('Left([a], InStr([a], "d"))').evaluate({"a": "abcdef"}) == "abcd"
    with pytest.raises(ExpressionValidationError, match="Coalesce takes at least 1 argument \\("):
        compile_expression("Coalesce()")


def test_unknown_function_suggests_a_close_name() -> None:
    with pytest.raises(ExpressionValidationError, match="did you mean NormalizeDiacritics"):
        compile_expression("NormaliseDiacritics([a])")


def test_bare_words_that_are_not_constants() -> None:
    with pytest.raises(ExpressionValidationError, match=r"attributes are written in brackets: \[givenName\]"):
        compile_expression("givenName")
    with pytest.raises(ExpressionValidationError, match="is a function: call it"):
        compile_expression("ToLower")


def test_nesting_is_bounded() -> None:
    deep = "ToLower(" * 150 + "[a]" + ")" * 150
    with pytest.raises(ExpressionSyntaxError, match="nests deeper than"):
        compile_expression(deep)
    long_chain = " & ".join(["[a]"] * 500)
    with pytest.raises(ExpressionSyntaxError, match="nests deeper than"):
        compile_expression(long_chain)
    assert compile_expression(" & ".join(["[a]"] * 50)).evaluate({"a": "x"}) == "x" * 50


def test_function_names_are_case_insensitive() -> None:
    # Microsoft's own pages write switch(...) and IsNullorEmpty(...)
    assert compile_expression('switch([a], "d", "k", "v")').evaluate({"a": "k"}) == "v"


ALPHABET = st.sampled_from(
    list('[]()",&=<>+-*/%$\\ \n\t') + list("abcIFJoinSwitch019_.") + ["IIF(", "Join(", "[a]", '"x"', "&H", "é", "😀"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(ALPHABET, max_size=40).map("".join), st.sampled_from(["entra", "connect"]))
def test_any_input_compiles_or_raises_a_parse_or_validation_error(text: str, dialect: str) -> None:
    try:
        compile_expression(text, dialect=dialect)
    except (ExpressionSyntaxError, ExpressionValidationError) as err:
        assert err.line >= 1 and err.column >= 1
        assert "^" in err.caret


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.sampled_from(["entra", "connect"]))
def test_any_unicode_text_compiles_or_raises_a_parse_or_validation_error(text: str, dialect: str) -> None:
    try:
        compile_expression(text, dialect=dialect)
    except (ExpressionSyntaxError, ExpressionValidationError):
        pass


# -- structured fuzzing: expressions built from the real function names -----------------------------------------

_FUNCTION_NAMES = sorted({i.name for d in ("entra", "connect") for i in list_functions(d)})
_LEAVES = st.one_of(
    st.sampled_from(["[a]", "[b]", "[mv]", "[missing]", "NULL", "True", "&HFF", "-3", "$item", "%Domain.FQDN%"]),
    st.integers(min_value=-5, max_value=300).map(str),
    st.text(alphabet="ab ,:-@é😀\\", max_size=6).map(lambda t: '"' + t.replace("\\", "\\\\") + '"'),
)


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    call = st.tuples(st.sampled_from(_FUNCTION_NAMES), st.lists(st.one_of(children, st.just("")), max_size=5)).map(
        lambda t: f"{t[0]}({', '.join(t[1])})"
    )
    binary = st.tuples(children, st.sampled_from(["&", "=", "<>", "<", ">=", "&&", "||", "+", "*"]), children).map(
        lambda t: f"{t[0]} {t[1]} {t[2]}"
    )
    return st.one_of(call, binary, children.map(lambda c: f"({c})"))


EXPRESSIONS = st.recursive(_LEAVES, _combine, max_leaves=12)
ATTRS = {"a": "Zoë Åström", "b": "42", "mv": ["x", " y ", "x"]}


@settings(max_examples=600, deadline=None)
@given(EXPRESSIONS, st.sampled_from(["entra", "connect"]))
def test_generated_expressions_compile_or_fail_cleanly_and_evaluate_or_fail_cleanly(text: str, dialect: str) -> None:
    try:
        expr = compile_expression(text, dialect=dialect, multivalued=["mv"])
    except (ExpressionSyntaxError, ExpressionValidationError):
        return
    ctx = EvalContext(now=datetime(2024, 1, 1, tzinfo=UTC), parameters={"Domain.FQDN": "contoso.com"})
    try:
        expr.evaluate(ATTRS, ctx)
    except ExpressionEvaluationError as err:
        assert err.function
