"""Outbound rules, whichever way the export states its flows (MIM export flows or Azure AD Connect rules).

For the Graph target every flow is checked against what Graph lets a writer set (:mod:`graph_target`), the
retired connector's attribute names become Graph property names, and existing tenant objects are joined rather
than duplicated: users on onPremisesImmutableId (the sourceAnchor the old connector exported: a hard match) and
then userPrincipalName (the service's soft match), groups on mailNickname and then displayName (MATCH). Several
matches are an "ambiguous join" error for that object, never a guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from idsync.config import CONFIG_FILE
from idsync.connectors.ad.accounts import SECURITY_ENABLED, as_int32
from idsync.connectors.graph.properties import value_problem
from idsync.expressions import Expression, ExpressionError, FlowSentinel, compile_expression
from idsync.migrate.generate.draft import DIALECT, Draft
from idsync.migrate.generate.graph_target import GRAPH_OBJECT_TYPES, GROUP_CREATE_DEFAULTS, REQUIRED_ON_CREATE, decide
from idsync.migrate.generate.model import LeftOutKind
from idsync.migrate.graph_mapping import graph_property
from idsync.migrate.model import Location


@dataclass(frozen=True, slots=True)
class FlowIn:
    """One flow into a connector attribute, translated (``text``) or with the reason it could not be."""

    agent: str
    cd_type: str
    attribute: str
    mv_type: str
    text: str | None
    why: str
    kind: LeftOutKind
    detail: str
    initial_only: bool
    location: Location
    what: str = "export flow"
    skip_null: bool = False
    """A null does not clear the target's value (MIM's export flow without "Allow Nulls": suppress-deletions)."""


@dataclass(frozen=True, slots=True)
class JoinPair:
    """A join condition as the export states it: connector attribute = metaverse-side expression."""

    cd_attribute: str
    mv_text: str
    location: Location | None = None
    """Where the join rule sits in the export (the rule's own location when None)."""


def flow_value(text: str, *, initial_only: bool = False, skip_null: bool = False) -> Any:
    """A flow as the configuration writes it: the bare expression, or the mapping form with its options."""
    if not initial_only and not skip_null:
        return text
    out: dict[str, Any] = {"expression": text}
    if initial_only:
        out["initial_only"] = True
    if skip_null:
        out["skip_null"] = True
    return out


def expression_of(flow: Any) -> str:
    return str(flow["expression"]) if isinstance(flow, dict) else str(flow)


def carry(draft: Draft, flows: Iterable[FlowIn], *, graph: bool) -> dict[str, Any]:
    """The flows the new target receives, keyed by its attribute names; everything else is listed."""
    out: dict[str, Any] = {}
    for f in flows:
        target = f.attribute
        if graph:
            decision = decide(f.cd_type, f.attribute)
            if not decision.carry:
                if decision.reason and not decision.reason.startswith("not an attribute"):
                    draft.leave_out(
                        f.agent,
                        "flow Microsoft Graph cannot take",
                        f.cd_type,
                        f.attribute,
                        f.text or f.detail,
                        decision.reason,
                        LeftOutKind.TARGET,
                        f.location,
                        decision.rule,
                    )
                continue
            target = decision.graph_property
            if decision.note:
                draft.note(target, f"{f.cd_type}.{target}: {decision.note}")
        if f.text is None:
            draft.leave_out(f.agent, f.what, f.cd_type, f.attribute, f.detail, f.why, f.kind, f.location)
            continue
        problem = draft.problem(f.text, draft.mv_attributes(f.mv_type))
        if problem:
            draft.leave_out(
                f.agent, f.what, f.cd_type, f.attribute, f.text, problem, LeftOutKind.TRANSLATION, f.location
            )
            continue
        refused = _refused_constant(f.cd_type, target, f.text) if graph else None
        if refused:
            draft.leave_out(
                f.agent,
                "flow Microsoft Graph cannot take",
                f.cd_type,
                f.attribute,
                f.text,
                f"{refused}, so every object's export would be refused; correct the constant",
                LeftOutKind.TARGET,
                f.location,
            )
            continue
        if target in out:
            draft.note("flows", f"{f.cd_type}.{target} had two flows in the export; the first is kept ({f.location})")
            continue
        out[target] = flow_value(f.text, initial_only=f.initial_only, skip_null=f.skip_null)
        if graph:
            draft.mapping.append((f.cd_type, f.attribute, target, f.text))
    return out


def _refused_constant(cd_type: str, graph_property: str, text: str) -> str | None:
    """Why Graph refuses the value of a constant flow (usageLocation "UK"), or None. Only a constant can be judged
    now; a computed value is checked per object by the connector before it sends it."""
    expression = compile_expression(text, DIALECT)
    if not expression.is_constant:
        return None
    try:
        value = expression.evaluate({})
    except ExpressionError:
        return None
    return value_problem(cd_type.lower(), graph_property, value)


def graph_joins(
    draft: Draft, agent: str, cd_type: str, groups: list[list[JoinPair]], flows: dict[str, Any], location: Location
) -> list[dict[str, str]]:
    """The export's join rules against the tenant, then the documented fallbacks for the object type."""
    out: list[dict[str, str]] = []
    for group in groups:
        pairs: dict[str, str] = {}
        for pair in group:
            prop = graph_property(cd_type, pair.cd_attribute)
            name = prop.graph_property if prop is not None else ""
            if not name or "." in name or pair.cd_attribute.lower() == "cloudanchor":
                why = prop.note if prop is not None and prop.note else "Microsoft Graph has no such property"
                draft.leave_out(
                    agent,
                    "join rule",
                    cd_type,
                    pair.cd_attribute,
                    pair.mv_text,
                    why,
                    LeftOutKind.TARGET,
                    pair.location or location,
                    "MATCH",
                )
                pairs = {}
                break
            pairs[name] = pair.mv_text
        if pairs and pairs not in out:
            out.append(pairs)
    fallbacks = ("userPrincipalName",) if cd_type == "user" else ("mailNickname", "displayName")
    for prop_name in fallbacks:
        if prop_name in flows:
            fallback = {prop_name: expression_of(flows[prop_name])}
            if fallback not in out:
                out.append(fallback)
    return out


def graph_identifier(cd_type: str, flows: dict[str, Any]) -> str | None:
    """What identifies a new Graph object before Graph assigns its id: the user's userPrincipalName, the group's
    mailNickname (both unique in a tenant)."""
    key = "userPrincipalName" if cd_type == "user" else "mailNickname"
    return expression_of(flows[key]) if key in flows else None


def _rule_head(
    draft: Draft,
    connector: str,
    object_type: str,
    cd_type: str,
    mv_type: str,
    description: str,
    precedence: int | None,
    scope: str | None,
) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "name": draft.rule_name("to", connector, cd_type, "from", mv_type),
        "connector": connector,
        "metaverse_type": mv_type,
        "object_type": object_type,
        "dialect": DIALECT,
        "description": description,
    }
    if precedence is not None:
        rule["precedence"] = precedence
    if scope:
        rule["scope"] = scope
    return rule


