"""``generate``: a whole idsync workspace from an analyzed export.

Order matters only where one part names another: connectors first (rules name them), then the metaverse (rules
are checked against its attributes), then the rules, then the directory-side plan (which adds flows to the
directory connectors' rules), then the run profiles. The result is validated with the same loader ``idsync
validate`` uses, and any rule part that still fails is taken out and listed (:mod:`validation`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from idsync.migrate.analysis import Analysis, analyze_export
from idsync.migrate.generate import connect_rules, directory_side, mim_rules
from idsync.migrate.generate.connect_rules import mapping_text
from idsync.migrate.generate.connectors import domain_partitions, graph_connector, plan_connector, role_of
from idsync.migrate.generate.draft import DIALECT, Draft, Target
from idsync.migrate.generate.model import (
    ConnectorPlan,
    GeneratedWorkspace,
    GenerationPath,
    LeftOutKind,
    Role,
    slug,
)
from idsync.migrate.generate.outbound import ORIGIN_MARK, FlowIn, drop_unfed_reads, finish_graph_provisioning
from idsync.migrate.model import Location, ManagementAgent, ServerExport, mapping_sources, normalize_guid
from idsync.migrate.reader import read_export
from idsync.migrate.recommend import MigrationPath
from idsync.migrate.topology import AgentKind, AgentRole

TypeAvailable = Callable[[str], bool]

_DIRECTORY_TYPES = ("user", "group", "contact", "inetOrgPerson")


def default_path(analysis: Analysis) -> GenerationPath:
    rec = analysis.recommendation.path
    if rec is MigrationPath.CLOUD_SYNC:
        return GenerationPath.CLOUD_SYNC
    if rec is MigrationPath.CONNECT_SYNC:
        return GenerationPath.CONNECT_SYNC
    return GenerationPath.GRAPH


def installed_types() -> TypeAvailable:
    """Connector types this installation can load (the generated file must validate where it is generated)."""
    from idsync.connectors.registry import ConnectorRegistry, UnknownConnectorType

    registry = ConnectorRegistry()

    def available(name: str) -> bool:
        try:
            registry.get(name)
        except UnknownConnectorType:
            return False
        return True

    return available


_ASSESSED_AS = {
    GenerationPath.GRAPH: MigrationPath.IDSYNC_GRAPH,
    GenerationPath.CLOUD_SYNC: MigrationPath.CLOUD_SYNC,
    GenerationPath.CONNECT_SYNC: MigrationPath.CONNECT_SYNC,
}


def _blockers(analysis: Analysis, chosen: GenerationPath) -> list[tuple[str, str]]:
    """The analysis's hard blockers for the path chosen (none when it is the recommended one)."""
    assessed = _ASSESSED_AS[chosen]
    return [(b.rule, b.text) for a in analysis.recommendation.alternatives if a.path is assessed for b in a.blockers]


