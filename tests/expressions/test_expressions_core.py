"""The core of the language: literals, attribute references, operators, IIF, Join, Switch, Coalesce, case and
diacritics, sentinels, and what compile_expression reports about an expression."""

from __future__ import annotations

from typing import Any

import pytest

from idsync.expressions import (
    AUTHORITATIVE_NULL,
    IGNORE_THIS_FLOW,
    Dialect,
    ExpressionError,
    ExpressionEvaluationError,
    ExpressionValidationError,
    compile_expression,
)


def ev(text: str, attrs: dict[str, Any] | None = None, dialect: str = "entra", **kw: Any) -> Any:
    return compile_expression(text, dialect=dialect, **kw).evaluate(attrs or {})


# -- literals and references ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"United States"', "United States"),
        ('"Company name: \\"Contoso\\""', 'Company name: "Contoso"'),  # the reference's escaping example
        ('"back\\\\slash"', "back\\slash"),
        ('"\\d{10}"', "\\d{10}"),  # other backslashes stay, so regex patterns read as written
        ("98052", 98052),
        ("&HFF", 255),
        ("-10", -10),
        ("True", True),
        ("false", False),
        ('""', ""),
    ],
)
def test_literals(text: str, expected: Any) -> None:
    assert ev(text, dialect="connect") == expected


def test_attribute_values_pass_through_unchanged() -> None:
    assert ev("[givenName]", {"givenName": "Zoë"}) == "Zoë"
    assert ev("[count]", {"count": 7}) == 7
    assert ev("[blob]", {"blob": b"\x00\x01"}) == b"\x00\x01"
    assert ev("[proxyAddresses]", {"proxyAddresses": ["SMTP:a@x", "smtp:b@x"]}) == ["SMTP:a@x", "smtp:b@x"]
    assert ev("[missing]", {}) is None


def test_attribute_names_are_case_insensitive_and_reported_as_the_engine_spells_them() -> None:
    expr = compile_expression('Join(" ", [GIVENNAME], [Sn])', attributes=["givenName", "sn"])
    assert expr.references == frozenset({"givenName", "sn"})
    assert expr.evaluate({"givenName": "John", "sn": "Doe"}) == "John Doe"
    # without a declared attribute list, the lookup itself is case-insensitive
    assert ev("[GIVENNAME]", {"givenName": "John"}) == "John"


def test_unknown_attribute_fails_validation_with_a_suggestion() -> None:
    with pytest.raises(ExpressionValidationError) as info:
        compile_expression('Join(" ", [givenNmae], [sn])', attributes=["givenName", "sn"])
    err = info.value
    assert "unknown attribute [givenNmae]" in str(err)
    assert "did you mean [givenName]" in str(err)
    assert (err.line, err.column) == (1, 11)
    assert err.caret.splitlines()[1] == " " * 10 + "^" * len("[givenNmae]")


def test_direct_attribute_and_constant_flags() -> None:
    assert compile_expression("[mail]").direct_attribute == "mail"
    assert compile_expression("[MAIL]", attributes=["mail"]).direct_attribute == "mail"
    assert compile_expression("LCase([mail])", dialect="connect").direct_attribute is None
    assert compile_expression('Join("@", "a", "contoso.com")').is_constant
    assert not compile_expression('Join("@", [a], "contoso.com")').is_constant
    assert compile_expression("[a]").references == frozenset({"a"})


def test_constant_folding_gives_the_same_value() -> None:
    expr = compile_expression('ToLower(Join(".", "John", "Smith"))')
    assert expr.is_constant
    assert expr.evaluate({}) == "john.smith"


