"""Section (b): on the cloud sync and Connect Sync paths the retired connector's flows do not go to Entra any
more. They must reach AD (or the LDAP directory) so that the Microsoft tool carries them on: this module lists
them under the directory's own attribute names (Connect's default source of each, e.g. surname <- sn, alias <-
mailNickname), adds the missing ones to the directory connector's outbound rule in the generated workspace — only
where the agent selects that attribute (or its exported schema has it) and the metaverse value has a source; the
others are listed as not carried — and writes the pilot plan: one OU (or a pilot group) first, then the rest
container by container (R4, CS-SCOPES, ONE-TOOL).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from idsync.expressions import ExpressionError, compile_expression
from idsync.migrate.generate.connectors import carried_exclusions, dns_name, domain_partitions
from idsync.migrate.generate.draft import DIALECT, Draft
from idsync.migrate.generate.model import (
    ADExportFlow,
    DirectorySidePlan,
    GenerationPath,
    LeftOutKind,
    ScopePlan,
)
from idsync.migrate.generate.outbound import FlowIn, directory_rule, fed_attributes
from idsync.migrate.graph_mapping import ad_attribute
from idsync.migrate.recommend import CLOUD_SYNC_MAX_SCOPES
from idsync.migrate.topology import AgentKind, AgentRole

NOT_DIRECTORY_SIDE = {"dn", "cloudanchor", "sourceanchor", "export_password", "dnsdomainname", "netbiosname"}
"""Values the sync tool computes itself (anchors, DN, domain names) or that are not attributes (the password)."""

VALUE_CONVERSIONS = {
    "useraccountcontrol": ("IIF({x}, 512, 514)", "accountEnabled becomes userAccountControl 512 (enabled) or 514"),
    "grouptype": (
        "IIF({x}, -2147483646, 2)",
        "securityEnabled becomes groupType: a global security group, or a global distribution group",
    ),
}
"""Retired-connector values whose AD attribute holds a different kind of value."""

_OBJECT_TYPES = {"user": "user", "group": "group", "contact": "contact"}


def _agent_for(topo_agents: list[AgentRole], mv_type: str) -> AgentRole | None:
    """The directory agent that should carry values of ``mv_type``: one that writes them today, else one linked to
    them (joined, projected or read)."""
    directories = [a for a in topo_agents if a.kind in (AgentKind.AD, AgentKind.LDAP)]
    for a in directories:
        if any(f.mv_object_type == mv_type for f in a.outbound):
            return a
    for a in directories:
        if mv_type in a.joins_into or mv_type in a.projects_into or any(f.mv_object_type == mv_type for f in a.inbound):
            return a
    return None


def _cd_type(agent: AgentRole, mv_type: str, aad_type: str) -> str:
    """The agent's object type for ``mv_type``: the retired connector's own type name when the agent has it (user,
    group, contact), else the type the agent already writes or reads for that metaverse type."""
    same = _OBJECT_TYPES.get(aad_type.lower(), aad_type)
    if same in agent.ma.object_types:
        return same
    for f in [*agent.outbound, *agent.inbound]:
        if f.mv_object_type == mv_type:
            return f.cd_object_type
    return same


def _references(text: str | None) -> frozenset[str]:
    if text is None:
        return frozenset()
    try:
        return compile_expression(text, DIALECT).references
    except ExpressionError:
        return frozenset()


def _read_from(agent: AgentRole, mv_type: str, refs: frozenset[str]) -> list[str]:
    """The agent's attributes that feed every metaverse attribute in ``refs`` (empty when one is not fed by it)."""
    fed: dict[str, list[str]] = {}
    for f in agent.inbound:
        if f.mv_object_type == mv_type:
            fed.setdefault(f.mv_attribute.lower(), []).extend(f.sources)
    if not refs or any(r.lower() not in fed for r in refs):
        return []
    return sorted({s for r in refs for s in fed[r.lower()]})


NOT_CARRIED = "not carried"


def directory_attributes(agent: AgentRole, cd_type: str) -> set[str] | None:
    """The attributes (lower case) the directory agent can write for ``cd_type``, as its export shows them: the
    attributes it selects (attribute inclusion), else its schema's class; None when the export shows neither."""
    ma = agent.ma
    if ma.attribute_inclusion:
        return {a.lower() for a in ma.attribute_inclusion}
    oc = ma.schema.classes.get(cd_type)
    if oc is not None and oc.attributes:
        return {a.name.lower() for a in oc.attributes}
    return None


