"""What an operator's object actions do, once for every front end: the ``disconnect``, ``join``, ``project`` and
``on-demand`` commands, the REST API and the dashboard's buttons give the same answer in the same shape (secrets
redacted).

Like ``readmodel``, nothing here imports a web framework, so the command line uses it without the ``web`` extra.
"""

from __future__ import annotations

from typing import Any

from idsync.engine.disconnection import disconnect, make_normal
from idsync.engine.joiner import ManualJoin, join, project
from idsync.engine.on_demand import TargetOutcome, provision_on_demand
from idsync.engine.run_profiles import Runner, RunOptions
from idsync.engine.workspace import Workspace
from idsync.service.readmodel import BadReference, NotFound, Secrets, cs_json, error_json, resolve_object


def disconnect_object(
    ws: Workspace, ref: str, *, explicit: bool = False, clear: bool = False, secrets: Secrets | None = None
) -> dict[str, Any]:
    """MIM's connector-space "Disconnect" (``explicit``: as an explicit disconnector) or, with ``clear``, "Convert
    to normal disconnector", of the object ``ref`` names. The answer: the run that recorded it, its status and
    message, the MV object it left and whether that was deleted, a pending export it dropped, the object now and
    any error rows. Raises ``BadReference``/``NotFound`` for a reference that names no CS object,
    ``DisconnectRefused`` when the object cannot be changed so, ``RunLocked`` while a run holds the store."""
    if explicit and clear:
        raise BadReference("explicit and clear ask for opposite things; give one of them")
    ident = _cs_object(ws, ref, "disconnect", f" Its links are listed by: idsync show {ref}")
    runner = Runner(ws)
    done = make_normal(runner, ident) if clear else disconnect(runner, ident, explicit=explicit)
    secrets = secrets if secrets is not None else Secrets.of_workspace(ws)
    if done is None:
        current = ws.store.cs_get(ident)
        return {
            "run_id": None,
            "status": "success",
            "message": f"cs:{ident} is an explicit disconnector already",
            "object": cs_json(current, secrets) if current else None,
            "errors": [],
        }
    return {
        "run_id": done.run.id,
        "status": done.status.value,
        "message": done.run.steps[0].message,
        "mv_id": done.mv_id,
        "mv_deleted": done.mv_deleted,
        "dropped_export": done.dropped_export,
        "object": cs_json(done.after, secrets) if done.after else None,
        "errors": [error_json(e) for e in done.errors],
    }


def join_object(ws: Workspace, ref: str, to: str, *, secrets: Secrets | None = None) -> dict[str, Any]:
    """MIM's Joiner: join the CS object ``ref`` names to the MV object ``to`` names, as an explicit connector. The
    answer has the shape of ``disconnect_object``'s. Raises ``BadReference``/``NotFound`` for references that name
    no such objects, ``JoinRefused`` when the join cannot be made, ``RunLocked`` while a run holds the store."""
    ident = _cs_object(ws, ref, "join", " Give the metaverse object to join it to after --to")
    target_kind, target = resolve_object(ws.store, ws.connector_names(), to)
    if target_kind != "mv":
        raise BadReference(f"{to} is a connector-space object; join it to a metaverse object (mv:ID)")
    if ws.store.mv_get(target) is None:
        raise NotFound(f"no metaverse object mv:{target}")
    return _joined(ws, join(Runner(ws), ident, target), secrets)


def project_object(
    ws: Workspace, ref: str, mv_type: str | None = None, *, secrets: Secrets | None = None
) -> dict[str, Any]:
    """MIM's Joiner's "Project": a new MV object (of ``mv_type``, or the one type the object's inbound rules flow
    into) from the CS object ``ref`` names, as an explicit connector. The answer has ``join_object``'s shape."""
    ident = _cs_object(ws, ref, "project", "")
    return _joined(ws, project(Runner(ws), ident, mv_type), secrets)


def _cs_object(ws: Workspace, ref: str, verb: str, hint: str) -> int:
    kind, ident = resolve_object(ws.store, ws.connector_names(), ref)
    if kind != "cs":
        raise BadReference(
            f"{verb} takes a connector-space object (cs:ID or CONNECTOR:ANCHOR); {ref} is a metaverse object.{hint}"
        )
    if ws.store.cs_get(ident) is None:
        raise NotFound(f"no connector-space object cs:{ident}")
    return ident


def _joined(ws: Workspace, done: ManualJoin, secrets: Secrets | None) -> dict[str, Any]:
    secrets = secrets if secrets is not None else Secrets.of_workspace(ws)
    return {
        "run_id": done.run.id,
        "status": done.status.value,
        "message": done.run.steps[0].message,
        "mv_id": done.mv_id,
        "object": cs_json(done.after, secrets) if done.after else None,
        "errors": [error_json(e) for e in done.errors],
    }


def provision_object(
    ws: Workspace, ref: str, *, staging: bool = False, secrets: Secrets | None = None
) -> dict[str, Any]:
    """Provisioning on demand of the source object ``ref`` names: ``cs:ID``, or ``CONNECTOR:ANCHOR-OR-IDENTIFIER``,
    which may name an object not imported yet (looked up in the system by that identifier). The answer is the run's
    summary with the object after its sync, its MV object, what became of it in each target, and the error rows.
    ``staging`` computes it all and sends nothing, as the workspace's staging mode does. Raises ``BadReference``
    for a metaverse object or an unknown connector, ``NotFound`` for an unknown cs:ID, ``RunLocked`` while a run
    holds the store."""
    connector, _, value = ref.partition(":")
    if connector == "mv":
        raise BadReference(f"on-demand takes a source object (cs:ID or CONNECTOR:ANCHOR-OR-IDENTIFIER); {ref} is not")
    try:
        ident: int | None = _cs_object(ws, ref, "on-demand", "")
    except NotFound:
        if connector == "cs":
            raise
        ident = None  # not imported yet: the system is asked for it by this identifier
    cs = ws.store.cs_get(ident) if ident is not None else None
    if cs is not None:
        connector, value = cs.connector, cs.identifier
    done = provision_on_demand(Runner(ws, RunOptions(staging=True if staging else None)), connector, value, ident)
    secrets = secrets if secrets is not None else Secrets.of_workspace(ws)
    return {
        **done.run.summary(),
        "missing": done.missing,
        "object": cs_json(done.source, secrets) if done.source else None,
        "mv_id": done.mv_id,
        "targets": [
            {
                "connector": t.connector,
                "cs_id": t.cs_id,
                "identifier": t.identifier,
                "staged": t.staged,
                "sent": t.sent,
                "held": t.held,
                "outcome": _outcome(t),
            }
            for t in done.targets
        ],
        "errors": [error_json(e) for e in ws.store.errors(run_id=done.run.id, limit=100)],
    }


def _outcome(target: TargetOutcome) -> str:
    """What became of the object in one target, in words (the command line and the dashboard print it)."""
    if target.staged is None:
        return "nothing to change"
    if target.sent:
        return f"{target.staged} sent"
    return f"{target.staged} not sent: {target.held}"
