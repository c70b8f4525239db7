"""``idsync migrate generate``: the workspace generated for each hand-written export and the public fixtures must
pass ``idsync validate``; flows, joins, precedence, deprovisioning and the Graph attribute names are checked
against what the export files say, worked out by hand; everything not carried is listed with its location."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from idsync.cli.main import cli
from idsync.cli.migrate import migrate
from idsync.migrate.analysis import analyze
from idsync.migrate.generate import GenerationPath, LeftOutKind, generate, readme, write_workspace, yaml_text
from idsync.migrate.generate.draft import Draft
from idsync.migrate.generate.validation import check, settle
from idsync.migrate.model import DnPartMapping
from idsync.migrate.reader import read_export
from idsync.testing.fixtures import fixture_path, missing_reason

from .conftest import EXPORTS, single_export_ma

HAND_WRITTEN = ["hr-sql-aad", "ad-forest-aad", "two-forests-account-resource", "openldap-aad", "no-aad"]
DIRECTORY_PATHS = [GenerationPath.CLOUD_SYNC, GenerationPath.CONNECT_SYNC]


def _export(name: str) -> Path:
    if name in HAND_WRITTEN:
        return EXPORTS / name
    path = fixture_path("mim", name)
    if not path.is_dir():
        pytest.skip(missing_reason(path))
    return path


def _validate_cli(out: Path) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["-C", str(out), "validate", "--json"])
    doc: dict[str, Any] = json.loads(result.output)
    assert result.exit_code == 0, result.output
    return doc


def _rule(config: dict[str, Any], section: str, connector: str, object_type: str) -> dict[str, Any]:
    found = [r for r in config[section] if r["connector"] == connector and r["object_type"] == object_type]
    assert found, f"no {section} rule for {connector}/{object_type}"
    return found[0]


@pytest.mark.parametrize("name", [*HAND_WRITTEN, "mimdsc", "aadconnect-contoso"])
@pytest.mark.parametrize("path", DIRECTORY_PATHS, ids=str)
def test_directory_path_workspaces_pass_idsync_validate(name: str, path: GenerationPath, tmp_path: Path) -> None:
    result = generate(_export(name), path)
    assert result.valid, result.problems
    write_workspace(result, tmp_path)
    doc = _validate_cli(tmp_path)
    assert doc["valid"] is True
    assert doc["inbound_rules"] == len(result.config["inbound"])
    assert doc["outbound_rules"] == len(result.config["outbound"])
    assert "graph" not in {c["type"] for c in result.config["connectors"].values()}


@pytest.mark.parametrize("name", [*HAND_WRITTEN, "mimdsc", "aadconnect-contoso"])
def test_graph_path_workspaces_pass_idsync_validate(name: str, tmp_path: Path) -> None:
    analysis = analyze(_export(name))
    result = generate(analysis, GenerationPath.GRAPH)
    assert result.valid, result.problems
    write_workspace(result, tmp_path)
    doc = _validate_cli(tmp_path)
    assert doc["outbound_rules"] == len(result.config["outbound"])
    graph = [c for c in result.config["connectors"].values() if c["type"] == "graph"]
    assert len(graph) == len(analysis.topology.dead_connectors)
    for block in graph:
        assert re.fullmatch(r"\$\{env:IDSYNC_[A-Z0-9_]+_CLIENT_SECRET\}", block["client_secret"])


def test_single_exported_agent_without_mv_file(tmp_path: Path) -> None:
    result = generate(single_export_ma(tmp_path), GenerationPath.GRAPH)
    assert result.valid, result.problems
    person = result.config["metaverse"]["person"]["attributes"]
    assert person["manager"] == "reference" and person["sourceAnchor"] == "string"  # from the flows, typed by them
    out = _rule(result.config, "outbound", "entra", "user")
    assert out["join"][0] == {"onPremisesImmutableId": "[sourceAnchor]"} and out["provision"] is True
    assert any(topic == "metaverse" for topic, _ in result.notes)


def test_hr_sql_graph_rules_follow_the_export() -> None:
    config = generate(EXPORTS / "hr-sql-aad", GenerationPath.GRAPH).config
    entra = config["connectors"]["entra"]
    assert entra["type"] == "graph" and entra["client_secret"] == "${env:IDSYNC_ENTRA_CLIENT_SECRET}"
    # the tenant: the initial domain of the account the retired connector signed in with (its UserName parameter)
    assert entra["tenant"] == "contoso.onmicrosoft.com"
    hr = config["connectors"]["hr"]
    assert hr["type"] == "csv" and hr["description"].startswith("PLACEHOLDER") and hr["anchor"] == "EmployeeID"
    assert hr["columns"] == {"ManagerID": "reference"}
    assert config["staging"] is True
    inbound = _rule(config, "inbound", "hr", "person")
    assert inbound["join"] == [{"employeeID": "[EmployeeID]"}] and inbound["project"] is True
    assert inbound["scope"] == 'IIF([Status] = "Withdrawn", False, True)'
    # PreferredName ranks above FirstName in MV.XML, both from HR: one flow, first value present
    assert (
        inbound["flows"]["givenName"]["expression"] == "IIF(IsPresent([PreferredName]), [PreferredName], [FirstName])"
    )
    assert inbound["flows"]["displayName"] == '[FirstName] & " " & [LastName]'
    assert inbound["flows"]["accountEnabled"] == 'IIF([Status] = "Active", "True", "False")'
    assert config["metaverse"]["person"]["deletion"] == {"when": "authoritative", "authoritative": ["hr"]}
    assert config["metaverse"]["person"]["attributes"]["manager"] == "reference"
    out = _rule(config, "outbound", "entra", "user")
    upn = 'LCase([givenName] & "." & [sn]) & "@contoso.com"'
    assert out["join"] == [{"onPremisesImmutableId": "[sourceAnchor]"}, {"userPrincipalName": upn}]
    assert out["provision"] is True and out["identifier"] == upn
    flows = out["flows"]
    assert flows["onPremisesImmutableId"] == {"expression": "[sourceAnchor]", "initial_only": True}
    assert flows["userPrincipalName"] == {"expression": upn, "initial_only": True}
    assert flows["mailNickname"] == "LCase(Left([givenName], 1) & [sn])"
    expected = {"surname": "[sn]", "jobTitle": "[title]", "city": "[l]"}
    expected |= {"officeLocation": "[physicalDeliveryOfficeName]", "manager": "[manager]", "usageLocation": '"US"'}
    assert {k: flows[k] for k in expected} == expected
    assert out["deprovision"] == "delete"  # the Azure AD agent's provisioning cleanup is delete-object
    entra_in = _rule(config, "inbound", "entra", "user")
    assert entra_in["flows"] == {"cloudAnchor": "[id]"} and "join" not in entra_in
    # the connector imports a default set; the import flow of the old cloudAnchor reads id, so it is added
    imported = entra["object_types"]["user"]["attributes"]
    assert "id" in imported and {"onPremisesSyncEnabled", "onPremisesImmutableId", *flows} <= set(imported)


def test_graph_refusals_and_code_are_listed_with_their_locations() -> None:
    analysis = analyze(EXPORTS / "ad-forest-aad")
    result = generate(analysis, GenerationPath.GRAPH)
    by_attr = {(i.object_type, i.attribute): i for i in result.left_out}
    proxy = by_attr[("user", "proxyAddresses")]
    assert proxy.kind is LeftOutKind.TARGET and proxy.rule == "PROXY"
    assert proxy.location.file == "MA-AzureAD.XML" and "export-flow" in proxy.location.element
    assert by_attr[("group", "mail")].kind is LeftOutKind.TARGET
    # groups have no immutableId: the group join on sourceAnchor cannot be carried, mailNickname takes over
    assert by_attr[("group", "sourceAnchor")].what == "join rule"
    group = _rule(result.config, "outbound", "entra", "group")
    assert group["join"] == [{"mailNickname": "[mailNickname]"}, {"displayName": "[displayName]"}]
    assert "proxyAddresses" not in group["flows"] and "mail" not in group["flows"]
    assert group["flows"]["mailEnabled"] == {"expression": "False", "initial_only": True}
    code = [i for i in result.left_out if i.kind is LeftOutKind.CODE]
    for item in analysis.topology.untranslatable:
        match = [c for c in code if c.location == item.location and c.agent == item.agent]
        assert match, f"{item.what} of {item.agent} at {item.location} is not listed"
    text = readme(result)
    for item in code:
        assert item.location.element in text
    assert "`cd.group:securityEnabled<-mv.group:groupType`" in text or "securityEnabled" in text


def test_cloud_sync_moves_the_retired_flows_to_the_ad_agent() -> None:
    result = generate(EXPORTS / "ad-forest-aad")
    assert result.path is GenerationPath.CLOUD_SYNC
    assert "entra" not in result.config["connectors"]
    plan = result.directory_side
    assert plan is not None
    flows = {f.directory_attribute: f for f in plan.flows if f.object_type == "user"}
    # usageLocation "DE" was written only to Entra, and CORP does not select msExchUsageLocation: it is not
    # invented in the workspace, it is listed
    assert flows["msExchUsageLocation"].status == "not carried"
    assert flows["givenName"].status == "read" or flows["givenName"].status == "exported"
    assert flows["mail"].status == "read"  # FIM reads mail from CORP already
    corp = _rule(result.config, "outbound", "corp", "user")
    assert "msExchUsageLocation" not in corp["flows"]
    (listed,) = [i for i in result.left_out if i.attribute == "usageLocation" and i.object_type == "user"]
    assert "msExchUsageLocation" in listed.reason and "selects" in listed.reason
    # groupType is selected by CORP and securityEnabled has a source: that one is added
    assert {f.directory_attribute: f.status for f in plan.flows if f.object_type == "group"}["groupType"] == "add"
    (scope,) = plan.scoping
    assert scope.pilot == "OU=Staff,DC=corp,DC=contoso,DC=com"
    assert scope.containers == ["OU=Staff,DC=corp,DC=contoso,DC=com", "OU=Groups,DC=corp,DC=contoso,DC=com"]
    assert any("OU=Groups" in s and "ONE-TOOL" in s for s in scope.steps)
    assert any("objectGUID" in a for a in plan.anchor)
    assert "ms-DS-ConsistencyGuid" in dict(plan.needed_attributes)
    text = readme(result)
    assert "## AD-side changes for cloud sync" in text and "### Pilot and scoping plan" in text


def test_cloud_sync_with_a_non_guid_anchor_says_to_stamp_the_consistency_guid() -> None:
    result = generate(EXPORTS / "hr-sql-aad", GenerationPath.CLOUD_SYNC)
    assert result.directory_side is not None
    assert any("ms-DS-ConsistencyGuid" in s and "base64-decoded" in s for s in result.directory_side.anchor)
    # no directory agent handles person objects: nothing can be added to a rule, the plan says so
    assert all(f.agent == "" and f.status == "add" for f in result.directory_side.flows)


def test_connect_sync_over_openldap_maps_to_the_ldap_agent() -> None:
    result = generate(EXPORTS / "openldap-aad")
    assert result.path is GenerationPath.CONNECT_SYNC
    ldap = result.config["connectors"]["openldap"]
    assert ldap["type"] == "ldap" and ldap["base_dn"] == "dc=example,dc=org" and ldap["anchor"] == "entryUUID"
    assert ldap["url"] == "ldaps://example.org:636" and ldap["password"] == "${env:IDSYNC_OPENLDAP_PASSWORD}"
    out = _rule(result.config, "outbound", "openldap", "inetOrgPerson")
    assert out["provision"] is True
    assert out["identifier"] == '"uid=e" & [employeeID] & ",ou=people,dc=example,dc=org"'
    plan = result.directory_side
    assert plan is not None
    assert {f.agent for f in plan.flows} == {"OpenLDAP"}
    assert any("R6" in s for s in plan.scoping[0].steps)


def test_contoso_graph_path_lists_exchange_attributes_and_joins_on_the_source_anchor() -> None:
    result = generate(_export("aadconnect-contoso"), GenerationPath.GRAPH)
    out = result.config["outbound"]
    users = [r for r in out if r["connector"] == "entra" and r["object_type"] == "user"]
    provisioning = [r for r in users if r.get("provision")]
    assert len(provisioning) == 1
    # "Out to AAD - User Join": cs.sourceAnchor = mv.sourceAnchor, and the guard against a changed anchor
    assert provisioning[0]["join"][0] == {"onPremisesImmutableId": "[sourceAnchor]"}
    assert "SourceAnchor attribute has changed." in str(provisioning[0]["flows"]["onPremisesImmutableId"])
    assert {"contact", "device"} <= {i.object_type for i in result.left_out if i.rule == "GRAPH-TYPES"}
    unknown = {i.attribute for i in result.left_out if i.kind is LeftOutKind.TARGET and i.object_type == "user"}
    assert {"proxyAddresses", "msExchHideFromAddressLists", "targetAddress"} <= unknown
    assert any("%Connector.ID%" in i.reason for i in result.left_out)


def test_untranslatable_flows_are_left_out_and_the_rest_validates(tmp_path: Path) -> None:
    export = tmp_path / "export"
    shutil.copytree(EXPORTS / "hr-sql-aad", export)
    ma = export / "MA-AzureAD.XML"
    text = ma.read_text()
    alias = (
        '<fn id="LowerCase" isCustomExpression="false"><arg><fn id="+" isCustomExpression="false"><arg><fn id="Left"'
    )
    assert alias in text
    text = text.replace(alias, alias.replace("LowerCase", "ReverseString", 1), 1)
    text = text.replace("<src-attribute>title</src-attribute>", "<src-attribute>jobCode</src-attribute>", 1)
    ma.write_text(text)
    result = generate(export, GenerationPath.CONNECT_SYNC)
    assert result.valid, result.problems
    reasons = {i.attribute: i for i in result.left_out}
    assert reasons["alias"].kind is LeftOutKind.TRANSLATION and "ReverseString" in reasons["alias"].reason
    assert "jobCode" in reasons["title"].reason  # the metaverse has no such attribute
    write_workspace(result, tmp_path / "ws")
    _validate_cli(tmp_path / "ws")


def test_a_constant_graph_refuses_is_left_out_and_listed(tmp_path: Path) -> None:
    # usageLocation takes ISO 3166 codes: a constant "UK" (the United Kingdom is GB) would fail every user's export
    export = tmp_path / "export"
    shutil.copytree(EXPORTS / "hr-sql-aad", export)
    ma = export / "MA-AzureAD.XML"
    flow = "<src>US</src><dest>usageLocation</dest>"
    assert flow in ma.read_text()
    ma.write_text(ma.read_text().replace(flow, "<src>UK</src><dest>usageLocation</dest>"))
    result = generate(export, GenerationPath.GRAPH)
    assert result.valid, result.problems
    assert "usageLocation" not in _rule(result.config, "outbound", "entra", "user")["flows"]
    (listed,) = [i for i in result.left_out if i.attribute == "usageLocation"]
    assert listed.kind is LeftOutKind.TARGET and listed.object_type == "user"
    assert "'UK' is not a two-letter ISO 3166 country code" in listed.reason and "correct the constant" in listed.reason


def test_validation_takes_out_what_does_not_compile_and_lists_it() -> None:
    result = generate(EXPORTS / "ad-forest-aad", GenerationPath.CLOUD_SYNC)
    rule = _rule(result.config, "outbound", "corp", "user")
    rule["flows"]["title"] = "NoSuchFunction([title])"
    rule["scope"] = "[noSuchAttribute] = 1"
    draft = Draft(analyze(EXPORTS / "ad-forest-aad"), GenerationPath.CLOUD_SYNC)
    assert len(check(yaml_text(result))) == 2
    settle(result, draft)
    assert result.valid, result.problems
    assert "title" not in rule["flows"]
    # a scope is never dropped (the rule would apply to every object): the rule is disabled, its scope kept
    assert rule["scope"] == "[noSuchAttribute] = 1" and rule["enabled"] is False
    listed = {(i.what, i.attribute) for i in draft.left_out}
    assert ("outbound flows", "title") in listed and ("outbound scope", "") in listed


def test_generate_checks_attribute_names_against_the_known_schemas_as_validate_does() -> None:
    result = generate(EXPORTS / "hr-sql-aad", GenerationPath.GRAPH)
    rule = _rule(result.config, "inbound", "entra", "user")
    rule["scope"] = "[cloudMastered] = False"  # the Graph connector imports no such attribute
    (issue,) = check(yaml_text(result))
    assert "unknown attribute [cloudMastered]" in issue.message and issue.path[-1] == "scope"


def test_contoso_graph_rules_scoped_on_attributes_graph_lacks_are_disabled_and_listed() -> None:
    result = generate(_export("aadconnect-contoso"), GenerationPath.GRAPH)
    assert result.valid, result.problems
    entra = {r["name"]: r for r in result.config["inbound"] if r["connector"] == "entra"}
    user = entra["in-from-aad-user-join"]
    assert user["enabled"] is False and user["scope"] == "[cloudMastered] = False"
    assert entra["in-from-aad-group-join"]["enabled"] is False
    listed = [i for i in result.left_out if i.what == "synchronization rule" and "cloudMastered" in i.reason]
    assert {i.object_type for i in listed} == {"user", "group"}
    assert all("disabled" in i.reason and i.location.file.startswith("SynchronizationRules/") for i in listed)


def test_cli_generate_writes_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "ws"
    runner = CliRunner()
    first = runner.invoke(migrate, ["generate", str(EXPORTS / "ad-forest-aad"), "--out", str(out), "--json"])
    assert first.exit_code == 0, first.output
    doc = json.loads(first.output)
    assert doc["path"] == "cloud-sync" and doc["valid"] is True
    assert doc["untranslatable"] and all(u["file"] and u["element"] for u in doc["untranslatable"])
    assert {"agent", "object_type", "attribute", "file", "element"} <= set(doc["untranslatable"][0])
    assert doc["directory_side"]["scoping"][0]["pilot"].startswith("OU=Staff")
    config = yaml.safe_load((out / "idsync.yaml").read_text())
    assert config["staging"] is True
    assert "Chang3Me" not in (out / "idsync.yaml").read_text() + (out / "README.md").read_text()
    again = runner.invoke(migrate, ["generate", str(EXPORTS / "ad-forest-aad"), "--out", str(out)])
    assert again.exit_code == 4 and "--force" in again.output
    forced = runner.invoke(migrate, ["generate", str(EXPORTS / "ad-forest-aad"), "--out", str(out), "--force"])
    assert (
        forced.exit_code == 0
        and f"the workspace validates (check it again after editing: idsync -C {out} validate)" in (forced.output)
    )
    missing = runner.invoke(migrate, ["generate", str(tmp_path / "nothing"), "--out", str(out)])
    assert missing.exit_code == 4


def test_dn_part_flows_read_the_connector_space_dn() -> None:
    export = read_export(EXPORTS / "ad-forest-aad")
    assert export.metaverse is not None
    flows = {(f.ma_name, f.mv_object_type, f.mv_attribute): f for f in export.metaverse.import_flows}
    flows[("CORP", "person", "mail")].mapping = DnPartMapping(2)
    flows[("HR", "person", "department")].mapping = DnPartMapping(1)  # a SQL table's DN is its anchor, as in MIM
    result = generate(export, GenerationPath.CLOUD_SYNC)
    assert result.valid, result.problems
    corp = next(r for r in result.config["inbound"] if r["connector"] == "corp" and r["object_type"] == "user")
    assert corp["flows"]["mail"] == "DNComponent(CRef([dn]), 2)"
    assert not [i for i in result.left_out if i.attribute == "mail"]
    # the SQL table's DN is a plain value: it has no parts, so the flow is listed, not carried as an always-null one
    hr = _rule(result.config, "inbound", "hr", "person")
    assert "department" not in hr["flows"]
    (listed,) = [i for i in result.left_out if i.attribute == "department" and i.agent == "HR"]
    assert listed.kind is LeftOutKind.TRANSLATION and "LDAP DN" in listed.reason


def test_dn_part_flow_on_a_file_agent_without_ldap_dns_is_listed() -> None:
    """mimdsc's TinyHR (<ldap-dn>0</ldap-dn>, DNs such as "2628M") flows part 3 of its DN into RetentionUrl."""
    result = generate(_export("mimdsc"), GenerationPath.GRAPH)
    assert result.valid, result.problems
    for rule in result.config["inbound"]:
        assert not any("DNComponent" in str(f) for f in rule["flows"].values()), rule["name"]
    (listed,) = [i for i in result.left_out if i.attribute == "RetentionUrl"]
    assert listed.agent == "TinyHR" and listed.kind is LeftOutKind.TRANSLATION and "<ldap-dn>0" in listed.reason
    assert listed.location.file == "MV.XML"