# -- operators ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "attrs", "expected"),
    [
        ('"t-" & [alias]', {"alias": "jdoe"}, "t-jdoe"),
        ('"t-" & [alias]', {}, "t-"),  # null joins as nothing, as VBA's & does
        ("[a] & 1 & True", {"a": "x"}, "x1True"),
        ('[a] = "x"', {"a": "x"}, True),
        ('[a] = "X"', {"a": "x"}, False),  # case-sensitive
        ('[a] <> "X"', {"a": "x"}, True),
        ('[a] = ""', {}, False),  # a condition on a null attribute fails (Entra's documented IIF limitation)
        ('[a] <> ""', {}, False),
        ("[n] = 2", {"n": "2"}, True),  # numeric text compares as a number
        ("[n] > 50000", {"n": 60000}, True),
        ("[n] >= 3", {"n": 2}, False),
        ("[n] < 3", {"n": 2}, True),
        ("[n] <= 2", {"n": 2}, True),
        ('"abc" < "abd"', {}, True),
        ("[flag] = True", {"flag": True}, True),
        ("[flag] = True", {"flag": "true"}, True),
        ('[a] = "x" && [b] = "y"', {"a": "x", "b": "y"}, True),
        ('[a] = "x" && [b] = "y"', {"a": "x", "b": "z"}, False),
        ('[a] = "q" || [b] = "y"', {"a": "x", "b": "y"}, True),
        ("2 * (5 + 3)", {}, 16),
        ("5 - 2 * 3", {}, 9),  # Connect: one priority, left to right ("the * is not evaluated before -")
        ("7 + [n]", {"n": "3"}, 10),
        ("10 / 4", {}, 2.5),
        ('"CN=" + [cn]', {"cn": "x"}, "CN=x"),
    ],
)
def test_operators(text: str, attrs: dict[str, Any], expected: Any) -> None:
    assert ev(text, attrs, dialect="connect") == expected


def test_logical_operators_short_circuit() -> None:
    # the right side would fail (Error) if it were evaluated
    assert ev('[a] = "x" || Error("never")', {"a": "x"}, dialect="connect") is True
    assert ev('[a] = "y" && Error("never")', {"a": "x"}, dialect="connect") is False


def test_arithmetic_is_refused_in_the_entra_dialect() -> None:
    with pytest.raises(ExpressionValidationError, match="arithmetic operator \\+ is not part of the entra"):
        compile_expression("1 + 2")


def test_operator_errors_name_the_operator() -> None:
    with pytest.raises(ExpressionEvaluationError, match="operator -") as info:
        ev("[a] - 1", {"a": "abc"}, dialect="connect")
    assert info.value.function == "operator -"
    with pytest.raises(ExpressionEvaluationError, match="division by zero"):
        ev("[a] / 0", {"a": 1}, dialect="connect")


# -- IIF ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "attrs", "expected"),
    [
        ('IIF([country]="USA",[country],[department])', {"country": "USA", "department": "Sales"}, "USA"),
        ('IIF([country]="USA",[country],[department])', {"country": "NZ", "department": "Sales"}, "Sales"),
        ('IIF([country]="USA",IIF([state]="CA","True","False"),"False")', {"country": "USA", "state": "CA"}, "True"),
        ('IIF([country]="USA",IIF([state]="CA","True","False"),"False")', {"country": "USA", "state": "WA"}, "False"),
        ('IIF([country]="USA","True",IIF([state]="CA","True","False"))', {"country": "NZ", "state": "CA"}, "True"),
        ('IIF([employeeType]="Intern","t-" & [alias],[alias])', {"employeeType": "Intern", "alias": "bob"}, "t-bob"),
        ('IIF([employeeType]="Intern","t-" & [alias],[alias])', {"employeeType": "FTE", "alias": "bob"}, "bob"),
    ],
)
def test_iif_reference_examples(text: str, attrs: dict[str, Any], expected: Any) -> None:
    assert ev(text, attrs) == expected


def test_iif_evaluates_only_the_chosen_branch() -> None:
    expr = compile_expression('IIF([ok] = "yes", [accountName], Error("AccountName is required"))', dialect="connect")
    assert expr.evaluate({"ok": "yes", "accountName": "jdoe"}) == "jdoe"
    with pytest.raises(ExpressionEvaluationError, match="Error: AccountName is required") as info:
        expr.evaluate({"accountName": "jdoe"})
    assert info.value.function == "Error"


def test_iif_condition_must_be_boolean() -> None:
    with pytest.raises(ExpressionEvaluationError, match="IIF: 'yes' is not a boolean"):
        ev('IIF([a], "t", "f")', {"a": "yes"})
    assert ev('IIF([a], "t", "f")', {"a": "True"}) == "t"
    assert ev('IIF([a], "t", "f")', {"a": 0}) == "f"
    assert ev('IIF([a], "t", "f")', {}) == "f"


