"""The analysis laid out once as a sequence of blocks (headings, paragraphs, lists, tables, the diagram) that the
Markdown and HTML renderers both draw, so the two reports cannot say different things."""

from __future__ import annotations

from dataclasses import dataclass, field

from idsync.migrate.analysis import Analysis
from idsync.migrate.connector_flows import describe_mapping
from idsync.migrate.model import Severity
from idsync.migrate.recommend import PATH_TITLES, Reason
from idsync.migrate.report.diagram import topology_mermaid, topology_svg
from idsync.migrate.rules import RULES, SOURCES, cite


@dataclass(frozen=True, slots=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str
    strong: bool = False


@dataclass(frozen=True, slots=True)
class Bullets:
    items: list[str]
    ordered: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    headers: list[str]
    rows: list[list[str]]


@dataclass(frozen=True, slots=True)
class Diagram:
    svg: str
    mermaid: str


Block = Heading | Paragraph | Bullets | Table | Diagram


@dataclass(slots=True)
class Document:
    title: str
    blocks: list[Block] = field(default_factory=list)


def _reason(r: Reason) -> str:
    return f"{cite(r.rule)}: {r.text}"


def build_document(analysis: Analysis) -> Document:
    export = analysis.export
    topo = analysis.topology
    rec = analysis.recommendation
    doc = Document(f"Migration analysis of {export.root}")
    add = doc.blocks.append
    source = f"{export.layout.value} export"
    if export.server:
        source += f" of server {export.server}"
    if export.export_date:
        source += f", exported {export.export_date}"
    add(Paragraph(f"{source}; {len(export.files)} file(s) read, {len(export.issues)} problem(s) found."))

    add(Heading(2, "Recommendation"))
    add(Paragraph(rec.title, strong=True))
    add(Bullets([_reason(r) for r in rec.reasons]))
    if rec.alternatives:
        add(Heading(3, "Alternatives"))
        add(
            Table(
                ["path", "viable", "blockers", "cautions"],
                [
                    [
                        PATH_TITLES[a.path],
                        "yes" if a.viable else "no",
                        "; ".join(_reason(b) for b in a.blockers) or "—",
                        "; ".join(_reason(c) for c in a.cautions) or "—",
                    ]
                    for a in rec.alternatives
                ],
            )
        )
    if rec.changes:
        add(Heading(3, "What must change"))
        add(Bullets([_reason(c) for c in rec.changes], ordered=True))
    if rec.risks:
        add(Heading(3, "Risks"))
        add(Bullets([_reason(r) for r in rec.risks]))

    add(Heading(2, "Topology"))
    add(Diagram(topology_svg(topo), topology_mermaid(topo)))
    facts = []
    for forest, agents in topo.ad_forests.items():
        domains = sorted({d for a in agents for d in a.domains})
        others = sorted({o for a in agents for o in a.other_partitions})
        facts.append(
            f"AD forest {forest}: agent(s) {', '.join(a.name for a in agents)}; "
            f"partitions {', '.join(domains) or '—'}; "
            f"{sum(a.ou_scopes for a in agents)} container scope(s)"
            + (f"; also selected, not a domain (not carried): {', '.join(others)}" if others else "")
        )
    for a in topo.ldap_directories:
        facts.append(f"LDAP directory: agent {a.name} ({a.ma.category} {a.ma.subtype}".rstrip() + ")")
    for x in topo.cross_forest_joins:
        facts.append(
            f"{x.mv_object_type} objects joined across forests {', '.join(x.forests)} on "
            f"{', '.join(x.attributes) or '(rules)'}" + (" — account/resource" if x.account_resource else "")
        )
    facts.append(f"metaverse provisioning: {topo.mv_provisioning}")
    add(Bullets(facts))

    for dead in topo.dead_connectors:
        ma = dead.ma
        what = "Connect's own Azure AD connector" if topo.connect_server else "The FIM Connector for Azure AD"
        add(Heading(2, f"{what}: {ma.name}"))
        add(
            Bullets(
                [
                    f"id {ma.id}; found because: {'; '.join(dead.signals)}",
                    f"connector assembly {ma.extension_filename or '—'} {ma.assembly_version}".rstrip(),
                    f"object types: {', '.join(dead.object_types) or '—'}",
                    "anchor: " + (", ".join(f"{t}: {', '.join(a)}" for t, a in sorted(dead.anchors.items())) or "—"),
                    f"{len(dead.inclusions)} attribute(s) included; {len(dead.outbound)} outbound and "
                    f"{len(dead.inbound)} inbound flow(s)",
                ]
            )
        )
        if dead.outbound:
            add(Heading(3, "Flows into the connector"))
            add(
                Table(
                    ["object type", "attribute", "kind", "from", "initial only", "rule"],
                    [
                        [f.cd_object_type, f.cd_attribute, f.kind, f.detail, "yes" if f.initial_only else "", f.origin]
                        for f in dead.outbound
                    ],
                )
            )

    if analysis.mapping:
        add(Heading(2, "Mapping to Microsoft Graph"))
        add(
            Paragraph(
                f"Each attribute {analysis.topology.entra_connector} wrote, the Graph v1.0 property it becomes, "
                "whether Graph lets "
                "a writer set it (for a cloud-managed object), and the AD attribute that feeds it on the cloud sync "
                "and Connect Sync paths."
            )
        )
        add(
            Table(
                [
                    "object type",
                    "connector attribute",
                    "flows from",
                    "Graph property",
                    "writable",
                    "note",
                    "AD attribute",
                    "sources",
                ],
                [
                    [
                        r.object_type,
                        r.aad_attribute,
                        r.flows_from,
                        r.graph_property or "—",
                        r.writable,
                        r.note,
                        r.ad_attribute,
                        ", ".join(r.sources),
                    ]
                    for r in analysis.mapping
                ],
            )
        )

    add(Heading(2, "Inventory"))
    add(
        Table(
            [
                "management agent",
                "category",
                "kind",
                "object types",
                "partitions",
                "inbound",
                "outbound",
                "join",
                "projection",
                "run profiles",
                "rules extension",
            ],
            [
                [
                    a.name,
                    " / ".join(x for x in (a.ma.category, a.ma.subtype) if x),
                    a.kind.value,
                    ", ".join(a.ma.object_types),
                    str(len(a.domains)) + (f" (+{len(a.other_partitions)} not a domain)" if a.other_partitions else ""),
                    str(len(a.inbound)),
                    str(len(a.outbound)),
                    str(sum(len(p.criteria) for p in a.ma.join_profiles)),
                    str(len(a.ma.projection)),
                    ", ".join(r.name for r in a.ma.run_profiles),
                    a.ma.rules_extension,
                ]
                for a in topo.agents
            ],
        )
    )
    mv = export.metaverse
    if mv is not None:
        provisioning = (
            "by Provision-link synchronization rules"
            if topo.mv_provisioning.startswith("declarative")
            else mv.provisioning
        )
        add(
            Paragraph(
                f"Metaverse: {len(mv.schema.classes)} object type(s), {len(mv.schema.attribute_types)} attribute(s), "
                f"{len(mv.import_flows)} import flow(s), provisioning {provisioning}, "
                f"{len(mv.deletion_rules)} deletion rule(s)."
            )
        )
        contested: dict[tuple[str, str], list[str]] = {}
        for f in mv.import_flows:
            contested.setdefault((f.mv_object_type, f.mv_attribute), []).append(
                f"{f.rank}. {f.ma_name or f.ma_id} {f.cd_object_type}: {describe_mapping(f.mapping)}"
            )
        multi = {k: v for k, v in contested.items() if len(v) > 1}
        if multi:
            add(Heading(3, "Import flow precedence (attributes with more than one source)"))
            precedence = {(f.mv_object_type, f.mv_attribute): f.precedence for f in mv.import_flows}
            add(
                Table(
                    ["metaverse attribute", "precedence", "order"],
                    [[f"{t}.{a}", precedence[(t, a)], "; ".join(v)] for (t, a), v in sorted(multi.items())],
                )
            )
        if mv.deletion_rules:
            add(
                Bullets(
                    [
                        f"deletion rule for {r.mv_object_type}: {r.kind}"
                        + (f" ({len(r.source_ma_ids)} agent(s))" if r.source_ma_ids else "")
                        for r in mv.deletion_rules
                    ]
                )
            )
    if export.sync_rules:
        inbound = sum(1 for r in export.sync_rules if r.direction.lower() == "inbound")
        add(
            Paragraph(
                f"{len(export.sync_rules)} synchronization rule(s): {inbound} inbound, "
                f"{len(export.sync_rules) - inbound} outbound."
            )
        )
        add(
            Table(
                ["precedence", "rule", "direction", "connector", "link", "source -> target", "mappings"],
                [
                    [
                        str(r.precedence),
                        r.name,
                        r.direction,
                        r.connector_name or r.connector_id,
                        r.link_type,
                        f"{r.source_object_type} -> {r.target_object_type}",
                        str(len(r.mappings)),
                    ]
                    for r in sorted(export.sync_rules, key=lambda r: r.precedence)
                ],
            )
        )

    if topo.untranslatable:
        add(Heading(2, "Parts written in .NET (not carried over automatically)"))
        add(
            Table(
                ["agent", "what", "object type", "attribute", "detail", "location"],
                [[i.agent, i.what, i.object_type, i.attribute, i.detail, str(i.location)] for i in topo.untranslatable],
            )
        )

    if export.issues:
        add(Heading(2, "Problems reading the export"))
        errors = [i for i in export.issues if i.severity is Severity.ERROR]
        add(Paragraph(f"{len(errors)} error(s), {len(export.issues) - len(errors)} warning(s)."))
        add(Bullets([str(i) for i in export.issues]))

    add(Heading(2, "Rules and sources"))
    cited = _cited_rules(analysis)
    add(
        Table(
            ["rule", "statement", "sources"],
            [
                [
                    rid,
                    RULES[rid].statement + (" (inference)" if RULES[rid].inference else ""),
                    " ".join(f"{k}: {SOURCES[k].url}" for k in RULES[rid].sources if k in SOURCES),
                ]
                for rid in cited
            ],
        )
    )
    return doc


def _cited_rules(analysis: Analysis) -> list[str]:
    rec = analysis.recommendation
    ids: dict[str, None] = {}
    for r in [*rec.reasons, *rec.changes, *rec.risks]:
        ids.setdefault(r.rule, None)
    for a in rec.alternatives:
        for r in [*a.blockers, *a.cautions]:
            ids.setdefault(r.rule, None)
    return list(ids)
