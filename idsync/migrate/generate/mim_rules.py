"""Rules from a FIM/MIM Synchronization Service export: each agent's join profiles, projection, connector
filters and the metaverse's import flows become inbound rules; its export flows become outbound rules.

MIM keeps import flows in the metaverse with a precedence per metaverse attribute; idsync keeps them on the
inbound rule with a precedence number per flow. Ranked precedence becomes that number (rank 1 wins), and an
attribute with several contributors gets ``skip_null`` so that a contributor without a value hands over to the
next, as MIM's ranked precedence does. Two ranked flows from the same agent and object type into one attribute
become one ``Coalesce`` in rank order.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from idsync.migrate.connector_flows import describe_mapping
from idsync.migrate.generate.conditions import UntranslatableCondition, connector_filter_scope
from idsync.migrate.generate.draft import DIALECT, Draft
from idsync.migrate.generate.graph_target import inbound_property
from idsync.migrate.generate.model import GenerationPath, LeftOutKind
from idsync.migrate.generate.outbound import FlowIn, JoinPair, directory_rule, graph_rule
from idsync.migrate.model import (
    DirectMapping,
    DnPartMapping,
    ExportFlow,
    ImportFlow,
    JoinCriterion,
    Layout,
    ManagementAgent,
    Mapping,
    ScriptedMapping,
    SyncRuleMapping,
    mapping_sources,
    normalize_guid,
)
from idsync.migrate.topology import AgentKind, classify
from idsync.migrate.translate import Dialect, translate_mapping

CLEANUP_ACTIONS = {
    "make-normal-disconnector": "disconnect",
    "make-explicit-disconnector": "disconnect",
    "delete-object": "delete",
}


def translated(
    draft: Draft, mapping: Mapping, source: ManagementAgent | None = None
) -> tuple[str | None, str, LeftOutKind]:
    """A mapping as a connect-dialect expression, or why not (the reason and its kind). ``source`` is the agent
    whose objects the mapping reads, when it reads a connector space (import flows, join rules)."""
    if isinstance(mapping, DnPartMapping) or (isinstance(mapping, DirectMapping) and mapping.source == "dn"):
        if source is None:
            return None, "reads a DN, and the metaverse objects an export flow reads have none", LeftOutKind.TRANSLATION
        # inbound expressions read the connector-space object's identifier (its DN) as [dn], as MIM's rules do
        if isinstance(mapping, DnPartMapping):
            if not ldap_dn(source):
                return (
                    None,
                    f"reads part {mapping.part} of the DN, but {source.name!r} has no LDAP DNs (its DN is a plain "
                    "value such as its anchor, <ldap-dn>0</ldap-dn>): the part would always be null",
                    LeftOutKind.TRANSLATION,
                )
            return f"DNComponent(CRef([dn]), {mapping.part})", "", LeftOutKind.TRANSLATION
        return "[dn]", "", LeftOutKind.TRANSLATION
    result = translate_mapping(mapping, Dialect.CONNECT)
    if result.text is None:
        kind = LeftOutKind.CODE if isinstance(mapping, ScriptedMapping) else LeftOutKind.TRANSLATION
        return None, "; ".join(result.problems), kind
    return result.text, "", LeftOutKind.TRANSLATION


def ldap_dn(ma: ManagementAgent) -> bool:
    """Whether the agent's DNs are LDAP DNs, whose parts a dn-part flow can read: as ``<ldap-dn>`` says, else by
    kind (a SQL table's or a file's DN is its anchor value; other agents are taken to have LDAP DNs)."""
    if ma.ldap_dn is not None:
        return ma.ldap_dn
    return classify(ma) not in (AgentKind.SQL, AgentKind.FILE)


def cleanup_action(draft: Draft, ma: ManagementAgent) -> str:
    """The deprovisioning action of the agent's provisioning cleanup."""
    if ma.provisioning_cleanup == "scripted":
        return "keep"
    return CLEANUP_ACTIONS.get(ma.provisioning_cleanup_action, "disconnect")