def graph_rule(
    draft: Draft,
    *,
    agent: str,
    connector: str,
    cd_type: str,
    mv_type: str,
    flows: list[FlowIn],
    joins: list[list[JoinPair]],
    scope: str | None,
    provision: bool,
    deprovision: str,
    precedence: int | None,
    description: str,
    location: Location,
) -> dict[str, Any] | None:
    """An outbound rule to the Graph connector, or None (with the flows listed) for a type Graph does not have."""
    if cd_type.lower() not in GRAPH_OBJECT_TYPES:
        attrs = sorted({f.attribute for f in flows})
        draft.leave_out(
            agent,
            f"{cd_type} objects",
            cd_type,
            ", ".join(attrs),
            f"{len(flows)} flow(s)",
            f"the Graph path has no {cd_type} object type; find another home for them (Exchange Online for mail "
            "contacts, Intune or Connect Sync for devices)",
            LeftOutKind.TARGET,
            location,
            "GRAPH-TYPES",
        )
        return None
    cd_type = cd_type.lower()
    carried = carry(draft, flows, graph=True)
    rule = _rule_head(draft, connector, cd_type, cd_type, mv_type, description, precedence, scope)
    joined = graph_joins(draft, agent, cd_type, joins, carried, location)
    if joined:
        rule["join"] = joined
    if provision:
        rule[PROVISION_MARK] = True
    rule["flows"] = carried
    rule["deprovision"] = deprovision
    if deprovision == "disable":
        rule["deprovision_flows"] = {"accountEnabled": "False"}
    rule[GRAPH_MARK] = True
    return rule


PROVISION_MARK = "_provision"
GRAPH_MARK = "_graph"