def test_ad_connector_block_when_the_ad_type_is_installed() -> None:
    """With an ``ad`` connector type the AD forest gets it, and on a directory path with GUID-based immutableIds
    it stamps mS-DS-ConsistencyGuid as Connect does (the block's shape is checked; the type may not be here)."""
    result = generate(EXPORTS / "ad-forest-aad", GenerationPath.CLOUD_SYNC, type_available=lambda name: True)
    corp = result.config["connectors"]["corp"]
    assert corp["type"] == "ad" and corp["anchor"] == "objectGUID" and corp["consistency_guid"] is True
    assert corp["base_dn"] == "DC=corp,DC=contoso,DC=com" and corp["url"] == "ldaps://corp.contoso.com:636"
    assert corp["containers"] == ["OU=Staff,DC=corp,DC=contoso,DC=com", "OU=Groups,DC=corp,DC=contoso,DC=com"]
    assert corp["password"] == "${env:IDSYNC_CORP_PASSWORD}"
    fallback = generate(EXPORTS / "ad-forest-aad", GenerationPath.CLOUD_SYNC, type_available=lambda n: n != "ad")
    assert fallback.config["connectors"]["corp"]["type"] == "ldap" and fallback.valid
    assert "consistency_guid" not in fallback.config["connectors"]["corp"]