# -- Join --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "attrs", "expected"),
    [
        ('Join(", ", "", [surname], [givenName])', {"givenName": "John", "surname": "Doe"}, "Doe, John"),
        ('Join(" ", [givenName], [surname])', {"givenName": "John"}, "John"),
        ('Join(";", [proxyAddresses], [mail])', {"proxyAddresses": ["a", "b"], "mail": "c"}, "a;b;c"),
        ('Join("", [a], [b])', {"a": "x", "b": 1}, "x1"),
        ('Join(".", [a])', {}, ""),
    ],
)
def test_join_entra(text: str, attrs: dict[str, Any], expected: Any) -> None:
    assert ev(text, attrs) == expected


@pytest.mark.parametrize(
    ("text", "attrs", "expected"),
    [
        (
            'Join([proxyAddresses],",")',
            {"proxyAddresses": ["SMTP:john.doe@contoso.com", "smtp:jd@contoso.com"]},
            "SMTP:john.doe@contoso.com,smtp:jd@contoso.com",
        ),
        ("Join([otherMobile])", {"otherMobile": ["1", "2"]}, "1 2"),  # the delimiter defaults to a space
        ('Join([otherMobile], "")', {"otherMobile": ["1", "2"]}, "12"),
        ("Join([otherMobile])", {}, None),
    ],
)
def test_join_connect(text: str, attrs: dict[str, Any], expected: Any) -> None:
    assert ev(text, attrs, dialect="connect") == expected


def test_join_arity_follows_each_dialect() -> None:
    with pytest.raises(ExpressionValidationError, match="Join takes at least 2 arguments"):
        compile_expression("Join([a])")
    with pytest.raises(ExpressionValidationError, match="Join takes 1 to 2 arguments"):
        compile_expression('Join(" ", [a], [b])', dialect="connect")


# -- case and diacritics ----------------------------------------------------------------------------------------


def test_to_lower_reference_example() -> None:
    text = (
        'ToLower(Join("@", NormalizeDiacritics(Join(".",  [PreferredFirstName], [PreferredLastName])), "contoso.com"))'
    )
    assert ev(text, {"PreferredFirstName": "John", "PreferredLastName": "Smith"}) == "john.smith@contoso.com"


def test_case_functions() -> None:
    assert ev('LCase("TeSt")', dialect="connect") == "test"
    assert ev('UCase("TeSt")', dialect="connect") == "TEST"
    # .NET maps one character to one character: no final-sigma rule, and ß has no single upper-case letter
    assert ev('ToUpper("straße")') == "STRAßE"
    assert ev('ToLower("ΟΔΥΣΣΕΥΣ")') == "οδυσσευσ"
    assert ev('ToLower("İSTANBUL")') == "istanbul"
    assert ev('ToLower("ISTANBUL", "tr-TR")') == "ıstanbul"
    assert ev('ToUpper("istanbul", "tr-TR")') == "İSTANBUL"
    assert ev("ToLower([a])", {}) is None


