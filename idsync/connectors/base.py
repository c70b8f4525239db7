"""The Connector protocol: the only way the engine reaches a connected system.

A connector is a small adapter with no policy: it reads pages of objects, writes batches of changes and reports
a result per object. Join, flows, thresholds, watermark commits and crash recovery are the engine's job, so a new
connector stays short and every connector gets them the same way. ``idsync.testing.contract`` is the suite
every connector passes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

from idsync.model import AttributeChange, Attributes, ExportOp, Schema

if TYPE_CHECKING:
    from idsync.connectors.config import ConnectorConfig


def __getattr__(name: str) -> Any:
    """``ConnectorConfig`` lives in idsync.connectors.config (it loads pydantic, which the command line's start-up
    does without); connector types written against this module still import it from here."""
    if name == "ConnectorConfig":
        from idsync.connectors.config import ConnectorConfig

        return ConnectorConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class ConnectorError(Exception):
    """A failure of the connector as a whole (not of one object)."""


class ConnectivityError(ConnectorError):
    """The connected system cannot be reached or refused the session; the step stops with
    ``stopped-connectivity`` and nothing already committed is lost."""


class WatermarkExpired(ConnectorError):
    """The delta watermark is no longer accepted (Graph 410 Gone, a purged changelog, a new invocationId):
    the engine falls back to a full import and says so."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    full_import: bool = True
    delta_import: bool = False
    delta_is_snapshot: bool = False
    """Delta import finds changes by comparison (a file's content hash): when anything changed it yields every
    object, as a full import does, and the engine diffs that against the connector space — objects not seen
    become deletes. When nothing changed it yields nothing."""
    export: bool = False
    rename: bool = False
    delete: bool = True
    references_by: Literal["anchor", "identifier"] = "anchor"
    """What a reference value holds in this system: the referenced object's anchor (HR keys, Graph ids) or its
    identifier (LDAP DNs)."""
    identifier_is_anchor: bool = False
    """The identifier an add is created with is also its anchor (a CSV key column), so it needs no result."""
    case_insensitive_identifiers: bool = False
    identifier_case_key: Callable[[str], str] | None = None
    """With case-insensitive identifiers, the part of an identifier whose case the object keeps as written and a
    rename changes (an LDAP DN's leaf RDN values; the case of the attribute type and of the parent entries' names
    is not the object's own). A wanted identifier that differs from the current one only in the case of that part
    is a rename; without this key a difference of case alone never is one."""
    renames_update_references: bool = False
    """Renaming an object rewrites the values naming it in the target (Active Directory's linked attributes): the
    old identifier is gone from them at once. Without it (a directory without referential integrity), they keep the
    old one until an export changes them."""
    export_batch_size: int = 100
    export_results_carry_anchor: bool = True
    secret_attributes: frozenset[str] = frozenset()
    """Write-only secrets this connector exports (an initial password attribute), beyond the well-known ones in
    ``idsync.model.redaction``: their values never reach the audit trail, logs or any display."""


@dataclass(frozen=True, slots=True)
class ValueDelta:
    """In a partial record, the values added to and removed from a multi-valued attribute (Graph's
    ``members@delta``, DirSync's incremental ``member`` values), so a large group's change costs its change."""

    add: tuple[Any, ...] = ()
    remove: tuple[Any, ...] = ()


@dataclass(slots=True)
class ImportRecord:
    """One object as the connected system holds it (full), or what changed about it (``partial``)."""

    anchor: str
    identifier: str
    object_type: str
    attributes: dict[str, Any] = field(default_factory=dict)
    delete: bool = False
    partial: bool = False
    """Only the attributes present changed (``None`` = removed, a :class:`ValueDelta` = values added/removed);
    the others keep their hologram values."""


@dataclass(slots=True)
class ImportIssue:
    """A per-object problem found while reading (a malformed row): it becomes an error row, the import goes on.
    ``anchor``, when known, keeps the object from being treated as deleted by a full import."""

    identifier: str
    reason: str
    attribute: str | None = None
    anchor: str | None = None


@dataclass(slots=True)
class ImportPage:
    records: list[ImportRecord] = field(default_factory=list)
    watermark: str | None = None
    """Where the next delta import starts, valid once this page is committed. ``None`` keeps the old one."""
    snapshot: bool = False
    """This page is part of a complete snapshot (a delta by comparison, such as a changed CSV file): objects not
    seen by the end of the import are deleted, as after a full import."""
    issues: list[ImportIssue] = field(default_factory=list)
    storage_form: bool = False
    """Every value of every full record is already in storage form for the connector's schema — what
    ``idsync.model.coerce`` would give back, never an empty string or list — so the engine copies the attributes
    instead of checking each value (a connector that types values from the schema as it decodes them)."""