@pytest.mark.parametrize("path", DIRECTORY_PATHS, ids=str)
def test_contoso_merged_proxy_addresses_are_not_replaced_and_every_dropped_rule_is_listed(path: GenerationPath) -> None:
    """Connect's "Out to AD - ... Exchange Hybrid" rules merge an x500 address into proxyAddresses
    (MergeCaseInsensitive) from cloudLegacyExchangeDN, which only the "In from AAD" rules fed: carried as a flow,
    it would replace every AD object's proxyAddresses with null."""
    result = generate(_export("aadconnect-contoso"), path)
    assert result.valid, result.problems
    retired = ("cloudlegacyexchangedn", "cloudmsexch", "cloudsoaexchmailbox", "cloudpublicdelegates")
    for rule in result.config["outbound"]:
        assert "proxyAddresses" not in rule["flows"], rule["name"]
        for attr, flow in rule["flows"].items():
            assert not any(r in str(flow).lower() for r in retired), (rule["name"], attr, flow)
    merged = [i for i in result.left_out if i.attribute == "proxyAddresses" and "MergeCaseInsensitive" in i.reason]
    assert {i.object_type for i in merged} == {"user", "group", "contact"}
    assert all(i.location.file.startswith("SynchronizationRules/") for i in merged)
    rules = {i.detail for i in result.left_out if i.what == "synchronization rule"}
    export = read_export(_export("aadconnect-contoso"))
    in_from_aad = {r.name for r in export.sync_rules if r.name.startswith("In from AAD")}
    assert len(in_from_aad) == 7 and in_from_aad <= rules
    unfed = {i.attribute for i in result.left_out if "only Connect's Azure AD connector fed" in i.reason}
    assert {"msExchUCVoiceMailSettings", "msExchSafeSendersHash"} <= unfed
    text = readme(result)
    assert "In from AAD - User Exchange Hybrid" in text and "MergeCaseInsensitive" in text


