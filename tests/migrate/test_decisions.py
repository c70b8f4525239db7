"""The recommendation for each branch of the decision, on hand-written exports in the real schema, and on the
published fixtures. Expected paths follow the cited rules, worked out by hand for each export."""

from __future__ import annotations

from pathlib import Path

import pytest

from idsync.migrate.analysis import Analysis, analyze, analyze_export
from idsync.migrate.detection import detection_signals, find_dead_connectors
from idsync.migrate.model import ManagementAgent, SyncRuleMapping
from idsync.migrate.reader import read_export
from idsync.migrate.recommend import Facts, MigrationPath, PathAssessment, Reason

from .conftest import EXPORTS


def _rules(reasons: list[Reason]) -> list[str]:
    return [r.rule for r in reasons]


def _alternative(analysis: Analysis, path: MigrationPath) -> PathAssessment:
    return next(a for a in analysis.recommendation.alternatives if a.path is path)


def test_hr_sql_only_goes_to_graph_with_idsync() -> None:
    a = analyze(EXPORTS / "hr-sql-aad")
    rec = a.recommendation
    assert rec.path is MigrationPath.IDSYNC_GRAPH
    assert _rules(rec.reasons) == ["D1", "R1", "I1"]
    assert _alternative(a, MigrationPath.MIM_GRAPH).viable
    cloud = _alternative(a, MigrationPath.CLOUD_SYNC)
    assert not cloud.viable and _rules(cloud.blockers) == ["R4"]
    assert not _alternative(a, MigrationPath.CONNECT_SYNC).viable
    assert a.topology.source_anchor.guid_based is False
    assert a.topology.source_anchor.origins == [
        "HR person.EmployeeID -> mv person.sourceAnchor -> Azure AD user.sourceAnchor"
    ]
    assert "MATCH" in _rules(rec.changes) and "SYNCED" in _rules(rec.changes)


def test_hr_sql_without_premium_licence_blocks_the_mim_graph_connector() -> None:
    a = analyze(EXPORTS / "hr-sql-aad", Facts(entra_premium=False))
    assert a.recommendation.path is MigrationPath.IDSYNC_GRAPH
    mim = _alternative(a, MigrationPath.MIM_GRAPH)
    assert _rules(mim.blockers) == ["R2"]


def test_hr_sql_with_dotnet_code_keeps_mim_with_the_graph_connector() -> None:
    export = read_export(EXPORTS / "hr-sql-aad")
    hr = next(ma for ma in export.management_agents if ma.name == "HR")
    hr.rules_extension = "Contoso.HR.Extension.dll"
    a = analyze_export(export)
    assert a.recommendation.path is MigrationPath.MIM_GRAPH
    assert "I1" in _rules(a.recommendation.reasons)
    idsync = _alternative(a, MigrationPath.IDSYNC_GRAPH)
    assert idsync.viable and "I1" in _rules(idsync.cautions)
    (item,) = a.topology.untranslatable
    assert (item.agent, item.what, item.detail) == ("HR", "rules extension", "Contoso.HR.Extension.dll")


def test_ad_forest_goes_to_cloud_sync() -> None:
    a = analyze(EXPORTS / "ad-forest-aad")
    rec = a.recommendation
    assert rec.path is MigrationPath.CLOUD_SYNC
    assert _rules(rec.reasons) == ["D1", "R4", "CS-XFOREST"]
    assert "corp.contoso.com" in rec.reasons[1].text
    assert list(a.topology.ad_forests) == ["corp.contoso.com"]
    assert [t.name for t in a.topology.on_prem_targets] == ["CORP"]
    assert a.topology.source_anchor.guid_based is True
    ad_side = next(c for c in rec.changes if c.rule == "R4" and "AD attributes" in c.text)
    assert ad_side.text.endswith("msExchUsageLocation")
    assert _alternative(a, MigrationPath.CONNECT_SYNC).viable
    assert "R5" in _rules(_alternative(a, MigrationPath.CONNECT_SYNC).cautions)
    graph = _alternative(a, MigrationPath.IDSYNC_GRAPH)
    assert {"R1", "R3", "MAIL-GROUPS", "PROXY", "I1"} <= set(_rules(graph.cautions))
    kinds = sorted({i.what for i in a.topology.untranslatable})
    assert kinds == ["rules extension", "scripted export flow", "scripted import flow", "scripted provisioning"]