# The reference's table, both columns. Expected values are the table's.
NORMALIZE_TABLE = [
    ("ä, à, â, ã, å, á, ą, ă, ā, ā́, ā̀, ā̂, ā̃, ǟ, ā̈, ǡ, a̱, å̄", "a"),
    ("Ä, À, Â, Ã, Å, Á, Ą, Ă, Ā, Ā́, Ā̀, Ā̂, Ā̃, Ǟ, Ā̈, Ǡ, A̱, Å̄", "A"),
    ("æ, ǣ", "ae"),
    ("Æ, Ǣ", "AE"),
    ("ç, č, ć, c̄, c̱", "c"),
    ("Ç, Č, Ć, C̄, C̱", "C"),
    ("ď, d̄, ḏ", "d"),
    ("Ď, D̄, Ḏ", "D"),
    ("ë, è, é, ê, ę, ě, ė, ē, ḗ, ḕ, ē̂, ē̃, ê̄, e̱, ë̄, e̊̄", "e"),
    ("Ë, È, É, Ê, Ę, Ě, Ė, Ē, Ḗ, Ḕ, Ē̂, Ē̃, Ê̄, E̱, Ë̄, E̊̄", "E"),
    ("ğ, ḡ, g̱", "g"),
    ("Ğ, Ḡ, G̱", "G"),
    ("ï, î, ì, í, ı, ī, ī́, ī̀, ī̂, ī̃, i̱", "i"),
    ("Ï, Î, Ì, Í, İ, Ī, Ī́, Ī̀, Ī̂, Ī̃, I̱", "I"),
    ("ľ, ł, l̄, ḹ, ḻ", "l"),
    ("Ł, Ľ, L̄, Ḹ, Ḻ", "L"),
    ("ñ, ń, ň, n̄, ṉ", "n"),
    ("Ñ, Ń, Ň, N̄, Ṉ", "N"),
    ("ö, ò, ő, õ, ô, ó, ō, ṓ, ṑ, ō̂, ō̃, ȫ, ō̈, ǭ, ȭ, ȱ, o̱", "o"),
    ("Ö, Ò, Ő, Õ, Ô, Ó, Ō, Ṓ, Ṑ, Ō̂, Ō̃, Ȫ, Ō̈, Ǭ, Ȭ, Ȱ, O̱", "O"),
    ("ø, ø̄, œ̄", "oe"),
    ("Ø, Ø̄, Œ̄", "OE"),
    ("ř, r̄, ṟ, ṝ", "r"),
    ("Ř, R̄, Ṟ, Ṝ", "R"),
    ("ß", "ss"),
    ("š, ś, ș, ş, s̄, s̱", "s"),
    ("Š, Ś, Ș, Ş, S̄, S̱", "S"),
    ("ť, ț, t̄, ṯ", "t"),
    ("Ť, Ț, T̄, Ṯ", "T"),
    ("ü, ù, û, ú, ů, ű, ū, ū́, ū̀, ū̂, ū̃, u̇̄, ǖ, ṻ, ṳ̄, u̱", "u"),
    ("Ü, Ù, Û, Ú, Ů, Ű, Ū, Ū́, Ū̀, Ū̂, Ū̃, U̇̄, Ǖ, Ṻ, Ṳ̄, U̱", "U"),
    ("ÿ, ý, ȳ, ȳ́, ȳ̀, ȳ̃, y̱", "y"),
    ("Ÿ, Ý, Ȳ, Ȳ́, Ȳ̀, Ȳ̃, Y̱", "Y"),
    ("ź, ž, ż, z̄, ẕ", "z"),
    ("Ź, Ž, Ż, Z̄, Ẕ", "Z"),
]


@pytest.mark.parametrize(("characters", "normalized"), NORMALIZE_TABLE)
def test_normalize_diacritics_reference_table(characters: str, normalized: str) -> None:
    expr = compile_expression("NormalizeDiacritics([s])")
    for ch in characters.split(", "):
        assert expr.evaluate({"s": ch}) == normalized, ch


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Zoë", "Zoe"),  # the reference's sample
        ("Zoe\u0308", "Zoe"),  # the same name with a combining diaeresis
        ("José Müller-Lüdenscheidt", "Jose Muller-Ludenscheidt"),
        ("Ærøskøbing", "AEroeskoebing"),
        ("Йод", "Йод"),  # Cyrillic short i is a letter of its own, not an accented и
        ("がっこう", "がっこう"),  # the voicing mark is part of the kana
        ("Ελένη", "Ελένη"),
        ("李小龍", "李小龍"),
        ("Zoë 👩🏽‍💻", "Zoe 👩🏽‍💻"),
        ("", ""),
    ],
)
def test_normalize_diacritics_leaves_other_scripts_alone(given: str, expected: str) -> None:
    assert ev("NormalizeDiacritics([s])", {"s": given}) == expected


# -- Switch and Coalesce ----------------------------------------------------------------------------------------

STATE = (
    'Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney","QLD", "Australia/Brisbane", '
    '"SA", "Australia/Adelaide")'
)