@pytest.mark.parametrize("path", DIRECTORY_PATHS, ids=str)
def test_contoso_directory_side_adds_only_selected_attributes_with_a_source(path: GenerationPath) -> None:
    """The AD agent of the Connect export selects 132 attributes: no flow may be invented into one it does not have
    (msExchRemoteRecipientType, msExchAudit*, onPremisesUserPrincipalName, ...) or from a metaverse attribute
    nothing feeds."""
    export = read_export(_export("aadconnect-contoso"))
    (ad,) = [m for m in export.management_agents if m.name == "contoso.com"]
    selected = {a.lower() for a in ad.attribute_inclusion}
    result = generate(export, path)
    assert result.valid, result.problems
    plan = result.directory_side
    assert plan is not None
    added = [f for f in plan.flows if f.status == "add"]
    assert all(f.directory_attribute.lower() in selected for f in added), added
    not_carried = {f.directory_attribute for f in plan.flows if f.status == "not carried"}
    assert {"msExchRemoteRecipientType", "msExchAuditAdmin", "onPremisesUserPrincipalName"} <= not_carried
    listed = {(i.object_type, i.attribute) for i in result.left_out if i.what == "flow to move to the directory"}
    assert ("user", "msExchRemoteRecipientType") in listed and ("group", "msOrgIsOrganizational") in listed
    for rule in result.config["outbound"]:
        if rule["connector"] == "contoso.com":
            assert not {a.lower() for a in rule["flows"]} - selected, rule["name"]


