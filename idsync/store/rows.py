"""Row <-> object conversion and index-key normalization, shared by every store implementation."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from idsync.model import (
    Contribution,
    CSObject,
    LinkState,
    MVObject,
    PendingExport,
    PendingImport,
    ValueOp,
    as_list,
)

CS_COLUMNS = (
    "id, connector, object_type, anchor, identifier, hologram, link_state, mv_id, link_rule, "
    "pending_import, pending_export, unconfirmed, error, last_seen"
)
MV_COLUMNS = "id, object_type, attributes, provenance, created_run"

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=False).encode
_loads = json.loads


def dumps(value: Any) -> str:
    return _dumps(value)


def identifier_key(identifier: str) -> str:
    return identifier.casefold()


def key_value(value: Any) -> str:
    """The normalized text of a value in the join/uniqueness index: case-insensitive, as MIM's SQL collation."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.casefold()
    return str(value)


def cs_from_row(row: tuple[Any, ...]) -> CSObject:
    pi, pe, unc = row[9], row[10], row[11]
    return CSObject(
        id=row[0],
        connector=row[1],
        object_type=row[2],
        anchor=row[3],
        identifier=row[4],
        hologram=_loads(row[5]),
        link_state=LinkState(row[6]),
        mv_id=row[7],
        link_rule=row[8],
        pending_import=PendingImport.from_json(_loads(pi)) if pi else None,
        pending_export=PendingExport.from_json(_loads(pe)) if pe else None,
        unconfirmed=_loads(unc) if unc else {},
        error=row[12],
        last_seen=row[13],
    )


def cs_to_params(obj: CSObject) -> tuple[Any, ...]:
    """Column values in CS_COLUMNS order minus the id (inserts) — callers append/prepend the id as needed."""
    return (
        obj.connector,
        obj.object_type,
        obj.anchor,
        obj.identifier,
        identifier_key(obj.identifier),
        _dumps(obj.hologram),
        obj.link_state.value,
        obj.mv_id,
        obj.link_rule,
        _dumps(obj.pending_import.to_json()) if obj.pending_import else None,
        _dumps(obj.pending_export.to_json()) if obj.pending_export else None,
        obj.pending_export.op.value if obj.pending_export else None,
        _dumps(obj.unconfirmed) if obj.unconfirmed else None,
        obj.error,
        obj.last_seen,
    )


def mv_from_row(row: tuple[Any, ...]) -> MVObject:
    prov = _loads(row[3])
    return MVObject(
        id=row[0],
        object_type=row[1],
        attributes=_loads(row[2]),
        provenance={k: Contribution.from_json(v) for k, v in prov.items()},
        created_run=row[4],
    )


def mv_to_params(obj: MVObject) -> tuple[Any, ...]:
    return (
        obj.object_type,
        _dumps(obj.attributes),
        _dumps({k: v.to_json() for k, v in obj.provenance.items()}),
        obj.created_run,
    )


def mv_keys(obj: MVObject, attributes: Iterable[str]) -> list[tuple[str, str, str, int]]:
    out = []
    for attr in attributes:
        for v in as_list(obj.attributes.get(attr)):
            out.append((obj.object_type, attr, key_value(v), obj.id))
    return out


def cs_keys(obj: CSObject, attributes: Iterable[str]) -> list[tuple[str, str, str, int]]:
    """Index values of a CS object: what the target holds and what is about to be written there.

    Staged adds and replaces count, so a uniqueness check (SelectUniqueValue) sees values not exported yet.
    """
    out: set[tuple[str, str, str, int]] = set()
    attrs = set(attributes)
    for attr in attrs:
        for v in as_list(obj.hologram.get(attr)):
            out.add((obj.connector, attr, key_value(v), obj.id))
    if obj.pending_export is not None:
        for change in obj.pending_export.changes:
            if change.name in attrs and change.op in (ValueOp.REPLACE, ValueOp.ADD):
                for v in change.values:
                    out.add((obj.connector, change.name, key_value(v), obj.id))
    if attrs and "__identifier__" in attrs:
        out.add((obj.connector, "__identifier__", identifier_key(obj.identifier), obj.id))
    return sorted(out)


def loads_mapping(text: str | None) -> Mapping[str, Any]:
    return _loads(text) if text else {}
