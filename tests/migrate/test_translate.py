"""MIM mappings and <fn> trees translated to the entra and connect dialects. Expected texts are written by hand
from the MIM 2016 functions reference, the Entra attribute-mapping expression reference and the Connect Sync
functions reference."""

from __future__ import annotations

import pytest

from idsync.migrate.model import (
    AttributeArg,
    ConstantMapping,
    DirectMapping,
    DnPartMapping,
    FnArg,
    FnCall,
    LiteralArg,
    ScriptedMapping,
    SyncRuleMapping,
)
from idsync.migrate.reader import read_export
from idsync.migrate.reader.flows import REDACTED
from idsync.migrate.translate import Dialect, translate_fn, translate_mapping

from .conftest import EXPORTS


def A(name: str) -> AttributeArg:
    return AttributeArg(name)


def S(value: str) -> LiteralArg:
    return LiteralArg(value, quoted=True)


def N(value: str) -> LiteralArg:
    return LiteralArg(value, quoted=False)


def F(name: str, *args: FnArg) -> FnCall:
    return FnCall(name, list(args))


CASES = [
    (F("+", A("givenName"), S(" "), A("sn")), 'Join("", [givenName], " ", [sn])', '[givenName] & " " & [sn]'),
    (F("UpperCase", A("sn")), "ToUpper([sn])", "UCase([sn])"),
    (F("LowerCase", A("mail")), "ToLower([mail])", "LCase([mail])"),
    (F("ProperCase", A("cn")), "PCase([cn])", "PCase([cn])"),
    (F("Trim", A("x")), "Trim([x])", "Trim([x])"),
    (F("Left", A("givenName"), N("1")), "Left([givenName], 1)", "Left([givenName], 1)"),
    (F("Mid", A("id"), N("3"), N("5")), "Mid([id], 3, 5)", "Mid([id], 3, 5)"),
    (F("Word", A("dn"), N("2"), S(",")), 'Word([dn], 2, ",")', 'Word([dn], 2, ",")'),
    (
        F("ReplaceString", A("phone"), S("-"), S("")),
        'Replace([phone], "-", , , "", , )',
        'Replace([phone], "-", "")',
    ),
    (F("ConvertSidToString", A("objectSid")), "StringFromSID([objectSid])", "StringFromSid([objectSid])"),
    (
        F("BitAnd", N("2"), A("userAccountControl")),
        "BitAnd(2, [userAccountControl])",
        "BitAnd(2, [userAccountControl])",
    ),
    (F("IsPresent", A("mail")), "IsPresent([mail])", "IsPresent([mail])"),
    (
        F("IIF", F("Eq", A("EmployeeType"), S("Intern")), F("+", S("t-"), A("Alias")), A("Alias")),
        'IIF([EmployeeType] = "Intern", Join("", "t-", [Alias]), [Alias])',
        'IIF([EmployeeType] = "Intern", "t-" & [Alias], [Alias])',
    ),
    (
        F("IIF", F("GreaterThanOrEquals", A("Salary"), N("100000")), S("high"), S("low")),
        'IIF([Salary] >= 100000, "high", "low")',
        'IIF([Salary] >= 100000, "high", "low")',
    ),
    (F("+", F("NotEquals", A("a"), A("b")), S("!")), 'Join("", ([a] <> [b]), "!")', '([a] <> [b]) & "!"'),
    (F("+", S('say "hi" \\ bye')), '"say \\"hi\\" \\\\ bye"', '"say ""hi"" \\ bye"'),
]


@pytest.mark.parametrize(("fn", "entra", "connect"), CASES)
def test_functions_in_both_dialects(fn: FnCall, entra: str, connect: str) -> None:
    assert translate_fn(fn, Dialect.ENTRA).text == entra
    assert translate_fn(fn, Dialect.CONNECT).text == connect


