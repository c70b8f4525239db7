"""What a cutover dry run found, read from the connector spaces a staging-mode run left behind.

Nothing is computed twice: the run's own join, projection, provisioning and outbound flows decided every link and
pending export; this module only sorts the Graph connector's objects into what an engineer must see before the
first write — joined, would be created (and what they may duplicate), ambiguous, changing, unmanaged, still
synced from on-premises — and flags, per object, what Microsoft Graph cannot do at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from idsync.connectors.graph.properties import GROUP_ON_PREMISES_MASTERED, USER_ON_PREMISES_MASTERED
from idsync.engine.errors import ObjectError
from idsync.engine.evaluation import binary_attributes, evaluate, expression_input
from idsync.engine.workspace import Workspace
from idsync.model import CSObject, ErrorRow, ExportOp, MVObject, RunResult, ValueOp, as_list
from idsync.store import CSFilter
from idsync.store.rows import key_value

PAGE = 500
GRAPH_TYPE = "graph"

# Attributes Graph refuses to write while an object is synced from on-premises (onPremisesSyncEnabled), in the
# connector's attribute names: the connector's own table, plus the onPremisesExtensionAttributes it spells flat.
_EXTENSIONS = frozenset(f"extensionAttribute{n}" for n in range(1, 16))
SYNCED_READ_ONLY: dict[str, frozenset[str]] = {
    "user": USER_ON_PREMISES_MASTERED | _EXTENSIONS,
    "group": GROUP_ON_PREMISES_MASTERED | _EXTENSIONS,
}


@dataclass(frozen=True, slots=True)
class TenantObject:
    """A Graph connector-space object: in the tenant (with its id), or one the run would create (no id yet)."""

    connector: str
    object_type: str
    identifier: str
    id: str | None
    display_name: str | None
    synced: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "connector": self.connector,
            "object_type": self.object_type,
            "identifier": self.identifier,
            "id": self.id,
            "display_name": self.display_name,
            "synced": self.synced,
        }


@dataclass(frozen=True, slots=True)
class ValueChange:
    attribute: str
    current: Any
    proposed: Any
    op: str


@dataclass(slots=True)
class Joined:
    obj: TenantObject
    mv_id: int
    rule: str
    matched_on: list[str]
    """The attributes of the join rule that matched (onPremisesImmutableId: a hard match; userPrincipalName: a
    soft match); empty when the link was made another way."""
    changes: list[ValueChange] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Candidate:
    obj: TenantObject
    reason: str


@dataclass(slots=True)
class WouldCreate:
    connector: str
    object_type: str
    identifier: str
    mv_id: int | None
    rule: str
    values: dict[str, Any]
    possible_duplicates: list[Candidate] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Problem:
    connector: str
    identifier: str | None
    mv_id: int | None
    code: str
    reason: str
    attribute: str | None

    @classmethod
    def of(cls, row: ErrorRow) -> Problem:
        return cls(row.connector, row.identifier, row.mv_id, row.code, row.reason, row.attribute)


@dataclass(slots=True)
class SyncedObject:
    obj: TenantObject
    mv_id: int
    refused: list[str]
    """Attributes of the pending export Graph will refuse until the source of authority is switched."""
    request: str
    """The request that switches it (onPremisesSyncBehavior)."""


@dataclass(frozen=True, slots=True)
class GraphCannot:
    obj: TenantObject
    what: str
    detail: str
    rule: str


@dataclass(slots=True)
class CutoverReport:
    config: str
    status: str
    steps: list[dict[str, Any]]
    joined: list[Joined] = field(default_factory=list)
    would_create: list[WouldCreate] = field(default_factory=list)
    ambiguous: list[Problem] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    unmanaged: list[TenantObject] = field(default_factory=list)
    synced: list[SyncedObject] = field(default_factory=list)
    cannot: list[GraphCannot] = field(default_factory=list)
    would_delete: list[TenantObject] = field(default_factory=list)

    @property
    def changes(self) -> list[tuple[Joined, ValueChange]]:
        return [(j, c) for j in self.joined for c in j.changes]

    @property
    def possible_duplicates(self) -> list[WouldCreate]:
        return [w for w in self.would_create if w.possible_duplicates]


# --- reading the connector space -------------------------------------------------------------------------------


def graph_connectors(ws: Workspace) -> list[str]:
    return [n for n, block in ws.config.connectors.items() if str(block.get("type")) == GRAPH_TYPE]


def _pages(ws: Workspace, connector: str) -> Iterator[list[CSObject]]:
    after = 0
    while True:
        page = ws.store.cs_page(CSFilter(connector=connector), after, PAGE)
        if not page:
            return
        yield page
        after = page[-1].id


def _single(value: Any) -> Any:
    values = as_list(value)
    return values[0] if len(values) == 1 else (values or None)


def tenant_object(cs: CSObject) -> TenantObject:
    synced = str(cs.hologram.get("onPremisesSyncEnabled", "")).lower() == "true"
    name = cs.hologram.get("displayName")
    return TenantObject(cs.connector, cs.object_type, cs.identifier, cs.anchor, str(name) if name else None, synced)


def _proposed(change: Any) -> Any:
    if change.op is ValueOp.REPLACE:
        return _single(change.values)
    sign = "+" if change.op is ValueOp.ADD else "-"
    return [f"{sign}{v}" for v in change.values]


REFERENCES = ("manager", "members")


def value_changes(ws: Workspace, cs: CSObject) -> list[ValueChange]:
    pending = cs.pending_export
    if pending is None or pending.op is not ExportOp.UPDATE:
        return []
    out = []
    for c in pending.changes:
        if c.name == "__identifier__":
            continue
        current, proposed = _single(cs.hologram.get(c.name)), _proposed(c)
        if c.name in REFERENCES:
            current, proposed = _named(ws, cs.connector, current), _named(ws, cs.connector, proposed)
        out.append(ValueChange(c.name, current, proposed, c.op.value))
    if pending.new_identifier is not None:
        out.append(ValueChange("identifier", cs.identifier, pending.new_identifier, "rename"))
    return out


def _named(ws: Workspace, connector: str, value: Any) -> Any:
    """Graph ids of a reference as the referenced objects' identifiers (userPrincipalName, mailNickname)."""
    if value is None:
        return None
    values = as_list(value)
    bare = [str(v).lstrip("+-") for v in values]
    found = ws.store.cs_by_anchor(connector, bare)
    named = [
        str(v)[: len(str(v)) - len(b)] + (found[b].identifier if b in found else b)
        for v, b in zip(values, bare, strict=True)
    ]
    return named if isinstance(value, list) else named[0]


