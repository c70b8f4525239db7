"""The Store protocol: everything the engine keeps, behind one seam.

The engine commits work in pages (an import page with its watermark, a page of sync decisions, an export batch
marked in flight): ``transaction()`` is that unit. Every read the engine makes on a hot path is a batch read keyed
by ids, anchors or index values, so a delta step costs O(changes) and nothing loads a connector space whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from idsync.model import CSObject, ErrorRow, MVObject, RunResult, RunStatus, StepKind, StepResult


class StoreError(Exception):
    pass


class StoreLocked(StoreError):
    """Another idsync process holds the store's run lock."""


@dataclass(frozen=True, slots=True)
class KeyConfig:
    """Which attribute values are indexed for lookups: MV attributes used by inbound join rules (per MV type), and
    target attributes used by outbound join rules and uniqueness checks (per connector)."""

    mv: dict[str, frozenset[str]] = field(default_factory=dict)
    cs: dict[str, frozenset[str]] = field(default_factory=dict)

    def fingerprint(self) -> str:
        parts = [f"mv:{t}:{','.join(sorted(a))}" for t, a in sorted(self.mv.items())]
        parts += [f"cs:{c}:{','.join(sorted(a))}" for c, a in sorted(self.cs.items())]
        return ";".join(parts)


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A reference that could not be resolved yet; retried after the rest of the sync and at the next sync.

    ``direction`` "in": MV object ``mv_id`` wants attribute ``attribute`` to reference the object that CS key
    ``ref`` names in ``connector``. "out": MV object ``mv_id`` references MV object ``ref`` which is not yet
    linked in ``connector``.
    """

    direction: str
    mv_id: int
    attribute: str
    connector: str
    ref: str


@dataclass(frozen=True, slots=True)
class CSRef:
    """Who a CS object is and where it is linked, without its values: what resolving a reference or checking that
    an identifier is free needs, read without decoding a hologram or a pending export."""

    id: int
    connector: str
    object_type: str
    anchor: str | None
    identifier: str
    mv_id: int | None


@dataclass(frozen=True, slots=True)
class CSFilter:
    connector: str | None = None
    object_type: str | None = None
    pending_import: bool = False
    pending_export: bool = False
    export_ops: tuple[str, ...] = ()
    """Pending exports of these kinds (``PendingExport.kind``)."""
    error: bool = False
    link_states: tuple[str, ...] = ()
    attribute: str | None = None
    value: str | None = None
    identifier_like: str | None = None
    unconfirmed: bool = False


class Store(Protocol):
    url: str

    def close(self) -> None: ...

    def transaction(self) -> AbstractContextManager[None]:
        """One unit of work; nested calls join the outer transaction."""
        ...

    def object_scope(self) -> AbstractContextManager[None]:
        """A savepoint for one object's work inside a transaction: its failure rolls back only that object."""
        ...

    def savepoint_rollback(self) -> AbstractContextManager[None]:
        """A transaction that is always rolled back (preview)."""
        ...

    def key_filters(self) -> AbstractContextManager[None]:
        """While entered, ``cs_find`` and ``mv_find`` may answer "absent" from memory (``idsync.store.presence``).
        Only while nobody else can write the key indexes it looks up (a sync step: see ``Runner.execute``)."""
        ...

    def write_behind(self) -> AbstractContextManager[None]:
        """While entered, a transaction that held all its writes may commit them behind, on another thread, while
        the next one reads (``idsync.store.write_behind``). Only while nobody else writes what the transactions
        read (a sync step)."""
        ...

    # metadata, watermarks, locks ---------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str | None) -> None: ...
    def get_watermark(self, connector: str) -> str | None: ...
    def set_watermark(self, connector: str, value: str | None) -> None: ...
    def acquire_lock(self, name: str, owner: str, ttl_seconds: float) -> bool: ...
    def release_lock(self, name: str, owner: str) -> None: ...
    def lock_holder(self, name: str) -> str | None:
        """Who holds ``name`` now (an unexpired lock), or None."""
        ...

    # connector space ----------------------------------------------------------------------------------------
    def cs_get(self, cs_id: int) -> CSObject | None: ...
    def cs_get_many(self, ids: Iterable[int]) -> dict[int, CSObject]: ...
    def cs_by_anchor(self, connector: str, anchors: Iterable[str]) -> dict[str, CSObject]: ...
    def cs_by_identifier(self, connector: str, identifiers: Iterable[str]) -> dict[str, list[CSObject]]:
        """Keyed by the case-folded identifier; callers compare exactly when the connector is case-sensitive."""
        ...

    def cs_by_mv(self, mv_ids: Iterable[int], known: Mapping[int, CSObject] | None = None) -> dict[int, list[CSObject]]:
        """``known``: objects the caller read in this transaction and has not changed, by id; they are returned as
        they are instead of being read again (a sync page's own objects are links of its MV objects)."""
        ...

    def cs_refs_by_anchor(self, connector: str, anchors: Iterable[str]) -> dict[str, CSRef]:
        """``cs_by_anchor`` without the values."""
        ...

    def cs_refs_by_identifier(self, connector: str, identifiers: Iterable[str]) -> dict[str, list[CSRef]]:
        """``cs_by_identifier`` without the values: keyed by the case-folded identifier, in id order."""
        ...

    def cs_refs_by_mv(self, mv_ids: Iterable[int]) -> dict[int, list[CSRef]]:
        """``cs_by_mv`` without the values, in id order."""
        ...

    def cs_has_unanchored(self, connector: str) -> bool:
        """Whether the connector has objects without an anchor (provisioned, not yet seen by an import): an import
        that knows there are none need not look for the objects it would adopt."""
        ...

    def cs_insert(self, obj: CSObject) -> int: ...
    def cs_insert_many(self, objs: Sequence[CSObject]) -> list[tuple[CSObject, str]]:
        """Insert new CS objects in one batch, as ``cs_insert`` would one by one (ids given in order), except that
        an object that cannot be stored — its anchor taken by a stored object or an earlier one of the batch, or a
        value the database cannot hold — is left out and returned with the reason, and the rest go in."""
        ...

    def cs_save(self, objs: Sequence[CSObject]) -> None: ...
    def cs_save_links(self, objs: Sequence[CSObject]) -> None:
        """Save only what sync decides about an object — link state, MV link, how it was linked, its pending import
        and error — leaving its values and index keys alone (the common write of a sync, and a cheap one)."""
        ...

    def cs_delete(self, ids: Iterable[int]) -> None: ...
    def cs_mark_seen(self, connector: str, ids: Iterable[int], marker: int) -> None: ...
    def cs_unseen(self, connector: str, marker: int, after_id: int, limit: int) -> list[CSObject]:
        """CS objects with an anchor that an import marked ``marker`` did not see (obsoletion candidates)."""
        ...

    def cs_page(self, flt: CSFilter, after_id: int, limit: int) -> list[CSObject]: ...
    def cs_count(self, flt: CSFilter) -> int: ...
    def cs_find(self, connector: str, attribute: str, values: Iterable[str]) -> dict[str, list[int]]:
        """Index lookup of normalized values (see ``KeyConfig``): value -> CS ids."""
        ...

    def cs_value_taken(self, connector: str, attribute: str, value: str, own: int | None) -> bool:
        """Whether a CS object of ``connector`` other than ``own`` holds the normalized ``value`` in the key index
        of ``attribute`` (SelectUniqueValue's question, answered from memory where the store can)."""
        ...

    # metaverse ----------------------------------------------------------------------------------------------
    def mv_get(self, mv_id: int) -> MVObject | None: ...
    def mv_get_many(self, ids: Iterable[int]) -> dict[int, MVObject]: ...
    def mv_insert(self, obj: MVObject) -> int: ...
    def mv_save(self, objs: Sequence[MVObject]) -> None: ...
    def mv_delete(self, ids: Iterable[int]) -> None: ...
    def mv_find(self, object_type: str, attribute: str, values: Iterable[str]) -> dict[str, list[int]]: ...
    def mv_value_taken(self, object_type: str, attribute: str, value: str, own: int | None) -> bool:
        """``cs_value_taken`` for the metaverse's key index of ``object_type``."""
        ...

    def mv_page(self, object_type: str | None, after_id: int, limit: int) -> list[MVObject]: ...
    def mv_count(self, object_type: str | None = None) -> int: ...
    def mv_search(self, object_type: str | None, attribute: str, value: str, limit: int) -> list[MVObject]: ...

    # join/uniqueness index -------------------------------------------------------------------------------
    def configure_keys(self, keys: KeyConfig) -> bool:
        """Declare the indexed attributes; rebuilds the index (streaming) when they changed. True if rebuilt."""
        ...

    # unresolved references ------------------------------------------------------------------------------
    def unresolved_set(self, mv_id: int, attribute: str, direction: str, rows: Sequence[Unresolved]) -> None:
        """Replace the unresolved rows of (mv_id, attribute, direction)."""
        ...

    def unresolved_waiting_for(self, direction: str, connector: str, refs: Iterable[str]) -> list[Unresolved]: ...
    def unresolved_for_mv(self, mv_ids: Iterable[int]) -> list[Unresolved]: ...
    def unresolved_count(self) -> int: ...
    def unresolved_all(self) -> list[Unresolved]:
        """Every waiting reference (a sync loads them once, so most link events cost no query)."""
        ...

    # runs and errors --------------------------------------------------------------------------------------
    def run_start(self, profile: str, staging: bool) -> RunResult: ...
    def run_finish(self, run: RunResult) -> None: ...
    def step_start(self, run: RunResult, connector: str, kind: StepKind) -> StepResult: ...
    def step_save(self, step: StepResult) -> None: ...
    def add_errors(self, rows: Sequence[ErrorRow]) -> None: ...
    def runs(self, limit: int = 20, before: int | None = None) -> list[RunResult]: ...
    def run_get(self, run_id: int) -> RunResult | None: ...
    def errors(self, run_id: int | None = None, step_id: int | None = None, limit: int = 1000) -> list[ErrorRow]: ...
    def errors_for_cs(self, cs_id: int, limit: int = 20) -> list[ErrorRow]: ...
    def interrupted_runs(self) -> list[RunResult]: ...
    def set_run_status(self, run_id: int, status: RunStatus) -> None: ...

    # deletion threshold approvals ---------------------------------------------------------------------------
    def approval_get(self, connector: str) -> int:
        """How many pending deletes an operator approved for the connector's next export (0: none)."""
        ...

    def approval_set(self, connector: str, count: int) -> None: ...

    # audit trail of exports ----------------------------------------------------------------------------------
    def audit_add(self, rows: Sequence[dict[str, Any]]) -> None: ...
    def audit_search(
        self, *, cs_id: int | None = None, run_id: int | None = None, limit: int = 100, **filters: Any
    ) -> Iterator[dict[str, Any]]:
        """Newest first. ``filters`` are the other fields of ``idsync.store.rows.AuditQuery`` (connector,
        identifier, op, rule, since, until, failed, before)."""
        ...