def test_mim_export_flows_without_allow_nulls_do_not_clear_the_target(tmp_path: Path) -> None:
    """MIM's export flow with "Allow Nulls" unchecked (suppress-deletions="true", also the default when the
    attribute is absent) leaves the target's value alone when the metaverse value is null; "false" clears it."""
    tinyhr = _rule(generate(_export("mimdsc"), GenerationPath.GRAPH).config, "outbound", "tinyhr", "person")
    assert tinyhr["flows"]["JobTitle"] == "[Title]"  # suppress-deletions="false": a null clears JobTitle
    assert tinyhr["flows"]["Status"] == {"expression": '"AlwaysThisLate"', "skip_null": True}  # attribute absent
    export = tmp_path / "export"
    shutil.copytree(EXPORTS / "ad-forest-aad", export)
    corp = export / "MA-CORP.XML"
    text = corp.read_text()
    title = '<export-flow cd-attribute="title" id="{A5E2C8B7-4D03-4F69-8B7E-2F0D6A3C9E15}" suppress-deletions="false">'
    assert title in text
    corp.write_text(text.replace(title, title.replace('"false"', '"true"')))
    result = generate(export, GenerationPath.CLOUD_SYNC)
    assert result.valid, result.problems
    flows = _rule(result.config, "outbound", "corp", "user")["flows"]
    assert flows["title"] == {"expression": "[title]", "skip_null": True}
    assert flows["givenName"] == "[givenName]"


