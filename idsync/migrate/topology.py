"""What the deployment looks like from the migration's point of view: which agents are AD forests or LDAP
directories, which of them FIM writes to, which objects are joined across forests, what the retired connector
carried, and which parts are .NET code that no declarative tool can take over as is."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from idsync.migrate.connector_flows import AttributeFlowView, inbound_flows, outbound_flows
from idsync.migrate.detection import DeadConnector, detection_signals, find_dead_connectors
from idsync.migrate.model import (
    Layout,
    Location,
    ManagementAgent,
    ScriptedMapping,
    ServerExport,
    SyncRule,
    SyncRuleMapping,
    mapping_sources,
    normalize_guid,
)


class AgentKind(enum.StrEnum):
    AD = "ad"
    LDAP = "ldap"
    SQL = "sql"
    FILE = "file"
    FIM_SERVICE = "fim-service"
    AAD_CONNECTOR = "aad-connector"
    GRAPH = "graph"
    EXTENSIBLE = "extensible"
    OTHER = "other"


_FILE_CATEGORIES = {"delimited", "fixed", "attributevaluepair", "ldif", "dsml", "fixedwidth"}
_SQL_CATEGORIES = {"mssql", "oracle", "db2", "mysql"}
_LDAP_CATEGORIES = {"adam", "iplanet", "edirectory", "sunone", "ibmds", "openldap"}


def classify(ma: ManagementAgent) -> AgentKind:
    category = ma.category.strip().lower()
    marker = f"{ma.subtype} {ma.list_name} {ma.extension_filename}".lower()
    if category == "ad":
        return AgentKind.AD
    if category in _LDAP_CATEGORIES:
        return AgentKind.LDAP
    if category in _SQL_CATEGORIES:
        return AgentKind.SQL
    if category in _FILE_CATEGORIES:
        return AgentKind.FILE
    if category == "fim":
        return AgentKind.FIM_SERVICE
    if category.startswith("extensible"):
        if detection_signals(ma):
            return AgentKind.AAD_CONNECTOR
        if "genericldap" in marker or "generic ldap" in marker:
            return AgentKind.LDAP
        if "genericsql" in marker or "generic sql" in marker:
            return AgentKind.SQL
        if "graph" in marker:
            return AgentKind.GRAPH
        return AgentKind.EXTENSIBLE
    return AgentKind.OTHER


def entra_connector(connect_server: bool) -> str:
    """What the text calls the agent that wrote to Entra: the retired FIM Connector for Azure AD, or, in an Azure
    AD Connect server's own export, Connect's Azure AD connector, which is not retired."""
    return "Connect's Azure AD connector" if connect_server else "the retired connector"


@dataclass(slots=True)
class AgentRole:
    ma: ManagementAgent
    kind: AgentKind
    inbound: list[AttributeFlowView]
    outbound: list[AttributeFlowView]
    joins_into: set[str] = field(default_factory=set)
    """Metaverse object types this agent's join rules (or inbound join rules) look up."""
    projects_into: set[str] = field(default_factory=set)
    join_attributes: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        return self.ma.name

    @property
    def writes(self) -> bool:
        return bool(self.outbound)

    @property
    def reads(self) -> bool:
        return bool(self.inbound or self.joins_into or self.projects_into)

    @property
    def forest(self) -> str:
        return self.ma.forest_name or self.ma.name

    @property
    def domains(self) -> list[str]:
        return [p.name for p in self.ma.partitions if p.selected and p.is_domain is not False]

    @property
    def ou_scopes(self) -> int:
        return sum(len(p.inclusions) for p in self.ma.partitions if p.selected and p.is_domain is not False)

    @property
    def other_partitions(self) -> list[str]:
        """Selected partitions that are not domains (AD's Configuration or Schema naming context)."""
        return [p.name for p in self.ma.partitions if p.selected and p.is_domain is False]


@dataclass(slots=True)
class CrossForestJoin:
    mv_object_type: str
    forests: list[str]
    agents: list[str]
    attributes: list[str]
    account_resource: bool


@dataclass(slots=True)
class UntranslatableItem:
    """A part of the configuration written in .NET code: it cannot be carried over without rewriting it."""

    agent: str
    """The management agent's name, or "metaverse"."""
    what: str
    object_type: str
    attribute: str
    detail: str
    location: Location


@dataclass(slots=True)
class SourceAnchorTrace:
    """Where the retired connector's sourceAnchor (the objects' immutableId in Entra) came from."""

    flows: list[AttributeFlowView]
    origins: list[str]
    """Readable chain: "AD agent CORP objectGUID -> mv person.sourceAnchor -> sourceAnchor"."""
    guid_based: bool | None
    """True when it derives from objectGUID or ms-DS-ConsistencyGuid; None when it can't be told (scripted)."""


