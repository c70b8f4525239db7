"""After a crash: exports that were in flight are settled before anything else is sent.

An export batch is recorded as in flight (committed) before it is sent. If the process dies before the results
are recorded, nobody knows whether the target applied them. An add is then looked up in the target by its
identifier or unique keys and adopted if it is there — never created twice; replaces are safe to resend; a delete
that already happened is recorded as done.
"""

from __future__ import annotations

import json
from collections.abc import Container
from typing import Any

from idsync.connectors.base import Connector
from idsync.engine.pending_exports import expected_state
from idsync.engine.secrets import is_withheld, secret_attributes
from idsync.model import CSObject, ExportOp, LinkState, ValueOp
from idsync.model.redaction import DEFAULT_SECRETS
from idsync.store import Store

IN_FLIGHT = "in_flight:"


def in_flight_ids(store: Store, connector: str) -> list[int]:
    text = store.get_meta(IN_FLIGHT + connector)
    return [int(i) for i in json.loads(text)] if text else []


def set_in_flight(store: Store, connector: str, ids: list[int]) -> None:
    store.set_meta(IN_FLIGHT + connector, json.dumps(sorted(ids)) if ids else None)


def keeps_anchor(holder: CSObject) -> bool:
    """Whether ``holder``, another object of the connector space that holds the anchor a new object was answered
    or found with, keeps it: one joined to an MV object does, and so does an explicit disconnector (an operator kept
    it apart). Any other is an import of that same object, which gives way to the object idsync added."""
    return holder.mv_id is not None or holder.link_state is LinkState.EXPLICIT


def unique_keys(cs: CSObject) -> dict[str, Any]:
    """The single values an add was sent with; a connector's ``lookup`` uses only those its system keeps unique."""
    keys: dict[str, Any] = {}
    if cs.pending_export is None:
        return keys
    for change in cs.pending_export.changes:
        if change.op is ValueOp.REPLACE and len(change.values) == 1 and not is_withheld(change):
            keys[change.name] = change.values[0]
    return keys


def record_success(cs: CSObject, *, sent: list[Any] | None = None, secrets: Container[str] = DEFAULT_SECRETS) -> None:
    """Move what was sent to export memory: it stays unconfirmed until an import sees it. Secret attributes are
    left out: their values are never stored, and no import could confirm them."""
    pending = cs.pending_export
    if pending is None:
        return
    state = expected_state(cs)
    memo = dict(cs.unconfirmed)
    for change in pending.changes if sent is None else sent:
        if change.name in secrets:
            continue
        current = state.get(change.name)
        if change.op is ValueOp.REPLACE:
            # one value, or a multi-valued attribute's whole new set (a correction of case, ``attribute_changes``)
            value = change.values[0] if len(change.values) == 1 else (list(change.values) or None)
        else:
            values = list(current) if isinstance(current, list) else ([] if current is None else [current])
            if change.op is ValueOp.ADD:
                values += [v for v in change.values if v not in values]
            else:
                values = [v for v in values if v not in change.values]
            value = values or None
        state = {**state, change.name: value}
        memo[change.name] = {"value": value, "tries": pending.tries + 1, "rule": change.rule}
    cs.unconfirmed = memo


def reconcile(store: Store, connector: Connector, name: str) -> tuple[int, int]:
    """Settle in-flight exports. Returns (adopted or confirmed, released for resending)."""
    ids = in_flight_ids(store, name)
    if not ids:
        return 0, 0
    settled = released = 0
    with store.transaction():
        objects = store.cs_get_many(ids)
        for cs in objects.values():
            pending = cs.pending_export
            if pending is None or not pending.in_flight:
                continue
            if pending.op is ExportOp.ADD:
                found = connector.lookup(cs.object_type, cs.identifier, unique_keys(cs))
                clash = store.cs_by_anchor(name, [found.anchor]).get(found.anchor) if found is not None else None
                if clash is not None and clash.id != cs.id and keeps_anchor(clash):
                    # what was found is another object's (linked, or kept apart): ours was not created
                    found = None
                if found is not None:
                    if clash is not None and clash.id != cs.id:
                        # an import already staged our object as a separate, unjoined one: keep ours, which is linked
                        store.cs_delete([clash.id])
                    cs.anchor = found.anchor
                    cs.identifier = found.identifier
                    record_success(cs, secrets=secret_attributes(connector.capabilities))
                    cs.pending_export = None
                    settled += 1
                else:
                    pending.in_flight = False
                    released += 1
            elif pending.op is ExportOp.DELETE:
                found = connector.lookup(cs.object_type, cs.identifier, {})
                if found is None:
                    store.cs_delete([cs.id])
                    settled += 1
                    continue
                if cs.anchor is None and not store.cs_by_anchor(name, [found.anchor]):
                    cs.anchor = found.anchor  # the delete of an add in flight that did arrive: delete what it made
                pending.in_flight = False
                released += 1
            else:
                pending.in_flight = False
                released += 1
            store.cs_save([cs])
        set_in_flight(store, name, [])
    return settled, released