def test_delimited_agents_keep_their_code_page_as_the_csv_encoding() -> None:
    """TinyHR and GrandHR read their files in code page 1252 (<delimited_format><code_page>): read as UTF-8, every
    accented name would be mangled."""
    result = generate(_export("mimdsc"), GenerationPath.GRAPH)
    assert result.valid, result.problems
    files = {name: c for name, c in result.config["connectors"].items() if c["type"] == "csv"}
    assert {"grandhr", "tinyhr"} <= set(files)
    assert all(c["encoding"] == "cp1252" for c in files.values()), files


def test_a_file_of_several_object_types_is_one_csv_connector_keyed_by_its_object_class_column() -> None:
    """TinyHR is one delimited file whose ObjectType column (<importing><object_class_attribute>) names each row's
    object type: the CSV connector's object_type_column and object_types read it as MIM did, in one connector."""
    result = generate(_export("mimdsc"), GenerationPath.GRAPH)
    assert result.valid, result.problems
    names = [c.name for c in result.connectors if c.agent == "TinyHR"]
    assert names == ["tinyhr"]
    block = result.config["connectors"]["tinyhr"]
    assert block["object_type_column"] == "ObjectType" and "object_type" not in block
    assert block["object_types"] == ["contact", "person", "robot", "hybrid"]
    assert (block["path"], block["anchor"]) == ("data/tinyhr.csv", "UserID")
    (plan,) = [c for c in result.connectors if c.agent == "TinyHR"]
    assert not any("split the rows" in n for n in plan.notes)
    steps = {c for profile in result.config["profiles"].values() for step in profile for c in step}
    assert not any(c.startswith("tinyhr-") for c in steps)
    assert {r["object_type"] for r in result.config["inbound"] if r["connector"] == "tinyhr"} >= {"person", "contact"}


def test_the_delimited_format_is_carried_into_the_csv_block(tmp_path: Path) -> None:
    """<delimited_format>: the delimiter and the text qualifier (character codes) go into the block, and a file
    without a header row is read with the agent's column list (<attributes>, in file order) as its columns."""
    export = tmp_path / "export"
    shutil.copytree(_export("mimdsc"), export)
    tiny = export / "MA-TinyHR.XML"
    text = tiny.read_text()
    for old, new in (
        ("<delimiter>44</delimiter>", "<delimiter>59</delimiter>"),
        ("<text_qualifier>34</text_qualifier>", "<text_qualifier>39</text_qualifier>"),
        ("<first_row_contains_headers>1<", "<first_row_contains_headers>0<"),
    ):
        assert old in text
        text = text.replace(old, new)
    tiny.write_text(text)
    ma = next(m for m in read_export(export).management_agents if m.name == "TinyHR")
    assert (ma.delimiter, ma.text_qualifier, ma.header_row) == (";", "'", False)
    # the order of MA-TinyHR.XML's <delimited_format><attributes>
    columns = ["UserID", "ObjectType", "FirstName", "Initial", "LastName", "Title", "JobTitle", "HireDate", "Status"]
    assert ma.file_columns == columns
    result = generate(export, GenerationPath.GRAPH)
    assert result.valid, result.problems
    block = result.config["connectors"]["tinyhr"]
    assert (block["delimiter"], block["quote_char"], block["header"], block["column_names"]) == (
        ";",
        "'",
        False,
        columns,
    )
    (plan,) = [c for c in result.connectors if c.agent == "TinyHR"]
    assert not any("qualifier" in n or "header row" in n for n in plan.notes), plan.notes
    # and the generated block reads such a file as MIM did
    write_workspace(result, tmp_path / "ws")
    written = yaml.safe_load((tmp_path / "ws" / "idsync.yaml").read_text())["connectors"]["tinyhr"]
    assert (written["quote_char"], written["header"], written["column_names"]) == ("'", False, columns)
    assert _validate_cli(tmp_path / "ws")["valid"] is True
    data = tmp_path / "ws" / "data" / "tinyhr.csv"
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text("7;person;Ann;;'Smith; Jr.';Dr;Engineer;01/01/1998;Active\n", encoding="cp1252")
    from idsync.connectors.base import ConnectorContext
    from idsync.connectors.csv import connector_type
    from idsync.testing.contract import read_pages

    reader = connector_type.create("tinyhr", block, ConnectorContext(str(tmp_path / "ws")))
    (record,) = read_pages(reader.full_import()).records
    assert (record.anchor, record.object_type, record.attributes["LastName"]) == ("7", "person", "Smith; Jr.")
    # no text qualifier at all (a character code 0), and a header-less file whose column list lacks the anchor
    tiny.write_text(
        text.replace("<text_qualifier>39<", "<text_qualifier>0<").replace("<name>UserID</name>", "<name>Id</name>", 1)
    )
    result = generate(export, GenerationPath.GRAPH)
    assert result.valid, result.problems
    block = result.config["connectors"]["tinyhr"]
    assert block["quote_char"] is None and "column_names" not in block
    (plan,) = [c for c in result.connectors if c.agent == "TinyHR"]
    assert any("without a header row" in n and "'UserID'" in n and "column_names" in n for n in plan.notes)
    # the fixture as exported: a comma (the connector's default), '"' and a header row need nothing
    original = generate(_export("mimdsc"), GenerationPath.GRAPH)
    assert not {"delimiter", "quote_char", "header", "column_names"} & set(original.config["connectors"]["tinyhr"])
    (plan,) = [c for c in original.connectors if c.agent == "TinyHR"]
    assert not any("qualifier" in n or "header row" in n for n in plan.notes)


