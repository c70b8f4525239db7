"""The assistant's whole answer for one export: what was read, the retired connector, the topology, the
recommendation and the attribute mapping tables. Reports render this object; nothing else is computed there."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from idsync.migrate.graph_mapping import ad_attribute, graph_property
from idsync.migrate.model import ServerExport
from idsync.migrate.reader import read_export
from idsync.migrate.recommend import Facts, Recommendation, recommend
from idsync.migrate.topology import Topology, analyze_topology


@dataclass(frozen=True, slots=True)
class MappingRow:
    """One attribute the retired connector wrote, and what it becomes in Microsoft Graph."""

    connector: str
    object_type: str
    aad_attribute: str
    flows_from: str
    """The source as the export states it (attribute, constant or expression), with its rule when there is one."""
    kind: str
    graph_property: str
    writable: str
    note: str
    sources: tuple[str, ...]
    ad_attribute: str


@dataclass(slots=True)
class Analysis:
    export: ServerExport
    topology: Topology
    recommendation: Recommendation
    mapping: list[MappingRow]
    facts: Facts


def mapping_rows(topology: Topology) -> list[MappingRow]:
    rows: dict[tuple[str, str, str], MappingRow] = {}
    for dead in topology.dead_connectors:
        for f in dead.outbound:
            key = (dead.ma.name, f.cd_object_type, f.cd_attribute)
            origin = f.detail if f.origin == "export flow" else f"{f.detail} ({f.origin})"
            if key in rows:
                prev = rows[key]
                if origin not in prev.flows_from:
                    rows[key] = _replace_flows(prev, prev.flows_from + "; " + origin)
                continue
            prop = graph_property(f.cd_object_type, f.cd_attribute)
            srcs: tuple[str, ...]
            if f.cd_attribute.lower() == "dn":
                graph, writable, note, srcs = (
                    "",
                    "none",
                    "the connector-space DN; Graph objects are keyed by id",
                    ("GC",),
                )
            elif prop is not None:
                graph, writable, note, srcs = prop.graph_property, prop.writable, prop.note, prop.sources
            elif f.cd_object_type.lower() in {"user", "group"}:
                graph, writable, note, srcs = "", "none", "no such property on the Graph v1.0 resource", ("CSDL",)
            else:
                graph, writable, note = "", "none", f"the Graph path has no {f.cd_object_type} object type"
                srcs = ("GC",)
            rows[key] = MappingRow(
                connector=dead.ma.name,
                object_type=f.cd_object_type,
                aad_attribute=f.cd_attribute,
                flows_from=origin,
                kind=f.kind,
                graph_property=graph,
                writable=writable,
                note=note,
                sources=srcs,
                ad_attribute=ad_attribute(f.cd_attribute) if f.cd_attribute.lower() != "dn" else "",
            )
    return sorted(rows.values(), key=lambda r: (r.connector, r.object_type, r.aad_attribute.lower()))


def _replace_flows(row: MappingRow, flows_from: str) -> MappingRow:
    return replace(row, flows_from=flows_from)


def analyze_export(export: ServerExport, facts: Facts | None = None) -> Analysis:
    facts = facts or Facts()
    topology = analyze_topology(export)
    return Analysis(export, topology, recommend(topology, facts), mapping_rows(topology), facts)


def analyze(path: str | Path, facts: Facts | None = None) -> Analysis:
    """Read the export at ``path`` and analyze it. Raises :class:`ExportNotFoundError` only for a missing path."""
    return analyze_export(read_export(path), facts)
