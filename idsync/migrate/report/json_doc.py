"""The analysis as one JSON document (``idsync migrate analyze --json``): stable keys, counts rather than whole
schemas, every reason with its rule and sources, every problem with file and element."""

from __future__ import annotations

from typing import Any

from idsync.migrate.analysis import Analysis
from idsync.migrate.connector_flows import AttributeFlowView
from idsync.migrate.recommend import PATH_TITLES, PathAssessment, Reason
from idsync.migrate.rules import RULES, SOURCES


def _reason(r: Reason) -> dict[str, Any]:
    rule = RULES[r.rule]
    return {"rule": r.rule, "text": r.text, "sources": list(rule.sources), "inference": rule.inference}


def _assessment(a: PathAssessment) -> dict[str, Any]:
    return {
        "path": a.path.value,
        "title": PATH_TITLES[a.path],
        "viable": a.viable,
        "blockers": [_reason(r) for r in a.blockers],
        "cautions": [_reason(r) for r in a.cautions],
    }


def _flow(f: AttributeFlowView) -> dict[str, Any]:
    return {
        "object_type": f.cd_object_type,
        "attribute": f.cd_attribute,
        "mv_object_type": f.mv_object_type,
        "mv_attribute": f.mv_attribute,
        "kind": f.kind,
        "sources": list(f.sources),
        "detail": f.detail,
        "initial_only": f.initial_only,
        "origin": f.origin,
        "file": f.location.file,
        "element": f.location.element,
    }


def to_json_document(analysis: Analysis) -> dict[str, Any]:
    export = analysis.export
    topo = analysis.topology
    rec = analysis.recommendation
    mv = export.metaverse
    cited: dict[str, None] = {}
    for r in [*rec.reasons, *rec.changes, *rec.risks, *(x for a in rec.alternatives for x in a.blockers + a.cautions)]:
        cited.setdefault(r.rule, None)
    return {
        "export": {
            "root": export.root,
            "layout": export.layout.value,
            "product": topo.product,
            "server": export.server,
            "export_date": export.export_date,
            "files": export.files,
        },
        "management_agents": [
            {
                "name": a.name,
                "id": a.ma.id,
                "category": a.ma.category,
                "subtype": a.ma.subtype,
                "kind": a.kind.value,
                "forest": a.ma.forest_name,
                "object_types": a.ma.object_types,
                "partitions": [
                    {"name": p.name, "selected": p.selected, "inclusions": p.inclusions, "exclusions": p.exclusions}
                    for p in a.ma.partitions
                ],
                "attribute_inclusion": len(a.ma.attribute_inclusion),
                "inbound_flows": len(a.inbound),
                "outbound_flows": len(a.outbound),
                "join_criteria": sum(len(p.criteria) for p in a.ma.join_profiles),
                "projection_rules": len(a.ma.projection),
                "run_profiles": [r.name for r in a.ma.run_profiles],
                "rules_extension": a.ma.rules_extension,
                "file": a.ma.location.file,
            }
            for a in topo.agents
        ],
        "metaverse": None
        if mv is None
        else {
            "object_types": list(mv.schema.classes),
            "attributes": len(mv.schema.attribute_types),
            "import_flows": len(mv.import_flows),
            "provisioning": mv.provisioning,
            "deletion_rules": [
                {"mv_object_type": r.mv_object_type, "type": r.kind, "source_agents": r.source_ma_ids}
                for r in mv.deletion_rules
            ],
        },
        "sync_rules": {
            "total": len(export.sync_rules),
            "inbound": sum(1 for r in export.sync_rules if r.direction.lower() == "inbound"),
            "outbound": sum(1 for r in export.sync_rules if r.direction.lower() == "outbound"),
        },
        "dead_connectors": [
            {
                "name": d.ma.name,
                "id": d.ma.id,
                "signals": d.signals,
                "assembly_version": d.ma.assembly_version,
                "object_types": d.object_types,
                "anchors": d.anchors,
                "attribute_inclusion": d.inclusions,
                "outbound_flows": [_flow(f) for f in d.outbound],
                "inbound_flows": [_flow(f) for f in d.inbound],
            }
            for d in topo.dead_connectors
        ],
        "topology": {
            "ad_forests": {f: [a.name for a in agents] for f, agents in topo.ad_forests.items()},
            "ldap_directories": [a.name for a in topo.ldap_directories],
            "on_prem_targets": [a.name for a in topo.on_prem_targets],
            "cross_forest_joins": [
                {
                    "mv_object_type": x.mv_object_type,
                    "forests": x.forests,
                    "agents": x.agents,
                    "attributes": x.attributes,
                    "account_resource": x.account_resource,
                }
                for x in topo.cross_forest_joins
            ],
            "mv_provisioning": topo.mv_provisioning,
            "source_anchor": {"origins": topo.source_anchor.origins, "guid_based": topo.source_anchor.guid_based},
        },
        "recommendation": {
            "path": rec.path.value,
            "title": rec.title,
            "reasons": [_reason(r) for r in rec.reasons],
            "alternatives": [_assessment(a) for a in rec.alternatives],
            "changes": [_reason(r) for r in rec.changes],
            "risks": [_reason(r) for r in rec.risks],
        },
        "mapping": [
            {
                "object_type": r.object_type,
                "connector_attribute": r.aad_attribute,
                "flows_from": r.flows_from,
                "kind": r.kind,
                "graph_property": r.graph_property,
                "writable": r.writable,
                "note": r.note,
                "ad_attribute": r.ad_attribute,
                "sources": list(r.sources),
            }
            for r in analysis.mapping
        ],
        "untranslatable": [
            {
                "agent": i.agent,
                "what": i.what,
                "object_type": i.object_type,
                "attribute": i.attribute,
                "detail": i.detail,
                "file": i.location.file,
                "element": i.location.element,
            }
            for i in topo.untranslatable
        ],
        "issues": [
            {
                "severity": i.severity.value,
                "file": i.location.file,
                "element": i.location.element,
                "message": i.message,
            }
            for i in export.issues
        ],
        "rules": {
            rid: {
                "statement": RULES[rid].statement,
                "inference": RULES[rid].inference,
                "sources": [{"key": k, "title": SOURCES[k].title, "url": SOURCES[k].url} for k in RULES[rid].sources],
            }
            for rid in cited
        },
    }