@pytest.mark.parametrize(
    ("text", "attrs", "expected"),
    [
        (STATE, {"state": "QLD"}, "Australia/Brisbane"),
        (STATE, {"state": "SA"}, "Australia/Adelaide"),
        (STATE, {"state": "VIC"}, "Australia/Sydney"),
        (STATE, {"state": "qld"}, "Australia/Sydney"),  # case-sensitive
        ('Switch(ToLower([statusFlag]), "0", "true", "1", "false", "0")', {"statusFlag": "TRUE"}, "1"),
        ('Switch([statusFlag], "Default Value", "true", "1", "", "0")', {}, "0"),
        ('Switch([statusFlag], "Default Value", "true", "1", "", "0")', {"statusFlag": ""}, "0"),
        ('Switch([country],[country],"","Other")', {}, "Other"),
        ('Switch([country],[country],"","Other")', {"country": "NZ"}, "NZ"),
        ('Switch([Active], , "1", "True", "0", "False")', {"Active": "2"}, None),
        ('Switch([n], "none", 1, "one", 2, "two")', {"n": 2}, "two"),
        ('Switch([n], "none", [a], "dynamic")', {"n": "x", "a": "x"}, "dynamic"),
    ],
)
def test_switch_entra(text: str, attrs: dict[str, Any], expected: Any) -> None:
    assert ev(text, attrs) == expected


CITY = (
    'Switch([city] = "London", "English", [city] = "Rome", "Italian", [city] = "Paris", "French", '
    'True, Error("Unknown city"))'
)


def test_switch_connect_reference_example() -> None:
    expr = compile_expression(CITY, dialect="connect")
    assert expr.evaluate({"city": "Rome"}) == "Italian"
    assert expr.evaluate({"city": "Paris"}) == "French"
    with pytest.raises(ExpressionEvaluationError, match="Unknown city"):
        expr.evaluate({"city": "Oslo"})
    assert ev('Switch([a] = 1, "one")', {"a": 2}, dialect="connect") is None


def test_switch_connect_evaluates_every_condition() -> None:
    # "Switch evaluates all expressions, even though it returns only one of them ... if the evaluation of any
    # expression results in a division by zero error, an error occurs."
    expr = compile_expression('Switch([a] = "x", "first", 10 / [n] > 1, "second")', dialect="connect")
    assert expr.evaluate({"a": "y", "n": 2}) == "second"
    assert expr.evaluate({"a": "x", "n": 2}) == "first"
    with pytest.raises(ExpressionEvaluationError, match="division by zero"):
        expr.evaluate({"a": "x", "n": 0})


def test_switch_arguments_come_in_pairs() -> None:
    with pytest.raises(ExpressionValidationError, match="even number"):
        compile_expression('Switch([a], "d", "k", "v", "k2")')
    with pytest.raises(ExpressionValidationError, match="even number"):
        compile_expression('Switch([a] = 1, "one", True)', dialect="connect")


def test_coalesce() -> None:
    text = "Coalesce([mail],[userPrincipalName])"
    assert ev(text, {"userPrincipalName": "John.Doe@contoso.com"}) == "John.Doe@contoso.com"
    assert ev(text, {"mail": "j@x", "userPrincipalName": "u@x"}) == "j@x"
    assert ev('Coalesce([a], [b], "")', {}) == ""
    assert ev("Coalesce([a], [b])", {}) is None


# -- sentinels ---------------------------------------------------------------------------------------------------


def test_ignore_this_flow_and_authoritative_null() -> None:
    expr = compile_expression('IIF([c] = "", IgnoreThisFlow, [c])', dialect="connect")
    assert expr.evaluate({"c": ""}) is IGNORE_THIS_FLOW
    assert expr.evaluate({"c": "NZ"}) == "NZ"
    expr = compile_expression('IIF([c] = "x", AuthoritativeNull, NULL)', dialect="connect")
    assert expr.evaluate({"c": "x"}) is AUTHORITATIVE_NULL
    assert expr.evaluate({"c": "y"}) is None


