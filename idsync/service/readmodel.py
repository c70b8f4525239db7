"""The read model: what ``status``, ``search``, ``show``, ``history`` and ``audit`` print, and what the REST API and
the dashboard serve, computed once here over the Store protocol.

Everything leaving this module has secrets redacted (see ``idsync.model.redaction``): the CLI, the API, the
dashboard and the HTML report all show objects through it, so none of them can forget. Nothing here imports a web
framework, so the command line can use it without the ``web`` extra.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from idsync.model import (
    DEPROVISIONING,
    CSObject,
    ErrorRow,
    ExportOp,
    LinkState,
    MVObject,
    RunResult,
    StepResult,
    closest,
)
from idsync.model.redaction import DEFAULT_SECRETS, SecretAttributes
from idsync.store import CSFilter, Store

OBJECT_HELP = "OBJECT is cs:ID, mv:ID, or CONNECTOR:ANCHOR-OR-IDENTIFIER (for example hr:E1042)."
DISCONNECTED = (LinkState.DISCONNECTOR.value, LinkState.FILTERED.value, LinkState.EXPLICIT.value)
LINK_STATES = tuple(s.value for s in LinkState)
MAX_LIMIT = 1000
AUDIT_OPS = (*(op.value for op in ExportOp), f"{ExportOp.UPDATE.value}+rename")
"""The operations the audit trail records (an update that renames is ``update+rename``)."""


class BadReference(ValueError):
    """An object reference that cannot be read (the message says what is expected)."""


class NotFound(LookupError):
    """The thing asked for does not exist; the message names it."""


class Conflict(Exception):
    """The request does not fit the state it would change (the message says why); nothing was changed."""


@dataclass(frozen=True)
class Secrets:
    """Secret attribute names per connector (well-known ones plus what each connector marks)."""

    per_connector: Mapping[str, SecretAttributes] = field(default_factory=dict)

    def of(self, connector: str | None) -> SecretAttributes:
        return self.per_connector.get(connector or "", DEFAULT_SECRETS)

    @property
    def metaverse(self) -> SecretAttributes:
        names = set(DEFAULT_SECRETS.names)
        for found in self.per_connector.values():
            names |= found.names
        return SecretAttributes(frozenset(names))

    @classmethod
    def of_workspace(cls, ws: Any) -> Secrets:
        """Ask each connector what it marks secret. Building a connector never contacts its system; one that
        cannot be built (a secret reference not resolvable here) keeps the well-known names."""
        found: dict[str, SecretAttributes] = {}
        for name in ws.connector_names():
            try:
                extra = ws.capabilities(name).secret_attributes
            except Exception:  # a broken connector must not break reading
                extra = frozenset()
            found[name] = SecretAttributes.with_extra(extra)
        return cls(found)


def parse_integer(text: object) -> int | None:
    """A whole number as people and programs write it: ASCII digits with at most one leading sign, at most 20
    digits; None for anything else. (``str.isdigit`` accepts superscripts such as "²", which ``int`` then refuses,
    and ``int`` itself accepts other scripts' digits, underscores and spaces.) Every number the service reads from
    a request goes through here."""
    if not isinstance(text, str) or not NUMBER.fullmatch(text):
        return None
    return int(text)


NUMBER = re.compile(r"[+-]?[0-9]{1,20}")


# objects ---------------------------------------------------------------------------------------------------------
def pending_export_json(cs: CSObject, secrets: Secrets) -> dict[str, Any] | None:
    if cs.pending_export is None:
        return None
    data = cs.pending_export.to_json()
    data["kind"] = cs.pending_export.kind  # add, update, delete, or disable (a deprovisioning update)
    data["changes"] = secrets.of(cs.connector).changes(data["changes"])
    return data


def cs_json(cs: CSObject, secrets: Secrets) -> dict[str, Any]:
    hidden = secrets.of(cs.connector)
    unconfirmed = {
        k: ({**v, "value": hidden.attributes({k: v.get("value")})[k]} if isinstance(v, dict) else v)
        for k, v in cs.unconfirmed.items()
    }
    return {
        "id": cs.id,
        "connector": cs.connector,
        "object_type": cs.object_type,
        "anchor": cs.anchor,
        "identifier": cs.identifier,
        "link_state": cs.link_state.value,
        "mv_id": cs.mv_id,
        "link_rule": cs.link_rule,
        "attributes": hidden.attributes(cs.hologram),
        "pending_import": cs.pending_import.to_json() if cs.pending_import else None,
        "pending_export": pending_export_json(cs, secrets),
        "unconfirmed": unconfirmed or None,
        "error": cs.error,
    }


def mv_json(mv: MVObject, secrets: Secrets, references: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": mv.id,
        "object_type": mv.object_type,
        "attributes": secrets.metaverse.attributes(mv.attributes),
        "lineage": {
            k: {"connector": c.connector, "rule": c.rule, "cs_id": c.cs_id} for k, c in sorted(mv.provenance.items())
        },
    }
    if references:
        out["references"] = references
    return out


def referenced(store: Store, rules: Any, mv: MVObject) -> dict[str, dict[str, str]]:
    """Reference attribute -> {MV id: a readable name} of the objects ``mv`` references."""
    if rules is None:
        return {}
    wanted: dict[str, list[int]] = {}
    for attr in rules.reference_attributes(mv.object_type):
        value = mv.attributes.get(attr)
        values = value if isinstance(value, list) else [value] if value is not None else []
        numbers = (parse_integer(str(v)) for v in values)
        wanted[attr] = [n for n in numbers if n is not None][:200]
    found = store.mv_get_many([i for ids in wanted.values() for i in ids])
    out: dict[str, dict[str, str]] = {}
    for attr, ids in wanted.items():
        for ref_id in ids:
            other = found.get(ref_id)
            if other is not None:
                label = other.attributes.get("displayName") or next(iter(other.attributes.values()), "")
                out.setdefault(attr, {})[str(ref_id)] = str(label)
    return out


def _link_json(store: Store, cs: CSObject, secrets: Secrets) -> dict[str, Any]:
    return {**cs_json(cs, secrets), "exports": audit_rows(store, secrets, cs_id=cs.id, limit=5)}


def error_json(e: ErrorRow) -> dict[str, Any]:
    return {
        "id": e.id,
        "run_id": e.run_id,
        "step_id": e.step_id,
        "connector": e.connector,
        "identifier": e.identifier,
        "cs_id": e.cs_id,
        "mv_id": e.mv_id,
        "attribute": e.attribute,
        "code": e.code,
        "reason": e.reason,
        "detail": e.detail,
    }


def check_known(name: str, value: str, known: Sequence[str], what: str) -> None:
    """Refuse a filter value that can match nothing (a misspelt connector would list nothing, as if there were
    nothing to see): ``BadReference`` naming the parameter, the known values and the closest one."""
    if value in known:
        return
    close = closest(value, known)
    hint = f"; did you mean {close!r}?" if close else ""
    raise BadReference(f"{name}: no {what} {value!r} (known: {', '.join(known) or 'none'}){hint}")


def resolve_object(store: Store, connectors: list[str], ref: str) -> tuple[str, int]:
    """``cs:ID``, ``mv:ID`` or ``CONNECTOR:ANCHOR-OR-IDENTIFIER`` -> ("cs"|"mv", id)."""
    kind, sep, value = ref.partition(":")
    if not sep or not value:
        raise BadReference(f"cannot read {ref!r}. {OBJECT_HELP}")
    if kind in ("cs", "mv"):
        number = parse_integer(value)
        if number is None:
            raise BadReference(f"{ref!r}: {kind}: takes a number. {OBJECT_HELP}")
        return kind, number
    if kind not in connectors:
        raise BadReference(f"{kind!r} is not a connector. {OBJECT_HELP}")
    found = store.cs_by_anchor(kind, [value]).get(value)
    if found is None:
        matches = store.cs_by_identifier(kind, [value]).get(value.casefold(), [])
        found = matches[0] if matches else None
    if found is None:
        raise NotFound(f"no connector-space object {ref} ({kind} has none with anchor or identifier {value!r})")
    return "cs", int(found.id)


def _link_order(cs: CSObject) -> tuple[str, int]:
    return cs.connector, cs.id


def _errors_for_cs(store: Store, cs_id: int, limit: int) -> list[ErrorRow]:
    reader = getattr(store, "errors_for_cs", None)
    return list(reader(cs_id, limit)) if reader is not None else []


def object_detail(store: Store, kind: str, ident: int, secrets: Secrets, rules: Any = None) -> dict[str, Any]:
    """An object with its lineage: for a CS object its MV object and that one's other links; for an MV object
    every linked CS object (CS -> MV -> CS), each with its pending export. Errors and the recent exports (audit)
    ride along; with ``rules``, reference attributes get readable names of the objects they point at."""
    if kind == "cs":
        cs = store.cs_get(ident)
        if cs is None:
            raise NotFound(f"no connector-space object cs:{ident}")
        mv = store.mv_get(cs.mv_id) if cs.mv_id is not None else None
        others = store.cs_by_mv([mv.id]).get(mv.id, []) if mv else []
        return {
            "cs": cs_json(cs, secrets),
            "mv": mv_json(mv, secrets, referenced(store, rules, mv)) if mv else None,
            "links": [_link_json(store, c, secrets) for c in sorted(others, key=_link_order) if c.id != cs.id],
            "errors": [error_json(e) for e in _errors_for_cs(store, cs.id, 5)],
            "exports": audit_rows(store, secrets, cs_id=cs.id, limit=5),
        }
    if kind != "mv":
        raise BadReference(f"unknown object kind {kind!r}. {OBJECT_HELP}")
    found = store.mv_get(ident)
    if found is None:
        raise NotFound(f"no metaverse object mv:{ident}")
    links = store.cs_by_mv([found.id]).get(found.id, [])
    return {
        "mv": mv_json(found, secrets, referenced(store, rules, found)),
        "links": [_link_json(store, c, secrets) for c in sorted(links, key=_link_order)],
        "unresolved": [
            {"attribute": u.attribute, "direction": u.direction, "connector": u.connector, "ref": u.ref}
            for u in store.unresolved_for_mv([found.id])
        ],
    }


# searching -------------------------------------------------------------------------------------------------------
def identifier_pattern(text: str | None) -> str | None:
    """A user's identifier pattern (``*`` the wildcard) as the store's LIKE pattern."""
    if not text:
        return None
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%")


def split_attr(attr: str | None) -> tuple[str | None, str | None]:
    if not attr:
        return None, None
    name, sep, value = attr.partition("=")
    if not sep or not name:
        raise BadReference(f"{attr!r}: an attribute filter is NAME=VALUE")
    return name, value


def cs_filter(
    *,
    connector: str | None = None,
    object_type: str | None = None,
    attr: str | None = None,
    identifier: str | None = None,
    pending_import: bool = False,
    pending_export: bool = False,
    pending_delete: bool = False,
    disconnector: bool = False,
    error: bool = False,
    unconfirmed: bool = False,
    states: tuple[str, ...] = (),
) -> CSFilter:
    """``states``: objects in any of these link states (``LinkState`` values); ``disconnector`` is short for the
    three disconnected ones."""
    name, value = split_attr(attr)
    unknown = [s for s in states if s not in LINK_STATES]
    if unknown:
        raise BadReference(f"unknown link state {unknown[0]!r} (known: {', '.join(LINK_STATES)})")
    if states and disconnector:
        raise BadReference("give either a link state or the disconnector filter, not both")
    link_states = tuple(states) or (DISCONNECTED if disconnector else ())
    return CSFilter(
        connector=connector or None,
        object_type=object_type or None,
        pending_import=pending_import,
        pending_export=pending_export,
        export_ops=DEPROVISIONING if pending_delete else (),
        error=error,
        unconfirmed=unconfirmed,
        link_states=link_states,
        attribute=name,
        value=value,
        identifier_like=identifier_pattern(identifier),
    )


def search_cs(store: Store, flt: CSFilter, secrets: Secrets, *, limit: int = 50, after: int = 0) -> dict[str, Any]:
    limit = max(1, min(limit, MAX_LIMIT))
    found = store.cs_page(flt, after, limit)
    return {
        "total": store.cs_count(flt),
        "objects": [cs_json(c, secrets) for c in found],
        "next_after": found[-1].id if len(found) == limit else None,
    }


def search_mv(
    store: Store, attr: str, secrets: Secrets, *, object_type: str | None = None, limit: int = 50
) -> dict[str, Any]:
    name, value = split_attr(attr)
    assert name is not None and value is not None
    found = store.mv_search(object_type or None, name, value, max(1, min(limit, MAX_LIMIT)))
    return {"objects": [mv_json(m, secrets) for m in found]}


# runs ------------------------------------------------------------------------------------------------------------
def processed(step: StepResult) -> int:
    """Objects a step went through: every counted outcome."""
    c = step.counters
    return c.adds + c.updates + c.deletes + c.renames + c.unchanged + c.errors


def step_json(step: StepResult) -> dict[str, Any]:
    data = step.summary()
    data.update(
        {
            "id": step.id,
            "index": step.index,
            "started": step.started,
            "ended": step.ended,
            "processed": processed(step),
            "counters": step.counters.to_json(),
        }
    )
    return data


def run_json(run: RunResult) -> dict[str, Any]:
    data = run.summary()
    data["steps"] = [step_json(s) for s in run.steps]
    data["errors"] = sum(s.counters.errors for s in run.steps)
    return data


def run_detail(store: Store, run_id: int, *, error_limit: int = 200) -> dict[str, Any]:
    run = store.run_get(run_id)
    if run is None:
        raise NotFound(f"no run {run_id}")
    data = run_json(run)
    data["error_rows"] = [error_json(e) for e in store.errors(run_id=run_id, limit=error_limit)]
    return data


# status, holds, approvals --------------------------------------------------------------------------------------
def connector_status(store: Store, name: str, connector_type: Any) -> dict[str, Any]:
    def count(**kw: Any) -> int:
        return int(store.cs_count(CSFilter(connector=name, **kw)))

    watermark = store.get_watermark(name)
    return {
        "connector": name,
        "type": connector_type,
        "objects": count(),
        "connectors": count(link_states=(LinkState.CONNECTOR.value,)),
        "disconnectors": count(link_states=DISCONNECTED),
        "pending_imports": count(pending_import=True),
        "pending_exports": count(pending_export=True),
        "pending_deletes": count(export_ops=DEPROVISIONING),
        "unconfirmed": count(unconfirmed=True),
        "errors": count(error=True),
        "watermark": watermark or None,  # whole: JSON is read by programs, and a cut watermark is no watermark
    }


def status(store: Store, config: Any, root: str) -> dict[str, Any]:
    runs = store.runs(1)
    return {
        "workspace": root,
        "staging": config.staging,
        "connectors": [connector_status(store, n, b.get("type")) for n, b in config.connectors.items()],
        "metaverse": {t: store.mv_count(t) for t in config.metaverse},
        "unresolved_references": store.unresolved_count(),
        "last_run": runs[0].summary() if runs else None,
    }


def holds(store: Store, config: Any) -> list[dict[str, Any]]:
    """Connectors whose export the deletion threshold holds: their pending deletes, what is approved, and why."""
    from idsync.engine.errors import StepStopped
    from idsync.engine.thresholds import check_deletion_threshold, pending_deprovisionings

    out = []
    for name in config.connectors:
        try:
            check = check_deletion_threshold(store, name, config.safety)
        except StepStopped as stop:
            deletes, disables = pending_deprovisionings(store, name)
            out.append(
                {
                    "connector": name,
                    "pending_deletes": deletes,
                    "pending_disables": disables,
                    "approved": store.approval_get(name),
                    "threshold": config.safety.deletion_threshold,
                    "threshold_percent": config.safety.deletion_threshold_percent,
                    "reason": stop.message,
                }
            )
            continue
        if check.approved and check.deletes:
            out.append(
                {
                    "connector": name,
                    "pending_deletes": check.deletes,
                    "pending_disables": check.disables,
                    "approved": check.approved,
                    "threshold": config.safety.deletion_threshold,
                    "threshold_percent": config.safety.deletion_threshold_percent,
                    "reason": "approved: the next export of this connector sends them",
                }
            )
    return out


def approve_deletes(
    store: Store,
    connectors: list[str],
    connector: str,
    count: int | None,
    *,
    below_pending: bool = True,
    expected: int | None = None,
) -> tuple[int, int]:
    """Let the next export of ``connector`` send the deletes and disables pending now (the objects reviewed: one
    pending only later is held again) while there are at most ``count`` of them (all pending now when None; never
    more than are pending now). The export sends all of them or stops: an approval below what is pending lets
    nothing through until the pending deletes fall to it, so with ``below_pending`` False such a count is refused
    instead of recorded. ``expected``: how many the operator saw pending (the dashboard's button sends the number
    it showed); when another number is pending now, nothing is recorded (``Conflict``). Returns (approved,
    pending)."""
    if connector not in connectors:
        raise NotFound(f"no connector named {connector!r}")
    if count is not None and count < 0:
        raise BadReference("count must be zero or more")
    if expected is not None and expected < 0:
        raise BadReference("expected must be zero or more")
    from idsync.engine.thresholds import PendingChanged, approve, pending_deprovisionings

    pending, _ = pending_deprovisionings(store, connector)
    if count is not None and count < pending and not below_pending:
        raise BadReference(
            f"approving {count} lets the export through only while at most {count} deletes and disables are pending; "
            f"{pending} are pending for {connector}, so its next export would still stop. Nothing was approved. "
            f"Review them (idsync search cs --connector {connector} --pending-delete), then approve them all "
            f"(idsync approve-deletes {connector})"
        )
    try:
        return approve(store, connector, count, expected=expected)
    except PendingChanged as changed:
        raise Conflict(
            f"{changed.pending} deletes and disables are pending for {connector} now, the page showed "
            f"{changed.expected}: review them again. Nothing was approved."
        ) from None


# audit -----------------------------------------------------------------------------------------------------------
def audit_rows(store: Store, secrets: Secrets, *, limit: int = 100, **query: Any) -> list[dict[str, Any]]:
    """Audit rows (newest first) with secrets redacted again on the way out: rows recorded before redaction
    existed, or by a connector that marks a secret only now, must not show one either."""
    wanted = {k: v for k, v in query.items() if v is not None}
    rows = []
    for found in store.audit_search(limit=max(1, min(limit, MAX_LIMIT)), **wanted):
        row = dict(found)
        row["changes"] = secrets.of(row.get("connector")).changes(row.get("changes") or [])
        rows.append(row)
    return rows