def matched_on(ws: Workspace, cs: CSObject, mv: MVObject | None) -> tuple[str, list[str]]:
    """The rule that linked ``cs`` and the attributes of its join rule that match the tenant's values."""
    how, _, rule_name = (cs.link_rule or "").partition(":")
    if how != "joined-out" or mv is None:
        return rule_name, []
    rule = ws.rules.outbound_by_name(rule_name)
    if rule is None:
        return rule_name, []
    values = expression_input(mv.attributes, binary_attributes(ws.rules.mv_schemas[mv.object_type]))
    for criterion in rule.joins:
        matched = []
        for attr, expr in criterion.pairs:
            try:
                result = evaluate(expr, values, _eval_ctx(), what="join", attribute=attr)
            except ObjectError:
                break
            wanted = {key_value(v) for v in as_list(result) if v not in (None, "")}
            have = {key_value(v) for v in as_list(cs.hologram.get(attr)) if v not in (None, "")}
            if not wanted & have:
                break
            matched.append(attr)
        else:
            return rule_name, matched
    return rule_name, []


def _eval_ctx() -> Any:
    from datetime import UTC, datetime

    from idsync.expressions import EvalContext

    return EvalContext(now=datetime.now(UTC))


def soa_request(obj: TenantObject) -> str:
    kind = "users" if obj.object_type == "user" else "groups"
    return f'PATCH /v1.0/{kind}/{obj.id}/onPremisesSyncBehavior {{"isCloudManaged": true}}'


# --- per-object flags ------------------------------------------------------------------------------------------


def mail_group_flag(cs: CSObject, obj: TenantObject) -> GraphCannot | None:
    if cs.object_type != "group" or str(cs.hologram.get("mailEnabled", "")).lower() != "true":
        return None
    if str(cs.hologram.get("securityEnabled", "")).lower() == "true":
        what = "mail-enabled security group"
    elif "unified" in {str(t).lower() for t in as_list(cs.hologram.get("groupTypes"))}:
        return None
    else:
        what = "distribution list"
    return GraphCannot(
        obj,
        what,
        "Graph cannot create or manage it (only security and Microsoft 365 groups): manage it in Exchange Online",
        "MAIL-GROUPS",
    )


