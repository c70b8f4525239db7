"""One view of the flows into and out of a management agent, whichever way the export expresses them.

A FIM/MIM agent carries its outbound flows as ``<export-attribute-flow>`` (classic or MIM-Service sync-rule
mappings) and its inbound flows sit in the metaverse's ``<import-attribute-flow>``; Azure AD Connect puts both in
declarative synchronization rules. Reports, the mapping tables and (later) the generators read this view only.
"""

from __future__ import annotations

from dataclasses import dataclass

from idsync.migrate.model import (
    AttributeArg,
    ConstantMapping,
    DirectMapping,
    DnPartMapping,
    FnArg,
    FnCall,
    LiteralArg,
    Location,
    ManagementAgent,
    Mapping,
    ScriptedMapping,
    ServerExport,
    SyncRuleMapping,
    mapping_kind,
    mapping_sources,
    normalize_guid,
)


@dataclass(frozen=True, slots=True)
class AttributeFlowView:
    direction: str
    """outbound (metaverse -> connector space) or inbound."""
    connector: str
    cd_object_type: str
    cd_attribute: str
    mv_object_type: str
    mv_attribute: str
    """The metaverse attribute written (inbound); empty for outbound."""
    kind: str
    """direct, constant, dn-part, scripted, sync-rule or expression (a Connect rule's expression)."""
    sources: tuple[str, ...]
    detail: str
    """The constant, the expression as text, or the script context of a scripted flow."""
    initial_only: bool
    origin: str
    """"export flow", "import flow" or the synchronization rule's name."""
    location: Location


def describe_fn(fn: FnCall) -> str:
    """A neutral, readable rendering of a MIM ``<fn>`` tree for reports (not an idsync expression)."""

    def arg(a: FnArg) -> str:
        if isinstance(a, FnCall):
            return describe_fn(a)
        if isinstance(a, AttributeArg):
            return f"[{a.name}]"
        assert isinstance(a, LiteralArg)
        return f'"{a.value}"' if a.quoted else a.value

    if fn.name == "+" and fn.args:
        return " + ".join(arg(a) for a in fn.args)
    return f"{fn.name}({', '.join(arg(a) for a in fn.args)})"


def describe_mapping(mapping: Mapping) -> str:
    if isinstance(mapping, DirectMapping):
        return f"<{mapping.source}>" if mapping.intrinsic else mapping.source
    if isinstance(mapping, ConstantMapping):
        return f'"{mapping.value}"'
    if isinstance(mapping, DnPartMapping):
        return f"dn-part {mapping.part}"
    if isinstance(mapping, ScriptedMapping):
        return f"rules extension: {mapping.script_context}"
    assert isinstance(mapping, SyncRuleMapping)
    if mapping.expression is not None:
        return describe_fn(mapping.expression)
    if mapping.constant is not None:
        return f'"{mapping.constant}"'
    return ", ".join(mapping.sources)


def _initial_only(mapping: Mapping) -> bool:
    return isinstance(mapping, SyncRuleMapping) and mapping.initial_flow_only


def _rule_flows(export: ServerExport, ma: ManagementAgent, direction: str) -> list[AttributeFlowView]:
    """The mappings of Connect's enabled rules for this connector in one direction, as flow views."""
    key = normalize_guid(ma.id)
    out: list[AttributeFlowView] = []
    for rule in export.sync_rules:
        if rule.direction.lower() != direction or normalize_guid(rule.connector_id) != key or rule.disabled:
            continue
        for m in rule.mappings:
            inbound = direction == "inbound"
            out.append(
                AttributeFlowView(
                    direction=direction,
                    connector=ma.name,
                    cd_object_type=rule.source_object_type if inbound else rule.target_object_type,
                    cd_attribute=(m.sources[0] if len(m.sources) == 1 else "") if inbound else m.destination,
                    mv_object_type=rule.target_object_type if inbound else rule.source_object_type,
                    mv_attribute=m.destination if inbound else "",
                    kind=m.kind,
                    sources=tuple(m.sources),
                    detail=m.expression or (f'"{m.constant}"' if m.constant is not None else ", ".join(m.sources)),
                    initial_only=m.execute_once,
                    origin=rule.name,
                    location=rule.location,
                )
            )
    return out


def outbound_flows(export: ServerExport, ma: ManagementAgent) -> list[AttributeFlowView]:
    out = [
        AttributeFlowView(
            direction="outbound",
            connector=ma.name,
            cd_object_type=f.cd_object_type,
            cd_attribute=f.cd_attribute,
            mv_object_type=f.mv_object_type,
            mv_attribute="",
            kind=mapping_kind(f.mapping),
            sources=tuple(mapping_sources(f.mapping)),
            detail=describe_mapping(f.mapping),
            initial_only=_initial_only(f.mapping),
            origin="export flow",
            location=f.location,
        )
        for f in ma.export_flows
    ]
    return out + _rule_flows(export, ma, "outbound")


def inbound_flows(export: ServerExport, ma: ManagementAgent) -> list[AttributeFlowView]:
    key = normalize_guid(ma.id)
    out: list[AttributeFlowView] = []
    if export.metaverse is not None:
        for f in export.metaverse.import_flows:
            if normalize_guid(f.ma_id) != key:
                continue
            sources = tuple(mapping_sources(f.mapping))
            out.append(
                AttributeFlowView(
                    direction="inbound",
                    connector=ma.name,
                    cd_object_type=f.cd_object_type,
                    cd_attribute=sources[0] if len(sources) == 1 else "",
                    mv_object_type=f.mv_object_type,
                    mv_attribute=f.mv_attribute,
                    kind=mapping_kind(f.mapping),
                    sources=sources,
                    detail=describe_mapping(f.mapping),
                    initial_only=_initial_only(f.mapping),
                    origin="import flow",
                    location=f.location,
                )
            )
    return out + _rule_flows(export, ma, "inbound")