def generate(
    source: Analysis | ServerExport | str | Path,
    path: GenerationPath | str | None = None,
    *,
    type_available: TypeAvailable | None = None,
) -> GeneratedWorkspace:
    """Generate the replacement workspace for ``source`` (an export folder, a read export, or its analysis)."""
    if isinstance(source, Analysis):
        analysis = source
    elif isinstance(source, ServerExport):
        analysis = analyze_export(source)
    else:
        analysis = analyze_export(read_export(source))
    chosen = GenerationPath(path) if path is not None else default_path(analysis)
    draft = Draft(analysis, chosen)
    draft.dead_ids = {normalize_guid(d.ma.id) for d in analysis.topology.dead_connectors}
    available = type_available or installed_types()
    _connectors(draft, available)
    _metaverse(draft)
    _code_items(draft)
    export = analysis.export
    for role in analysis.topology.agents:
        mim_rules.build_inbound(draft, role.ma)
        mim_rules.build_outbound(draft, role.ma)
    for rule in sorted(export.sync_rules, key=lambda r: (r.direction.lower(), r.precedence)):
        if rule.disabled:
            continue
        if rule.direction.lower() == "inbound":
            connect_rules.build_inbound(draft, rule)
        else:
            connect_rules.build_outbound(draft, rule)
    finish_graph_provisioning(draft)
    drop_unfed_reads(draft)
    _graph_attributes(draft)
    plan = None
    if chosen is not GenerationPath.GRAPH:
        plan = directory_side.plan(draft, _dead_flows(draft))
    for out_rule in draft.outbound:
        out_rule.pop(ORIGIN_MARK, None)
    _profiles(draft)
    if chosen is GenerationPath.GRAPH and analysis.topology.mail_enabled_groups:
        draft.note(
            "MAIL-GROUPS",
            f"{draft.entra_connector} wrote mail attributes of groups, so some were mail-enabled: Graph creates only "
            "security and Microsoft 365 groups (new groups here are security groups); distribution lists and "
            "mail-enabled security groups must be managed in Exchange Online (the cutover report names them)",
        )
    if not analysis.topology.dead_connectors:
        draft.note("D1", "no agent of this export is the FIM Connector for Azure AD: nothing is provisioned to Entra")
    result = GeneratedWorkspace(
        path=chosen,
        export_root=export.root,
        recommended=analysis.recommendation.path.value,
        config=_config(draft),
        connectors=draft.connectors,
        left_out=draft.left_out,
        notes=draft.notes,
        mapping=draft.mapping,
        directory_side=plan,
        dead_connectors=[d.ma.name for d in analysis.topology.dead_connectors],
        connect_server=analysis.topology.connect_server,
        ruled_out=_blockers(analysis, chosen),
    )
    from idsync.migrate.generate.validation import settle

    settle(result, draft)
    return result


# --- connectors ----------------------------------------------------------------------------------------------------


def used_types(draft: Draft, role: AgentRole) -> list[str]:
    """The object types of an agent that some rule or flow uses, in the export's order."""
    ma = role.ma
    seen: dict[str, None] = {}
    for jp in ma.join_profiles:
        seen.setdefault(jp.cd_object_type, None)
    for p in ma.projection:
        seen.setdefault(p.cd_object_type, None)
    for f in [*role.inbound, *role.outbound]:
        if f.cd_object_type:
            seen.setdefault(f.cd_object_type, None)
    key = normalize_guid(ma.id)
    for rule in draft.export.sync_rules:
        if normalize_guid(rule.connector_id) == key and not rule.disabled:
            inbound = rule.direction.lower() == "inbound"
            seen.setdefault(rule.source_object_type if inbound else rule.target_object_type, None)
    seen.pop("", None)
    seen.pop("*", None)
    return list(seen)


def _join_attributes(ma: ManagementAgent) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for jp in ma.join_profiles:
        for crit in jp.criteria:
            for _, mapping in crit.attribute_mappings:
                out.setdefault(jp.cd_object_type, []).extend(mapping_sources(mapping))
    return out


def _unique(draft: Draft, name: str) -> str:
    taken = {c.name for c in draft.connectors}
    out, n = name, 2
    while out in taken:
        out, n = f"{name}-{n}", n + 1
    return out


def _list_other_partitions(draft: Draft, ma: ManagementAgent) -> None:
    """Selected partitions that are not domains (AD's Configuration or Schema naming context): the directory
    connector reads domain partitions only, so what MIM synchronized from them is listed."""
    domains = {id(p) for p in domain_partitions(ma)}
    for p in ma.partitions:
        if p.selected and id(p) not in domains:
            draft.leave_out(
                ma.name,
                "partition",
                ", ".join(p.object_classes),
                "",
                p.dn or p.name,
                "a selected partition that is not a domain (a Configuration or Schema naming context): the generated "
                "connector reads the domain partition only, so the objects MIM synchronized from it are not carried",
                LeftOutKind.TARGET,
                Location(ma.location.file, f"ma-data/ma-partition-data/partition[name={p.name!r}]"),
            )