@pytest.mark.parametrize(
    ("facts", "blocker"),
    [
        (Facts(max_objects_per_domain=200_000), "CS-150K"),
        (Facts(largest_group_members=60_000), "CS-50K"),
        (Facts(guest_users=True), "CS-GUESTS"),
    ],
)
def test_cloud_sync_limits_turn_the_ad_forest_to_connect(facts: Facts, blocker: str) -> None:
    a = analyze(EXPORTS / "ad-forest-aad", facts)
    assert a.recommendation.path is MigrationPath.CONNECT_SYNC
    assert _rules(_alternative(a, MigrationPath.CLOUD_SYNC).blockers) == [blocker]
    assert blocker in _rules(a.recommendation.reasons)


def test_cloud_sync_limits_at_the_boundary_do_not_block() -> None:
    a = analyze(EXPORTS / "ad-forest-aad", Facts(max_objects_per_domain=150_000, largest_group_members=50_000))
    assert a.recommendation.path is MigrationPath.CLOUD_SYNC


def test_two_forests_with_account_resource_joins_go_to_connect() -> None:
    a = analyze(EXPORTS / "two-forests-account-resource")
    rec = a.recommendation
    assert rec.path is MigrationPath.CONNECT_SYNC
    assert _rules(rec.reasons) == ["D1", "R5", "CS-XFOREST"]
    (join,) = a.topology.cross_forest_joins
    assert join.account_resource
    assert join.forests == ["account.fabrikam.com", "resource.fabrikam.com"]
    assert "msExchMasterAccountSid" in join.attributes
    assert any(c.rule == "CS-XFOREST" and "account-resource" in c.text for c in rec.changes)


def test_openldap_goes_to_connect_with_the_generic_ldap_connector() -> None:
    a = analyze(EXPORTS / "openldap-aad")
    rec = a.recommendation
    assert rec.path is MigrationPath.CONNECT_SYNC
    assert [d.name for d in a.topology.ldap_directories] == ["OpenLDAP"]
    assert set(_rules(_alternative(a, MigrationPath.CLOUD_SYNC).blockers)) == {"R4", "R6"}
    assert any(c.rule == "R6" and "OpenLDAP" in c.text for c in rec.changes)


def test_deployment_without_the_dead_connector() -> None:
    a = analyze(EXPORTS / "no-aad")
    assert a.recommendation.path is MigrationPath.NONE
    assert a.topology.dead_connectors == []
    assert a.recommendation.alternatives == [] and a.recommendation.changes == []
    assert a.mapping == []


def test_mimdsc_has_no_dead_connector(mimdsc: Path) -> None:
    assert analyze(mimdsc).recommendation.path is MigrationPath.NONE


def test_contoso_aad_connector_detected_and_devices_block_cloud_sync(contoso: Path) -> None:
    a = analyze(contoso)
    (dead,) = a.topology.dead_connectors
    assert dead.ma.name == "contoso.onmicrosoft.com - AAD"
    assert len(dead.signals) == 3
    assert dead.flowed_object_types == ["contact", "device", "group", "user"]
    assert a.topology.product == "aad-connect"
    rec = a.recommendation
    assert rec.path is MigrationPath.CONNECT_SYNC
    assert _rules(_alternative(a, MigrationPath.CLOUD_SYNC).blockers) == ["CS-DEVICES"]
    assert a.topology.source_anchor.guid_based is True


def test_mapping_table_to_graph() -> None:
    rows = {(r.object_type, r.aad_attribute): r for r in analyze(EXPORTS / "ad-forest-aad").mapping}
    assert rows[("user", "sourceAnchor")].graph_property == "onPremisesImmutableId"
    assert rows[("user", "alias")].graph_property == "mailNickname"
    assert rows[("user", "alias")].ad_attribute == "mailNickname"
    assert rows[("user", "proxyAddresses")].writable == "no"
    assert rows[("group", "mail")].writable == "no"
    assert rows[("group", "sourceAnchor")].writable == "none"
    assert rows[("user", "city")].flows_from == "l"
    assert rows[("group", "securityEnabled")].kind == "scripted"