@dataclass(slots=True)
class ExportItem:
    cs_id: int
    object_type: str
    op: ExportOp
    identifier: str
    """The object's current identifier; for an add, the identifier to create it with."""
    anchor: str | None = None
    changes: list[AttributeChange] = field(default_factory=list)
    new_identifier: str | None = None
    """A rename or move, sent with (before) the attribute changes."""
    hologram: Attributes = field(default_factory=dict)
    """What the target is known to hold, for connectors that must send whole objects."""


@dataclass(slots=True)
class ExportResult:
    cs_id: int
    ok: bool
    anchor: str | None = None
    """The anchor the target assigned to a new object."""
    identifier: str | None = None
    """The identifier the target ended up with, when it differs from the one sent."""
    error: str | None = None
    code: str | None = None
    retryable: bool = False
    """The same export may succeed later (throttling, a missing parent created later, a busy server)."""
    attribute: str | None = None


@runtime_checkable
class Connector(Protocol):
    name: str
    capabilities: Capabilities

    def schema(self) -> Schema:
        """Object types and attributes, discovered from the system where it can tell."""
        ...

    def test_connection(self) -> None:
        """Raise :class:`ConnectivityError` with a message an operator can act on."""
        ...

    def full_import(self) -> Iterator[ImportPage]: ...

    def delta_import(self, watermark: str | None) -> Iterator[ImportPage]:
        """Changes since ``watermark``. Raise :class:`WatermarkExpired` when it is no longer valid."""
        ...

    def export(self, items: Sequence[ExportItem]) -> list[ExportResult]:
        """Write a batch and return one result per item. Adding a value that is already there or removing one
        that is not is a success (exports are replayed after a crash)."""
        ...

    def lookup(self, object_type: str, identifier: str, keys: dict[str, Any]) -> ImportRecord | None:
        """Find an object by identifier or by one of its unique keys: how an add that was in flight when the
        engine stopped is adopted instead of created twice. ``keys`` holds every single value the add was sent
        with; only attributes the system keeps unique (and that match exactly one object) may identify it, never
        an ordinary attribute such as a department or an enabled flag."""
        ...

    def close(self) -> None: ...


# Constructing a connector must not contact its system: sync builds connectors only to read their capabilities,
# and sync never calls a connected system.


class ConnectorType(Protocol):
    """What a connector package exposes: its config model and a factory.

    A type may also offer ``offline_schema(config, workspace, *, writing) -> Schema | None``: the attributes its
    objects have (``writing=False``: what an import reads) or take (``writing=True``: what an export can write),
    when that is known without contacting the system and complete — a file's header, a published schema — and
    ``None`` otherwise. A written schema names the attributes the system maintains (``ObjectTypeSchema.read_only``)
    when the type knows them. Validation checks the rules' attribute names against it; see :func:`offline_schema`.
    """

    name: ClassVar[str]
    config_model: ClassVar[type[ConnectorConfig]]

    @staticmethod
    def create(name: str, config: Any, context: ConnectorContext) -> Connector: ...


def offline_schema(connector_type: Any, config: Any, workspace: str, *, writing: bool) -> Schema | None:
    """The type's ``offline_schema``, or None when it has none. Optional, so that a connector type written without
    it keeps working: its rules are then checked when it runs, as before. A directory server has none: its schema
    is read from the server, and an entry may carry auxiliary classes beyond its type's."""
    method = getattr(connector_type, "offline_schema", None)
    if method is None:
        return None
    found: Schema | None = method(config, workspace, writing=writing)
    return found


TELEMETRY_OPTION = "telemetry"
"""The ``ConnectorContext.options`` key of a :class:`Telemetry` sink, when something (``idsync serve``) listens."""


class Telemetry(Protocol):
    """Where a connector reports what a step's counters cannot show: ``throttled`` for every HTTP 429 (or 503 with
    ``Retry-After``) it was answered, ``retry`` for every request it sent again. ``idsync serve`` exports them as
    the Prometheus counter ``idsync_connector_events_total{connector, event}``."""

    def count(self, connector: str, event: str, n: int = 1) -> None: ...


def telemetry(context: ConnectorContext) -> Telemetry | None:
    found = context.options.get(TELEMETRY_OPTION)
    return found if found is not None and hasattr(found, "count") else None


@dataclass(slots=True)
class ConnectorContext:
    """What the engine hands a connector: where the workspace is, and a resolver for secret references."""

    workspace: str
    secrets: Any = None
    """An ``idsync.config.SecretResolver``: ``secrets.resolve(reference) -> str``."""
    options: dict[str, Any] = field(default_factory=dict)
