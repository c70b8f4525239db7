"""The reader against Microsoft's own published exports. Expected counts are taken from the raw files with plain
regular expressions, independently of the reader."""

from __future__ import annotations

import re
from pathlib import Path

from idsync.migrate.model import (
    ConstantMapping,
    DirectMapping,
    DnPartMapping,
    Layout,
    ScriptedMapping,
    Severity,
)
from idsync.migrate.reader import read_export


def _count(path: Path, pattern: str) -> int:
    return len(re.findall(pattern, path.read_text(encoding="utf-8")))


def _first(path: Path, pattern: str) -> str:
    found = re.search(pattern, path.read_text(encoding="utf-8"))
    assert found is not None, f"{pattern} not in {path}"
    return found.group(1)


def test_mimdsc_agents_and_metaverse(mimdsc: Path) -> None:
    export = read_export(mimdsc)
    assert export.layout is Layout.MIM_FOLDER
    assert export.server == "CMVM24043"
    agents = {ma.name: ma for ma in export.management_agents}
    assert set(agents) == {"TinyHR", "GrandHR", "Litware"}
    assert agents["Litware"].category == "AD"
    assert agents["TinyHR"].category == "Delimited"
    litware = mimdsc / "MA-Litware.XML"
    assert len(agents["Litware"].schema.attribute_types) == _count(litware, r"<attribute-type ")
    assert len(agents["Litware"].schema.classes) == _count(litware, r"<class ")
    assert agents["Litware"].forest_name == "cmlitware.selfhost.corp.microsoft.com"
    assert agents["Litware"].attribute_inclusion[:3] == ["cn", "company", "department"]
    parts = agents["Litware"].partitions
    assert [p.is_domain for p in parts] == [False, True]
    assert parts[1].exclusions == ["CN=Configuration,DC=cmLitware,DC=selfhost,DC=corp,DC=microsoft,DC=com"]
    assert export.metaverse is not None
    assert len(export.metaverse.import_flows) == _count(mimdsc / "MV.XML", r"<import-flow ")
    assert export.metaverse.provisioning == "scripted"
    assert export.metaverse.rules_extension == "ELMA-MV-Sample.dll"


def test_mimdsc_class_attribute_references_resolve_to_names(mimdsc: Path) -> None:
    """The AD MA refers to attribute types by short ids (ref="#A0"); classes must list attribute names."""
    litware = next(ma for ma in read_export(mimdsc).management_agents if ma.name == "Litware")
    names = set(litware.schema.attribute_types)
    referenced = {a.name for c in litware.schema.classes.values() for a in c.attributes}
    assert referenced and referenced <= names


def test_tinyhr_rules(mimdsc: Path) -> None:
    tiny = next(ma for ma in read_export(mimdsc).management_agents if ma.name == "TinyHR")
    (profile,) = tiny.join_profiles
    assert profile.cd_object_type == "contact"
    kinds = [(c.kind, c.mv_object_type) for c in profile.criteria]
    assert kinds == [("direct", "Contact"), ("scripted", "Contact"), ("direct", None)]
    assert profile.criteria[1].resolution == "scripted"
    assert [m for m, _ in profile.criteria[0].attribute_mappings] == ["FirstName", "LastName"]
    assert [(p.cd_object_type, p.kind, p.mv_object_type) for p in tiny.projection] == [
        ("contact", "scripted", None),
        ("person", "declared", "SyncObject"),
    ]
    flows = {f.cd_attribute: f for f in tiny.export_flows}
    assert len(tiny.export_flows) == _count(mimdsc / "MA-TinyHR.XML", r"<export-flow ")
    assert isinstance(flows["Status"].mapping, ConstantMapping) and flows["Status"].mapping.value == "AlwaysThisLate"
    assert isinstance(flows["JobTitle"].mapping, DirectMapping) and flows["JobTitle"].mapping.source == "Title"
    hire = flows["HireDate"].mapping
    assert isinstance(hire, ScriptedMapping) and hire.sources == ["object-id"]
    assert flows["HireDate"].suppress_deletions is True
    assert tiny.provisioning_cleanup_action == "make-normal-disconnector"
    assert tiny.rules_extension == "TinyHRExtension.dll"
    assert [r.name for r in tiny.run_profiles] == ["FISO", "FS", "Full Import"]
    assert tiny.run_profiles[1].steps[0].step_type == "apply-rules"
    assert tiny.run_profiles[1].steps[0].subtype == "reevaluate-flow-connectors"
    assert tiny.run_profiles[0].steps[0].partition_name == "default"
    declared = next(f for f in tiny.connector_filters if f.kind == "declared")
    assert [len(a) for a in declared.alternatives] == [1, 3]
    assert declared.alternatives[1][2].operator == "present"
    assert tiny.anchors == {"*": ["UserID"]}