@dataclass(slots=True)
class Topology:
    product: str
    """"mim" or "aad-connect": where the export comes from."""
    agents: list[AgentRole]
    dead_connectors: list[DeadConnector]
    cross_forest_joins: list[CrossForestJoin]
    untranslatable: list[UntranslatableItem]
    source_anchor: SourceAnchorTrace
    mv_provisioning: str

    @property
    def connect_server(self) -> bool:
        """The export is an Azure AD Connect (Connect Sync) server: its Azure AD connector is Connect's own."""
        return self.product == "aad-connect"

    @property
    def entra_connector(self) -> str:
        return entra_connector(self.connect_server)

    def of_kind(self, kind: AgentKind) -> list[AgentRole]:
        return [a for a in self.agents if a.kind is kind]

    @property
    def ad_forests(self) -> dict[str, list[AgentRole]]:
        forests: dict[str, list[AgentRole]] = {}
        for a in self.of_kind(AgentKind.AD):
            forests.setdefault(a.forest, []).append(a)
        return forests

    @property
    def ldap_directories(self) -> list[AgentRole]:
        return self.of_kind(AgentKind.LDAP)

    @property
    def on_prem_targets(self) -> list[AgentRole]:
        """AD forests and LDAP directories that FIM writes to."""
        return [a for a in self.agents if a.kind in (AgentKind.AD, AgentKind.LDAP) and a.writes]

    def dead_outbound(self) -> list[AttributeFlowView]:
        return [f for d in self.dead_connectors for f in d.outbound]

    @property
    def device_flows(self) -> bool:
        return any(f.cd_object_type.lower() == "device" for f in self.dead_outbound())

    @property
    def contact_flows(self) -> bool:
        return any(f.cd_object_type.lower() == "contact" for f in self.dead_outbound())

    @property
    def proxy_address_flows(self) -> bool:
        return any(f.cd_attribute.lower() == "proxyaddresses" for f in self.dead_outbound())

    @property
    def mail_enabled_groups(self) -> bool:
        """The retired connector received mail attributes for groups: some groups are mail-enabled."""
        mail_attrs = {"mail", "proxyaddresses", "alias", "targetaddress"}
        return any(
            f.cd_object_type.lower() == "group" and f.cd_attribute.lower() in mail_attrs for f in self.dead_outbound()
        )


_SID_ATTRIBUTES = {"objectsid", "msexchmasteraccountsid", "objectsidstring"}
_GUID_ATTRIBUTES = {"objectguid", "ms-ds-consistencyguid", "msds-consistencyguid", "sourceanchorbinary"}


def analyze_topology(export: ServerExport) -> Topology:
    roles = [_role(export, ma) for ma in export.management_agents]
    dead = find_dead_connectors(export)
    return Topology(
        product="aad-connect" if export.layout is Layout.AAD_CONNECT or export.sync_rules else "mim",
        agents=roles,
        dead_connectors=dead,
        cross_forest_joins=_cross_forest_joins(roles),
        untranslatable=_untranslatable(export),
        source_anchor=_trace_source_anchor(export, dead),
        mv_provisioning=_mv_provisioning(export),
    )


def _mv_provisioning(export: ServerExport) -> str:
    """How objects are provisioned to connectors: the metaverse's own setting, or Connect's enabled outbound
    rules with a Provision link (Connect's MV.xml says "none" because its rules do it)."""
    rules = sorted(
        r.name
        for r in export.sync_rules
        if r.direction.lower() == "outbound" and r.link_type.lower() == "provision" and not r.disabled
    )
    if rules:
        return f"declarative: outbound synchronization rules with a Provision link ({', '.join(rules)})"
    mv = export.metaverse
    return mv.provisioning if mv is not None else "unknown"


def _role(export: ServerExport, ma: ManagementAgent) -> AgentRole:
    role = AgentRole(ma, classify(ma), inbound_flows(export, ma), outbound_flows(export, ma))
    projected_types = {p.cd_object_type: p.mv_object_type for p in ma.projection if p.mv_object_type}
    for p in ma.projection:
        if p.mv_object_type:
            role.projects_into.add(p.mv_object_type)
    flow_types = {f.cd_object_type: f.mv_object_type for f in role.inbound}
    for profile in ma.join_profiles:
        for crit in profile.criteria:
            mv_type = (
                crit.mv_object_type
                or projected_types.get(profile.cd_object_type)
                or flow_types.get(profile.cd_object_type)
                or "*"
            )
            role.joins_into.add(mv_type)
            for mv_attr, mapping in crit.attribute_mappings:
                role.join_attributes.add(mv_attr)
                role.join_attributes.update(mapping_sources(mapping))
    key = normalize_guid(ma.id)
    for rule in export.sync_rules:
        if normalize_guid(rule.connector_id) != key or rule.direction.lower() != "inbound" or rule.disabled:
            continue
        if rule.join_groups:
            role.joins_into.add(rule.target_object_type)
            for group in rule.join_groups:
                for cond in group:
                    role.join_attributes.update((cond.cs_attribute, cond.mv_attribute))
        if rule.link_type.lower() == "provision":
            role.projects_into.add(rule.target_object_type)
    return role