def test_code_pages_map_to_python_encodings() -> None:
    from idsync.migrate.generate.connectors import file_encoding

    assert file_encoding("1252") == "cp1252" and file_encoding("28591") == "iso8859_1"
    assert file_encoding("1200") == "utf-16" and file_encoding("437") == "cp437"
    assert file_encoding("65001") == "" and file_encoding("") == "" and file_encoding("99999") == ""


def test_contoso_graph_group_rules_leave_out_groups_graph_cannot_create() -> None:
    """The AAD group rules provision mail-enabled groups too (Out to AAD - Group Join's scope has mailEnabled =
    True): Graph refuses a group with mailEnabled and securityEnabled both false, and manages no distribution list."""
    from idsync.expressions import compile_expression

    result = generate(_export("aadconnect-contoso"), GenerationPath.GRAPH)
    assert result.valid, result.problems
    groups = [r for r in result.config["outbound"] if r["connector"] == "entra" and r["object_type"] == "group"]
    provisioning = [r for r in groups if r.get("provision")]
    assert len(provisioning) == 1 and provisioning[0]["flows"]["mailEnabled"]["expression"] == "False"
    common = {"cloudFiltered": False, "sourceAnchor": "x", "cloudMastered": False, "memberCount": 3}
    distribution_list = common | {"mailEnabled": True, "securityEnabled": False}
    mail_security = common | {"mailEnabled": True, "securityEnabled": True}
    security = common | {"mailEnabled": False, "securityEnabled": True}
    for rule in groups:
        scope = compile_expression(rule["scope"], "connect")
        assert scope.evaluate(distribution_list) is not True, rule["name"]
        assert scope.evaluate(mail_security) is not True, rule["name"]
    assert compile_expression(provisioning[0]["scope"], "connect").evaluate(security) is True
    (listed,) = [i for i in result.left_out if i.rule == "MAIL-GROUPS" and i.what == "mail-enabled groups"]
    assert listed.kind is LeftOutKind.TARGET and "Exchange Online" in listed.reason


def test_mimdsc_configuration_partition_is_listed_and_counted_apart() -> None:
    """Litware selects CN=Configuration besides its domain: the generated connector reads the domain only, so the
    configuration partition is listed, and the analysis counts it apart from the domain partitions."""
    from idsync.migrate.report.document import build_document
    from idsync.migrate.report.render import to_markdown

    analysis = analyze(_export("mimdsc"))
    (litware,) = [a for a in analysis.topology.agents if a.name == "Litware"]
    assert litware.domains == ["DC=cmLitware,DC=selfhost,DC=corp,DC=microsoft,DC=com"] and litware.ou_scopes == 1
    text = to_markdown(build_document(analysis))
    assert "organizationalUnit, user | 1 (+1 not a domain) |" in text  # the inventory's partitions column
    assert "not a domain (not carried): CN=Configuration" in text
    result = generate(analysis, GenerationPath.GRAPH)
    (listed,) = [i for i in result.left_out if i.what == "partition"]
    assert listed.agent == "Litware" and listed.detail.startswith("CN=Configuration,")
    assert listed.location.file == "MA-Litware.XML"


def test_export_without_a_retired_connector_claims_no_graph_path_or_cutover(tmp_path: Path) -> None:
    """mimdsc has no FIM Connector for Azure AD: the workspace may replace the sync engine, but it must not claim a
    Graph path or tenant cutover steps that ``migrate cutover`` then refuses."""
    result = generate(_export("mimdsc"))
    assert not result.dead_connectors and result.valid, result.problems
    header = yaml_text(result).split("\n\n", 1)[0]
    assert "Microsoft Graph connector" not in header and "no retired FIM Connector" in header
    text = readme(result)
    assert "## Cutover" not in text and "migrate cutover --config" not in text
    assert "nothing to migrate off" in text
    out = CliRunner().invoke(migrate, ["generate", str(_export("mimdsc")), "--out", str(tmp_path / "ws")])
    assert "Generated for: graph" not in out.output and "Nothing to migrate off" in out.output


def test_graph_flows_that_read_only_what_the_retired_connector_fed_are_left_out() -> None:
    """On the Graph path the "In from AAD" rules are disabled, so Entra's usageLocation flow, which reads the
    metaverse usageLocation only they fed, would never give Entra a value: it is left out and listed. The
    onPremisesImmutableId flow reads cloudSourceAnchor (fed by them too) but tests it with IsPresent and falls back
    to the AD-fed sourceAnchor: it stays."""
    result = generate(_export("aadconnect-contoso"), GenerationPath.GRAPH)
    assert result.valid, result.problems
    user = _rule(result.config, "outbound", "entra", "user")
    assert "usageLocation" not in user["flows"]
    assert "cloudSourceAnchor" in expression_text(user["flows"]["onPremisesImmutableId"])
    (listed,) = [i for i in result.left_out if i.agent == "entra" and i.attribute == "usageLocation"]
    assert listed.kind is LeftOutKind.TARGET and "only Connect's Azure AD connector fed" in listed.reason


def expression_text(flow: Any) -> str:
    return str(flow["expression"]) if isinstance(flow, dict) else str(flow)


