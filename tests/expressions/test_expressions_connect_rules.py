"""Microsoft's own Connect Sync default rules (the AADConnect Contoso export among the shared fixtures): every
expression in them compiles in the connect dialect, and the ones that carry identity decisions evaluate as AD's
documented semantics say they should."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from typing import Any

import pytest

from idsync.expressions import (
    IGNORE_THIS_FLOW,
    EvalContext,
    ExpressionEvaluationError,
    ExpressionValidationError,
    compile_expression,
)
from idsync.testing.fixtures import fixture_path, missing_reason

RULES = fixture_path("mim", "aadconnect-contoso", "SynchronizationRules")
MULTIVALUED = ["proxyAddresses", "userCertificate", "url", "description", "otherMobile", "member"]


def _expressions() -> list[str]:
    if not RULES.is_dir():
        pytest.skip(missing_reason(RULES))
    found: set[str] = set()
    for path in sorted(RULES.glob("*.xml")):
        for element in ET.parse(path).getroot().iter("expression"):
            if element.text and element.text.strip():
                found.add(element.text)
    return sorted(found)


def test_every_default_rule_expression_compiles_except_undocumented_functions() -> None:
    expressions = _expressions()
    assert len(expressions) > 80
    refused = {}
    for text in expressions:
        try:
            compile_expression(text, dialect="connect", multivalued=MULTIVALUED)
        except ExpressionValidationError as err:
            refused[text] = err.message
    # The device-key rule calls CBin and Thumbprint, which the functions reference does not document.
    assert len(refused) == 1
    (message,) = refused.values()
    assert message.startswith("unknown function CBin")


def rule(text: str) -> Any:
    expressions = _expressions()
    assert text in expressions, "the expression is quoted from the default rules"
    return compile_expression(text, dialect="connect", multivalued=MULTIVALUED)


def test_account_enabled_from_user_account_control() -> None:
    expr = rule("IIF(BitAnd([userAccountControl],2)=0,True,False)")
    assert expr.evaluate({"userAccountControl": 512}) is True  # NORMAL_ACCOUNT
    assert expr.evaluate({"userAccountControl": 514}) is False  # ACCOUNTDISABLE set
    assert expr.evaluate({"userAccountControl": "66048"}) is True  # as text, from an LDIF or CSV


def test_source_anchor_is_the_base64_of_the_object_guid() -> None:
    guid = bytes(range(16))
    assert rule("ConvertToBase64([objectGUID])").evaluate({"objectGUID": guid}) == base64.b64encode(guid).decode()


def test_account_name_falls_back_to_sam_account_name_at_the_domain() -> None:
    expr = rule(
        "IIF(IsPresent([userPrincipalName]),[userPrincipalName], IIF(IsPresent([sAMAccountName]),"
        '([sAMAccountName]&"@"&%Domain.FQDN%),Error("AccountName is not present")))'
    )
    ctx = EvalContext(parameters={"Domain.FQDN": "corp.contoso.com"})
    assert expr.evaluate({"userPrincipalName": "jdoe@contoso.com", "sAMAccountName": "jdoe"}, ctx) == "jdoe@contoso.com"
    assert expr.evaluate({"sAMAccountName": "jdoe"}, ctx) == "jdoe@corp.contoso.com"
    with pytest.raises(ExpressionEvaluationError, match="AccountName is not present"):
        expr.evaluate({}, ctx)


def test_password_last_set_as_generalized_time() -> None:
    expr = rule('IIF(IsPresent([pwdLastSet]),CStr(FormatDateTime(DateFromNum([pwdLastSet]),"yyyyMMddHHmmss.0Z")),NULL)')
    ticks = (datetime(2014, 9, 5, 8, 14, 53) - datetime(1601, 1, 1)) // timedelta(microseconds=1) * 10
    assert expr.evaluate({"pwdLastSet": ticks}) == "20140905081453.0Z"
    assert expr.evaluate({}) is None


def test_ignore_this_flow_when_the_country_is_missing() -> None:
    expr = rule("IIF(IsNullOrEmpty([countryCode]),IgnoreThisFlow,[countryCode])")
    assert expr.evaluate({}) is IGNORE_THIS_FLOW
    assert expr.evaluate({"countryCode": ""}) is IGNORE_THIS_FLOW
    assert expr.evaluate({"countryCode": "NZ"}) == "NZ"


def test_group_member_limit() -> None:
    expr = rule('IIF(([memberCount]> 50000),Error("Maximum Group member count exceeded"),IgnoreThisFlow)')
    assert expr.evaluate({"memberCount": 10}) is IGNORE_THIS_FLOW
    with pytest.raises(ExpressionEvaluationError, match="Maximum Group member count exceeded"):
        expr.evaluate({"memberCount": 50001})


def test_security_group_flag() -> None:
    expr = rule("CBool(BitAnd([groupType],-2147483648))")
    assert expr.evaluate({"groupType": -2147483646}) is True  # global security group
    assert expr.evaluate({"groupType": 2}) is False  # global distribution group


CLOUD_FILTERED = (
    "IIF(IsPresent([isCriticalSystemObject]) || IsPresent([sAMAccountName]) = False || [sAMAccountName] = "
    '"SUPPORT_388945a0" || Left([mailNickname], 14) = "SystemMailbox{" || Left([sAMAccountName], 4) = "AAD_" || '
    '(Left([mailNickname], 4) = "CAS_" && (InStr([mailNickname], "}") > 0)) || (Left([sAMAccountName], 4) = "CAS_" '
    '&& (InStr([sAMAccountName], "}") > 0)) || Left([sAMAccountName], 5) = "MSOL_" || '
    "CBool(IIF(IsPresent([msExchRecipientTypeDetails]),BitAnd([msExchRecipientTypeDetails],&H21C07000) > 0,NULL)) "
    '|| CBool(InStr(DNComponent(CRef([dn]),1),"\\\\0ACNF:")>0), True, NULL)'
)


@pytest.mark.parametrize(
    ("attrs", "filtered"),
    [
        ({"sAMAccountName": "jdoe", "dn": "CN=John Doe,OU=Staff,DC=contoso,DC=com"}, None),
        ({"dn": "CN=x,DC=contoso,DC=com"}, True),  # no sAMAccountName
        ({"sAMAccountName": "MSOL_1234", "dn": "CN=MSOL_1234,DC=contoso,DC=com"}, True),
        ({"sAMAccountName": "SUPPORT_388945a0", "dn": "CN=s,DC=contoso,DC=com"}, True),
        ({"sAMAccountName": "jdoe", "isCriticalSystemObject": True, "dn": "CN=j,DC=contoso,DC=com"}, True),
        ({"sAMAccountName": "CAS_{abc}", "dn": "CN=c,DC=contoso,DC=com"}, True),
        ({"sAMAccountName": "jdoe", "mailNickname": "SystemMailbox{1f05a927}", "dn": "CN=m,DC=c,DC=com"}, True),
        # a replication conflict object: the first RDN carries an escaped line feed and "CNF:"
        ({"sAMAccountName": "jdoe", "dn": "CN=John Doe\\0ACNF:1c7e7f5a,OU=Staff,DC=contoso,DC=com"}, True),
        ({"sAMAccountName": "jdoe", "msExchRecipientTypeDetails": 0x1000, "dn": "CN=j,DC=c,DC=com"}, True),
        ({"sAMAccountName": "jdoe", "msExchRecipientTypeDetails": 1, "dn": "CN=j,DC=c,DC=com"}, None),
    ],
)
def test_cloud_filtered_scoping_expression(attrs: dict[str, Any], filtered: Any) -> None:
    assert rule(CLOUD_FILTERED).evaluate(attrs) is filtered


def test_proxy_addresses_are_trimmed_and_deduplicated_per_value() -> None:
    expr = rule('RemoveDuplicates(Trim(ImportedValue("proxyAddresses")))')
    assert expr.references == frozenset({"proxyAddresses"})
    value = expr.evaluate({"proxyAddresses": [" SMTP:a@contoso.com", "SMTP:a@contoso.com ", "smtp:b@contoso.com"]})
    assert value == ["SMTP:a@contoso.com", "smtp:b@contoso.com"]


def test_cloud_anchor_of_the_source_anchor() -> None:
    expr = rule('"CN={" & ConvertToUTF8Hex([sourceAnchor]) & "}"')
    assert expr.evaluate({"sourceAnchor": "AQID"}) == "CN={41514944}"
