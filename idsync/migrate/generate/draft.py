"""The workspace being generated: its sections, the connectors each agent became, and the running list of what
was left out. Rule generators add to it; every expression is compiled here before it goes in, so the file written
at the end validates and anything that would not is listed instead."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from idsync.expressions import ExpressionError, compile_expression
from idsync.migrate.analysis import Analysis
from idsync.migrate.generate.model import ConnectorPlan, GenerationPath, LeftOut, LeftOutKind, slug
from idsync.migrate.model import Location, ManagementAgent, ServerExport, normalize_guid
from idsync.migrate.topology import entra_connector

DIALECT = "connect"
"""The dialect of every generated expression: Connect Sync's (VBA-like) functions are MIM's own, so MIM's
function trees and Azure AD Connect's expressions translate with the fewest losses."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where one object type of one management agent lives in the generated workspace."""

    connector: str
    object_type: str


@dataclass
class Draft:
    analysis: Analysis
    path: GenerationPath
    connectors: list[ConnectorPlan] = field(default_factory=list)
    metaverse: dict[str, dict[str, Any]] = field(default_factory=dict)
    inbound: list[dict[str, Any]] = field(default_factory=list)
    outbound: list[dict[str, Any]] = field(default_factory=list)
    profiles: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    left_out: list[LeftOut] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    mapping: list[tuple[str, str, str, str]] = field(default_factory=list)
    targets: dict[tuple[str, str], Target] = field(default_factory=dict)
    """(normalized agent id, MIM object type) -> connector and object type."""
    dead_ids: set[str] = field(default_factory=set)
    rule_names: set[str] = field(default_factory=set)

    @property
    def export(self) -> ServerExport:
        return self.analysis.export

    # names and places -------------------------------------------------------------------------------------------
    def target(self, ma: ManagementAgent | str, object_type: str) -> Target | None:
        ma_id = ma.id if isinstance(ma, ManagementAgent) else ma
        key = normalize_guid(ma_id)
        found = self.targets.get((key, object_type)) or self.targets.get((key, "*"))
        if found is not None and found.object_type == "*":
            return Target(found.connector, object_type)
        return found

    @property
    def entra_connector(self) -> str:
        return entra_connector(self.analysis.topology.connect_server)

    def is_dead(self, ma_id: str) -> bool:
        return normalize_guid(ma_id) in self.dead_ids

    def rule_name(self, *parts: str) -> str:
        base = slug("-".join(p for p in parts if p), "rule")
        name, n = base, 2
        while name in self.rule_names:
            name, n = f"{base}-{n}", n + 1
        self.rule_names.add(name)
        return name

    def mv_attributes(self, mv_type: str) -> Collection[str]:
        decl = self.metaverse.get(mv_type)
        return list(decl["attributes"]) if decl else []

    # bookkeeping -------------------------------------------------------------------------------------------------
    def leave_out(
        self,
        agent: str,
        what: str,
        object_type: str,
        attribute: str,
        detail: str,
        reason: str,
        kind: LeftOutKind,
        location: Location,
        rule: str = "",
    ) -> None:
        key = (agent, what, object_type, attribute, location)
        for i in self.left_out:
            if (i.agent, i.what, i.object_type, i.attribute, i.location) == key:
                return
            if kind is LeftOutKind.CODE and i.kind is LeftOutKind.CODE and i.location == location and location.element:
                return
        self.left_out.append(LeftOut(agent, what, object_type, attribute, detail, reason, kind, location, rule))

    def note(self, topic: str, text: str) -> None:
        if (topic, text) not in self.notes:
            self.notes.append((topic, text))

    # expressions ------------------------------------------------------------------------------------------------
    def problem(self, text: str, attributes: Iterable[str] | None = None) -> str | None:
        """Why ``text`` would fail validation (None when it compiles). ``attributes``: the metaverse attributes an
        outbound expression may read; inbound expressions read connector attributes, which are open."""
        try:
            compile_expression(text, DIALECT, attributes=list(attributes) if attributes is not None else None)
        except ExpressionError as exc:
            return str(exc).splitlines()[0]
        return None
