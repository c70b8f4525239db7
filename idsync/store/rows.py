"""Row <-> object conversion, index-key normalization and the other plain-Python pieces every store
implementation shares (batching, paging, migration discovery), so that a store module holds only its SQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol, TypeVar

from idsync.model import (
    Contribution,
    CSObject,
    ErrorRow,
    LinkState,
    MVObject,
    PendingExport,
    PendingImport,
    RunResult,
    RunStatus,
    StepCounters,
    StepKind,
    StepResult,
    ValueOp,
    as_list,
)
from idsync.store.base import KeyConfig

CS_COLUMNS = (
    "id, connector, object_type, anchor, identifier, hologram, link_state, mv_id, link_rule, "
    "pending_import, pending_export, unconfirmed, error, last_seen"
)
CS_REF_COLUMNS = "id, connector, object_type, anchor, identifier, mv_id"
"""In ``CSRef`` field order, so a row unpacks straight into one."""
MV_COLUMNS = "id, object_type, attributes, provenance, created_run"
RUN_COLUMNS = "id, profile, status, staging, started, ended"
STEP_COLUMNS = "id, run_id, idx, connector, kind, status, counters, started, ended, message"
ERROR_COLUMNS = "step_id, connector, reason, identifier, cs_id, mv_id, attribute, code, detail, id, run_id"
"""In ``ErrorRow`` field order, so a row unpacks straight into one."""
ERROR_INSERT_COLUMNS = "run_id, step_id, connector, cs_id, mv_id, identifier, attribute, code, reason, detail"
AUDIT_COLUMNS = "id, at, run_id, step_id, connector, cs_id, identifier, op, rule, result, changes, warnings"
AUDIT_INSERT_COLUMNS = "at, run_id, step_id, connector, cs_id, identifier, op, rule, result, changes, warnings"

# rows never hold a cycle: no need to check for one
_std_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=False, check_circular=False).encode


def _encoder() -> Callable[[Any], str]:
    """The JSON writer of stored rows: orjson where it is installed (the ``fast`` extra: it encodes in a fifth of
    the standard library's time, which counts in a sync that writes several documents per object), else the
    standard library. Both write the same compact UTF-8 JSON. What orjson refuses (an integer beyond 64 bits, a key
    that is not text) goes through the standard library."""
    try:
        import orjson
    except ImportError:
        return _std_dumps
    fast = orjson.dumps

    def dumps(value: Any) -> str:
        try:
            return fast(value).decode()
        except TypeError:
            return _std_dumps(value)

    return dumps


def _decoder() -> Callable[[str], Any]:
    """The JSON reader of stored rows: orjson where it is installed (a page of a sync reads two documents per
    object), else the standard library. orjson would read an integer beyond 64 bits as a float, so a document with
    a run of 19 digits or more anywhere, and one orjson refuses, is read by the standard library."""
    try:
        import orjson
    except ImportError:
        return json.loads
    fast, refused = orjson.loads, orjson.JSONDecodeError
    # every ASCII digit to "0" and every other byte to a space: a run of 19 digits is then a plain substring search,
    # five times cheaper than a regular expression (UTF-8 puts no digit byte inside a multi-byte character)
    digits_to_zero = bytes(48 if 48 <= i <= 57 else 32 for i in range(256))
    long_number = b"0" * 19

    def loads(text: str) -> Any:
        try:
            data = text.encode()
        except UnicodeEncodeError:  # a lone surrogate, which orjson refuses too
            return json.loads(text)
        if long_number not in data.translate(digits_to_zero):
            try:
                return fast(data)
            except refused:
                pass
        return json.loads(text)

    return loads


_dumps = _encoder()
_loads = _decoder()


def dumps(value: Any) -> str:
    return _dumps(value)


def identifier_key(identifier: str) -> str:
    return identifier.casefold()


def like_pattern(value: str) -> str:
    """A search value where ``*`` is the only wildcard, as a LIKE pattern escaped with a backslash."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


def key_value(value: Any) -> str:
    """The normalized text of a value in the join/uniqueness index: case-insensitive, as MIM's SQL collation."""
    if type(value) is str:
        return value.casefold()
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


def cs_known(row: tuple[Any, ...], known: Mapping[int, CSObject] | None) -> CSObject:
    """The object of a row: the caller's own when it has it in hand (``Store.cs_by_mv``), else read from the row."""
    if known:
        obj = known.get(row[0])
        if obj is not None:
            return obj
    return cs_from_row(row)


def cs_to_params(obj: CSObject) -> tuple[Any, ...]:
    """Column values in CS_COLUMNS order minus the id (inserts) — callers append/prepend the id as needed."""
    return (
        obj.connector,
        obj.object_type,
        obj.anchor,
        obj.identifier,
        identifier_key(obj.identifier),
        _dumps(obj.hologram) if obj.hologram else "{}",
        obj.link_state.value,
        obj.mv_id,
        obj.link_rule,
        _dumps(obj.pending_import.to_json()) if obj.pending_import else None,
        _dumps(obj.pending_export.to_json()) if obj.pending_export else None,
        obj.pending_export.kind if obj.pending_export else None,
        _dumps(obj.unconfirmed) if obj.unconfirmed else None,
        obj.error,
        obj.last_seen,
    )


def anchor_taken(obj: CSObject) -> str:
    """Why a CS object cannot be stored: its connector already has an object with that anchor."""
    return (
        f"connector {obj.connector!r}: cannot store {obj.identifier!r}: anchor {obj.anchor!r} already belongs to "
        "another connector-space object"
    )


def mv_from_row(row: tuple[Any, ...]) -> MVObject:
    # one Contribution per contributor, shared by the attributes it set (as precedence makes them; none is changed
    # in place): an object's attributes mostly come from one or two
    made: dict[tuple[Any, ...], Contribution] = {}
    provenance: dict[str, Contribution] = {}
    for attribute, data in _loads(row[3]).items():
        key = tuple(data)
        found = made.get(key)
        if found is None:
            found = made[key] = Contribution.from_json(data)
        provenance[attribute] = found
    return MVObject(id=row[0], object_type=row[1], attributes=_loads(row[2]), provenance=provenance, created_run=row[4])


def mv_to_params(obj: MVObject) -> tuple[Any, ...]:
    return (
        obj.object_type,
        _dumps(obj.attributes),
        _dumps({k: [c.connector, c.rule, c.cs_id] for k, c in obj.provenance.items()}),  # Contribution.to_json
        obj.created_run,
    )


def mv_keys(obj: MVObject, attributes: Iterable[str]) -> list[tuple[str, str, str, int]]:
    out = []
    for attr in attributes:
        for v in as_list(obj.attributes.get(attr)):
            out.append((obj.object_type, attr, key_value(v), obj.id))
    return out


STAGED_OPS = frozenset({ValueOp.REPLACE, ValueOp.ADD})
"""The changes of a pending export whose values the target is about to hold (``cs_keys``)."""


def cs_keys(obj: CSObject, attributes: AbstractSet[str]) -> list[tuple[str, str, str, int]]:
    """Index values of a CS object: what the target holds and what is about to be written there.

    Staged adds and replaces count, so a uniqueness check (SelectUniqueValue) sees values not exported yet.
    """
    out: set[tuple[str, str, str, int]] = set()
    connector, cs_id, hologram = obj.connector, obj.id, obj.hologram
    if hologram:  # a provisioned object's is empty until the target confirms it
        for attr in attributes:
            for v in as_list(hologram.get(attr)):
                out.add((connector, attr, key_value(v), cs_id))
    if obj.pending_export is not None:
        for change in obj.pending_export.changes:
            if change.name in attributes and change.op in STAGED_OPS:
                for v in change.values:
                    out.add((connector, change.name, key_value(v), cs_id))
    if "__identifier__" in attributes:
        out.add((connector, "__identifier__", identifier_key(obj.identifier), cs_id))
    return sorted(out)


def loads_mapping(text: str | None) -> Mapping[str, Any]:
    return _loads(text) if text else {}


# run history ----------------------------------------------------------------------------------------------------
def run_from_row(row: tuple[Any, ...]) -> RunResult:
    """A run without its steps (``step_from_row`` adds them)."""
    return RunResult(row[0], row[1], RunStatus(row[2]), row[4], row[5], bool(row[3]))


def step_from_row(row: tuple[Any, ...]) -> StepResult:
    known = StepCounters.__slots__
    counters = StepCounters(**{k: v for k, v in _loads(row[6]).items() if k in known})
    return StepResult(row[0], row[1], row[2], row[3], StepKind(row[4]), RunStatus(row[5]), counters, *row[7:10])


def error_params(row: ErrorRow) -> tuple[Any, ...]:
    """Column values in ERROR_INSERT_COLUMNS order."""
    r = row
    return (r.run_id, r.step_id, r.connector, r.cs_id, r.mv_id, r.identifier, r.attribute, r.code, r.reason, r.detail)


# audit trail ----------------------------------------------------------------------------------------------------
def audit_params(row: dict[str, Any], now: float) -> tuple[Any, ...]:
    """Column values in AUDIT_INSERT_COLUMNS order; ``now`` stands in for a missing ``at``."""
    return (
        row.get("at", now),
        row.get("run_id"),
        row.get("step_id"),
        row["connector"],
        row.get("cs_id"),
        row.get("identifier"),
        row["op"],
        row.get("rule"),
        row["result"],
        _dumps(row.get("changes", [])),
        _dumps(row.get("warnings", [])),
    )


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """What an audit search may filter on; every given field must match. ``before`` pages back by row id."""

    cs_id: int | None = None
    run_id: int | None = None
    connector: str | None = None
    identifier: str | None = None
    op: str | None = None
    rule: str | None = None
    since: float | None = None
    until: float | None = None
    failed: bool | None = None
    before: int | None = None

    def where(self, mark: str) -> tuple[str, list[Any]]:
        """The WHERE clause (parameterized with ``mark``) and its parameters."""
        where, params = equal_where(
            mark,
            cs_id=self.cs_id,
            run_id=self.run_id,
            connector=self.connector,
            identifier=self.identifier,
            op=self.op,
            rule=self.rule,
        )
        clauses = [where]
        for clause, value in (("at>=", self.since), ("at<", self.until), ("id<", self.before)):
            if value is not None:
                clauses.append(f"{clause}{mark}")
                params.append(value)
        if self.failed is not None:
            clauses.append(f"result{'<>' if self.failed else '='}{mark}")
            params.append("success")
        return " AND ".join(clauses), params


def audit_from_row(row: tuple[Any, ...]) -> dict[str, Any]:
    names = [c.strip() for c in AUDIT_COLUMNS.split(",")]
    out = dict(zip(names, row, strict=True))
    out["changes"] = _loads(out["changes"])
    out["warnings"] = _loads(out["warnings"])
    return out


# key configuration ----------------------------------------------------------------------------------------------
def key_config_to_text(keys: KeyConfig) -> str:
    return _dumps({"mv": {k: sorted(v) for k, v in keys.mv.items()}, "cs": {k: sorted(v) for k, v in keys.cs.items()}})


def key_config_from_text(text: str | None) -> KeyConfig:
    if not text:
        return KeyConfig()
    data = _loads(text)
    return KeyConfig(
        {k: frozenset(v) for k, v in data.get("mv", {}).items()},
        {k: frozenset(v) for k, v in data.get("cs", {}).items()},
    )


# batching, paging, migrations -----------------------------------------------------------------------------------
T = TypeVar("T")


class HasId(Protocol):
    id: int


P = TypeVar("P", bound=HasId)


K = TypeVar("K")


def grouped(pairs: Iterable[tuple[K, T]]) -> dict[K, list[T]]:
    """key -> values, in the order the pairs come."""
    out: dict[K, list[T]] = {}
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    return out


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def id_pages(fetch: Callable[[int], list[P]]) -> Iterator[list[P]]:
    """Walk an id-ordered listing page by page: ``fetch(after_id)`` returns the next page, empty at the end."""
    after = 0
    while page := fetch(after):
        yield page
        after = page[-1].id


def equal_where(mark: str, **columns: Any) -> tuple[str, list[Any]]:
    """``a=? AND b=?`` over the columns whose value is not None (``1=1`` when none), with its parameters."""
    wanted = {k: v for k, v in columns.items() if v is not None}
    where = " AND ".join(f"{k}={mark}" for k in wanted) or "1=1"
    return where, list(wanted.values())


def migration_scripts(package: str) -> list[tuple[int, str]]:
    """The numbered ``NNN_name.sql`` scripts of ``package``'s ``migrations`` folder, in order."""
    folder = resources.files(package) / "migrations"
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:3].isdigit():
            found.append((int(name[:3]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def cs_link_params(obj: CSObject) -> tuple[Any, ...]:
    """The columns ``cs_save_links`` writes, in order: link_state, mv_id, link_rule, pending_import, error."""
    return (
        obj.link_state.value,
        obj.mv_id,
        obj.link_rule,
        _dumps(obj.pending_import.to_json()) if obj.pending_import else None,
        obj.error,
    )
