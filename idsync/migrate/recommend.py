"""Choosing the way out: cloud sync, Connect Sync, MIM with the Graph connector, or idsync with its Graph connector.

Every path is assessed against the deployment: hard blockers (a documented limit the deployment exceeds) and
cautions (a documented reason to prefer another path). The recommendation follows Microsoft's order — cloud sync
when there is an AD forest and nothing blocks it (R4), Connect Sync when the topology is one cloud sync does not
support (R5, R6), the Graph connector when nothing is provisioned on-premises (R1) — and every reason names the
rule and its source. Facts that a configuration export cannot show (object counts, guests, licences) can be given;
unknown ones become checks in the list of what must change.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from idsync.migrate.graph_mapping import ad_attribute
from idsync.migrate.topology import AgentKind, AgentRole, Topology


class MigrationPath(enum.StrEnum):
    CLOUD_SYNC = "cloud-sync"
    CONNECT_SYNC = "connect-sync"
    IDSYNC_GRAPH = "idsync-graph"
    MIM_GRAPH = "mim-graph"
    NONE = "none"


PATH_TITLES = {
    MigrationPath.CLOUD_SYNC: "Microsoft Entra cloud sync (MIM provisions into AD, cloud sync carries AD to Entra)",
    MigrationPath.CONNECT_SYNC: "Microsoft Entra Connect Sync (MIM provisions into AD or LDAP, Connect carries it on)",
    MigrationPath.MIM_GRAPH: "MIM with the Microsoft Graph connector",
    MigrationPath.IDSYNC_GRAPH: (
        "idsync with its Microsoft Graph connector (replaces the sync engine and the connector)"
    ),
    MigrationPath.NONE: "Nothing to migrate: no FIM Connector for Azure AD in this export",
}

IN_PLACE_TITLE = (
    "Microsoft Entra Connect Sync, already in place (this export is a Connect Sync server; its Azure AD connector is "
    "Connect's own, not the retired FIM one)"
)

CLOUD_SYNC_MAX_OBJECTS_PER_DOMAIN = 150_000
CLOUD_SYNC_MAX_GROUP_MEMBERS = 50_000
CLOUD_SYNC_MAX_SCOPES = 59
CLOUD_SYNC_SCOPES_NEW_TEXT = 50

# Attributes of the retired connector that AD does not carry as such: the anchors, the DN, passwords and
# values Connect computes from the domain.
_NOT_AD_SIDE = {"dn", "cloudanchor", "sourceanchor", "export_password", "dnsdomainname", "netbiosname", "cloudmastered"}


@dataclass(frozen=True, slots=True)
class Facts:
    """What the engineer knows that a configuration export cannot show; None means unknown."""

    max_objects_per_domain: int | None = None
    largest_group_members: int | None = None
    guest_users: bool | None = None
    entra_premium: bool | None = None


@dataclass(frozen=True, slots=True)
class Reason:
    rule: str
    text: str


@dataclass(slots=True)
class PathAssessment:
    path: MigrationPath
    blockers: list[Reason] = field(default_factory=list)
    cautions: list[Reason] = field(default_factory=list)

    @property
    def viable(self) -> bool:
        return not self.blockers


@dataclass(slots=True)
class Recommendation:
    path: MigrationPath
    reasons: list[Reason]
    alternatives: list[PathAssessment]
    changes: list[Reason]
    risks: list[Reason]
    in_place: bool = False
    """The export is already a server of the recommended path (a Connect Sync server): keep it."""

    @property
    def title(self) -> str:
        if self.in_place:
            return IN_PLACE_TITLE
        return PATH_TITLES[self.path]


def _names(agents: list[AgentRole]) -> str:
    return ", ".join(repr(a.name) for a in agents)


def assess_cloud_sync(topo: Topology, facts: Facts) -> PathAssessment:
    a = PathAssessment(MigrationPath.CLOUD_SYNC)
    if not topo.ad_forests:
        a.blockers.append(
            Reason("R4", "there is no Active Directory forest in this deployment; cloud sync reads only AD")
        )
    if topo.ldap_directories:
        a.blockers.append(
            Reason(
                "R6",
                f"the deployment uses the LDAP directory {_names(topo.ldap_directories)}; cloud sync cannot read LDAP",
            )
        )
    for x in topo.cross_forest_joins:
        kind = "account/resource" if x.account_resource else "cross-forest"
        a.blockers.append(
            Reason(
                "CS-XFOREST",
                f"{x.mv_object_type} objects are joined across the forests {', '.join(x.forests)} ({kind} join on "
                f"{', '.join(x.attributes) or 'rules'}); cloud sync does not match across forests",
            )
        )
    if topo.device_flows:
        a.blockers.append(Reason("CS-DEVICES", "the Azure AD connector receives device objects; cloud sync has none"))
    for role in topo.of_kind(AgentKind.AD):
        if role.ou_scopes > CLOUD_SYNC_MAX_SCOPES:
            a.blockers.append(
                Reason(
                    "CS-SCOPES",
                    f"{role.name!r} scopes {role.ou_scopes} containers; a cloud sync configuration takes 59",
                )
            )
        elif role.ou_scopes > CLOUD_SYNC_SCOPES_NEW_TEXT:
            a.cautions.append(
                Reason("CS-SCOPES", f"{role.name!r} scopes {role.ou_scopes} containers: near the limit of about 50")
            )
    if facts.max_objects_per_domain is not None and facts.max_objects_per_domain > CLOUD_SYNC_MAX_OBJECTS_PER_DOMAIN:
        a.blockers.append(
            Reason("CS-150K", f"a domain holds {facts.max_objects_per_domain:,} objects; cloud sync takes 150,000")
        )
    if facts.largest_group_members is not None and facts.largest_group_members > CLOUD_SYNC_MAX_GROUP_MEMBERS:
        a.blockers.append(
            Reason("CS-50K", f"a group has {facts.largest_group_members:,} members; cloud sync takes 50,000")
        )
    if facts.guest_users:
        a.blockers.append(Reason("CS-GUESTS", "guest users are synchronized; cloud sync does not synchronize guests"))
    return a


def assess_connect_sync(topo: Topology, cloud: PathAssessment) -> PathAssessment:
    a = PathAssessment(MigrationPath.CONNECT_SYNC)
    if not topo.ad_forests and not topo.ldap_directories:
        a.blockers.append(
            Reason("R1", "there is no AD forest or LDAP directory for Connect Sync to read; nothing is on-premises")
        )
    if cloud.viable:
        a.cautions.append(
            Reason("R5", "cloud sync supports this topology, so Connect Sync is not the recommended path")
        )
    if topo.ldap_directories:
        a.cautions.append(
            Reason("R6", "the generic LDAP connector needs an advanced configuration and has limited support")
        )
    a.cautions.append(Reason("TOP-SERVER", "one active Connect server per tenant must reach every forest"))
    return a


def assess_graph(topo: Topology, facts: Facts, path: MigrationPath) -> PathAssessment:
    a = PathAssessment(path)
    if path is MigrationPath.MIM_GRAPH and facts.entra_premium is False:
        a.blockers.append(Reason("R2", "the tenant has no Entra ID P1 or P2 licence"))
    targets = topo.on_prem_targets
    if targets:
        a.cautions.append(
            Reason("R1", f"FIM writes to the on-premises directory {_names(targets)}; R1 applies only when it does not")
        )
        a.cautions.append(
            Reason("R3", "objects that cloud sync or Connect would carry must stay out of the Graph writer")
        )
    elif topo.ad_forests:
        a.cautions.append(Reason("R4", "with an AD forest in place Microsoft recommends cloud sync first"))
    if path is MigrationPath.IDSYNC_GRAPH and topo.untranslatable:
        a.cautions.append(
            Reason("I1", f"{len(topo.untranslatable)} part(s) written in .NET must be rewritten as expressions first")
        )
    if topo.mail_enabled_groups:
        a.cautions.append(Reason("MAIL-GROUPS", "mail-enabled groups were provisioned; Graph cannot manage them"))
    if topo.proxy_address_flows:
        a.cautions.append(Reason("PROXY", "proxyAddresses were written; Graph cannot write them"))
    if topo.contact_flows or topo.device_flows:
        a.cautions.append(
            Reason("GRAPH-TYPES", "contacts or devices were provisioned; the Graph path covers users and groups")
        )
    return a


def recommend(topo: Topology, facts: Facts | None = None) -> Recommendation:
    facts = facts or Facts()
    if not topo.dead_connectors:
        reasons = [
            Reason(
                "D1",
                "no management agent is the FIM Connector for Azure AD (no Extensible2 agent with that subtype, list "
                "name or connector assembly); this deployment does not depend on the retired connector",
            )
        ]
        return Recommendation(MigrationPath.NONE, reasons, [], [], _risks(topo, facts, MigrationPath.NONE))
    cloud = assess_cloud_sync(topo, facts)
    connect = assess_connect_sync(topo, cloud)
    idsync = assess_graph(topo, facts, MigrationPath.IDSYNC_GRAPH)
    mim = assess_graph(topo, facts, MigrationPath.MIM_GRAPH)
    dead = ", ".join(repr(d.ma.name) for d in topo.dead_connectors)
    signals = "; ".join(topo.dead_connectors[0].signals)
    if topo.connect_server:
        return _recommend_connect_server(topo, facts, dead, signals, cloud, connect, idsync, mim)
    reasons = [Reason("D1", f"{dead} is the FIM Connector for Azure AD ({signals})")]
    forests = topo.ad_forests
    if forests or topo.ldap_directories:
        if cloud.viable:
            path = MigrationPath.CLOUD_SYNC
            written = [a for a in topo.on_prem_targets if a.kind is AgentKind.AD]
            how = f"FIM writes to {_names(written)}" if written else "FIM reads them"
            reasons.append(
                Reason("R4", f"the deployment has the AD forest(s) {', '.join(forests)} ({how}); cloud sync fits")
            )
            reasons.append(
                Reason(
                    "CS-XFOREST",
                    "no object is joined across forests, no LDAP directory and no device flows were found",
                )
            )
        else:
            path = MigrationPath.CONNECT_SYNC
            reasons.append(Reason("R5", _not_cloud_sync(cloud)))
            reasons.extend(cloud.blockers)
    else:
        reasons.append(
            Reason("R1", "no AD forest or LDAP directory is connected: users and groups go straight to Entra")
        )
        if topo.untranslatable and mim.viable:
            path = MigrationPath.MIM_GRAPH
            reasons.append(
                Reason(
                    "I1",
                    f"{len(topo.untranslatable)} part(s) of the configuration are .NET code; MIM with the Graph "
                    "connector keeps them, idsync would need them rewritten first",
                )
            )
        else:
            path = MigrationPath.IDSYNC_GRAPH
            reasons.append(
                Reason(
                    "I1",
                    "every flow, join and projection is declarative, so idsync can replace the sync engine and the "
                    "connector together"
                    if not topo.untranslatable
                    else "MIM with the Graph connector is blocked (R2); the .NET parts must be rewritten",
                )
            )
    assessments = {a.path: a for a in (cloud, connect, idsync, mim)}
    alternatives = [a for p, a in assessments.items() if p is not path]
    return Recommendation(path, reasons, alternatives, _changes(topo, path), _risks(topo, facts, path))


def _not_cloud_sync(cloud: PathAssessment) -> str:
    rules = ", ".join(dict.fromkeys(b.rule for b in cloud.blockers))
    return f"the topology is not one that cloud sync supports (blocked by {rules}, below)"


def _recommend_connect_server(
    topo: Topology,
    facts: Facts,
    dead: str,
    signals: str,
    cloud: PathAssessment,
    connect: PathAssessment,
    idsync: PathAssessment,
    mim: PathAssessment,
) -> Recommendation:
    """An Azure AD Connect export: its Azure AD connector is Connect's own, so nothing depends on the retired FIM
    connector and Connect Sync, one of the replacements, is already in place."""
    reasons = [
        Reason(
            "D1-CONNECT",
            f"this export is an Azure AD Connect (Connect Sync) server: {dead} is Connect's own Azure AD connector "
            f"({signals}), not the retired FIM Connector for Azure AD, and it keeps working",
        ),
        Reason(
            "CONNECT-KEEP",
            "Connect Sync is one of the replacements Microsoft names; there is nothing to migrate away from, so keep "
            "this server",
        ),
    ]
    if cloud.viable:
        reasons.append(
            Reason("R4", "cloud sync would also fit this topology, should you choose to move to it (see below)")
        )
    else:
        reasons.append(Reason("R5", _not_cloud_sync(cloud)))
        reasons.extend(cloud.blockers)
    connect.cautions = [c for c in connect.cautions if c.rule != "TOP-SERVER"]
    alternatives = [cloud, idsync, mim]
    changes = [
        Reason(
            "CONNECT-KEEP",
            _anchor_text(topo, "Connect's sourceAnchor (the immutableId in Entra) comes from")
            + "; a staging or rebuilt Connect server must be installed with the same sourceAnchor",
        ),
        Reason("ONE-TOOL", "keep every object in scope of exactly one synchronization tool"),
    ]
    return Recommendation(
        MigrationPath.CONNECT_SYNC,
        reasons,
        alternatives,
        changes,
        _risks(topo, facts, MigrationPath.CONNECT_SYNC),
        in_place=True,
    )


# --- what must change --------------------------------------------------------------------------------------------


def _anchor_text(
    topo: Topology, what: str = "the old connector's sourceAnchor (the immutableId in Entra) came from"
) -> str:
    trace = topo.source_anchor
    chain = "; ".join(trace.origins) if trace.origins else "no sourceAnchor flow was found"
    return f"{what}: {chain}"


def _changes(topo: Topology, path: MigrationPath) -> list[Reason]:
    dead = ", ".join(repr(d.ma.name) for d in topo.dead_connectors)
    out: list[Reason] = []
    anchor = topo.source_anchor
    if path is MigrationPath.CLOUD_SYNC:
        missing = _ad_side_attributes(topo)
        ad_targets = [a for a in topo.on_prem_targets if a.kind is AgentKind.AD]
        if missing:
            who = f"the AD agent {_names(ad_targets)}" if ad_targets else "AD (FIM only reads it today)"
            out.append(
                Reason(
                    "R4",
                    f"let {who} write to AD what the retired connector carried to Entra; AD attributes FIM neither "
                    f"writes nor reads there today: {', '.join(missing)}",
                )
            )
        out.append(Reason("CS-ANCHOR", _anchor_text(topo)))
        if anchor.guid_based is not True:
            out.append(
                Reason(
                    "CS-ANCHOR",
                    "cloud sync will present ms-DS-ConsistencyGuid or objectGUID: before cutover, stamp "
                    "ms-DS-ConsistencyGuid with each object's current immutableId (base64-decoded), or choose Connect "
                    "Sync with a custom sourceAnchor, or the existing Entra objects will not be hard-matched",
                )
            )
        out.append(
            Reason(
                "R4",
                "pilot first: scope cloud sync to one OU (or a security group, for the pilot only) and move the rest "
                "OU by OU",
            )
        )
        out.append(
            Reason(
                "CS-150K",
                "check what the export cannot show: at most 150,000 objects per domain, groups of at most 50,000 "
                "members (CS-50K), no guest users (CS-GUESTS)",
            )
        )
    elif path is MigrationPath.CONNECT_SYNC:
        forests = ", ".join(topo.ad_forests) or "(none)"
        out.append(Reason("TOP-SERVER", f"install one Connect Sync server that reaches every forest: {forests}"))
        out.append(Reason("DCON-ANCHOR", _anchor_text(topo) + "; configure Connect's sourceAnchor to yield the same"))
        if topo.ldap_directories:
            out.append(
                Reason(
                    "R6",
                    f"read {_names(topo.ldap_directories)} with Connect's generic LDAP connector (advanced "
                    "configuration, limited support)",
                )
            )
        for x in topo.cross_forest_joins:
            if x.account_resource:
                out.append(
                    Reason(
                        "CS-XFOREST",
                        f"choose the account-resource consolidation (ObjectSID and msExchMasterAccountSID) for "
                        f"{x.mv_object_type} objects across {', '.join(x.forests)}",
                    )
                )
    else:
        out.append(
            Reason(
                "MATCH",
                _anchor_text(topo) + "; join existing tenant users on onPremisesImmutableId, then "
                "userPrincipalName, then the primary SMTP address",
            )
        )
        out.append(
            Reason(
                "SYNCED",
                "the objects the old connector created are still marked as synced from on-premises: switch their "
                "source of authority (onPremisesSyncBehavior isCloudManaged) before writing through Graph",
            )
        )
        if topo.mail_enabled_groups:
            out.append(Reason("MAIL-GROUPS", "move mail-enabled groups and distribution lists to Exchange Online"))
        if topo.proxy_address_flows:
            out.append(Reason("PROXY", "stop managing proxyAddresses from the sync engine (Exchange Online owns them)"))
        if topo.contact_flows or topo.device_flows:
            out.append(Reason("GRAPH-TYPES", "find another home for contacts and devices"))
        if path is MigrationPath.IDSYNC_GRAPH and topo.untranslatable:
            out.append(
                Reason("I1", f"rewrite the {len(topo.untranslatable)} .NET part(s) listed below as idsync expressions")
            )
    if path is not MigrationPath.NONE:
        out.append(Reason("ONE-TOOL", "keep every object in scope of exactly one synchronization tool"))
        out.append(Reason("MIG-REMOVE", f"remove {dead} from the sync engine once the new path carries the objects"))
    return out


def _ad_side_attributes(topo: Topology) -> list[str]:
    """AD attributes the cloud path needs that FIM neither writes to nor reads from AD today (Connect's default
    source names): an attribute FIM reads from AD is already there."""
    ad_agents = topo.of_kind(AgentKind.AD)
    present = {f.cd_attribute.lower() for a in ad_agents for f in a.outbound}
    present |= {s.lower() for a in ad_agents for f in a.inbound for s in f.sources}
    needed: dict[str, None] = {}
    for f in topo.dead_outbound():
        if f.cd_object_type.lower() not in {"user", "group", "contact"} or f.cd_attribute.lower() in _NOT_AD_SIDE:
            continue
        ad = ad_attribute(f.cd_attribute)
        if ad and ad.lower() not in present:
            needed.setdefault(ad, None)
    return sorted(needed, key=str.lower)


def _risks(topo: Topology, facts: Facts, path: MigrationPath) -> list[Reason]:
    out: list[Reason] = []
    graph = path in (MigrationPath.IDSYNC_GRAPH, MigrationPath.MIM_GRAPH)
    if topo.untranslatable:
        kinds = sorted({i.what for i in topo.untranslatable})
        out.append(Reason("I1", f"{len(topo.untranslatable)} part(s) are .NET code ({', '.join(kinds)}); see the list"))
    if topo.source_anchor.guid_based is False and path is MigrationPath.CLOUD_SYNC:
        out.append(
            Reason("CS-ANCHOR", "the immutableId was not derived from objectGUID: cloud sync cannot present it as is")
        )
    if graph and topo.mail_enabled_groups:
        out.append(Reason("MAIL-GROUPS", "mail-enabled groups were provisioned to Entra"))
    if graph and topo.proxy_address_flows:
        out.append(Reason("PROXY", "proxyAddresses were written by the old connector"))
    if graph and (topo.contact_flows or topo.device_flows):
        out.append(Reason("GRAPH-TYPES", "contacts or devices were provisioned to Entra"))
    for x in topo.cross_forest_joins:
        out.append(Reason("CS-XFOREST", f"{x.mv_object_type} objects are joined across {', '.join(x.forests)}"))
    if facts.guest_users is None and path is MigrationPath.CLOUD_SYNC:
        out.append(Reason("CS-GUESTS", "whether guest users are synchronized is unknown from the export"))
    return out