# --- inbound -----------------------------------------------------------------------------------------------------


class _InboundKeys:
    """The (object type, metaverse type) pairs one agent's inbound side touches, in a stable order."""

    def __init__(self) -> None:
        self.keys: dict[tuple[str, str], None] = {}

    def add(self, cd_type: str, mv_type: str | None) -> None:
        if mv_type:
            self.keys.setdefault((cd_type, mv_type), None)


def _mv_type_guess(ma: ManagementAgent, flows: list[ImportFlow], cd_type: str) -> str | None:
    for p in ma.projection:
        if p.cd_object_type == cd_type and p.mv_object_type:
            return p.mv_object_type
    for f in flows:
        if f.cd_object_type == cd_type:
            return f.mv_object_type
    return None


def build_inbound(draft: Draft, ma: ManagementAgent) -> None:
    mv = draft.export.metaverse
    flows = [f for f in (mv.import_flows if mv else []) if normalize_guid(f.ma_id) == normalize_guid(ma.id)]
    dead = draft.is_dead(ma.id)
    if dead and draft.path is not GenerationPath.GRAPH:
        for f in flows:
            draft.leave_out(
                ma.name,
                "import flow",
                f.cd_object_type,
                f.mv_attribute,
                describe_mapping(f.mapping),
                f"reads Microsoft Entra through {draft.entra_connector}; on the {draft.path.value} path Entra is read "
                f"by the sync tool, not by this workspace, so {f.mv_object_type}.{f.mv_attribute} has no source here",
                LeftOutKind.TARGET,
                f.location,
            )
        return
    keys = _InboundKeys()
    for f in flows:
        keys.add(f.cd_object_type, f.mv_object_type)
    if not dead:
        for p in ma.projection:
            keys.add(p.cd_object_type, p.mv_object_type)
        for jp in ma.join_profiles:
            for crit in jp.criteria:
                keys.add(jp.cd_object_type, crit.mv_object_type or _mv_type_guess(ma, flows, jp.cd_object_type))
    for cd_type, mv_type in keys.keys:
        target = draft.target(ma, cd_type)
        if target is None or mv_type not in draft.metaverse:
            continue
        rule: dict[str, Any] = {
            "name": draft.rule_name(target.connector, cd_type, "to", mv_type),
            "connector": target.connector,
            "object_type": target.object_type,
            "metaverse_type": mv_type,
            "dialect": DIALECT,
            "description": f"from the MIM agent {ma.name!r} ({cd_type} -> {mv_type})",
        }
        if not dead:
            scope = _scope(draft, ma, cd_type)
            if scope:
                rule["scope"] = scope
            joins = _joins(draft, ma, cd_type, mv_type, flows)
            if joins:
                rule["join"] = joins
            if _projects(draft, ma, cd_type, mv_type):
                rule["project"] = True
        rule["flows"] = _import_flows(
            draft, ma, [f for f in flows if (f.cd_object_type, f.mv_object_type) == (cd_type, mv_type)], dead
        )
        if rule["flows"] or rule.get("join") or rule.get("project"):
            draft.inbound.append(rule)


def _scope(draft: Draft, ma: ManagementAgent, cd_type: str) -> str | None:
    for flt in ma.connector_filters:
        if flt.cd_object_type != cd_type or flt.kind != "declared":
            continue
        try:
            scope = connector_filter_scope(flt.alternatives)
        except UntranslatableCondition as exc:
            draft.leave_out(
                ma.name,
                "connector filter",
                cd_type,
                "",
                "",
                f"{exc}; the whole filter is left out",
                LeftOutKind.TRANSLATION,
                flt.location,
            )
            return None
        problem = draft.problem(scope) if scope else None
        if problem:
            draft.leave_out(
                ma.name, "connector filter", cd_type, "", scope or "", problem, LeftOutKind.TRANSLATION, flt.location
            )
            return None
        return scope
    return None