@pytest.mark.parametrize(
    ("fn", "connect"),
    [
        (F("RightPad", A("id"), N("10"), S("0")), 'PadRight([id], 10, "0")'),
        (F("LeftPad", A("id"), N("10"), S("0")), 'PadLeft([id], 10, "0")'),
        (F("Right", A("id"), N("3")), "Right([id], 3)"),
        (F("RandomNum", N("1000"), N("9999")), "RandomNum(1000, 9999)"),
        (F("EscapeDNComponent", A("cn")), "EscapeDNComponent([cn])"),
        (F("IIF", F("IsPresent", A("domain")), A("domain"), F("Null")), "IIF(IsPresent([domain]), [domain], NULL)"),
        (F("+", A("line1"), F("CRLF"), A("line2")), "[line1] & CRLF & [line2]"),
        (F("DateTimeFormat", A("hired"), S("yyyy-MM-dd")), 'FormatDateTime(CDate([hired]), "yyyy-MM-dd")'),
        (F("ConvertStringToGuid", A("guid")), "CGuid([guid])"),
    ],
)
def test_connect_only_functions_are_refused_in_entra(fn: FnCall, connect: str) -> None:
    assert translate_fn(fn, Dialect.CONNECT).text == connect
    entra = translate_fn(fn, Dialect.ENTRA)
    assert entra.text is None
    assert any("no equivalent in the entra dialect" in p for p in entra.problems)


def test_unknown_function_and_wrong_arity_are_reported() -> None:
    unknown = translate_fn(F("+", F("Soundex", A("sn")), F("Left", A("sn"))), Dialect.CONNECT)
    assert unknown.text is None
    assert unknown.problems == (
        "the MIM function 'Soundex' is not one this translator knows",
        "Left takes 2 argument(s), this one has 1",
    )
    assert translate_fn(F("Eq", A("a")), Dialect.ENTRA).problems == ("Eq takes 2 arguments, this one has 1",)


def test_mapping_kinds() -> None:
    assert translate_mapping(DirectMapping("givenName"), Dialect.ENTRA).text == "[givenName]"
    assert translate_mapping(DirectMapping("dn", intrinsic=True), Dialect.CONNECT).text == "[dn]"
    assert not translate_mapping(DirectMapping("object-id", intrinsic=True), Dialect.CONNECT).ok
    assert translate_mapping(ConstantMapping("US"), Dialect.ENTRA).text == '"US"'
    assert translate_mapping(DnPartMapping(3), Dialect.CONNECT).text == "DNComponent(CRef([dn]), 3)"
    assert translate_mapping(DnPartMapping(2), Dialect.ENTRA).text == "DNComponent([dn], 2)"
    scripted = translate_mapping(ScriptedMapping(["a"], "cd.user:x<-mv.person:a"), Dialect.ENTRA)
    assert scripted.text is None and "cd.user:x<-mv.person:a" in scripted.problems[0]
    secret = translate_mapping(SyncRuleMapping("constant", "{1}", constant=REDACTED), Dialect.CONNECT)
    assert secret.text is None and "secret" in secret.problems[0]


def test_translating_the_hand_written_exports() -> None:
    export = read_export(EXPORTS / "hr-sql-aad")
    aad = next(ma for ma in export.management_agents if ma.name == "Azure AD")
    flows = {f.cd_attribute: f.mapping for f in aad.export_flows}
    upn = flows["userPrincipalName"]
    assert (
        translate_mapping(upn, Dialect.ENTRA).text
        == 'Join("", ToLower(Join("", [givenName], ".", [sn])), "@contoso.com")'
    )
    assert translate_mapping(upn, Dialect.CONNECT).text == 'LCase([givenName] & "." & [sn]) & "@contoso.com"'
    assert translate_mapping(flows["alias"], Dialect.CONNECT).text == "LCase(Left([givenName], 1) & [sn])"
    assert translate_mapping(flows["usageLocation"], Dialect.ENTRA).text == '"US"'
    assert translate_mapping(flows["surname"], Dialect.ENTRA).text == "[sn]"
    assert export.metaverse is not None
    enabled = next(f for f in export.metaverse.import_flows if f.mv_attribute == "accountEnabled")
    assert translate_mapping(enabled.mapping, Dialect.CONNECT).text == 'IIF([Status] = "Active", "True", "False")'