def _proxy_values(attrs: Mapping[str, Any]) -> set[str] | None:
    for name, value in attrs.items():
        if name.lower() == "proxyaddresses":
            return {str(v).lower() for v in as_list(value)}
    return None


def proxy_flag(cs: CSObject, obj: TenantObject, mv: MVObject | None) -> GraphCannot | None:
    wanted = _proxy_values(mv.attributes) if mv is not None else None
    if not wanted:
        return None
    have = {str(v).lower() for v in as_list(cs.hologram.get("proxyAddresses"))}
    if wanted == have:
        return None
    detail = (
        f"the metaverse holds {len(wanted)} address(es) the tenant does not show exactly"
        if cs.anchor
        else "it would be created without its proxyAddresses"
    )
    return GraphCannot(obj, "proxyAddresses", f"{detail}; Graph cannot write proxyAddresses (Exchange does)", "PROXY")


def synced_flag(obj: TenantObject, refused: list[str]) -> GraphCannot | None:
    if not refused:
        return None
    return GraphCannot(
        obj,
        "read-only while synced",
        f"{', '.join(refused)}: on-premises mastered until the source of authority is switched",
        "SYNCED",
    )


# --- the whole report ------------------------------------------------------------------------------------------


_DUPLICATE_KEYS = tuple((a, f"same {a}") for a in ("displayName", "mailNickname", "mail", "employeeId"))


def _duplicate_keys(object_type: str, values: Mapping[str, Any], identifier: str) -> Iterator[tuple[str, str]]:
    for attr, reason in _DUPLICATE_KEYS:
        value = _single(values.get(attr))
        if isinstance(value, str) and value.strip():
            yield f"{object_type}:{attr}:{value.strip().lower()}", reason
    if "@" in identifier:
        yield f"{object_type}:local:{identifier.split('@', 1)[0].lower()}", "same userPrincipalName before the @"


def collect(ws: Workspace, run: RunResult, config: str) -> CutoverReport:
    report = CutoverReport(config, run.status.value, [s.summary() for s in run.steps])
    for row in ws.store.errors(run_id=run.id, limit=100_000):
        (report.ambiguous if row.code == "ambiguous-join" else report.errors).append(Problem.of(row))
    unmanaged_index: dict[str, list[TenantObject]] = {}
    for connector in graph_connectors(ws):
        for page in _pages(ws, connector):
            mvs = ws.store.mv_get_many([c.mv_id for c in page if c.mv_id is not None])
            for cs in page:
                _sort(ws, report, cs, mvs.get(cs.mv_id) if cs.mv_id is not None else None, unmanaged_index)
    for created in report.would_create:
        seen: set[str] = set()
        for key, reason in _duplicate_keys(created.object_type, created.values, created.identifier):
            for obj in unmanaged_index.get(key, []):
                if obj.identifier not in seen:
                    seen.add(obj.identifier)
                    created.possible_duplicates.append(Candidate(obj, reason))
    return report


def _sort(
    ws: Workspace, report: CutoverReport, cs: CSObject, mv: MVObject | None, index: dict[str, list[TenantObject]]
) -> None:
    obj = tenant_object(cs)
    pending = cs.pending_export
    flags = [mail_group_flag(cs, obj), proxy_flag(cs, obj, mv)]
    if pending is not None and pending.op is ExportOp.ADD:
        values = {c.name: _proposed(c) for c in pending.changes}
        rule = (cs.link_rule or "").partition(":")[2]
        report.would_create.append(WouldCreate(cs.connector, cs.object_type, cs.identifier, cs.mv_id, rule, values))
    elif cs.mv_id is None:
        report.unmanaged.append(obj)
        for key, _ in _duplicate_keys(cs.object_type, cs.hologram, cs.identifier):
            index.setdefault(key, []).append(obj)
    else:
        rule, on = matched_on(ws, cs, mv)
        joined = Joined(obj, cs.mv_id, rule, on, value_changes(ws, cs))
        report.joined.append(joined)
        if pending is not None and pending.op is ExportOp.DELETE:
            report.would_delete.append(obj)
        if obj.synced:
            refused = [c.attribute for c in joined.changes if c.attribute in SYNCED_READ_ONLY.get(cs.object_type, ())]
            if pending is not None and pending.op is ExportOp.DELETE:
                refused.append("delete")
            report.synced.append(SyncedObject(obj, cs.mv_id, refused, soa_request(obj)))
            flags.append(synced_flag(obj, refused))
    report.cannot.extend(f for f in flags if f is not None)