def _joins(
    draft: Draft, ma: ManagementAgent, cd_type: str, mv_type: str, flows: list[ImportFlow]
) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for jp in ma.join_profiles:
        if jp.cd_object_type != cd_type:
            continue
        for crit in jp.criteria:
            crit_type = crit.mv_object_type or _mv_type_guess(ma, flows, cd_type)
            if crit_type is None and mv_type == _first_mv_type(ma, flows, cd_type):
                draft.leave_out(
                    ma.name,
                    "join rule",
                    cd_type,
                    ", ".join(a for a, _ in crit.attribute_mappings),
                    "any metaverse object type",
                    "MIM searched every metaverse object type; idsync joins within the rule's metaverse type: add the "
                    "join to the rule of the type it should find",
                    LeftOutKind.TRANSLATION,
                    crit.location,
                )
            if crit_type != mv_type:
                continue
            pairs = _join_pairs(draft, ma, crit, cd_type)
            if pairs:
                out.append(pairs)
    return out


def _first_mv_type(ma: ManagementAgent, flows: list[ImportFlow], cd_type: str) -> str | None:
    for jp in ma.join_profiles:
        if jp.cd_object_type == cd_type:
            for crit in jp.criteria:
                if crit.mv_object_type:
                    return crit.mv_object_type
    return _mv_type_guess(ma, flows, cd_type)


def _join_pairs(draft: Draft, ma: ManagementAgent, crit: JoinCriterion, cd_type: str) -> dict[str, str] | None:
    pairs: dict[str, str] = {}
    for mv_attr, mapping in crit.attribute_mappings:
        text, why, kind = translated(draft, mapping, ma)
        if text is None:
            draft.leave_out(ma.name, "join rule", cd_type, mv_attr, describe_mapping(mapping), why, kind, crit.location)
            return None
        problem = draft.problem(text)
        if problem:
            draft.leave_out(
                ma.name, "join rule", cd_type, mv_attr, text, problem, LeftOutKind.TRANSLATION, crit.location
            )
            return None
        pairs[mv_attr] = text
    return pairs or None


def _projects(draft: Draft, ma: ManagementAgent, cd_type: str, mv_type: str) -> bool:
    return any(
        p.cd_object_type == cd_type and p.mv_object_type == mv_type and p.kind in ("declared", "sync-rule")
        for p in ma.projection
    )


def _contributors(draft: Draft) -> dict[tuple[str, str], list[ImportFlow]]:
    mv = draft.export.metaverse
    out: dict[tuple[str, str], list[ImportFlow]] = defaultdict(list)
    for f in mv.import_flows if mv else []:
        if draft.path.value != "graph" and draft.is_dead(f.ma_id):
            continue
        out[(f.mv_object_type, f.mv_attribute)].append(f)
    return out


def _import_flows(draft: Draft, ma: ManagementAgent, flows: list[ImportFlow], dead: bool) -> dict[str, Any]:
    contributors = _contributors(draft)
    by_attr: dict[str, list[ImportFlow]] = defaultdict(list)
    for f in sorted(flows, key=lambda f: f.rank):
        by_attr[f.mv_attribute].append(f)
    out: dict[str, Any] = {}
    for mv_attr, group in by_attr.items():
        texts = []
        for f in group:
            text = _import_text(draft, ma, f, dead)
            if text is not None:
                texts.append(text)
        if not texts:
            continue
        text = first_present(texts)
        if mv_attr not in draft.mv_attributes(group[0].mv_object_type):
            f = group[0]
            draft.leave_out(
                ma.name,
                "import flow",
                f.mv_object_type,
                mv_attr,
                text,
                "the metaverse type has no such attribute",
                LeftOutKind.TRANSLATION,
                f.location,
            )
            continue
        others = contributors.get((group[0].mv_object_type, mv_attr), [])
        first = group[0]
        if len(others) > 1:
            flow: dict[str, Any] = {"expression": text, "precedence": first.rank, "skip_null": True}
            if first.precedence == "equal":
                draft.note(
                    "precedence",
                    f"{first.mv_object_type}.{mv_attr} had equal precedence in MIM (the last writer wins); idsync "
                    "needs an order, so the contributors are ranked in the order the export lists them",
                )
            out[mv_attr] = flow
        else:
            out[mv_attr] = text
    return out