def test_graph_group_rules_leave_out_distribution_groups_known_only_by_group_type() -> None:
    """ad-forest-aad's securityEnabled came from a rules extension over groupType, and its metaverse has no
    mailEnabled: only the AD groupType tells a distribution group (no 0x80000000 bit) from a security group, and
    Graph cannot create a distribution group (only security and Microsoft 365 groups)."""
    from idsync.expressions import compile_expression

    result = generate(_export("ad-forest-aad"), GenerationPath.GRAPH)
    assert result.valid, result.problems
    groups = [r for r in result.config["outbound"] if r["connector"] == "entra" and r["object_type"] == "group"]
    assert groups and any(r.get("provision") for r in groups)
    security = [0x80000002 - (1 << 32), 0x80000004 - (1 << 32), 0x80000008 - (1 << 32)]
    for rule in groups:
        assert "scope" in rule, rule["name"]
        scope = compile_expression(rule["scope"], "connect")
        for group_type in (2, 4, 8):  # global, domain-local and universal distribution groups
            assert scope.evaluate({"groupType": group_type}) is not True, (rule["name"], group_type)
        for group_type in security:
            assert scope.evaluate({"groupType": group_type}) is True, (rule["name"], group_type)
    (listed,) = [i for i in result.left_out if i.rule == "MAIL-GROUPS" and i.what == "mail-enabled groups"]
    assert listed.kind is LeftOutKind.TARGET and listed.attribute == "groupType" and "Exchange Online" in listed.reason


@pytest.mark.parametrize(
    "usage_location",
    [
        'IIF(IsNullOrEmpty([usageLocation]),"US",[usageLocation])',  # a default: a value on any sample
        'IIF(IsPresent([usageLocation]),[usageLocation],Error("no usage location"))',  # fails on any sample
    ],
)
def test_graph_flows_reading_only_unfed_attributes_are_left_out_whatever_they_make_of_it(
    usage_location: str, tmp_path: Path
) -> None:
    """The decision rests on what the flow reads, not on evaluating it: a flow that reads only the usageLocation
    the disabled "In from AAD" rule fed is left out even where, evaluated without it, it yields a default or fails,
    which would have hidden that it no longer carries the value. A flow that reads a fed attribute too and falls
    back to it (the onPremisesImmutableId guard) stays."""
    export = tmp_path / "contoso"
    shutil.copytree(_export("aadconnect-contoso"), export)
    rule = export / "SynchronizationRules" / "SynchronizationRule_{6f1bc185-65f9-4175-a31e-70fc975f464a}.xml"
    old = "IIF(IsNullOrEmpty([usageLocation]),IgnoreThisFlow,[usageLocation])"
    text = rule.read_text(encoding="utf-8")
    assert text.count(old) == 1
    rule.write_text(text.replace(old, usage_location), encoding="utf-8")
    result = generate(export, GenerationPath.GRAPH)
    assert result.valid, result.problems
    user = _rule(result.config, "outbound", "entra", "user")
    assert "usageLocation" not in user["flows"]
    assert "cloudSourceAnchor" in expression_text(user["flows"]["onPremisesImmutableId"])
    (listed,) = [i for i in result.left_out if i.agent == "entra" and i.attribute == "usageLocation"]
    assert listed.detail == usage_location and "only Connect's Azure AD connector fed" in listed.reason


@pytest.mark.parametrize("path", [GenerationPath.CLOUD_SYNC, GenerationPath.CONNECT_SYNC])
def test_exclusions_are_carried_and_an_inclusion_inside_one_stays_a_container(path: GenerationPath) -> None:
    """MIM includes OU=Staff but not OU=Contractors inside it, and OU=Interns inside that again: the connector
    leaves Contractors out (excluded_containers) and keeps Interns as a container of its own, or a migrated source
    would import, project and provision the objects MIM never managed. MIM's excluded partition root leaves out
    nothing the containers hold and is not carried; an inclusion inside another with no exclusion between is
    carried by the outer one (nested containers would read its entries twice). The directory-side plan says what
    stays out of scope."""
    staff, contractors = "OU=Staff,DC=corp,DC=contoso,DC=com", "OU=Contractors,OU=Staff,DC=corp,DC=contoso,DC=com"
    interns, sales = f"OU=Interns,{contractors}", f"OU=Sales,{staff}"
    export = read_export(EXPORTS / "ad-forest-aad")
    corp = next(ma for ma in export.management_agents if ma.name == "CORP")
    part = next(p for p in corp.partitions if p.selected and "corp" in (p.dn or p.name).lower())
    assert part.exclusions == ["DC=corp,DC=contoso,DC=com"]
    part.inclusions += [interns, sales]
    part.exclusions.append(contractors)
    result = generate(export, path, type_available=lambda name: True)
    assert result.valid, result.problems
    block = result.config["connectors"]["corp"]
    assert block["containers"] == [staff, "OU=Groups,DC=corp,DC=contoso,DC=com", interns]
    assert block["excluded_containers"] == [contractors]
    (plan,) = [c for c in result.connectors if c.agent == "CORP"]
    (note,) = [n for n in plan.notes if "OU=Sales" in n]
    assert "the outer one covers it" in note
    assert not any(interns in n for n in plan.notes)
    assert result.directory_side is not None
    (scope,) = [s for s in result.directory_side.scoping if s.agent == "CORP"]
    assert scope.excluded == [contractors]
    (step,) = [s for s in scope.steps if s.startswith(f"Keep {contractors} out of scope")]
    assert ("Domain and OU filtering" in step) is (path is GenerationPath.CONNECT_SYNC)