def _cannot_add(agent: AgentRole, cd_type: str, dir_attr: str, f: FlowIn, fed: set[tuple[str, str]]) -> str:
    """Why a flow cannot be added to the directory agent's rule (empty when it can)."""
    known = directory_attributes(agent, cd_type)
    if known is not None and dir_attr.lower() not in known:
        return (
            f"{dir_attr} is not among the attributes the agent {agent.name!r} selects or its exported schema has for "
            f"{cd_type}"
        )
    unfed = sorted(r for r in _references(f.text) if (f.mv_type, r.lower()) not in fed)
    if unfed:
        return f"it reads {', '.join(unfed)}, which no inbound rule of this workspace feeds"
    return ""


def plan(draft: Draft, dead_flows: list[FlowIn]) -> DirectorySidePlan:
    topo = draft.analysis.topology
    fed = fed_attributes(draft)
    flows: list[ADExportFlow] = []
    seen: set[tuple[str, str, str]] = set()
    additions: dict[tuple[str, str, str], list[FlowIn]] = {}
    for f in dead_flows:
        if f.attribute.lower() in NOT_DIRECTORY_SIDE or f.cd_type.lower() not in _OBJECT_TYPES:
            continue
        problem = f.why if f.text is None else draft.problem(f.text, draft.mv_attributes(f.mv_type))
        if problem:
            kind = f.kind if f.text is None else LeftOutKind.TRANSLATION
            draft.leave_out(f.agent, f.what, f.cd_type, f.attribute, f.text or f.detail, problem, kind, f.location)
            f = replace(f, text=None)
        agent = _agent_for(topo.agents, f.mv_type)
        dir_attr = ad_attribute(f.attribute) or f.attribute
        if agent is None:
            if ("", f.cd_type, dir_attr) not in seen:
                seen.add(("", f.cd_type, dir_attr))
                flows.append(ADExportFlow("", f.cd_type, dir_attr, f.attribute, f.text or f.detail, "add", f.text))
            continue
        cd_type = _cd_type(agent, f.mv_type, f.cd_type)
        if (agent.name, cd_type, dir_attr) in seen:
            continue
        seen.add((agent.name, cd_type, dir_attr))
        exported = {x.cd_attribute.lower() for x in agent.outbound if x.mv_object_type == f.mv_type}
        read = _read_from(agent, f.mv_type, _references(f.text))
        if read:
            status, shown = "read", ", ".join(read)
        elif dir_attr.lower() in exported:
            status, shown = "exported", dir_attr
        else:
            status, shown = "add", dir_attr
        if status == "add":
            why = _cannot_add(agent, cd_type, dir_attr, f, fed)
            if why:
                status = NOT_CARRIED
                draft.leave_out(
                    f.agent,
                    "flow to move to the directory",
                    f.cd_type,
                    f.attribute,
                    f.text or f.detail,
                    f"{why}: not added to {agent.name!r}; the sync tool will not carry {f.attribute} from the "
                    "directory",
                    LeftOutKind.TARGET,
                    f.location,
                )
        text = f.text
        conversion = VALUE_CONVERSIONS.get(dir_attr.lower())
        if text is not None and conversion is not None:
            text = conversion[0].format(x=text)
            if status == "add":
                draft.note(dir_attr, conversion[1])
        flows.append(ADExportFlow(agent.name, cd_type, shown, f.attribute, f.text or f.detail, status, text))
        if status == "add" and text is not None:
            flow = replace(f, cd_type=cd_type, attribute=dir_attr, text=text)
            additions.setdefault((agent.ma.id, cd_type, f.mv_type), []).append(flow)
    for (ma_id, cd_type, mv_type), moved in additions.items():
        _add_to_rules(draft, ma_id, cd_type, mv_type, moved)
    if topo.source_anchor.guid_based is True:
        for c in draft.connectors:
            if c.type == "ad":
                # as Connect Sync does: objectGUID into an empty mS-DS-ConsistencyGuid, the anchor both tools read
                c.block["consistency_guid"] = True
    return DirectorySidePlan(
        path=draft.path,
        flows=flows,
        needed_attributes=_needed(draft, flows),
        anchor=_anchor_steps(draft),
        scoping=_scoping(draft),
        notes=_notes(draft),
        in_place=_in_place(draft),
        connect_server=draft.analysis.topology.connect_server,
    )