def first_present(texts: list[str]) -> str:
    """The first of several values that is present: MIM's ranked precedence among flows of one rule."""
    text = texts[-1]
    for candidate in reversed(texts[:-1]):
        text = f"IIF(IsPresent({candidate}), {candidate}, {text})"
    return text


def _import_text(draft: Draft, ma: ManagementAgent, f: ImportFlow, dead: bool) -> str | None:
    mapping: Mapping = f.mapping
    if dead:
        if not isinstance(mapping, DirectMapping) or mapping.intrinsic:
            draft.leave_out(
                ma.name,
                "import flow",
                f.cd_object_type,
                f.mv_attribute,
                describe_mapping(mapping),
                "reads the retired connector's own attributes",
                LeftOutKind.TARGET,
                f.location,
            )
            return None
        prop = inbound_property(f.cd_object_type, mapping.source)
        if prop is None:
            draft.leave_out(
                ma.name,
                "import flow",
                f.cd_object_type,
                f.mv_attribute,
                mapping.source,
                f"Microsoft Graph has no property that carries {mapping.source}",
                LeftOutKind.TARGET,
                f.location,
            )
            return None
        if mapping.source == "cloudAnchor":
            draft.note(
                "cloudAnchor",
                f"{f.mv_object_type}.{f.mv_attribute} now holds the Graph object id (the old connector's cloudAnchor "
                "was '<Type>_<id>')",
            )
        return f"[{prop}]"
    text, why, kind = translated(draft, mapping, ma)
    if text is None:
        draft.leave_out(
            ma.name, "import flow", f.cd_object_type, f.mv_attribute, describe_mapping(mapping), why, kind, f.location
        )
        return None
    problem = draft.problem(text)
    if problem:
        draft.leave_out(
            ma.name, "import flow", f.cd_object_type, f.mv_attribute, text, problem, LeftOutKind.TRANSLATION, f.location
        )
        return None
    return text


# --- outbound ----------------------------------------------------------------------------------------------------


def export_flow_groups(ma: ManagementAgent) -> dict[tuple[str, str], list[ExportFlow]]:
    groups: dict[tuple[str, str], list[ExportFlow]] = defaultdict(list)
    for f in ma.export_flows:
        groups[(f.cd_object_type, f.mv_object_type)].append(f)
    return groups


def export_flow_in(draft: Draft, ma: ManagementAgent, f: ExportFlow) -> FlowIn:
    text, why, kind = translated(draft, f.mapping)
    return FlowIn(
        agent=ma.name,
        cd_type=f.cd_object_type,
        attribute=f.cd_attribute,
        mv_type=f.mv_object_type,
        text=text,
        why=why,
        kind=kind,
        detail=describe_mapping(f.mapping),
        initial_only=isinstance(f.mapping, SyncRuleMapping) and f.mapping.initial_flow_only,
        location=f.location,
        what="scripted export flow" if isinstance(f.mapping, ScriptedMapping) else "export flow",
        # MIM's "Allow Nulls" unchecked (suppress-deletions="true", the default): a null leaves the value alone
        skip_null=f.suppress_deletions,
    )


def dead_join_pairs(ma: ManagementAgent, cd_type: str) -> list[list[JoinPair]]:
    """The retired connector's join rules (``mv attr = cs attr``) as pairs against the tenant."""
    out: list[list[JoinPair]] = []
    for jp in ma.join_profiles:
        if jp.cd_object_type != cd_type:
            continue
        for crit in jp.criteria:
            group = []
            for mv_attr, mapping in crit.attribute_mappings:
                sources = mapping_sources(mapping)
                if isinstance(mapping, DirectMapping | SyncRuleMapping) and len(sources) == 1:
                    group.append(JoinPair(sources[0], f"[{mv_attr}]", crit.location))
                else:
                    group = []
                    break
            if group:
                out.append(group)
    return out


