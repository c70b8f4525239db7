"""Compiling the configuration's rules: every expression is parsed once, when the workspace loads.

The result is a ``RuleSet`` with the indexes sync needs on its hot path: inbound rules by (connector, object
type), the ordered contributors of every metaverse attribute (precedence), and outbound rules grouped by target
(connector, object type) so several rules can feed one target object, as Connect Sync's do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from idsync.config import (
    ConfigError,
    ConfigIssue,
    Flow,
    InboundRule,
    LoadedConfig,
    MVDeletionRule,
    OutboundRule,
)
from idsync.expressions import (
    AUTHORITATIVE_NULL,
    IGNORE_THIS_FLOW,
    Expression,
    ExpressionError,
    ExpressionSyntaxError,
    ExpressionValidationError,
    compile_expression,
)
from idsync.model import AttributeSpec, AttributeType, ObjectTypeSchema, Schema, closest
from idsync.store import KeyConfig

IDENTIFIER_KEY = "__identifier__"
KNOWN_VALUES = "known-values"
"""A flow's ``manage`` setting: remove only the values that name objects of the connector space."""
DN = "dn"
"""The name under which inbound expressions read a connector-space object's identifier."""


def picks_unique(expression: Expression) -> bool:
    """SelectUniqueValue needs to ask the store whether a candidate is taken: worked out once, when rules compile."""
    return "selectuniquevalue" in expression.text.casefold()