def _add_to_rules(draft: Draft, ma_id: str, cd_type: str, mv_type: str, moved: list[FlowIn]) -> None:
    """Put the moved flows into the agent's outbound rule for the type, or a rule of their own when FIM only
    reads that type from the directory today."""
    target = draft.target(ma_id, cd_type)
    if target is None:
        return
    tool = "cloud sync" if draft.path is GenerationPath.CLOUD_SYNC else "Connect Sync"
    extra = directory_rule(
        draft,
        agent=moved[0].agent,
        connector=target.connector,
        object_type=target.object_type,
        cd_type=cd_type,
        mv_type=mv_type,
        flows=moved,
        identifier=None,
        provision=False,
        deprovision="keep",
        scope=None,
        precedence=None,
        description=f"what {draft.entra_connector} carried to Entra, now written to {target.connector!r} for {tool} "
        "to carry on",
    )
    for rule in draft.outbound:
        if (rule["connector"], rule["object_type"], rule["metaverse_type"]) == (
            target.connector,
            target.object_type,
            mv_type,
        ):
            draft.rule_names.discard(extra["name"])
            for attr, flow in extra["flows"].items():
                rule["flows"].setdefault(attr, flow)
            return
    draft.outbound.append(extra)


def _needed(draft: Draft, flows: list[ADExportFlow]) -> list[tuple[str, str]]:
    out: dict[str, str] = {
        "userPrincipalName": "the sign-in name in Entra, and the soft-match key for users (MATCH)",
        "mail": "the primary SMTP address; soft match on proxyAddresses uses its SMTP: value (MATCH)",
    }
    if draft.path is GenerationPath.CLOUD_SYNC:
        out["ms-DS-ConsistencyGuid"] = (
            "cloud sync's source anchor when present (else objectGUID); it must equal each object's current "
            "immutableId for existing Entra objects to be hard-matched (CS-ANCHOR)"
        )
    else:
        out["ms-DS-ConsistencyGuid"] = (
            "Connect's recommended sourceAnchor; or the attribute chosen at install (DCON-ANCHOR)"
        )
    whose = "the Azure AD connector writes" if _in_place(draft) else f"{draft.entra_connector} wrote"
    for f in flows:
        out.setdefault(f.directory_attribute, f"carries what {whose} to {f.aad_attribute}")
    return list(out.items())


def _anchor_steps(draft: Draft) -> list[str]:
    topo = draft.analysis.topology
    trace = topo.source_anchor
    origin = "; ".join(trace.origins) or "no sourceAnchor flow was found"
    if _in_place(draft):
        return [
            f"Connect's sourceAnchor (each object's immutableId in Entra) comes from: {origin}. The server keeps "
            "it; a staging or rebuilt server must be installed with the same sourceAnchor (CONNECT-KEEP)."
        ]
    whose = "Connect's" if topo.connect_server else "The retired connector's"
    steps = [f"{whose} sourceAnchor (each object's immutableId in Entra) came from: {origin}."]
    if trace.guid_based is True:
        steps.append(
            "It derives from objectGUID (or ms-DS-ConsistencyGuid): the Microsoft tool presents the same value, so the "
            "existing Entra objects are hard-matched; leave ms-DS-ConsistencyGuid empty or equal to objectGUID."
        )
    elif trace.guid_based is False:
        if draft.path is GenerationPath.CLOUD_SYNC:
            steps.append(
                "It is not a GUID, and cloud sync always presents ms-DS-ConsistencyGuid (else objectGUID): before the "
                "pilot, stamp each object's ms-DS-ConsistencyGuid with its current immutableId, base64-decoded, or the "
                "existing Entra objects will not be hard-matched (CS-ANCHOR). An immutableId that does not decode to "
                "16 bytes cannot be presented by cloud sync: use Connect Sync with a custom sourceAnchor instead."
            )
        else:
            steps.append(
                "It is not a GUID: install Connect with a custom sourceAnchor attribute that holds the same value "
                "(write it to AD, e.g. into ms-DS-ConsistencyGuid as the base64-decoded immutableId, or into an "
                "attribute Connect reads as a string), so existing objects are hard-matched (DCON-ANCHOR)."
            )
    else:
        steps.append(
            "It was computed by code, so its form is unknown: compare a few users' onPremisesImmutableId with their "
            "objectGUID (base64) before choosing what the new tool presents."
        )
    return steps