def test_ignore_flow_if_null_or_empty() -> None:
    expr = compile_expression("IgnoreFlowIfNullOrEmpty([department])")
    assert expr.evaluate({}) is IGNORE_THIS_FLOW
    assert expr.evaluate({"department": ""}) is IGNORE_THIS_FLOW
    assert expr.evaluate({"department": "Sales"}) == "Sales"
    prefix = compile_expression(
        'IgnoreFlowIfNullOrEmpty(Switch([prefix], "", "3443", "Dr.", "3444", "Prof.", "3445", "Prof. Dr."))'
    )
    assert prefix.evaluate({"prefix": "3444"}) == "Prof."
    assert prefix.evaluate({"prefix": "9999"}) is IGNORE_THIS_FLOW


def test_connect_literals_are_refused_in_entra() -> None:
    with pytest.raises(ExpressionValidationError, match="IgnoreFlowIfNullOrEmpty"):
        compile_expression('IIF([a] = "", IgnoreThisFlow, [a])')


# -- dialect selection -------------------------------------------------------------------------------------------


def test_dialect_values() -> None:
    assert compile_expression("[a]").dialect is Dialect.ENTRA
    assert compile_expression("[a]", dialect="connect").dialect is Dialect.CONNECT
    with pytest.raises(ValueError, match="unknown expression dialect"):
        compile_expression("[a]", dialect="vb")


def test_function_of_the_other_dialect_is_named_as_such() -> None:
    with pytest.raises(ExpressionValidationError, match="LCase is a function of the connect dialect"):
        compile_expression("LCase([a])")
    with pytest.raises(ExpressionValidationError, match="Coalesce is a function of the entra dialect"):
        compile_expression("Coalesce([a], [b])", dialect="connect")


def test_app_role_functions_are_refused_with_the_reason() -> None:
    for name in ("AppRoleAssignmentsComplex", "SingleAppRoleAssignment"):
        with pytest.raises(ExpressionValidationError, match="app role assignments") as info:
            compile_expression(f"{name}([appRoleAssignments])")
        assert info.value.column == 1


def test_every_error_is_an_expression_error() -> None:
    for bad in ("Join(", "Nope([a])", "[a] [b]", '"open'):
        with pytest.raises(ExpressionError):
            compile_expression(bad)


# -- multi-valued attributes -------------------------------------------------------------------------------------


def test_a_multi_valued_attribute_where_one_value_is_expected_runs_per_value() -> None:
    expr = compile_expression('"x500:" & LCase([proxyAddresses])', dialect="connect", multivalued=["proxyAddresses"])
    assert expr.evaluate({"proxyAddresses": ["SMTP:A@X", "smtp:b@x"]}) == ["x500:smtp:a@x", "x500:smtp:b@x"]
    assert expr.evaluate({"proxyAddresses": "SMTP:A@X"}) == "x500:smtp:a@x"
    assert expr.evaluate({}) == "x500:"
    # a value made null per value is dropped from the result
    drop = compile_expression(
        'IIF(LCase([proxyAddresses]) = "sip:a@x", NULL, [proxyAddresses])',
        dialect="connect",
        multivalued=["proxyAddresses"],
    )
    assert drop.evaluate({"proxyAddresses": ["SMTP:a@x", "SIP:a@x"]}) == ["SMTP:a@x"]


def test_a_multi_valued_attribute_where_the_whole_value_is_expected_is_not_split() -> None:
    expr = compile_expression('Join([proxyAddresses], ",")', dialect="connect", multivalued=["proxyAddresses"])
    assert expr.evaluate({"proxyAddresses": ["a", "b"]}) == "a,b"
    entra = compile_expression('Join(",", [proxyAddresses])', multivalued=["proxyAddresses"])
    assert entra.evaluate({"proxyAddresses": ["a", "b"]}) == "a,b"


def test_two_multi_valued_attributes_as_single_values_fail_validation() -> None:
    with pytest.raises(ExpressionValidationError, match="multi-valued attributes"):
        compile_expression("[a] & [b]", dialect="connect", multivalued=["a", "b"])


def test_an_undeclared_multi_valued_value_is_an_evaluation_error_naming_the_function() -> None:
    with pytest.raises(ExpressionEvaluationError, match="LCase: got a multi-valued value with 2 values"):
        ev("LCase([a])", {"a": ["X", "Y"]}, dialect="connect")