@dataclass(frozen=True, slots=True)
class CompiledFlow:
    target: str
    expression: Expression
    precedence: int
    skip_null: bool
    initial_only: bool
    order: int
    known_values: bool = False
    """Outbound ``manage: known-values``: the flow removes only values that name objects of the connector space."""
    picks_unique: bool = field(init=False)
    """SelectUniqueValue needs to ask the store whether a candidate is taken."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "picks_unique", picks_unique(self.expression))

    @property
    def references(self) -> frozenset[str]:
        return self.expression.references


@dataclass(frozen=True, slots=True)
class JoinCriterion:
    """One join rule: every (other-side attribute, this-side expression) pair must match."""

    pairs: tuple[tuple[str, Expression], ...]
    index: int


def truthy(value: Any) -> bool:
    if value is None or value is IGNORE_THIS_FLOW or value is AUTHORITATIVE_NULL:
        return False
    if isinstance(value, str):
        return value.strip().lower() == "true"
    if isinstance(value, list):
        return any(truthy(v) for v in value)
    return bool(value)


@dataclass(slots=True)
class _CompiledRule:
    """What sync reads of a rule for every object and flow, copied from its configuration once."""

    name: str = field(init=False)
    connector: str = field(init=False)
    object_type: str = field(init=False)
    mv_type: str = field(init=False)

    def _copy(self, config: InboundRule | OutboundRule) -> None:
        self.name, self.connector, self.object_type = config.name, config.connector, config.object_type
        self.mv_type = config.metaverse_type


@dataclass(slots=True)
class CompiledInbound(_CompiledRule):
    config: InboundRule
    order: int
    scope: Expression | None
    joins: list[JoinCriterion]
    flows: list[CompiledFlow]
    project: bool = field(init=False)

    def __post_init__(self) -> None:
        self._copy(self.config)
        self.project = self.config.project

    @property
    def scope_references(self) -> frozenset[str]:
        return self.scope.references if self.scope is not None else frozenset()


@dataclass(slots=True)
class CompiledOutbound(_CompiledRule):
    config: OutboundRule
    order: int
    scope: Expression | None
    identifier: Expression | None
    joins: list[JoinCriterion]
    flows: list[CompiledFlow]
    deprovision_flows: list[CompiledFlow]
    reference_targets: frozenset[str]
    """Target attributes whose values are references (fed directly by an MV reference attribute)."""
    provision: bool = field(init=False)
    deprovision: str = field(init=False)
    identifier_picks_unique: bool = field(init=False)

    def __post_init__(self) -> None:
        self._copy(self.config)
        self.provision, self.deprovision = self.config.provision, self.config.deprovision
        self.identifier_picks_unique = self.identifier is not None and picks_unique(self.identifier)


AttributePlan = tuple[AttributeSpec | None, bool, list[tuple[CompiledInbound, CompiledFlow]]]


@dataclass(slots=True)
class RuleSet:
    mv_schemas: dict[str, ObjectTypeSchema]
    inbound: list[CompiledInbound] = field(default_factory=list)
    outbound: list[CompiledOutbound] = field(default_factory=list)
    inbound_by_source: dict[tuple[str, str], list[CompiledInbound]] = field(default_factory=dict)
    contributors: dict[tuple[str, str], list[tuple[CompiledInbound, CompiledFlow]]] = field(default_factory=dict)
    outbound_groups: dict[str, dict[tuple[str, str], list[CompiledOutbound]]] = field(default_factory=dict)
    deletion: dict[str, MVDeletionRule] = field(default_factory=dict)
    direct_joins: dict[str, list[tuple[CompiledInbound, str, str]]] = field(default_factory=dict)
    """MV type -> ``inbound_direct_joins``, worked out once: the rules do not change after compilation."""
    references: dict[str, list[str]] = field(default_factory=dict)
    """MV type -> ``reference_attributes``, worked out once (the schemas do not change after compilation)."""
    candidates: dict[tuple[tuple[int, ...], str], list[tuple[CompiledOutbound, CompiledFlow]]] = field(
        default_factory=dict
    )
    """(outbound rules, which of their flows) -> ``export_candidates``, worked out once per combination."""
    targets: dict[tuple[str, str, str], frozenset[str]] = field(default_factory=dict)
    """(connector, object type, MV type) -> ``inbound_targets``, worked out once."""
    plans: dict[str, dict[str, AttributePlan]] = field(default_factory=dict)
    """MV type -> ``mv_attributes``, worked out once."""

    def deletion_rule(self, mv_type: str) -> MVDeletionRule:
        return self.deletion.get(mv_type) or MVDeletionRule()

    def reference_attributes(self, mv_type: str) -> list[str]:
        known = self.references.get(mv_type)
        if known is None:
            schema = self.mv_schemas.get(mv_type)
            known = self.references[mv_type] = schema.references() if schema is not None else []
        return known

    def mv_attributes(self, mv_type: str) -> dict[str, AttributePlan]:
        """MV attribute -> (its spec, whether it is a reference, its contributors by precedence), for every
        attribute that has a contributor or a spec: what recomputing an attribute looks up."""
        known = self.plans.get(mv_type)
        if known is None:
            schema = self.mv_schemas.get(mv_type)
            specs = schema.attributes if schema is not None else {}
            names = set(specs) | {attr for (t, attr) in self.contributors if t == mv_type}
            known = {}
            for name in names:
                spec = specs.get(name)
                is_reference = spec is not None and spec.type is AttributeType.REFERENCE
                known[name] = (spec, is_reference, self.contributors.get((mv_type, name), []))
            self.plans[mv_type] = known
        return known

    def inbound_targets(self, connector: str, object_type: str, mv_type: str) -> frozenset[str]:
        """Every MV attribute the inbound rules of a source feed in an MV type."""
        key = (connector, object_type, mv_type)
        known = self.targets.get(key)
        if known is None:
            rules = self.inbound_for(connector, object_type)
            known = frozenset(f.target for r in rules if r.mv_type == mv_type for f in r.flows)
            self.targets[key] = known
        return known

    def inbound_reads(self, connector: str, object_type: str, attribute: str) -> bool:
        """Whether an expression of the inbound rules of a source (scope, join or flow) reads ``attribute``."""
        for rule in self.inbound_for(connector, object_type):
            expressions = [f.expression for f in rule.flows] + [e for j in rule.joins for _, e in j.pairs]
            if rule.scope is not None:
                expressions.append(rule.scope)
            if any(attribute in e.references for e in expressions):
                return True
        return False

    def export_candidates(
        self, rules: list[CompiledOutbound], flows_of: str
    ) -> list[tuple[CompiledOutbound, CompiledFlow]]:
        """The flows (``flows`` or ``deprovision_flows``) of outbound rules that feed one target object, in the
        order they compete for each attribute: precedence, then their order in the configuration."""
        key = (tuple(r.order for r in rules), flows_of)
        known = self.candidates.get(key)
        if known is None:
            known = [(rule, flow) for rule in rules for flow in getattr(rule, flows_of)]
            known.sort(key=lambda rf: (rf[1].precedence, rf[1].order))
            self.candidates[key] = known
        return known

    def inbound_direct_joins(self, mv_type: str) -> list[tuple[CompiledInbound, str, str]]:
        """(rule, MV attribute, CS attribute) for inbound join pairs whose CS side is a plain attribute: a change of
        that MV attribute can make a waiting disconnector joinable, and the index says which."""
        known = self.direct_joins.get(mv_type)
        if known is not None:
            return known
        out = []
        for rule in self.inbound:
            if rule.mv_type != mv_type:
                continue
            for join in rule.joins:
                for mv_attr, expr in join.pairs:
                    if expr.direct_attribute is not None:
                        out.append((rule, mv_attr, expr.direct_attribute))
        self.direct_joins[mv_type] = out
        return out

    def outbound_direct_joins(self, connector: str, object_type: str) -> list[tuple[CompiledOutbound, str, str]]:
        """(rule, target attribute, MV attribute) for outbound join pairs whose MV side is a plain attribute: a new
        target object can then find the MV objects that would adopt it."""
        out = []
        for rule in self.outbound:
            if rule.connector != connector or rule.object_type != object_type:
                continue
            for join in rule.joins:
                for cs_attr, expr in join.pairs:
                    if expr.direct_attribute is not None:
                        out.append((rule, cs_attr, expr.direct_attribute))
        return out

    def needs_disconnector_sweep(self, connector: str) -> bool:
        """Inbound join rules with computed CS-side values cannot be triggered from the index; their connector's
        normal disconnectors are then re-evaluated by every sync, as MIM does."""
        for rule in self.inbound:
            if rule.connector != connector:
                continue
            for join in rule.joins:
                if any(expr.direct_attribute is None for _, expr in join.pairs):
                    return True
        return False

    def inbound_for(self, connector: str, object_type: str) -> list[CompiledInbound]:
        return self.inbound_by_source.get((connector, object_type), [])

    def has_inbound(self, connector: str) -> bool:
        return any(key[0] == connector for key in self.inbound_by_source)

    def contributors_of(self, mv_type: str, attribute: str) -> list[tuple[CompiledInbound, CompiledFlow]]:
        return self.contributors.get((mv_type, attribute), [])

    def outbound_for(self, mv_type: str) -> dict[tuple[str, str], list[CompiledOutbound]]:
        return self.outbound_groups.get(mv_type, {})

    def outbound_by_name(self, name: str) -> CompiledOutbound | None:
        for rule in self.outbound:
            if rule.name == name:
                return rule
        return None

    def key_config(self) -> KeyConfig:
        mv: dict[str, set[str]] = {}
        cs: dict[str, set[str]] = {}
        for mv_type in self.mv_schemas:
            mv.setdefault(mv_type, set()).update(self.reference_attributes(mv_type))
        for rule in self.inbound:
            for join in rule.joins:
                for attr, expr in join.pairs:
                    mv.setdefault(rule.mv_type, set()).add(attr)
                    if expr.direct_attribute is not None:
                        cs.setdefault(rule.connector, set()).add(expr.direct_attribute)
        for orule in self.outbound:
            for join in orule.joins:
                for attr, expr in join.pairs:
                    cs.setdefault(orule.connector, set()).add(attr)
                    if expr.direct_attribute is not None:
                        mv.setdefault(orule.mv_type, set()).add(expr.direct_attribute)
            mv_schema = self.mv_schemas.get(orule.mv_type)
            for flow in orule.flows:
                if flow.picks_unique:
                    cs.setdefault(orule.connector, set()).add(flow.target)
                    if mv_schema is not None and flow.target in mv_schema.attributes:
                        mv.setdefault(orule.mv_type, set()).add(flow.target)  # see engine.uniqueness
        for rule in self.inbound:
            for flow in rule.flows:
                if flow.picks_unique:
                    mv.setdefault(rule.mv_type, set()).add(flow.target)
        return KeyConfig({k: frozenset(v) for k, v in mv.items()}, {k: frozenset(v) for k, v in cs.items()})


@dataclass(frozen=True, slots=True)
class KnownSchemas:
    """Connector -> the attributes its objects have (``read``) and take (``write``), where that is known without
    contacting the system (``offline_schema``): what the rules' attribute names are checked against. A connector
    missing here is not checked; its mistakes still show when it runs."""

    read: Mapping[str, Schema] = field(default_factory=dict)
    write: Mapping[str, Schema] = field(default_factory=dict)


def _suggestion(name: str, known: list[str]) -> str:
    close = closest(name, known, cutoff=0.75)
    return f"; did you mean {close!r}?" if close else ""


class _Compiler:
    def __init__(
        self, loaded: LoadedConfig, schemas: Mapping[str, Schema] | None = None, known: KnownSchemas | None = None
    ) -> None:
        self.schemas = schemas or {}
        self.known = known or KnownSchemas()
        self.loaded = loaded
        self.config = loaded.config
        self.issues: list[ConfigIssue] = []
        self.mv_schemas = {name: t.object_schema(name) for name, t in self.config.metaverse.items()}

    def expression(
        self,
        text: str,
        path: tuple[str | int, ...],
        dialect: str,
        attributes: Mapping[str, Any] | None,
        multivalued: frozenset[str] = frozenset(),
        spelled: bool = True,
        references: frozenset[str] = frozenset(),
    ) -> Expression | None:
        try:
            return compile_expression(
                text,
                dialect=dialect,
                attributes=list(attributes) if attributes is not None else None,
                multivalued=multivalued,
                spelled=spelled,
                reference_attributes=references,
            )
        except ExpressionError as exc:
            # the error's offset in the expression text is mapped back into the YAML value, folded lines and all
            positions = self.loaded.positions
            if isinstance(exc, ExpressionSyntaxError | ExpressionValidationError):
                where = positions.within(path, exc.offset, text)
                message = f"{exc.message}\n{exc.caret}"
            else:
                where, message = positions.value(path), str(exc)
            self.issues.append(ConfigIssue(message, where, path))
            return None

    def object_type(
        self, schemas: Mapping[str, Schema], connector: str, object_type: str, path: tuple[str | int, ...]
    ) -> ObjectTypeSchema | None:
        """The schema of ``object_type`` in ``schemas[connector]``; None when that is not known, or when the
        connector has no such type (then said, at the rule's ``object_type``)."""
        schema = schemas.get(connector)
        if schema is None:
            return None
        found = schema.object_types.get(object_type)
        if found is None:
            has = ", ".join(schema.object_types) or "none"
            self.issue(f"{connector!r} has no object type {object_type!r} (it has: {has})", (*path, "object_type"))
        return found

    def source_attributes(self, rule: InboundRule, path: tuple[str | int, ...]) -> dict[str, Any] | None:
        """What an inbound rule's expressions may read: the source's attributes, and ``dn`` (the identifier)."""
        found = self.object_type(self.known.read, rule.connector, rule.object_type, path)
        if found is None:
            return None
        return {DN: None, **found.attributes}

    def check_targets(self, rule: OutboundRule, path: tuple[str | int, ...]) -> None:
        """Every flow target of an outbound rule must be an attribute the target can write: an unknown or read-only
        one fails every export of every object otherwise. Every join attribute must be one the target's objects
        have: a join on anything else adopts nothing, and provisioning then makes a duplicate of every object that
        is already there. Names are matched exactly, as the targets match them."""
        found = self.object_type(self.known.write, rule.connector, rule.object_type, path)
        if found is None:
            return
        objects = f"{rule.connector!r} {rule.object_type} objects"
        writable = [name for name in found.attributes if name not in found.read_only]
        for kind, flows in (("flows", rule.flows), ("deprovision_flows", rule.deprovision_flows)):
            for target in flows:
                if target in found.read_only:
                    self.issue(
                        f"flow target {target!r} is read-only in {objects}: the connected system maintains it and "
                        "refuses to have it written",
                        (*path, kind, target),
                    )
                elif target not in found.attributes:
                    self.issue(
                        f"flow target {target!r} is not an attribute of {objects}{_suggestion(target, writable)}",
                        (*path, kind, target),
                    )
        known = list(found.attributes)
        for index, join in enumerate(rule.join):
            for attribute in join:
                if attribute not in found.attributes:
                    self.issue(
                        f"join attribute {attribute!r} is not an attribute of {objects}{_suggestion(attribute, known)}",
                        (*path, "join", index, attribute),
                    )

    def issue(self, message: str, path: tuple[str | int, ...]) -> None:
        self.issues.append(ConfigIssue(message, self.loaded.positions.find(path), path))

    def flows(
        self,
        flows: Mapping[str, Flow],
        path: tuple[str | int, ...],
        default_precedence: int,
        dialect: str,
        attributes: Mapping[str, Any] | None,
        multivalued: frozenset[str],
        order_base: int,
        spelled: bool = True,
        references: frozenset[str] = frozenset(),
    ) -> list[CompiledFlow]:
        out = []
        for index, (target, flow) in enumerate(flows.items()):
            expr = self.expression(
                flow.expression, (*path, target), flow.dialect or dialect, attributes, multivalued, spelled, references
            )
            if expr is None:
                continue
            precedence = flow.precedence if flow.precedence is not None else default_precedence
            known = flow.manage == KNOWN_VALUES
            out.append(
                CompiledFlow(target, expr, precedence, flow.skip_null, flow.initial_only, order_base + index, known)
            )
        return out

    def check_manage(
        self,
        flows: Mapping[str, Flow],
        compiled: list[CompiledFlow] | None,
        path: tuple[str | int, ...],
        mv_schema: ObjectTypeSchema | None,
    ) -> None:
        """``manage: known-values`` decides which values of a multi-valued reference attribute an outbound flow may
        remove; anywhere else it would mean nothing without saying so, so it is refused where it is written.
        ``compiled`` is None for flows it never applies to (inbound and deprovision flows)."""
        by_target = {f.target: f for f in compiled or []}
        for target, flow in flows.items():
            if flow.manage != KNOWN_VALUES:
                continue
            where = (*path, target, "manage")
            if compiled is None:
                kind = "an inbound flow" if path[0] == "inbound" else "a deprovision flow"
                self.issue(f"manage: known-values applies to outbound flows only, not to {kind}", where)
                continue
            found = by_target.get(target)
            if found is None:
                continue  # its expression failed to compile: that is said already
            source = found.expression.direct_attribute
            spec = mv_schema.attributes.get(source) if source is not None and mv_schema is not None else None
            if spec is None:
                why = f"its expression {found.expression.text!r} is not an MV attribute"
            elif spec.type is not AttributeType.REFERENCE:
                why = f"MV attribute {source!r} is not a reference ({spec.type.value})"
            elif not spec.multivalued:
                why = f"MV attribute {source!r} is single-valued"
            else:
                continue
            self.issue(
                f"manage: known-values on flow {target!r}: {why}; it applies to a flow that copies a multi-valued "
                "reference attribute (for example member: members), the values of which name objects idsync may or "
                "may not know",
                where,
            )

    def joins(
        self,
        joins: list[dict[str, str]],
        path: tuple[str | int, ...],
        dialect: str,
        attributes: Mapping[str, Any] | None,
        multivalued: frozenset[str],
        spelled: bool = True,
        references: frozenset[str] = frozenset(),
    ) -> list[JoinCriterion]:
        out = []
        for index, join in enumerate(joins):
            pairs = []
            for attr, text in join.items():
                expr = self.expression(
                    text, (*path, index, attr), dialect, attributes, multivalued, spelled, references
                )
                if expr is not None:
                    pairs.append((attr, expr))
            if pairs:
                out.append(JoinCriterion(tuple(pairs), index))
        return out

    def compile(self) -> RuleSet:
        rules = RuleSet(self.mv_schemas)
        rules.deletion = {name: t.deletion for name, t in self.config.metaverse.items()}
        for i, rule in enumerate(self.config.inbound):
            if not rule.enabled:
                continue
            path: tuple[str | int, ...] = ("inbound", i)
            # the connector's schema is known once it has been imported; until then no attribute is multi-valued
            source = self.schemas.get(rule.connector)
            cs_type = source.object_type(rule.object_type) if source is not None else None
            cs_multi = (
                frozenset(a.name for a in cs_type.attributes.values() if a.multivalued) if cs_type else frozenset()
            )
            cs_refs = frozenset(cs_type.references()) if cs_type else frozenset()
            # names are checked against what the source's objects have, where that is known; they read any case
            cs_attrs = self.source_attributes(rule, path)
            scope = (
                self.expression(rule.scope, (*path, "scope"), rule.dialect, cs_attrs, cs_multi, False, cs_refs)
                if rule.scope
                else None
            )
            self.check_manage(rule.flows, None, (*path, "flows"), None)
            compiled = CompiledInbound(
                rule,
                i,
                scope,
                self.joins(rule.join, (*path, "join"), rule.dialect, cs_attrs, cs_multi, False, cs_refs),
                self.flows(
                    rule.flows,
                    (*path, "flows"),
                    rule.precedence,
                    rule.dialect,
                    cs_attrs,
                    cs_multi,
                    i * 1000,
                    False,
                    cs_refs,
                ),
            )
            rules.inbound.append(compiled)
            rules.inbound_by_source.setdefault((rule.connector, rule.object_type), []).append(compiled)
            for flow in compiled.flows:
                rules.contributors.setdefault((rule.metaverse_type, flow.target), []).append((compiled, flow))
        for contributors in rules.contributors.values():
            contributors.sort(key=lambda rf: (rf[1].precedence, rf[1].order))
        for i, orule in enumerate(self.config.outbound):
            if not orule.enabled:
                continue
            path = ("outbound", i)
            self.check_targets(orule, path)
            schema = self.mv_schemas.get(orule.metaverse_type)
            attrs = schema.attributes if schema else None
            multi = frozenset(a.name for a in schema.attributes.values() if a.multivalued) if schema else frozenset()
            refs = frozenset(schema.references()) if schema else frozenset()
            scope = (
                self.expression(orule.scope, (*path, "scope"), orule.dialect, attrs, multi, True, refs)
                if orule.scope
                else None
            )
            identifier = (
                self.expression(orule.identifier, (*path, "identifier"), orule.dialect, attrs, multi, True, refs)
                if orule.identifier
                else None
            )
            flows = self.flows(
                orule.flows, (*path, "flows"), orule.precedence, orule.dialect, attrs, multi, i * 1000, True, refs
            )
            deprovision = self.flows(
                orule.deprovision_flows,
                (*path, "deprovision_flows"),
                orule.precedence,
                orule.dialect,
                attrs,
                multi,
                0,
                True,
                refs,
            )
            self.check_manage(orule.flows, flows, (*path, "flows"), schema)
            self.check_manage(orule.deprovision_flows, None, (*path, "deprovision_flows"), schema)
            references = frozenset(
                f.target
                for f in flows
                if schema is not None
                and f.expression.direct_attribute is not None
                and schema.spec(f.expression.direct_attribute).type is AttributeType.REFERENCE
            )
            compiled_out = CompiledOutbound(
                orule,
                i,
                scope,
                identifier,
                self.joins(orule.join, (*path, "join"), orule.dialect, attrs, multi, True, refs),
                flows,
                deprovision,
                references,
            )
            rules.outbound.append(compiled_out)
            group = rules.outbound_groups.setdefault(orule.metaverse_type, {})
            group.setdefault((orule.connector, orule.object_type), []).append(compiled_out)
        if self.issues:
            # expression errors carry their own file:line:column (from the origin) and a caret line
            raise ConfigError(self.issues)
        return rules


def compile_rules(
    loaded: LoadedConfig, schemas: Mapping[str, Schema] | None = None, known: KnownSchemas | None = None
) -> RuleSet:
    """Compile every rule. ``schemas`` (connector -> discovered schema) tells which source attributes are
    multi-valued, so expressions that read them run per value; ``known`` is what attribute names are checked
    against."""
    return _Compiler(loaded, schemas, known).compile()
