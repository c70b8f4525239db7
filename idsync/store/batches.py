"""What every store does the same way when it inserts a batch of new connector-space objects.

A batch insert must refuse exactly what one insert at a time would: an object whose anchor a stored object
already has, or an earlier object of the same batch. The store reads which anchors of the batch are taken (one
query per chunk, not one per object), then this module decides, in batch order, which objects go in.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from idsync.model import CSObject
from idsync.store.rows import anchor_taken, cs_to_params, dumps, identifier_key

AnchorKey = tuple[str, str]
"""(connector, anchor)."""


def anchors_by_connector(objs: Iterable[CSObject]) -> dict[str, list[str]]:
    """The anchors of a batch per connector, for the store's query of those already taken."""
    out: dict[str, list[str]] = {}
    for obj in objs:
        if obj.anchor is not None:
            out.setdefault(obj.connector, []).append(obj.anchor)
    return out


def split_by_anchor(
    objs: Sequence[CSObject], taken: Collection[AnchorKey]
) -> tuple[list[CSObject], list[tuple[CSObject, str]]]:
    """The objects that can be inserted, in order, and those refused with the reason: their anchor is ``taken``
    already or by an earlier object of the batch."""
    seen = set(taken)
    accepted: list[CSObject] = []
    refused: list[tuple[CSObject, str]] = []
    for obj in objs:
        if obj.anchor is not None:
            key = (obj.connector, obj.anchor)
            if key in seen:
                refused.append((obj, anchor_taken(obj)))
                continue
            seen.add(key)
        accepted.append(obj)
    return accepted, refused


NEW_COLUMNS = (
    "id, connector, object_type, anchor, identifier, identifier_key, hologram, link_state, pending_import, last_seen"
)
"""The columns of a new object as an import stages it: linked to nothing, nothing to export, no error."""


def insert_rows(
    objs: Sequence[CSObject],
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Rows of objects that have their ids: those in ``NEW_COLUMNS`` order (every other column null), and the
    others in ``id, cs_to_params`` order. A batch of new imported objects mostly shares a few pending imports
    ("added: these attributes"), each encoded once here."""
    short: list[tuple[Any, ...]] = []
    full: list[tuple[Any, ...]] = []
    pending: dict[tuple[Any, ...], str] = {}
    for obj in objs:
        if (
            obj.mv_id is not None
            or obj.link_rule is not None
            or obj.pending_export is not None
            or obj.unconfirmed
            or obj.error is not None
        ):
            full.append((obj.id, *cs_to_params(obj)))
            continue
        staged = obj.pending_import
        pending_json = None
        if staged is not None:
            key = (staged.op, *staged.changed, staged.old_identifier)
            pending_json = pending.get(key)
            if pending_json is None:
                pending_json = pending[key] = dumps(staged.to_json())
        short.append(
            (
                obj.id,
                obj.connector,
                obj.object_type,
                obj.anchor,
                obj.identifier,
                identifier_key(obj.identifier),
                dumps(obj.hologram) if obj.hologram else "{}",
                obj.link_state.value,
                pending_json,
                obj.last_seen,
            )
        )
    return short, full
