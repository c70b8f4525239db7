"""``idsync expr eval`` and ``idsync expr functions``, driven through click's runner."""

from __future__ import annotations

import json

from click.testing import CliRunner

from idsync.cli.expr import expr


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(expr, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_eval_prints_the_result() -> None:
    code, out, _ = run("eval", 'Join(" ", [givenName], [sn])', "--attr", "givenName=Zoë", "--attr", "sn=Lee")
    assert code == 0
    assert out == "Zoë Lee\n"


def test_eval_repeated_attribute_is_multi_valued() -> None:
    code, out, _ = run(
        "eval", "Trim([proxyAddresses])", "--dialect", "connect", "--attr", "proxyAddresses= a", "--attr",
        "proxyAddresses=b ", "--json",
    )  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    assert doc["ok"] is True
    assert doc["type"] == "multi-valued"
    assert doc["result"] == ["a", "b"]
    assert doc["references"] == ["proxyAddresses"]


def test_eval_reads_a_reference_attribute_as_one() -> None:
    # Connect's Contains matches a reference value whole; --reference says which attributes hold references
    member = "--attr=member=CN=Ann Lee,OU=Staff,DC=corp,DC=example"
    expression = 'Contains([member], "CN=Ann Lee")'
    assert run("eval", expression, "--dialect", "connect", member) == (0, "1\n", "")
    assert run("eval", expression, "--dialect", "connect", member, "--reference", "member") == (0, "0\n", "")


def test_eval_values_may_contain_equals_signs() -> None:
    code, out, _ = run("eval", "DNComponent([dn], 2)", "--attr", "dn=CN=Joe,OU=Sales,DC=x")
    assert (code, out) == (0, "Sales\n")


def test_eval_sentinels_and_nulls() -> None:
    assert run("eval", "IgnoreFlowIfNullOrEmpty([department])")[1] == "IgnoreThisFlow\n"
    code, out, _ = run("eval", "[missing]", "--json")
    assert json.loads(out)["type"] == "null" and code == 0
    assert run("eval", "[missing]")[1] == "(null)\n"


def test_eval_now_is_settable() -> None:
    code, out, _ = run("eval", "Now()", "--now", "2021-07-02T15:33:38Z")
    assert (code, out) == (0, "7/2/2021 3:33:38 PM\n")


def test_eval_syntax_error_exits_3_with_a_caret() -> None:
    code, out, err = run("eval", 'Join(" ", [a] [b])')
    assert code == 3
    assert out == ""
    assert "line 1, column 15" in err
    assert 'Join(" ", [a] [b])\n              ^^^' in err


def test_eval_validation_error_as_json() -> None:
    code, out, _ = run("eval", "LCase([a])", "--json")
    assert code == 3
    doc = json.loads(out)
    assert doc["ok"] is False
    assert doc["error"]["kind"] == "validation"
    assert doc["error"]["column"] == 1
    assert "connect dialect" in doc["error"]["message"]


def test_eval_evaluation_error_exits_1() -> None:
    code, out, err = run("eval", 'IIF(IsPresent([accountName]), [accountName], Error("AccountName is required"))')
    assert code == 1
    assert "Error: AccountName is required" in err
    code, out, _ = run("eval", 'CDate("soon")', "--json")
    assert code == 1
    assert json.loads(out)["error"] == {"kind": "evaluation", "message": "CDate: 'soon' is not a date/time",
                                        "function": "CDate"}  # fmt: skip


def test_eval_usage_errors_exit_4() -> None:
    assert run("eval", "[a]", "--attr", "novalue")[0] == 4
    assert run("eval", "[a]", "--now", "yesterday")[0] == 4


def test_functions_lists_signatures() -> None:
    code, out, _ = run("functions")
    assert code == 0
    assert "Join(separator, source1, source2, …)" in out
    assert "LCase" not in out
    code, out, _ = run("functions", "--dialect", "connect", "--json")
    doc = json.loads(out)
    names = {f["name"] for f in doc["functions"]}
    assert {"LCase", "Select", "Where", "With", "DNComponentRev"} <= names
    join = next(f for f in doc["functions"] if f["name"] == "Join")
    assert join["signature"] == "Join(attribute[, delimiter])"