def _agent(category: str, subtype: str = "", list_name: str = "", extension_filename: str = "") -> ManagementAgent:
    return ManagementAgent(
        id="{1}",
        name="x",
        category=category,
        subtype=subtype,
        list_name=list_name,
        extension_filename=extension_filename,
    )


def test_detection_signals() -> None:
    name = "Windows Azure Active Directory (Microsoft)"
    assert detection_signals(_agent(category="Extensible2", subtype=name)) == [f"subtype is {name!r}"]
    assert detection_signals(_agent(category="Extensible2", list_name=name.upper()))
    assert detection_signals(
        _agent(
            category="Extensible2", extension_filename=r"C:\Extensions\microsoft.azure.activedirectory.connector.dll"
        )
    )
    assert detection_signals(_agent(category="AD", subtype=name)) == []
    assert detection_signals(_agent(category="Extensible2", subtype="Graph (Microsoft)")) == []


def test_password_constants_are_redacted() -> None:
    export = read_export(EXPORTS / "ad-forest-aad")
    corp = next(ma for ma in export.management_agents if ma.name == "CORP")
    flow = next(f for f in corp.export_flows if f.cd_attribute == "unicodePwd")
    assert isinstance(flow.mapping, SyncRuleMapping)
    assert flow.mapping.constant == "<redacted>"
    assert find_dead_connectors(export)


def test_connect_sync_export_is_described_as_the_connect_server_it_is(contoso: Path) -> None:
    a = analyze(contoso)
    rec = a.recommendation
    assert rec.path is MigrationPath.CONNECT_SYNC and rec.in_place
    assert "already in place" in rec.title and "MIM provisions" not in rec.title
    assert _rules(rec.reasons) == ["D1-CONNECT", "CONNECT-KEEP", "R5", "CS-DEVICES"]
    assert "is the FIM Connector" not in " ".join(r.text for r in rec.reasons)
    assert "not the retired FIM Connector" in rec.reasons[0].text
    assert rec.reasons[2].text == "the topology is not one that cloud sync supports (blocked by CS-DEVICES, below)"
    # the server already exists and nothing in it is the retired connector: nothing to install or remove
    assert _rules(rec.changes) == ["CONNECT-KEEP", "ONE-TOOL"]
    assert MigrationPath.CONNECT_SYNC not in [x.path for x in rec.alternatives]
    assert a.topology.mv_provisioning.startswith("declarative")
    assert "Out to AAD - User Join" in a.topology.mv_provisioning


def test_connect_sync_anchor_chain_follows_the_source_object_type_scopes(contoso: Path) -> None:
    origins = analyze(contoso).topology.source_anchor.origins
    contact = [o for o in origins if o.endswith("AAD contact.sourceAnchor")]
    user = [o for o in origins if o.endswith("AAD user.sourceAnchor")]
    assert len(contact) == 1 and "(In from AD - Contact Common)" in contact[0]
    assert user and not any("Contact Common" in o for o in user)
    assert {o.split("(")[1].split(")")[0] for o in user} == {
        "In from AD - User AccountEnabled",
        "In from AD - User Common",
        "In from AD - InetOrgPerson Common",
        "In from AD - InetOrgPerson AccountEnabled",
    }


def test_generated_readme_spells_the_anchor_chain_out_once(contoso: Path) -> None:
    from idsync.migrate.generate import GenerationPath, generate, readme

    chain = "; ".join(analyze(contoso).topology.source_anchor.origins)
    for path in (GenerationPath.CLOUD_SYNC, GenerationPath.CONNECT_SYNC):
        assert readme(generate(contoso, path)).count(chain) == 1, path