def _cross_forest_joins(roles: list[AgentRole]) -> list[CrossForestJoin]:
    ad = [r for r in roles if r.kind is AgentKind.AD]
    by_type: dict[str, list[AgentRole]] = {}
    for r in ad:
        types = r.joins_into | r.projects_into | {f.mv_object_type for f in r.inbound}
        for t in types:
            by_type.setdefault(t, []).append(r)
    out = []
    for mv_type, agents in sorted(by_type.items()):
        forests = sorted({a.forest for a in agents})
        joined = [a for a in agents if mv_type in a.joins_into or "*" in a.joins_into]
        if len(forests) < 2 or not joined or mv_type == "*":
            continue
        attrs = sorted({x for a in joined for x in a.join_attributes})
        out.append(
            CrossForestJoin(
                mv_object_type=mv_type,
                forests=forests,
                agents=sorted(a.name for a in agents),
                attributes=attrs,
                account_resource=any(x.lower() in _SID_ATTRIBUTES for x in attrs),
            )
        )
    return out


def _untranslatable(export: ServerExport) -> list[UntranslatableItem]:
    items: list[UntranslatableItem] = []
    for ma in export.management_agents:
        if ma.rules_extension:
            items.append(
                UntranslatableItem(
                    ma.name,
                    "rules extension",
                    "",
                    "",
                    ma.rules_extension,
                    Location(ma.location.file, "ma-data/extension"),
                )
            )
        for ext in ma.connector_extensions:
            items.append(
                UntranslatableItem(
                    ma.name,
                    "connector extension",
                    "",
                    "",
                    ext,
                    Location(ma.location.file, "ma-data/private-configuration"),
                )
            )
        for f in ma.export_flows:
            if isinstance(f.mapping, ScriptedMapping):
                items.append(
                    UntranslatableItem(
                        ma.name,
                        "scripted export flow",
                        f.cd_object_type,
                        f.cd_attribute,
                        f.mapping.script_context,
                        f.location,
                    )
                )
        for profile in ma.join_profiles:
            for crit in profile.criteria:
                if crit.kind == "scripted":
                    detail = crit.resolution_script or ", ".join(
                        m.script_context for _, m in crit.attribute_mappings if isinstance(m, ScriptedMapping)
                    )
                    attrs = ", ".join(a for a, m in crit.attribute_mappings if isinstance(m, ScriptedMapping))
                    items.append(
                        UntranslatableItem(
                            ma.name, "scripted join", profile.cd_object_type, attrs, detail, crit.location
                        )
                    )
        for p in ma.projection:
            if p.kind == "scripted":
                items.append(UntranslatableItem(ma.name, "scripted projection", p.cd_object_type, "", "", p.location))
        for flt in ma.connector_filters:
            if flt.kind == "scripted":
                items.append(
                    UntranslatableItem(ma.name, "scripted connector filter", flt.cd_object_type, "", "", flt.location)
                )
        if ma.provisioning_cleanup == "scripted":
            items.append(
                UntranslatableItem(
                    ma.name,
                    "scripted deprovisioning",
                    "",
                    "",
                    "",
                    Location(ma.location.file, "ma-data/provisioning-cleanup"),
                )
            )
    mv = export.metaverse
    if mv is not None:
        file = mv.location.file
        if mv.rules_extension:
            items.append(
                UntranslatableItem(
                    "metaverse", "rules extension", "", "", mv.rules_extension, Location(file, "mv-data/extension")
                )
            )
        if mv.provisioning == "scripted":
            items.append(
                UntranslatableItem(
                    "metaverse",
                    "scripted provisioning",
                    "",
                    "",
                    mv.rules_extension,
                    Location(file, "mv-data/provisioning"),
                )
            )
        for flow in mv.import_flows:
            if isinstance(flow.mapping, ScriptedMapping):
                items.append(
                    UntranslatableItem(
                        flow.ma_name or flow.ma_id,
                        "scripted import flow",
                        flow.mv_object_type,
                        flow.mv_attribute,
                        flow.mapping.script_context,
                        flow.location,
                    )
                )
        manual: dict[tuple[str, str], Location] = {}
        for flow in mv.import_flows:
            if flow.precedence == "manual":
                element = flow.location.element.rsplit("/import-flow[", 1)[0]
                manual.setdefault((flow.mv_object_type, flow.mv_attribute), Location(flow.location.file, element))
        for (mv_type, mv_attr), location in manual.items():
            items.append(
                UntranslatableItem(
                    "metaverse", "manual precedence", mv_type, mv_attr, "the rules extension picks the value", location
                )
            )
        for rule in mv.deletion_rules:
            if rule.kind == "scripted":
                items.append(
                    UntranslatableItem(
                        "metaverse", "scripted deletion rule", rule.mv_object_type, "", "", rule.location
                    )
                )
    return items