def _scoping(draft: Draft) -> list[ScopePlan]:
    out: list[ScopePlan] = []
    topo = draft.analysis.topology
    tool = "cloud sync" if draft.path is GenerationPath.CLOUD_SYNC else "Connect Sync"
    for role in topo.agents:
        if role.kind not in (AgentKind.AD, AgentKind.LDAP):
            continue
        for part in domain_partitions(role.ma) or []:
            base = part.dn or part.name
            containers = [c for c in part.inclusions if c] or [base]
            excluded = carried_exclusions(containers, part.exclusions)
            if _in_place(draft):
                steps, pilot = _connect_server_steps(base, containers, excluded, role), ""
            else:
                pilot = containers[0]
                steps = _pilot_steps(draft, tool, base, pilot, containers, excluded, role)
            domain = dns_name(base) or base
            out.append(ScopePlan(role.name, domain, containers, pilot, steps, len(containers), excluded))
    return out


def _in_place(draft: Draft) -> bool:
    """Connect Sync generated from a Connect Sync server's own export: that server stays as it is."""
    return draft.path is GenerationPath.CONNECT_SYNC and draft.analysis.topology.connect_server


def _exclusion_step(tool: str, excluded: list[str]) -> str:
    """MIM left these subtrees out of its containers: the new tool must too, or it carries to Entra objects MIM
    never managed."""
    if tool == "cloud sync":
        how = (
            "an OU in cloud sync's OU scoping brings the OUs below it, so scope the OUs beside an excluded one "
            "instead of their parent"
        )
    else:
        how = "clear them under the selected OUs in Connect's Domain and OU filtering"
    return f"Keep {'; '.join(excluded)} out of scope, as MIM excluded them: {how} (ONE-TOOL)."


def _connect_server_steps(base: str, containers: list[str], excluded: list[str], role: AgentRole) -> list[str]:
    """The export is the Connect Sync server itself: it already carries these containers to Entra with its own
    Azure AD connector, so there is nothing to install, pilot or remove — only its settings to check and keep, and
    the way to change them without exporting an unverified change (CONNECT-CHANGE)."""
    domain = dns_name(base) or base
    steps = [
        f"Install nothing and remove nothing: this export is the Connect Sync server that already carries {domain} "
        f"to Entra, and its Azure AD connector is Connect's own, not the retired one (CONNECT-KEEP).",
        f"On that server, check the OU filtering of {domain} (the installation wizard's Domain and OU filtering "
        f"page): it syncs {'; '.join(containers)}{_leaving_out(excluded)}. An object filtered out after it was "
        "synchronized is deleted in Entra, so narrow the filter only on purpose (CONNECT-CHANGE).",
        "Check the sourceAnchor the server uses (see Anchor) and keep it: a staging or rebuilt server must be "
        "installed with the same one, or the objects in Entra lose their link (CONNECT-KEEP).",
        "Change the server's filtering or rules only with its scheduler disabled (Set-ADSyncScheduler "
        "-SyncCycleEnabled $false) or with the server in staging mode: run a full synchronization, check what it "
        "would export to Entra and a few objects there (the same object ids, no duplicates), then enable the "
        "scheduler again (CONNECT-CHANGE, MATCH).",
        "This workspace mirrors the server's rules towards the directory and starts in staging mode: let one of the "
        "two write to the directory, never both, so that each object stays in scope of one tool (ONE-TOOL).",
    ]
    if role.kind is AgentKind.LDAP:
        steps.append(f"{role.name!r} is not AD: the server reads it through Connect's generic LDAP connector (R6).")
    return steps


def _leaving_out(excluded: list[str]) -> str:
    return f", leaving out {'; '.join(excluded)}" if excluded else ""