def test_mimdsc_precedence_and_mapping_kinds(mimdsc: Path) -> None:
    mv = read_export(mimdsc).metaverse
    assert mv is not None
    order = mv.precedence("Contact", "DisplayName")
    assert [(f.ma_name, f.cd_object_type, f.rank) for f in order] == [
        ("GrandHR", "robot", 1),
        ("TinyHR", "person", 2),
        ("TinyHR", "person", 3),
        ("TinyHR", "person", 4),
    ]
    assert isinstance(order[1].mapping, ScriptedMapping)
    by_attr = {f.mv_attribute: f for f in mv.import_flows if f.mv_object_type == "SyncObject"}
    fax = by_attr["Fax"].mapping
    assert isinstance(fax, DirectMapping) and fax.intrinsic and fax.source == "dn"
    assert isinstance(by_attr["RetentionUrl"].mapping, DnPartMapping) and by_attr["RetentionUrl"].mapping.part == 3
    assert isinstance(by_attr["OnPremiseObjectType"].mapping, ConstantMapping)
    assert [(r.mv_object_type, r.kind) for r in mv.deletion_rules] == [
        ("Contact", "declared-any"),
        ("SyncObject", "scripted"),
    ]


def test_mimdsc_dangling_ma_reference_is_reported(mimdsc: Path) -> None:
    """MV.XML's per-ma-options names an agent that the export does not contain."""
    export = read_export(mimdsc)
    (issue,) = export.issues
    assert issue.severity is Severity.WARNING
    assert issue.location.file == "MV.XML"
    assert "per-ma-options" in issue.location.element
    assert "{ECAAB0CB-AE68-47D9-8F2F-5AAE1DB0377E}" in issue.message


def test_contoso_connect_export(contoso: Path) -> None:
    export = read_export(contoso)
    assert export.layout is Layout.AAD_CONNECT
    assert not export.issues
    assert [ma.name for ma in export.management_agents] == ["contoso.com", "contoso.onmicrosoft.com - AAD"]
    rule_files = sorted((contoso / "SynchronizationRules").glob("*.xml"))
    assert len(export.sync_rules) == len(rule_files) == 62
    directions = [_first(p, r"<direction>(\w+)</direction>") for p in rule_files]
    assert sum(r.direction == "Inbound" for r in export.sync_rules) == directions.count("Inbound")
    assert sum(r.direction == "Outbound" for r in export.sync_rules) == directions.count("Outbound")
    by_file = {r.location.file.rsplit("/", 1)[-1]: r for r in export.sync_rules}
    for p in rule_files:
        precedence = int(_first(p, r"<precedence>(\d+)</precedence>"))
        assert by_file[p.name].precedence == precedence
    rules = {r.name: r for r in export.sync_rules}
    join = rules["Out to AAD - User Join"]
    assert (join.link_type, join.precedence, join.connector_name) == ("Provision", 123, "contoso.onmicrosoft.com - AAD")
    assert [[(c.cs_attribute, c.mv_attribute) for c in g] for g in join.join_groups] == [
        [("sourceAnchor", "sourceAnchor")]
    ]
    dn = next(m for m in join.mappings if m.destination == "dn")
    assert dn.expression == '"CN={" & ConvertToUTF8Hex([sourceAnchor]) & "}"'
    assert len(rules["Out to AAD - Group Join"].scope_groups) == 4
    constants = [m for r in export.sync_rules for m in r.mappings if m.constant is not None]
    assert ("accountEnabled", "True") in {(m.destination, m.constant) for m in constants}
    ad = export.management_agents[0]
    assert ad.forest_name == "contoso.com"
    assert ad.partitions[0].inclusions == ["OU=CORP,DC=contoso,DC=com"]
    assert ad.password_sync_target == "{B891884F-051E-4A83-95AF-2544101C9083}"
    assert export.metaverse is not None
    assert export.metaverse.global_parameters["Microsoft.SynchronizationOption.AnchorAttribute"] == "objectGUID"


def test_contoso_aad_connector_shape(contoso: Path) -> None:
    aad = read_export(contoso).management_agents[1]
    path = next((contoso / "Connectors").glob("Connector_{b891884f*"))
    inclusion = re.search(r"<attribute-inclusion>(.*?)</attribute-inclusion>", path.read_text(), re.S)
    assert inclusion is not None
    assert len(aad.attribute_inclusion) == inclusion.group(1).count("<attribute>") == 161
    assert aad.extension_filename == "Microsoft.Azure.ActiveDirectory.Connector.dll"
    assert aad.assembly_version == "1.1.130.0"
    assert aad.object_types == ["contact", "device", "group", "user"]
    for cls in ("contact", "device", "group", "user"):
        assert aad.anchors[cls] == ["cloudAnchor"]
    assert len(aad.schema.attribute_types) == 185
    assert [r.name for r in aad.run_profiles] == [
        "Full Import",
        "Full Synchronization",
        "Delta Import",
        "Delta Synchronization",
        "Export",
    ]
    assert all(s.partition_name == "default" for r in aad.run_profiles for s in r.steps)
    # the sign-in account is kept (it names the tenant); the encrypted Password parameter never is
    assert aad.parameters == {"UserName": "Sync_CONTOSO-SYNC01_e3c03195e061@contoso.onmicrosoft.com"}
