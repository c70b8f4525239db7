"""The cutover report as terminal text (counts and the first few of each finding), Markdown (everything) and one
JSON document (everything, for scripts)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from idsync.migrate.cutover.findings import CutoverReport, TenantObject

SOA_STEPS = [
    "Make sure nothing on-premises still synchronizes these objects: the retired connector is gone, and no Connect "
    "Sync or cloud sync scope includes them (ONE-TOOL).",
    "Grant the application User-OnPremisesSyncBehavior.ReadWrite.All and Group-OnPremisesSyncBehavior.ReadWrite.All "
    "(application permissions, admin consent).",
    "For each object listed, send the request shown: it sets onPremisesSyncBehavior isCloudManaged to true, after "
    "which updates from on-premises are blocked and Graph accepts writes (SYNCED).",
    "Run the dry run again: the objects must no longer show as synced, and nothing must be refused.",
    "After the switch, extensionAttribute1-15 of those users cannot be written through Graph any more (Exchange "
    "Online manages them): keep them out of the flows.",
]

SECTIONS = (
    "joined",
    "would_create",
    "possible_duplicates",
    "ambiguous",
    "changes",
    "unmanaged",
    "synced",
    "cannot",
    "would_delete",
    "errors",
)


_HINT = re.compile(r"\s*\(see them with `idsync [^)]*\)")
"""The engine's pointer to its state store: the dry run's store is thrown away, this report lists them."""


def _who(obj: TenantObject) -> str:
    name = f" ({obj.display_name})" if obj.display_name and obj.display_name != obj.identifier else ""
    return f"{obj.object_type} {obj.identifier}{name}"


def counts(report: CutoverReport) -> dict[str, int]:
    return {
        "joined": len(report.joined),
        "would_create": len(report.would_create),
        "possible_duplicates": len(report.possible_duplicates),
        "ambiguous": len(report.ambiguous),
        "changes": len(report.changes),
        "unmanaged": len(report.unmanaged),
        "synced": len(report.synced),
        "cannot": len(report.cannot),
        "would_delete": len(report.would_delete),
        "errors": len(report.errors),
    }


def _value(v: Any) -> str:
    if v is None:
        return "(none)"
    return ", ".join(str(x) for x in v) if isinstance(v, list) else str(v)


def lines(report: CutoverReport) -> dict[str, list[str]]:
    """One line per finding, by section."""
    return {
        "joined": [
            f"{_who(j.obj)} -> MV #{j.mv_id} by {j.rule}"
            + (f" on {', '.join(j.matched_on)}" if j.matched_on else "")
            + (f"; {len(j.changes)} change(s)" if j.changes else "")
            for j in report.joined
        ],
        "would_create": [f"{w.object_type} {w.identifier} (MV #{w.mv_id}, rule {w.rule})" for w in report.would_create],
        "possible_duplicates": [
            f"{w.object_type} {w.identifier} may duplicate "
            + "; ".join(f"{_who(c.obj)} [{c.reason}]" for c in w.possible_duplicates)
            for w in report.possible_duplicates
        ],
        "ambiguous": [f"{p.identifier or f'MV #{p.mv_id}'}: {p.reason}" for p in report.ambiguous],
        "changes": [
            f"{_who(j.obj)}: {c.attribute} {_value(c.current)} -> {_value(c.proposed)}" for j, c in report.changes
        ],
        "unmanaged": [_who(o) + (" [synced from on-premises]" if o.synced else "") for o in report.unmanaged],
        "synced": [
            f"{_who(s.obj)}: refused until switched: {', '.join(s.refused) or 'nothing pending'}; {s.request}"
            for s in report.synced
        ],
        "cannot": [f"{_who(c.obj)}: {c.what}: {c.detail} ({c.rule})" for c in report.cannot],
        "would_delete": [_who(o) for o in report.would_delete],
        "errors": [f"{p.identifier or f'MV #{p.mv_id}'}: {p.code}: {p.reason}" for p in report.errors],
    }


TITLES = {
    "joined": "Joined to existing tenant objects",
    "would_create": "Would be created",
    "possible_duplicates": "Would be created, but may duplicate a tenant object nothing manages",
    "ambiguous": "Ambiguous matches (nothing is joined until resolved)",
    "changes": "Attribute values that would change",
    "unmanaged": "Tenant objects nothing manages",
    "synced": "Still synced from on-premises: Graph refuses their on-premises attributes until switched",
    "cannot": "What Microsoft Graph cannot do, per object",
    "would_delete": "Would be deleted",
    "errors": "Other errors",
}


def text(report: CutoverReport, limit: int = 10) -> str:
    out = [f"Cutover dry run of {report.config}: {report.status} (staging mode: nothing was written)"]
    for step in report.steps:
        message = _HINT.sub("", str(step.get("message") or ""))
        msg = f" - {message}" if message else ""
        out.append(f"  {step['connector']} {step['step']}: {step['status']}{msg}")
    found = lines(report)
    for key in SECTIONS:
        rows = found[key]
        out.append(f"{TITLES[key]}: {len(rows)}")
        out += [f"  {r}" for r in rows[:limit]]
        if len(rows) > limit:
            out.append(f"  ... and {len(rows) - limit} more (--json or --report for all)")
    if report.synced:
        out.append("Switching the source of authority:")
        out += [f"  {n}. {s}" for n, s in enumerate(SOA_STEPS, 1)]
    return "\n".join(out) + "\n"


def markdown(report: CutoverReport) -> str:
    out = ["# Cutover dry run", "", f"`{report.config}`: **{report.status}**; staging mode, nothing was written.", ""]
    out += ["| connector | step | status | adds | updates | deletes | errors |", "|---|---|---|---|---|---|---|"]
    out += [
        f"| {s['connector']} | {s['step']} | {s['status']} | {s['adds']} | {s['updates']} | {s['deletes']} | "
        f"{s['errors']} |"
        for s in report.steps
    ]
    found = lines(report)
    for key in SECTIONS:
        out += ["", f"## {TITLES[key]} ({len(found[key])})", ""]
        out += [f"- {_escape(r)}" for r in found[key]] or ["None."]
    if report.synced:
        out += ["", "## Switching the source of authority", ""]
        out += [f"{n}. {s}" for n, s in enumerate(SOA_STEPS, 1)]
    return "\n".join(out) + "\n"


def _escape(text_: str) -> str:
    return text_.replace("<", "&lt;").replace(">", "&gt;") if "<" in text_ else text_


def _objects(items: Sequence[TenantObject]) -> list[dict[str, Any]]:
    return [o.as_json() for o in items]


def as_json(report: CutoverReport) -> dict[str, Any]:
    def each(items: Sequence[Any], fn: Callable[[Any], dict[str, Any]]) -> list[dict[str, Any]]:
        return [fn(i) for i in items]

    return {
        "config": report.config,
        "status": report.status,
        "staging": True,
        "counts": counts(report),
        "steps": report.steps,
        "joined": each(
            report.joined,
            lambda j: {
                **j.obj.as_json(),
                "mv_id": j.mv_id,
                "rule": j.rule,
                "matched_on": j.matched_on,
                "changes": [
                    {"attribute": c.attribute, "current": c.current, "proposed": c.proposed, "op": c.op}
                    for c in j.changes
                ],
            },
        ),
        "would_create": each(
            report.would_create,
            lambda w: {
                "connector": w.connector,
                "object_type": w.object_type,
                "identifier": w.identifier,
                "mv_id": w.mv_id,
                "rule": w.rule,
                "values": w.values,
                "possible_duplicates": [{**c.obj.as_json(), "reason": c.reason} for c in w.possible_duplicates],
            },
        ),
        "ambiguous": each(report.ambiguous, lambda p: vars_of(p)),
        "errors": each(report.errors, lambda p: vars_of(p)),
        "unmanaged": _objects(report.unmanaged),
        "synced": each(
            report.synced,
            lambda s: {**s.obj.as_json(), "mv_id": s.mv_id, "refused": s.refused, "request": s.request},
        ),
        "soa_steps": SOA_STEPS if report.synced else [],
        "cannot": each(
            report.cannot, lambda c: {**c.obj.as_json(), "what": c.what, "detail": c.detail, "rule": c.rule}
        ),
        "would_delete": _objects(report.would_delete),
    }


def vars_of(problem: Any) -> dict[str, Any]:
    return {
        "connector": problem.connector,
        "identifier": problem.identifier,
        "mv_id": problem.mv_id,
        "code": problem.code,
        "reason": problem.reason,
        "attribute": problem.attribute,
    }