def build_outbound(draft: Draft, ma: ManagementAgent) -> None:
    """Outbound rules from the agent's export flows. The retired connector's go to the Graph connector on the
    Graph path (on the directory paths they become AD-side changes instead, see :mod:`directory_side`)."""
    dead = draft.is_dead(ma.id)
    if dead and draft.path is not GenerationPath.GRAPH:
        return
    mv = draft.export.metaverse
    provisioning = mv.provisioning if mv is not None else "none"
    if draft.export.layout is Layout.MA_FILE and dead:
        # a single exported agent does not say how the metaverse provisioned: the retired connector's job was to
        # create the cloud objects, so provisioning stays on, and the README says why
        provisioning = "unknown"
        draft.note(
            "provisioning",
            f"the export holds only {ma.name!r}, not the metaverse's provisioning: the Graph rules provision; turn "
            "provision off where MIM only joined existing cloud objects",
        )
    deprovision = cleanup_action(draft, ma)
    for (cd_type, mv_type), group in export_flow_groups(ma).items():
        location = group[0].location
        if mv_type not in draft.metaverse:
            draft.leave_out(
                ma.name,
                "export flows",
                cd_type,
                "",
                mv_type,
                "the metaverse has no such object type",
                LeftOutKind.TRANSLATION,
                location,
            )
            continue
        dn_flows = [f for f in group if f.cd_attribute.lower() == "dn"]
        flows = [export_flow_in(draft, ma, f) for f in group if f.cd_attribute.lower() != "dn"]
        if dead:
            graph = draft.target(ma, "user")
            rule = graph_rule(
                draft,
                agent=ma.name,
                connector=graph.connector if graph is not None else "entra",
                cd_type=cd_type,
                mv_type=mv_type,
                flows=flows,
                joins=dead_join_pairs(ma, cd_type),
                scope=None,
                provision=provisioning != "none",
                deprovision=deprovision,
                precedence=None,
                description=f"in place of the retired connector {ma.name!r} ({mv_type} -> {cd_type})",
                location=location,
            )
            if rule is not None:
                draft.outbound.append(rule)
                if provisioning == "scripted" and rule.get("provision"):
                    draft.note(
                        rule["name"],
                        "MIM's metaverse rules extension decided which objects were provisioned to Entra; this rule "
                        "provisions every object of the type: add a scope expression for the ones it should not",
                    )
            continue
        target = draft.target(ma, cd_type)
        if target is None:
            continue
        identifier = None
        if dn_flows:
            dn = export_flow_in(draft, ma, dn_flows[0])
            identifier = dn.text
            if identifier is None or draft.problem(identifier, draft.mv_attributes(mv_type)):
                draft.leave_out(
                    ma.name, "DN flow", cd_type, "dn", dn.detail, dn.why or "does not compile", dn.kind, dn.location
                )
                identifier = None
        provision = provisioning != "none"
        if provision and identifier is None:
            how = "a rules extension" if provisioning == "scripted" else "MIM Service rules"
            draft.note(
                target.connector,
                f"MIM provisioned {cd_type} objects into {ma.name!r} from {how} and the export carries no DN flow: "
                "write an identifier (DN) expression and set provision: true",
            )
        draft.outbound.append(
            directory_rule(
                draft,
                agent=ma.name,
                connector=target.connector,
                object_type=target.object_type,
                cd_type=cd_type,
                mv_type=mv_type,
                flows=flows,
                identifier=identifier,
                provision=provision,
                deprovision=deprovision,
                scope=None,
                precedence=None,
                description=f"from the MIM agent {ma.name!r} ({mv_type} -> {cd_type})",
            )
        )
