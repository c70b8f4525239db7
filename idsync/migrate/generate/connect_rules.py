"""Rules from Azure AD Connect's declarative synchronization rules.

Connect's rules are already idsync's model: a scoping filter, join groups tried in order, ``Provision`` (project
or provision), attribute flows in Connect's own expression language and a precedence where the lower number wins.
They carry over nearly as written; what needs a person is what idsync's ``connect`` dialect cannot compile
(``ImportedValue``, ``%Connector.ID%`` parameters) and what Microsoft Graph cannot take.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from idsync.migrate.generate.conditions import UntranslatableCondition, scoping_filter
from idsync.migrate.generate.draft import DIALECT, Draft
from idsync.migrate.generate.graph_target import inbound_property
from idsync.migrate.generate.model import GenerationPath, LeftOutKind
from idsync.migrate.generate.outbound import FlowIn, JoinPair, directory_rule, graph_rule
from idsync.migrate.model import RuleMapping, ScopeCondition, SyncRule
from idsync.migrate.translate import Dialect, string_literal


def mapping_text(m: RuleMapping) -> tuple[str | None, str]:
    if m.expression is not None:
        return m.expression.strip(), ""
    if m.constant is not None:
        return string_literal(m.constant, Dialect.CONNECT), ""
    if len(m.sources) == 1:
        return f"[{m.sources[0]}]", ""
    return None, f"a direct mapping from {len(m.sources)} sources has no single expression"


def _scope(draft: Draft, rule: SyncRule, attributes: list[str] | None) -> tuple[str | None, bool]:
    """The rule's scope, and whether the rule can stand (False: its scope could not be expressed)."""
    try:
        scope = scoping_filter(rule.scope_groups)
    except UntranslatableCondition as exc:
        draft.leave_out(
            rule.connector_name or rule.connector_id,
            "synchronization rule",
            rule.source_object_type,
            "",
            rule.name,
            f"its scoping filter cannot be expressed ({exc}); the rule is left out",
            LeftOutKind.TRANSLATION,
            rule.location,
        )
        return None, False
    if scope is not None:
        problem = draft.problem(scope, attributes)
        if problem:
            draft.leave_out(
                rule.connector_name or rule.connector_id,
                "synchronization rule",
                rule.source_object_type,
                "",
                scope,
                f"its scoping filter does not compile ({problem}); the rule is left out",
                LeftOutKind.TRANSLATION,
                rule.location,
            )
            return None, False
    return scope, True


MERGE_REASON = (
    "Connect merges this value into the values the object already has (valueMergeType {merge}); an idsync flow "
    "replaces the whole value, so it would remove every other value: add it by hand where it is still needed"
)


def merged(m: RuleMapping) -> bool:
    """Whether Connect adds the mapping's value to the existing ones (``Merge``, ``MergeCaseInsensitive``) rather
    than replacing them (``Update``)."""
    return m.merge_type.lower() != "update"


def _leave_out_merged(draft: Draft, rule: SyncRule, agent: str, object_type: str, what: str) -> None:
    for m in rule.mappings:
        if merged(m):
            draft.leave_out(
                agent,
                what,
                object_type,
                m.destination,
                m.expression or ", ".join(m.sources) or (m.constant or ""),
                MERGE_REASON.format(merge=m.merge_type),
                LeftOutKind.TRANSLATION,
                rule.location,
            )


def _not_on_this_path(draft: Draft, rule: SyncRule, agent: str) -> None:
    """A rule that reads from Entra through the Azure AD connector, on a path where nothing in the workspace reads
    Entra: listed with what it fed, so whatever reads those attributes can be checked."""
    fed = ", ".join(m.destination for m in rule.mappings)
    draft.leave_out(
        agent,
        "synchronization rule",
        rule.source_object_type,
        fed,
        rule.name,
        f"reads Microsoft Entra through {draft.entra_connector}; on the {draft.path.value} path Entra is read by the "
        f"sync tool, not by this workspace, so what the rule fed ({fed or 'nothing'}) has no source here",
        LeftOutKind.TARGET,
        rule.location,
    )