def _connectors(draft: Draft, available: TypeAvailable) -> None:
    dead = [r for r in draft.analysis.topology.agents if r.kind is AgentKind.AAD_CONNECTOR]
    for role in draft.analysis.topology.agents:
        ma = role.ma
        key = normalize_guid(ma.id)
        if role.kind is AgentKind.AAD_CONNECTOR:
            if draft.path is not GenerationPath.GRAPH:
                continue
            name = _unique(draft, "entra" if len(dead) == 1 else f"entra-{slug(ma.name)}")
            replacing = Role.CONNECT_REPLACEMENT if draft.analysis.topology.connect_server else Role.REPLACEMENT
            plan = graph_connector(name, ma.name, replacing, _tenant_domain(role))
            _register(draft, key, plan, ["user", "group", "contact", "device", "publicFolder"])
            continue
        if role.kind is AgentKind.GRAPH:
            plan = graph_connector(_unique(draft, slug(ma.name, "graph")), ma.name, role_of(role))
            _register(draft, key, plan, ["user", "group"])
            continue
        types = used_types(draft, role)
        if not types and role.kind in (AgentKind.AD, AgentKind.LDAP):
            types = [t for t in ma.object_types if t in _DIRECTORY_TYPES] or ma.object_types[:1]
        if role.kind in (AgentKind.AD, AgentKind.LDAP):
            _list_other_partitions(draft, ma)
        for plan in plan_connector(role, _unique(draft, slug(ma.name, "ma")), types, _join_attributes(ma), available):
            _register(draft, key, plan, list(plan.object_types))
            if plan.placeholder:
                draft.leave_out(
                    ma.name,
                    "connected system",
                    ", ".join(plan.object_types),
                    "",
                    ma.category,
                    str(plan.block["description"]),
                    LeftOutKind.CONNECTOR,
                    ma.location,
                )


_UPN_SUFFIX = re.compile(r"@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")


def _tenant_domain(role: AgentRole) -> str | None:
    """The tenant's initial domain from the account the retired connector signed in with, else the domain its
    userPrincipalName flows append (a verified domain of the tenant either way)."""
    account = _UPN_SUFFIX.search(role.ma.parameters.get("UserName", ""))
    if account and account.group(1).lower().endswith(".onmicrosoft.com"):
        return account.group(1).lower()
    for f in role.outbound:
        if f.cd_attribute.lower() == "userprincipalname":
            found = _UPN_SUFFIX.search(f.detail)
            if found:
                return found.group(1).lower()
    return None


def _register(draft: Draft, key: str, plan: ConnectorPlan, mim_types: list[str]) -> None:
    draft.connectors.append(plan)
    for t in mim_types:
        cs_type = plan.object_types.get(t, t)
        draft.targets.setdefault((key, t), Target(plan.name, cs_type))


def _graph_attributes(draft: Draft) -> None:
    """The Graph connector imports a default set of attributes; export confirmation needs every exported one
    imported, and inbound flows and joins read theirs. Widen the set where the rules need more (``id`` for an
    import flow of the old cloudAnchor, extensionAttribute1-15)."""
    from idsync.connectors.graph.config import DEFAULT_GROUP_ATTRIBUTES, DEFAULT_USER_ATTRIBUTES, GraphConfig

    defaults = {"user": DEFAULT_USER_ATTRIBUTES, "group": DEFAULT_GROUP_ATTRIBUTES}
    for plan in draft.connectors:
        if plan.type != "graph":
            continue
        known = GraphConfig.model_construct(client_id="-").known_attributes
        wanted: dict[str, dict[str, None]] = {"user": {}, "group": {}}
        for rule in draft.outbound:
            if rule["connector"] == plan.name and rule["object_type"] in wanted:
                names = [*rule["flows"], *(a for j in rule.get("join", []) for a in j)]
                wanted[rule["object_type"]].update(dict.fromkeys(names))
        for rule in draft.inbound:
            if rule["connector"] == plan.name and rule["object_type"] in wanted:
                for flow in rule["flows"].values():
                    refs = _references(str(flow["expression"] if isinstance(flow, dict) else flow))
                    wanted[rule["object_type"]].update(dict.fromkeys(refs))
        types: dict[str, Any] = {}
        for kind in ("user", "group"):
            extra = [a for a in wanted[kind] if a not in defaults[kind] and a in known(kind)]
            types[kind] = {"attributes": [*defaults[kind], *extra]} if extra else {}
        if any(types.values()):
            plan.block["object_types"] = types