def _pilot_steps(
    draft: Draft, tool: str, base: str, pilot: str, containers: list[str], excluded: list[str], role: AgentRole
) -> list[str]:
    rest = [c for c in containers if c != pilot]
    group = f"CN=idsync-{tool.replace(' ', '-').lower()}-pilot,{pilot}"
    steps: list[str] = []
    connect_server = draft.analysis.topology.connect_server
    if draft.path is GenerationPath.CLOUD_SYNC and connect_server:
        steps.append(
            "On the Connect Sync server this export comes from, stop the scheduler (Set-ADSyncScheduler "
            f"-SyncCycleEnabled $false) and add, for users, groups and contacts, an inbound rule scoped to DN "
            f"ENDSWITH {pilot} that sets cloudNoFlow to True and an outbound rule to Entra of link type JoinNoFlow "
            "scoped to cloudNoFlow = True; then start the scheduler again. Do not take the OU out of Connect's OU "
            "filtering: that deletes its objects in Entra, groups for good (CS-FROM-CONNECT)."
        )
    if draft.path is GenerationPath.CLOUD_SYNC:
        steps.append(
            f"Create one cloud sync configuration for {dns_name(base) or base} scoped to the OU {pilot} only (OU "
            f"scoping; for a smaller pilot, a security group such as {group} with the pilot users as direct members: "
            "group scoping is for pilots only and ignores nested members) (R4)."
        )
    else:
        steps.append(
            f"Install Connect Sync in staging mode, with OU filtering on {pilot} only for {dns_name(base) or base}; "
            "check what it would export, then leave staging mode (TOP-SERVER)."
        )
    if excluded:
        steps.append(_exclusion_step(tool, excluded))
    writer = "Connect's Azure AD connector" if connect_server else "the retired connector"
    steps.append(
        f"Before it runs: apply the AD-side changes above so the pilot objects carry every attribute {writer} "
        "wrote, and settle the source anchor (see Anchor)."
    )
    steps.append(
        "Run it and check the pilot users in Entra: the same object ids as before (hard-matched on the immutableId), "
        "no new duplicates, attributes as expected (MATCH)."
    )
    if rest:
        steps.append(
            f"Add the other containers one at a time: {'; '.join(rest)}. Keep every object in scope of one tool only "
            "(ONE-TOOL)."
        )
    if len(containers) > CLOUD_SYNC_MAX_SCOPES and draft.path is GenerationPath.CLOUD_SYNC:
        steps.append(
            f"{len(containers)} containers exceed the 59 separate OUs one configuration takes: scope parent OUs "
            "instead (nested OUs are fine) (CS-SCOPES)."
        )
    if connect_server:
        steps.append(
            "When cloud sync carries every container, retire the Connect Sync server this export comes from, so that "
            "each object is in scope of one tool only (ONE-TOOL)."
        )
    else:
        steps.append("When every object is carried, remove the retired connector from the sync engine (MIG-REMOVE).")
    if role.kind is AgentKind.LDAP:
        steps.append(
            f"{role.name!r} is not AD: Connect reads it through its generic LDAP connector; the attribute names above "
            "are AD's and must be mapped to the directory's schema (R6)."
        )
    return steps


def _notes(draft: Draft) -> list[tuple[str, str]]:
    topo = draft.analysis.topology
    chain = "; ".join(topo.source_anchor.origins)
    # The sourceAnchor chain is spelled out under Anchor: the list of changes points there instead of repeating it.
    out = [
        (r.rule, r.text.replace(chain, "see Anchor above") if chain else r.text)
        for r in draft.analysis.recommendation.changes
    ]
    if draft.path is GenerationPath.CLOUD_SYNC and topo.cross_forest_joins:
        out.append(
            (
                "CS-XFOREST",
                "objects are joined across forests in this deployment; cloud sync does not match across forests, so "
                "each object must be written, complete, to one forest only",
            )
        )
    return out


def as_json(plan_: DirectorySidePlan) -> dict[str, Any]:
    return {
        "path": plan_.path.value,
        "in_place": plan_.in_place,
        "flows": [
            {
                "agent": f.agent,
                "object_type": f.object_type,
                "directory_attribute": f.directory_attribute,
                "aad_attribute": f.aad_attribute,
                "source": f.source,
                "status": f.status,
                "expression": f.expression,
            }
            for f in plan_.flows
        ],
        "needed_attributes": [{"attribute": a, "why": w} for a, w in plan_.needed_attributes],
        "anchor": plan_.anchor,
        "scoping": [
            {
                "agent": s.agent,
                "domain": s.domain,
                "containers": s.containers,
                "excluded_containers": s.excluded,
                "pilot": s.pilot,
                "scopes": s.scopes,
                "steps": s.steps,
            }
            for s in plan_.scoping
        ],
        "notes": [{"rule": r, "text": t} for r, t in plan_.notes],
    }