def build_inbound(draft: Draft, rule: SyncRule) -> None:
    agent = rule.connector_name or rule.connector_id
    dead = draft.is_dead(rule.connector_id)
    if dead and draft.path is not GenerationPath.GRAPH:
        _not_on_this_path(draft, rule, agent)
        return
    target = draft.target(rule.connector_id, rule.source_object_type)
    mv_type = rule.target_object_type
    if target is None:
        return
    if mv_type not in draft.metaverse:
        draft.leave_out(
            agent,
            "synchronization rule",
            rule.source_object_type,
            "",
            rule.name,
            f"its metaverse object type {mv_type!r} is not one idsync can name (a rule for any type)",
            LeftOutKind.TRANSLATION,
            rule.location,
        )
        return
    disabled = ""
    if dead:
        rule, disabled = _graph_scope(rule)
    scope, ok = _scope(draft, rule, None)
    if not ok:
        return
    out: dict[str, Any] = {
        "name": draft.rule_name(rule.name),
        "connector": target.connector,
        "object_type": target.object_type,
        "metaverse_type": mv_type,
        "dialect": DIALECT,
        "precedence": rule.precedence,
        "description": f"Azure AD Connect rule {rule.name!r}",
    }
    if scope:
        out["scope"] = scope
    if not dead:
        joins = [{c.mv_attribute: f"[{c.cs_attribute}]" for c in g} for g in rule.join_groups if g]
        if joins:
            out["join"] = joins
        if rule.link_type.lower() == "provision":
            out["project"] = True
    flows: dict[str, Any] = {}
    mv_attrs = draft.mv_attributes(mv_type)
    _leave_out_merged(draft, rule, agent, rule.source_object_type, "import flow")
    for m in rule.mappings:
        if merged(m):
            continue
        text, why = mapping_text(m)
        if dead and text is not None:
            text, why = _graph_source(m, rule.source_object_type)
        if text is None:
            draft.leave_out(
                agent,
                "import flow",
                rule.source_object_type,
                m.destination,
                m.expression or ", ".join(m.sources),
                why,
                LeftOutKind.TARGET if dead else LeftOutKind.TRANSLATION,
                rule.location,
            )
            continue
        problem = draft.problem(text) or (
            None if m.destination in mv_attrs else f"the metaverse type {mv_type!r} has no attribute {m.destination!r}"
        )
        if problem:
            draft.leave_out(
                agent,
                "import flow",
                rule.source_object_type,
                m.destination,
                text,
                problem,
                LeftOutKind.TRANSLATION,
                rule.location,
            )
            continue
        flows[m.destination] = {"expression": text, "initial_only": True} if m.execute_once else text
    out["flows"] = flows
    if disabled:
        # without its scope the rule would read every tenant object: it stays in the file, disabled, and is listed
        out["enabled"] = False
        draft.leave_out(
            agent,
            "synchronization rule",
            rule.source_object_type,
            ", ".join(flows),
            scope or "",
            f"{disabled}; the rule is disabled (its flows {', '.join(flows) or '(none)'} do not run) until its "
            "scope is rewritten over what the Graph connector imports",
            LeftOutKind.TARGET,
            rule.location,
        )
    if flows or out.get("join") or out.get("project"):
        draft.inbound.append(out)


def _graph_scope(rule: SyncRule) -> tuple[SyncRule, str]:
    """The rule with its scoping filter reading the Graph properties that carry the retired connector's attributes
    (as its import flows do), and why it cannot stand when one has none (empty when it can)."""
    missing: list[str] = []
    groups = []
    for group in rule.scope_groups:
        conditions = []
        for c in group:
            prop = inbound_property(rule.source_object_type, c.attribute)
            if prop is None:
                missing.append(c.attribute)
                prop = c.attribute
            conditions.append(ScopeCondition(prop, c.operator, c.value))
        groups.append(conditions)
    if missing:
        names = ", ".join(sorted(set(missing)))
        return rule, f"its scoping filter reads {names}, which the Microsoft Graph connector does not import"
    return replace(rule, scope_groups=groups), ""


def _graph_source(m: RuleMapping, object_type: str) -> tuple[str | None, str]:
    """An import flow from Connect's Azure AD connector, read from the Graph property that carries the same value."""
    if m.expression is not None or m.constant is not None or len(m.sources) != 1:
        return None, "reads the Azure AD connector's own attributes through an expression"
    prop = inbound_property(object_type, m.sources[0])
    if prop is None:
        return None, f"Microsoft Graph has no property that carries {m.sources[0]}"
    return f"[{prop}]", ""


def build_outbound(draft: Draft, rule: SyncRule) -> None:
    agent = rule.connector_name or rule.connector_id
    dead = draft.is_dead(rule.connector_id)
    if dead and draft.path is not GenerationPath.GRAPH:
        return
    mv_type = rule.source_object_type
    if mv_type not in draft.metaverse:
        return
    scope, ok = _scope(draft, rule, list(draft.mv_attributes(mv_type)))
    if not ok:
        return
    _leave_out_merged(draft, rule, agent, rule.target_object_type, "export flow")
    flows = [
        FlowIn(
            agent=agent,
            cd_type=rule.target_object_type,
            attribute=m.destination,
            mv_type=mv_type,
            text=text,
            why=why,
            kind=LeftOutKind.TRANSLATION,
            detail=m.expression or ", ".join(m.sources),
            initial_only=m.execute_once,
            location=rule.location,
        )
        for m in rule.mappings
        if m.destination.lower() != "dn" and not merged(m)
        for text, why in [mapping_text(m)]
    ]
    provision = rule.link_type.lower() == "provision"
    description = f"Azure AD Connect rule {rule.name!r}"
    if dead:
        joins = [[JoinPair(c.cs_attribute, f"[{c.mv_attribute}]") for c in g] for g in rule.join_groups]
        out = graph_rule(
            draft,
            agent=agent,
            connector=_graph_connector(draft, rule),
            cd_type=rule.target_object_type,
            mv_type=mv_type,
            flows=flows,
            joins=joins,
            scope=scope,
            provision=provision,
            deprovision="delete",
            precedence=rule.precedence,
            description=description,
            location=rule.location,
        )
        if out is not None:
            draft.outbound.append(out)
        return
    target = draft.target(rule.connector_id, rule.target_object_type)
    if target is None:
        return
    draft.outbound.append(
        directory_rule(
            draft,
            agent=agent,
            connector=target.connector,
            object_type=target.object_type,
            cd_type=rule.target_object_type,
            mv_type=mv_type,
            flows=flows,
            identifier=None,
            provision=False,
            deprovision="disconnect",
            scope=scope,
            precedence=rule.precedence,
            description=description,
        )
    )


def _graph_connector(draft: Draft, rule: SyncRule) -> str:
    target = draft.target(rule.connector_id, "user")
    return target.connector if target is not None else "entra"