def _references(text: str) -> frozenset[str]:
    from idsync.expressions import ExpressionError, compile_expression

    try:
        return compile_expression(text, DIALECT).references
    except ExpressionError:
        return frozenset()


# --- metaverse -------------------------------------------------------------------------------------------------


def _metaverse(draft: Draft) -> None:
    mv = draft.export.metaverse
    if mv is not None and mv.schema.classes:
        for name, oc in mv.schema.classes.items():
            attrs: dict[str, str] = {}
            for a in oc.attributes:
                at = mv.schema.attribute_types.get(a.name)
                kind = at.kind if at is not None else "string"
                attrs[a.name] = kind + ("" if at is None or at.single_valued else "[]")
            draft.metaverse[name] = {"attributes": attrs}
    else:
        _metaverse_from_flows(draft)
    for rule in mv.deletion_rules if mv is not None else []:
        decl = draft.metaverse.get(rule.mv_object_type)
        if decl is None or rule.kind != "declared-any":
            continue
        names = []
        for ma_id in rule.source_ma_ids:
            for (key, _), target in draft.targets.items():
                if key == normalize_guid(ma_id) and target.connector not in names:
                    names.append(target.connector)
        if names:
            decl["deletion"] = {"when": "authoritative", "authoritative": names}


def _metaverse_from_flows(draft: Draft) -> None:
    """A single exported agent has no MV.XML: the metaverse is what its flows name, as strings."""
    draft.note(
        "metaverse",
        "the export has no MV.XML: metaverse attributes are taken from the flows, as strings (references where a "
        "flow feeds a reference)",
    )
    for ma in draft.export.management_agents:
        for out in ma.export_flows:
            decl = draft.metaverse.setdefault(out.mv_object_type, {"attributes": {}})
            sources = mapping_sources(out.mapping)
            at = ma.schema.attribute_types.get(out.cd_attribute)
            # a direct flow into a reference (manager, member) carries a reference
            kind = at.kind if at is not None and len(sources) == 1 and at.kind == "reference" else "string"
            for src in sources:
                decl["attributes"].setdefault(src, kind + ("" if at is None or at.single_valued else "[]"))
    mv = draft.export.metaverse
    for into in mv.import_flows if mv is not None else []:
        decl = draft.metaverse.setdefault(into.mv_object_type, {"attributes": {}})
        decl["attributes"].setdefault(into.mv_attribute, "string")


# --- parts written in .NET ---------------------------------------------------------------------------------------


def _code_items(draft: Draft) -> None:
    """Every part the topology found written in .NET, with its location (item c)."""
    for item in draft.analysis.topology.untranslatable:
        reason = {
            "rules extension": "a .NET assembly: whatever it does must be rewritten as idsync expressions or rules",
            "connector extension": "a .NET assembly loaded by the agent: replace it with the connector's own settings",
            "scripted provisioning": "the metaverse rules extension decides what is provisioned where",
            "manual precedence": "the rules extension picks the value; idsync needs a precedence per flow",
        }.get(item.what, "computed by a rules extension (.NET code): rewrite it as an expression")
        draft.leave_out(
            item.agent,
            item.what,
            item.object_type,
            item.attribute,
            item.detail,
            reason,
            LeftOutKind.CODE,
            item.location,
            "I1",
        )


# --- the retired connector's flows, for the directory paths --------------------------------------------------------