_SOURCE_OBJECT_TYPE = "sourceobjecttype"


def _cs_key(rule: SyncRule) -> tuple[str, str]:
    return normalize_guid(rule.connector_id), rule.source_object_type.lower()


def _source_object_types_written(export: ServerExport) -> dict[tuple[str, str], set[str]]:
    """Per connector and connector-space object type, the values Connect's inbound rules give the metaverse's
    sourceObjectType (a constant, or the quoted literals of an expression): which objects an outbound rule scoped on
    sourceObjectType can receive."""
    out: dict[tuple[str, str], set[str]] = {}
    for rule in export.sync_rules:
        if rule.direction.lower() != "inbound" or rule.disabled:
            continue
        for m in rule.mappings:
            if m.destination.lower() != _SOURCE_OBJECT_TYPE:
                continue
            values = {m.constant} if m.constant is not None else set(re.findall(r'"([^"]*)"', m.expression or ""))
            out.setdefault(_cs_key(rule), set()).update(v.lower() for v in values if v)
    return out


def _scoped_source_object_types(export: ServerExport, flow: AttributeFlowView) -> set[str] | None:
    """The sourceObjectType values the outbound rule behind ``flow`` is scoped to; None when it is not scoped on it."""
    wanted: set[str] = set()
    for rule in export.sync_rules:
        if rule.direction.lower() != "outbound" or rule.name != flow.origin or not rule.scope_groups:
            continue
        for group in rule.scope_groups:
            values = {
                c.value.lower()
                for c in group
                if c.attribute.lower() == _SOURCE_OBJECT_TYPE and c.operator.upper() == "EQUAL"
            }
            if not values:
                return None
            wanted |= values
    return wanted or None


def _may_feed(wanted: set[str] | None, written: set[str]) -> bool:
    return wanted is None or not written or bool(wanted & written)


def _trace_source_anchor(export: ServerExport, dead: list[DeadConnector]) -> SourceAnchorTrace:
    flows = [f for d in dead for f in d.outbound if f.cd_attribute.lower() == "sourceanchor"]
    dead_ids = {normalize_guid(d.ma.id) for d in dead}
    origins: list[str] = []
    names: set[str] = set()
    unknown = False
    mv = export.metaverse
    written = _source_object_types_written(export)
    for f in flows:
        if f.kind == "scripted":
            unknown = True
        names.update(s.lower() for s in f.sources)
        for src in f.sources:
            feeders = []
            if mv is not None:
                feeders = [
                    i
                    for i in mv.import_flows
                    if i.mv_object_type == f.mv_object_type
                    and i.mv_attribute == src
                    and normalize_guid(i.ma_id) not in dead_ids
                ]
            if not feeders:
                wanted = _scoped_source_object_types(export, f)
                for sr in export.sync_rules:
                    if (
                        sr.direction.lower() == "inbound"
                        and sr.target_object_type == f.mv_object_type
                        and normalize_guid(sr.connector_id) not in dead_ids
                        and not sr.disabled
                        and _may_feed(wanted, written.get(_cs_key(sr), set()))
                    ):
                        for m in sr.mappings:
                            if m.destination == src:
                                names.update(s.lower() for s in m.sources)
                                origins.append(
                                    f"{sr.connector_name or sr.connector_id} {', '.join(m.sources) or m.expression} "
                                    f"-> mv {f.mv_object_type}.{src} ({sr.name}) -> {f.connector} {f.cd_object_type}."
                                    "sourceAnchor"
                                )
            for i in feeders:
                srcs = mapping_sources(i.mapping)
                names.update(s.lower() for s in srcs)
                if isinstance(i.mapping, ScriptedMapping):
                    unknown = True
                if isinstance(i.mapping, SyncRuleMapping) and i.mapping.expression is not None:
                    unknown = unknown or not srcs
                origins.append(
                    f"{i.ma_name or i.ma_id} {i.cd_object_type}.{', '.join(srcs) or '(constant)'} "
                    f"-> mv {i.mv_object_type}.{src} -> {f.connector} {f.cd_object_type}.sourceAnchor"
                )
        if not origins:
            origins.append(f"mv {f.mv_object_type}.{', '.join(f.sources) or f.detail} -> {f.connector} sourceAnchor")
    if any(n in _GUID_ATTRIBUTES for n in names):
        guid_based: bool | None = True
    elif unknown or not flows:
        guid_based = None
    else:
        guid_based = False
    return SourceAnchorTrace(flows, list(dict.fromkeys(origins)), guid_based)