def test_connect_sync_readme_for_a_connect_server_checks_the_server_instead_of_installing_one(contoso: Path) -> None:
    """The export is a Connect Sync server already: there is nothing to install in staging mode and no retired
    connector to remove; the steps check and keep that server's filtering and sourceAnchor, and change it safely."""
    from idsync.migrate.generate import GenerationPath, generate, readme

    result = generate(contoso, GenerationPath.CONNECT_SYNC)
    from idsync.migrate.generate.directory_side import as_json

    assert result.directory_side is not None and result.directory_side.in_place
    assert as_json(result.directory_side)["in_place"] is True
    (scope,) = result.directory_side.scoping
    # the contoso.com connector's partition includes OU=CORP only (its <inclusions>)
    assert scope.containers == ["OU=CORP,DC=contoso,DC=com"] and scope.pilot == ""
    steps = " ".join(scope.steps)
    assert "Install Connect Sync" not in steps and "remove the retired connector" not in steps
    assert "Install nothing and remove nothing" in steps
    assert "check the OU filtering of contoso.com" in steps and scope.containers[0] in steps
    assert "Set-ADSyncScheduler -SyncCycleEnabled $false" in steps and "(CONNECT-CHANGE" in steps
    assert any("sourceAnchor" in s and "CONNECT-KEEP" in s for s in scope.steps)
    text = readme(result)
    assert "### Scoping on the existing Connect Sync server" in text and "Pilot and scoping plan" not in text
    assert "The retired connector's sourceAnchor" not in text and "Connect's sourceAnchor" in text
    assert (
        "| was (Azure AD connector) |" in text
        and "retired connector" not in text.split("## Not carried over")[0].lower()
    )
    # moving the same server's objects to cloud sync is a real migration: that path keeps its pilot, which starts
    # by stopping Connect flowing the pilot OU (not by filtering it out, which deletes its objects in Entra) and
    # ends by retiring the Connect server, not a retired connector
    cloud = generate(contoso, GenerationPath.CLOUD_SYNC).directory_side
    assert cloud is not None and not cloud.in_place and cloud.scoping[0].pilot == scope.containers[0]
    first, *_, last = cloud.scoping[0].steps
    assert "cloudNoFlow" in first and "JoinNoFlow" in first and scope.containers[0] in first
    assert "(CS-FROM-CONNECT)" in first and "retire the Connect Sync server" in last
    assert not any("retired connector" in s for s in cloud.scoping[0].steps)


@pytest.mark.parametrize("path", ["cloud-sync", "connect-sync", "graph"])
def test_a_connect_servers_azure_ad_connector_is_never_called_retired(contoso: Path, path: str) -> None:
    """Only the FIM Connector for Azure AD is retired: generated from a Connect Sync export, on every path, the
    README and the configuration name Connect's connector as Connect's, in the AD-side introduction and its table,
    the attributes the sync tool needs, the rules' descriptions, what is not carried and the cutover steps."""
    from idsync.migrate.generate import GenerationPath, generate, readme, yaml_text

    result = generate(contoso, GenerationPath(path))
    text = readme(result) + yaml_text(result)
    said = [line for line in text.splitlines() if "retired" in line.lower()]
    allowed = ("not the retired FIM Connector for Azure AD", "not the retired one (CONNECT-KEEP)")
    assert all(any(a in line for a in allowed) for line in said), said
    if path == "cloud-sync":
        assert "The flows of Connect's Azure AD connector now go to the directory, for cloud sync" in text
        assert "| was (Connect's Azure AD connector) |" in text and "if you keep MIM" not in text
    if path == "graph":
        assert "6. Retire the Connect Sync server this export comes from" in text
        assert "replaces Connect's Azure AD connector" in text


def test_the_analysis_report_draws_a_connect_servers_azure_ad_connector_as_connects(contoso: Path) -> None:
    from idsync.migrate.report.document import build_document
    from idsync.migrate.report.render import to_html, to_markdown

    document = build_document(analyze(contoso))
    text = to_markdown(document) + to_html(document)
    assert "Connect's Azure AD connector" in text and "Each attribute Connect's Azure AD connector wrote" in text
    assert "retired Azure AD connector" not in text and "class a2 retired" not in text
    assert "red: the retired FIM Connector" not in text
    fim = to_markdown(build_document(analyze(EXPORTS / "hr-sql-aad")))
    assert "retired Azure AD connector" in fim and "Each attribute the retired connector wrote" in fim


def test_a_fim_export_still_names_the_retired_connector() -> None:
    from idsync.migrate.generate import GenerationPath, generate, readme

    text = readme(generate(EXPORTS / "hr-sql-aad", GenerationPath.CLOUD_SYNC))
    assert "- Retired connector(s):" in text and "The flows of the retired connector now go to the directory" in text
    assert "| was (retired connector) |" in text and "if you keep MIM, add them" in text