def _dead_flows(draft: Draft) -> list[FlowIn]:
    out: list[FlowIn] = []
    for d in draft.analysis.topology.dead_connectors:
        for f in d.ma.export_flows:
            out.append(mim_rules.export_flow_in(draft, d.ma, f))
        key = normalize_guid(d.ma.id)
        for rule in draft.export.sync_rules:
            if normalize_guid(rule.connector_id) != key or rule.direction.lower() != "outbound" or rule.disabled:
                continue
            for m in rule.mappings:
                text, why = mapping_text(m)
                out.append(
                    FlowIn(
                        d.ma.name,
                        rule.target_object_type,
                        m.destination,
                        rule.source_object_type,
                        text,
                        why,
                        LeftOutKind.TRANSLATION,
                        m.expression or ", ".join(m.sources),
                        m.execute_once,
                        rule.location,
                    )
                )
    return out


# --- run profiles ------------------------------------------------------------------------------------------------


def _steps(step_type: str, subtype: str) -> list[str]:
    t, s = step_type.lower(), subtype.lower()
    if s == "to-file":
        return []
    out = []
    if "full-import" in t:
        out.append("full-import")
    elif "delta-import" in t:
        out.append("delta-import")
    if t == "export":
        out.append("export")
    if "reevaluate" in t or "reevaluate" in s or (t == "apply-rules" and "pending" not in s):
        out.append("full-sync")
    elif "apply" in t or "delta-sync" in t or "pending" in s:
        out.append("delta-sync")
    return out


def _profiles(draft: Draft) -> None:
    by_agent: dict[str, list[str]] = {}
    for plan in draft.connectors:
        by_agent.setdefault(plan.agent, []).append(plan.name)
    for role in draft.analysis.topology.agents:
        names = by_agent.get(role.ma.name, [])
        if not names:
            continue
        for rp in role.ma.run_profiles:
            steps = [{name: step} for s in rp.steps for step in _steps(s.step_type, s.subtype) for name in names]
            skipped = [s.step_type for s in rp.steps if not _steps(s.step_type, s.subtype)]
            if skipped:
                draft.note(
                    "profiles",
                    f"{role.ma.name!r} run profile {rp.name!r}: step(s) {', '.join(skipped)} have no idsync equivalent",
                )
            if steps:
                draft.profiles[slug(f"{names[0]}-{rp.name}", "profile")] = steps
    connectors = [c.name for c in draft.connectors]
    targets = list(dict.fromkeys(str(r["connector"]) for r in draft.outbound))
    sources = list(dict.fromkeys(str(r["connector"]) for r in draft.inbound))
    order = [c for c in connectors if c in sources and c not in targets] + [c for c in connectors if c in targets]
    order += [c for c in connectors if c not in order and c in sources]
    draft.profiles["full-cycle"] = (
        [{c: "full-import"} for c in connectors]
        + [{c: "full-sync"} for c in order]
        + [{c: "export"} for c in targets]
        + [{c: "confirming-import"} for c in targets]
    )
    draft.profiles["delta-cycle"] = (
        [{c: "delta-import"} for c in connectors]
        + [{c: "delta-sync"} for c in order]
        + [{c: "export"} for c in targets]
        + [{c: "confirming-import"} for c in targets]
    )


_RULE_KEYS = (
    "name",
    "connector",
    "object_type",
    "metaverse_type",
    "description",
    "dialect",
    "precedence",
    "scope",
    "join",
    "project",
    "provision",
    "identifier",
    "flows",
    "deprovision",
    "deprovision_flows",
)


def _ordered(rule: dict[str, Any]) -> dict[str, Any]:
    """Rule keys in reading order (who, which objects, how matched, what flows, what on leaving)."""
    out = {k: rule[k] for k in _RULE_KEYS if k in rule}
    out.update({k: v for k, v in rule.items() if k not in out})
    return out


def _config(draft: Draft) -> dict[str, Any]:
    return {
        "version": 1,
        "store": "sqlite",
        "staging": True,
        "connectors": {c.name: c.block for c in draft.connectors},
        "metaverse": draft.metaverse,
        "inbound": [_ordered(r) for r in draft.inbound],
        "outbound": [_ordered(r) for r in draft.outbound],
        "profiles": draft.profiles,
    }