def finish_graph_provisioning(draft: Draft) -> None:
    """Provisioning needs an identifier and Graph's required properties, which Connect spreads over several rules
    feeding one object (its Provision rule has the join, its Identity rule the names): decide on the union."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for rule in draft.outbound:
        if rule.pop(GRAPH_MARK, False):
            key = (rule["connector"], rule["object_type"], rule["metaverse_type"])
            groups.setdefault(key, []).append(rule)
    for rules in groups.values():
        union: dict[str, Any] = {}
        for rule in rules:
            for attr, flow in rule["flows"].items():
                union.setdefault(attr, flow)
        for rule in rules:
            if not rule.pop(PROVISION_MARK, False):
                continue
            cd_type = rule["object_type"]
            if cd_type == "group":
                for prop, value in GROUP_CREATE_DEFAULTS.items():
                    if prop not in union:
                        rule["flows"][prop] = union[prop] = {"expression": value, "initial_only": True}
            missing = [p for p in REQUIRED_ON_CREATE.get(cd_type, ()) if p not in union]
            identifier = graph_identifier(cd_type, union)
            if identifier is None or missing:
                draft.note(
                    rule["name"],
                    f"{draft.entra_connector} provisioned {cd_type} objects, but no flow gives "
                    f"{', '.join(missing)}, which Graph needs to create one; provisioning is off in this rule until "
                    "such a flow is added",
                )
                continue
            rule["provision"] = True
            rule["identifier"] = identifier
        if rules[0]["object_type"] == "group":
            _exclude_mail_groups(draft, rules, union)


def _exclude_mail_groups(draft: Draft, rules: list[dict[str, Any]], union: dict[str, Any]) -> None:
    """Graph creates security and Microsoft 365 groups only, and manages no distribution list or mail-enabled
    security group (MAIL-GROUPS): a group with mailEnabled and securityEnabled both false is refused. The Graph
    rules' scope leaves out the groups the metaverse marks mail-enabled, and, where securityEnabled flows from the
    metaverse, the ones that are not security groups; both are listed. Where no flow says which groups are security
    groups (the old connector's came from a rules extension) the AD groupType in the metaverse does: a group whose
    groupType lacks the security bit (0x80000000) is a distribution group, which only Exchange Online creates."""
    mv_type = rules[0]["metaverse_type"]
    mv_attributes = draft.mv_attributes(mv_type)
    conditions: list[str] = []
    read: list[str] = []
    if "mailEnabled" in mv_attributes:
        conditions.append("IIF([mailEnabled] = True, False, True)")
        read.append("mailEnabled")
    security = union.get("securityEnabled")
    if security is not None and expression_of(security).strip() != "True":
        conditions.append(f"({expression_of(security)}) = True")
        read.append("securityEnabled")
    elif "groupType" in mv_attributes:
        conditions.append(
            f"IIF(IsPresent([groupType]), CBool(BitAnd([groupType], {as_int32(SECURITY_ENABLED)})), True)"
        )
        read.append("groupType")
    if not conditions:
        return
    condition = " && ".join(conditions)
    for rule in rules:
        scope = rule.get("scope")
        rule["scope"] = f"({scope}) && {condition}" if scope else condition
    dead = draft.analysis.topology.dead_connectors
    draft.leave_out(
        dead[0].ma.name if dead else rules[0]["connector"],
        "mail-enabled groups",
        "group",
        ", ".join(read),
        condition,
        "Microsoft Graph creates only security and Microsoft 365 groups and cannot manage distribution lists or "
        "mail-enabled security groups: they are kept out of the Graph rules' scope (the condition here); manage them "
        "in Exchange Online, or keep them on cloud sync or Connect Sync",
        LeftOutKind.TARGET,
        dead[0].ma.location if dead else Location(CONFIG_FILE, f"outbound/{rules[0]['name']}"),
        "MAIL-GROUPS",
    )


def directory_rule(
    draft: Draft,
    *,
    agent: str,
    connector: str,
    object_type: str,
    cd_type: str,
    mv_type: str,
    flows: list[FlowIn],
    identifier: str | None,
    provision: bool,
    deprovision: str,
    scope: str | None,
    precedence: int | None,
    description: str,
) -> dict[str, Any]:
    """An outbound rule to a directory or file target: attribute names stay as the export has them."""
    carried = carry(draft, flows, graph=False)
    rule = _rule_head(draft, connector, object_type, cd_type, mv_type, description, precedence, scope)
    if provision and identifier:
        rule["provision"] = True
        rule["identifier"] = identifier
    rule["flows"] = carried
    rule["deprovision"] = deprovision if deprovision != "disable" else "disconnect"
    rule[ORIGIN_MARK] = {attr: f for f in flows if (attr := f.attribute) in carried}
    return rule


ORIGIN_MARK = "_origin"
"""A directory rule's flows as the export stated them (target attribute -> :class:`FlowIn`), for later checks."""


def retired_sources(draft: Draft) -> set[tuple[str, str]]:
    """(metaverse type, attribute in lower case) that the export fed from the retired connector: Connect's inbound
    rules from it and MIM's import flows from it."""
    out: set[tuple[str, str]] = set()
    for rule in draft.export.sync_rules:
        if rule.direction.lower() == "inbound" and not rule.disabled and draft.is_dead(rule.connector_id):
            out.update((rule.target_object_type, m.destination.lower()) for m in rule.mappings)
    mv = draft.export.metaverse
    for f in mv.import_flows if mv is not None else []:
        if draft.is_dead(f.ma_id):
            out.add((f.mv_object_type, f.mv_attribute.lower()))
    return out


def fed_attributes(draft: Draft) -> set[tuple[str, str]]:
    """(metaverse type, attribute in lower case) that some enabled inbound rule of the workspace feeds."""
    return {
        (rule["metaverse_type"], attr.lower())
        for rule in draft.inbound
        if rule.get("enabled", True) is not False
        for attr in rule.get("flows", {})
    }


def _empty_without(expression: Expression, reads: Iterable[str], unfed: list[str]) -> bool:
    """For a flow that reads fed attributes besides the unfed ones: whether it yields nothing (null, or a sentinel)
    when the unfed attributes are absent and every other attribute it reads has a value. A flow that tests the
    unfed value first and falls back to a fed one (Connect's sourceAnchor flow: IIF(IsPresent([cloudSourceAnchor]),
    ..., [sourceAnchor])) still writes; one that cannot be evaluated so is kept."""
    absent = {a.lower() for a in unfed}
    sample = {a: "x" for a in reads if a.lower() not in absent}
    try:
        value = expression.evaluate(sample)
    except Exception:  # any failure on sample values means: cannot tell, so keep the flow
        return False
    return value is None or value == "" or isinstance(value, FlowSentinel)


def drop_unfed_reads(draft: Draft) -> None:
    """Take out of the rules the flows that read a metaverse attribute only the retired connector fed, when no
    inbound rule of the workspace feeds it any more: on a directory the flow would compute null for every object
    and clear the directory's value (Exchange hybrid writeback, which the sync tool does itself on the directory
    paths); to Microsoft Graph (where the retired connector's inbound rules are disabled) one whose references are
    all such attributes is left out, whatever it makes of their absence (a default, an Error(), IgnoreThisFlow):
    it no longer carries the value it carried. One that also reads a fed attribute stays when it yields a value
    without the unfed ones (it tests them and falls back to a fed value, as the sourceAnchor guard does). Each is
    listed."""
    retired = retired_sources(draft)
    fed = fed_attributes(draft)
    for rule in draft.outbound:
        graph = ORIGIN_MARK not in rule  # a Graph rule: the retired connector's own target
        origins: dict[str, FlowIn] = {} if graph else rule.pop(ORIGIN_MARK)
        mv_type = rule["metaverse_type"]
        for attr in list(rule.get("flows", {})):
            text = expression_of(rule["flows"][attr])
            try:
                expression = compile_expression(text, DIALECT)
            except ExpressionError:
                continue
            reads = expression.references
            unfed = sorted(a for a in reads if (mv_type, a.lower()) in retired and (mv_type, a.lower()) not in fed)
            if not unfed:
                continue
            if graph and len(unfed) < len(reads) and not _empty_without(expression, reads, unfed):
                continue  # it tests the unfed value first (IsPresent, IIF) and falls back to one that is fed
            del rule["flows"][attr]
            origin = origins.get(attr)
            draft.leave_out(
                origin.agent if origin is not None else rule["connector"],
                origin.what if origin is not None else "export flow",
                origin.cd_type if origin is not None else rule["object_type"],
                attr,
                text,
                f"reads {', '.join(unfed)}, which only {draft.entra_connector} fed and nothing in this workspace "
                "feeds: "
                + (
                    "without it the flow no longer carries the value it carried to Entra (it reads nothing else, or "
                    "yields nothing from what else it reads)"
                    if graph
                    else "the flow would write null and clear the value of every object"
                ),
                LeftOutKind.TARGET,
                origin.location if origin is not None else Location(CONFIG_FILE, f"outbound/{rule['name']}"),
            )
