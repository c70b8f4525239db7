"""The generic LDAP connector: full and delta import, export, lookup, schema discovery.

Identifiers are DNs (references hold DNs too), anchors are the server's immutable entry id (entryUUID,
nsUniqueId) so a rename or a move is an update of the same object, never a delete plus an add. Delta imports
never trust the change log's copy of the data: they read which entries changed, then read those entries as
they are now, so replaying a window twice (after a crash) gives the same result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from idsync.connectors.base import (
    Capabilities,
    ConnectivityError,
    ConnectorError,
    ExportItem,
    ExportResult,
    ImportIssue,
    ImportPage,
    ImportRecord,
    WatermarkExpired,
)
from idsync.connectors.ldap.backend import (
    ALREADY_EXISTS,
    NO_SUCH_ATTRIBUTE,
    NO_SUCH_OBJECT,
    NOT_ALLOWED_ON_NON_LEAF,
    REFERRAL,
    RETRYABLE_CODES,
    TREE_DELETE_OID,
    TYPE_OR_VALUE_EXISTS,
    Backend,
    Control,
    Entry,
    LdapOperationError,
    LdapServerDown,
    ModOp,
    RawAttributes,
    Scope,
    open_backend,
)
from idsync.connectors.ldap.config import INSECURE_OPT_IN, LdapConfig
from idsync.connectors.ldap.decoding import EntryDecoder
from idsync.connectors.ldap.escaping import (
    DNError,
    canonical_dn,
    check_dn,
    dn_key,
    dn_within,
    escape_filter_value,
    leaf_case_key,
    leaf_rdn,
    leaf_values,
    normalize_dn,
    parent_dn,
    parent_text,
    parse_dn,
)
from idsync.connectors.ldap.passwords import is_hashed, ssha
from idsync.connectors.ldap.schema import ServerSchema, build_schema
from idsync.connectors.ldap.values import to_ldap
from idsync.connectors.prefetch import prefetch
from idsync.connectors.worker import forking_available, read_in_worker
from idsync.model import (
    AttributeSpec,
    AttributeType,
    AttributeValueError,
    ExportOp,
    ObjectTypeSchema,
    Schema,
    ValueOp,
)

log = logging.getLogger("idsync.connectors.ldap")
T = TypeVar("T")

READ_AHEAD_PAGES = 2

EPOCH_WATERMARK = "19700101000000.000000Z"
"""Accesslog watermark when the log held nothing at the time of the full import."""
_OPERATIONAL_SKIP = {"objectclass"}
REFERENCE_REFUSALS = frozenset({"noSuchObject", "constraintViolation"})
"""Result names a server gives an add or modify that holds a DN value with no entry behind it."""
FILTER_CHUNK = 200
"""Values ORed into one search filter (entries read again by anchor, references looked up by name)."""
MISSING_NAMED = 3
"""Reference values with no entry that a refused export's error names; it counts the others."""


@dataclass(slots=True)
class _Change:
    """One entry a change log says changed: enough to read it again or to report its deletion."""

    anchor: str | None
    dn: str
    delete: bool = False
    new_dn: str | None = None


@dataclass(slots=True)
class _Add:
    """One add of an export batch, ready to send."""

    index: int
    item: ExportItem
    dn: str
    attributes: RawAttributes

    @property
    def size(self) -> int:
        return sum(len(v) for values in self.attributes.values() for v in values)


@dataclass(slots=True)
class _Held:
    """The values one attribute of the entry being updated holds, read once when the server refused a chunk for a
    value already there (or already gone) and kept current as chunks are sent."""

    reference: bool
    """DN values: the server compares them as DNs (case and spacing aside), so they are compared as their keys."""
    values: list[bytes] | None = None

    def _key(self, raw: bytes, *, loose: bool) -> bytes | str:
        if self.reference:
            try:
                return dn_key(raw.decode("utf-8"))
            except (UnicodeDecodeError, DNError):
                pass
        return raw.decode("utf-8", "replace").casefold() if loose else raw

    def still_to_send(self, op: ModOp, values: list[bytes]) -> list[bytes]:
        """The adds not there, compared exactly (an add skipped for a value differing only in case would be lost
        where the attribute is case-sensitive), and the removes there, compared loosely (a remove skipped would
        leave the value); a value misjudged either way gets the server's answer, value by value."""
        loose = op is ModOp.DELETE
        present = {self._key(v, loose=loose) for v in self.values or []}
        return [v for v in values if (self._key(v, loose=loose) in present) == loose]

    def sent(self, op: ModOp, values: list[bytes]) -> None:
        if self.values is None:
            return
        if op is ModOp.ADD:
            self.values.extend(values)
        else:
            gone = {self._key(v, loose=True) for v in values}
            self.values = [v for v in self.values if self._key(v, loose=True) not in gone]


class ExportRefused(ValueError):
    """The connector refuses an export before sending it (a rule the server would not enforce, or enforce only
    far from the flow that caused it); the message names the entry's attribute or DN, the value and the rule."""

    def __init__(self, attribute: str | None, message: str) -> None:
        self.attribute = attribute
        super().__init__(message)


def _failure(item: ExportItem, exc: Exception | None) -> ExportResult:
    """A per-object export error naming the entry and the server's reason."""
    if isinstance(exc, ExportRefused):
        return ExportResult(
            cs_id=item.cs_id, ok=False, error=f"{item.identifier}: {exc}", code="refused", attribute=exc.attribute
        )
    if isinstance(exc, LdapOperationError):
        return ExportResult(
            cs_id=item.cs_id,
            ok=False,
            error=f"{exc.dn or item.identifier}: {exc.name}: {exc.reason or 'refused by the server'}",
            code=exc.name,
            retryable=exc.code in RETRYABLE_CODES,
        )
    if exc is None:
        return ExportResult(cs_id=item.cs_id, ok=False, error=f"{item.identifier}: not sent", code="not-sent")
    return ExportResult(cs_id=item.cs_id, ok=False, error=f"{item.identifier}: {exc}", code="bad-value")


def _named(dns: Sequence[str]) -> str:
    """The first few of ``dns``, and how many more: an error names values without growing with a large group."""
    more = len(dns) - MISSING_NAMED
    return "; ".join(dns[:MISSING_NAMED]) + (f" and {more:,} more" if more > 0 else "")


def _rdn_key(rdn: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """An RDN as a comparison key: attribute types and values case-folded, in a fixed order."""
    return tuple(sorted(f"{a.lower()}={v.casefold()}" for a, v in rdn))


def _search(b: Backend, *, base: str, scope: Scope, flt: str, attrs: list[str], size_limit: int = 0) -> list[Entry]:
    return b.search(base, scope, flt, attrs, size_limit)


def _add(b: Backend, *, dn: str, attrs: RawAttributes) -> Entry | None:
    return b.add(dn, attrs, [])


def _modify(b: Backend, *, dn: str, changes: list[tuple[ModOp, str, list[bytes]]]) -> None:
    b.modify(dn, changes)


class LdapConnector:
    decoder_class: type[EntryDecoder] = EntryDecoder
    """How entries become records; a connector for one kind of server may choose types its own way."""
    records_in_storage_form = True
    naming_aliases: tuple[str, ...] = ()
    """Attributes besides the RDN's own that always hold the RDN's value (Active Directory's ``name``)."""
    """The decoder types every value from the schema (``ImportPage.storage_form``); a connector that adds values
    of its own to the records says whether they are too."""

    def __init__(self, name: str, config: LdapConfig, password: str | Callable[[], str | None] | None) -> None:
        """``password``: the bind password, or how to get it when the first connection is made (building a
        connector must work without its secrets: sync builds connectors only to read their capabilities)."""
        self.name = name
        self.config = config
        self._password = password
        self._check_transport_security()
        self.capabilities = Capabilities(
            full_import=True,
            delta_import=config.delta is not None,
            export=True,
            rename=True,
            delete=True,
            references_by="identifier",
            identifier_is_anchor=False,
            case_insensitive_identifiers=True,
            identifier_case_key=leaf_case_key,
            export_batch_size=config.export_batch_size or 100,
            export_results_carry_anchor=True,
            secret_attributes=frozenset({config.password_attribute}),
        )
        self._backend: Backend | None = None
        self._server_schema: ServerSchema | None = None
        self._root_dse: Entry | None = None
        self._anchor: str | None = None
        self._schema: Schema | None = None
        self._specs: dict[tuple[str, str], AttributeSpec] = {}
        self._entry_decoder: EntryDecoder | None = None
        self._scope = config.container_scope()
        self._subtree_matching: bool | None = None

    # -- connection -------------------------------------------------------------------------------------------

    def _check_transport_security(self) -> None:
        """Validation refuses these already; a config built in code meets the same refusal here."""
        cfg = self.config
        for _setting, why in cfg.transport_risks():
            if not cfg.allow_insecure:
                raise ConnectorError(f"connector {self.name!r}: {why} ({INSECURE_OPT_IN})")
            log.warning("connector %r: %s (allow_insecure is set)", self.name, why)

    def _connected(self) -> Backend:
        if self._backend is None:
            if callable(self._password):
                self._password = self._password()
            backend = open_backend(self.config, self._password)
            try:
                backend.connect()
            except LdapOperationError as exc:
                raise ConnectivityError(f"connector {self.name!r}: bind to {self.config.url} refused: {exc}") from None
            self._backend = backend
        return self._backend

    def _drop(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None

    def _wait_for_server(self, started: float, cause: Exception) -> None:
        """Sleep before the next reconnect attempt, or give up the step once ``reconnect_seconds`` are spent."""
        self._drop()
        if time.monotonic() - started >= self.config.reconnect_seconds:
            raise ConnectivityError(f"connector {self.name!r}: {self.config.url} unreachable: {cause}") from None
        time.sleep(min(0.5, self.config.reconnect_seconds / 10 or 0.1))

    def _call(self, operation: Callable[[Backend], T], *, what: str | None = None, size: int | None = None) -> T:
        """Run one operation, reconnecting (and retrying it) while the server is down, up to the time limit.

        A change to one entry (``what`` names it) that makes the server close a connection it had just accepted,
        twice, is that entry's problem, not the server's (a request larger than the server takes): it becomes the
        entry's error instead of stopping the step."""
        started = time.monotonic()
        fresh_drops = 0
        while True:
            fresh = self._backend is None
            try:
                return operation(self._connected())
            except LdapServerDown as exc:
                if what is not None and fresh and self._backend is not None and exc.closed:
                    fresh_drops += 1
                    if fresh_drops >= 2:
                        self._drop()
                        sent = f" ({size:,} bytes of values)" if size is not None else ""
                        raise LdapOperationError(
                            -1,
                            "connectionClosed",
                            f"the server closed the connection each time it was sent this change{sent}, so it "
                            "refuses it (for a large value, its limit on request size is lower)",
                            what,
                        ) from None
                self._wait_for_server(started, exc)
            except ConnectivityError:
                if time.monotonic() - started >= self.config.reconnect_seconds:
                    raise
                self._wait_for_server(started, ConnectorError("bind failed"))

    def _pages(
        self, base: str, scope: Scope, filter_text: str, attributes: list[str], controls: Sequence[Control] = ()
    ) -> Iterator[list[Entry]]:
        """A paged search that survives a server restart by searching again from the start (the caller
        drops what it has already delivered)."""
        started = time.monotonic()
        while True:
            try:
                backend = self._connected()
                size = self.config.page_size
                for page in backend.search_pages(base, scope, filter_text, attributes, size, controls):
                    yield page
                    started = time.monotonic()
                return
            except LdapServerDown as exc:
                log.warning("connector %r: connection lost during a search of %s; searching again", self.name, base)
                self._wait_for_server(started, exc)

    def _entry(self, dn: str, attributes: list[str]) -> Entry | None:
        found = self._call(partial(_search, base=dn, scope=Scope.BASE, flt="(objectClass=*)", attrs=attributes))
        return found[0] if found else None

    def _exists(self, dn: str) -> bool:
        return self._entry(dn, ["1.1"]) is not None

    def test_connection(self) -> None:
        self._call(lambda b: b.search("", Scope.BASE, "(objectClass=*)", ["namingContexts"]))

    def close(self) -> None:
        self._drop()

    # -- schema -----------------------------------------------------------------------------------------------

    def root_dse(self) -> Entry:
        if self._root_dse is None:
            attrs = ["*", "+"]
            found = self._call(lambda b: b.search("", Scope.BASE, "(objectClass=*)", attrs))
            self._root_dse = found[0] if found else Entry("", {})
        return self._root_dse

    def server_schema(self) -> ServerSchema:
        if self._server_schema is None:
            sub = self.root_dse().first_text("subschemaSubentry") or "cn=Subschema"
            wanted = ["attributeTypes", "objectClasses", "dITContentRules"]
            found = self._call(lambda b: b.search(sub, Scope.BASE, "(objectClass=subschema)", wanted))
            if not found:
                raise ConnectorError(f"connector {self.name!r}: the server publishes no schema at {sub}")
            entry = found[0]
            self._server_schema = ServerSchema.parse(
                (v.decode("utf-8") for v in entry.get("attributeTypes")),
                (v.decode("utf-8") for v in entry.get("objectClasses")),
                (v.decode("utf-8") for v in entry.get("dITContentRules")),
            )
        return self._server_schema

    def anchor_attribute(self) -> str:
        if self._anchor is None:
            wanted = self.config.anchor
            if wanted == "auto":
                server = self.server_schema()
                # 389 DS has both entryUUID and nsUniqueId; its retro changelog names entries by nsUniqueId
                order = ("entryUUID", "nsUniqueId", "objectGUID")
                if self.config.delta == "changelog":
                    order = ("nsUniqueId", "entryUUID", "objectGUID")
                for candidate in order:
                    if server.attribute(candidate) is not None:
                        wanted = candidate
                        break
                else:
                    raise ConnectorError(
                        f"connector {self.name!r}: the server has neither entryUUID nor nsUniqueId; "
                        "set anchor: to an attribute that never changes"
                    )
            self._anchor = wanted
        return self._anchor

    def schema(self) -> Schema:
        if self._schema is None:
            server = self.server_schema()
            types = {name: [t.object_class, *t.object_classes] for name, t in self.config.object_types.items()}
            self._schema = build_schema(server, types, self.config.attributes or [], self.config.references)
        return self._schema

    def _spec(self, type_schema: ObjectTypeSchema, name: str) -> AttributeSpec:
        """The attribute's spec for this object type, or from the server's schema for attributes outside the
        type's classes (an auxiliary class on one entry); cached, since every value of every entry asks."""
        key = (type_schema.name, name)
        found = self._specs.get(key)
        if found is None:
            found = type_schema.attributes.get(name)
            if found is None:
                found = self.server_schema().spec(name, self.config.references)
            self._specs[key] = found
        return found

    # -- reading ----------------------------------------------------------------------------------------------

    def _type_filter(self) -> str:
        classes = "".join(
            f"(objectClass={escape_filter_value(t.object_class)})" for t in self.config.object_types.values()
        )
        base = classes if len(self.config.object_types) == 1 else f"(|{classes})"
        return f"(&{base}{self.config.filter})" if self.config.filter else base

    def _read_attributes(self) -> list[str]:
        wanted = self.config.attributes or ["*"]
        return list(dict.fromkeys([*wanted, "objectClass", self.anchor_attribute()]))

    def _in_scope(self, dn: str) -> bool:
        """Within the containers and not left out by an excluded one: the connector space."""
        return self._scope.includes(dn)

    def _decoder(self) -> EntryDecoder:
        if self._entry_decoder is None:
            self._entry_decoder = self.decoder_class(
                self.schema(),
                {name: t.object_class for name, t in self.config.object_types.items()},
                self.anchor_attribute(),
                self._spec,
                guid_anchor=self.anchor_attribute().lower() == "objectguid",
            )
        return self._entry_decoder

    def _record(self, entry: Entry) -> ImportRecord | ImportIssue | None:
        decoder = self._entry_decoder or self._decoder()
        return decoder.decode(entry)

    def _anchor_text(self, raw: bytes) -> str:
        return self._decoder().anchor(raw)

    def _page(self, entries: Iterable[Entry], seen: set[str] | None = None) -> ImportPage:
        page = ImportPage(storage_form=self.records_in_storage_form)
        records, record = page.records, self._record
        for entry in entries:
            item = record(entry)
            if item is None:
                continue
            if isinstance(item, ImportIssue):
                page.issues.append(item)
                continue
            if seen is not None:
                if item.anchor in seen:
                    continue
                seen.add(item.anchor)
            records.append(item)
        return page

    def full_import(self) -> Iterator[ImportPage]:
        self.schema()  # discovery before reading: it types every value
        watermark = self._current_watermark() if self.config.delta else None
        # the server is read and its entries decoded in a worker process (or on a second thread) while the engine
        # stages earlier pages
        mode = self.config.read_ahead
        if mode == "process" and forking_available():
            self._drop()  # the worker opens a connection of its own: none is shared between two processes
            yield from read_in_worker(self._full_pages, name=f"connector {self.name!r}")
        elif mode == "off":
            yield from self._full_pages()
        else:
            yield from prefetch(self._full_pages(), depth=READ_AHEAD_PAGES, name=f"idsync-{self.name}-read")
        yield ImportPage(watermark=watermark)

    def _full_pages(self) -> Iterator[ImportPage]:
        seen: set[str] = set()
        filter_text = self._type_filter()
        attributes = self._read_attributes()
        excluding = bool(self.config.excluded_containers)
        for container in self.config.import_containers():
            searched = self._excluding_filter(container, filter_text) if excluding else filter_text
            for entries in self._pages(container, Scope.SUBTREE, searched, attributes):
                if excluding:
                    # a server without the subtree filter sends an excluded subtree's entries with the container's
                    entries = [e for e in entries if self._in_scope(e.dn)]
                page = self._page(entries, seen)
                if page.records or page.issues:
                    yield page

    def _excluding_filter(self, container: str, filter_text: str) -> str:
        """``filter_text`` with the excluded subtrees inside ``container`` left out on the server, when it offers
        OpenLDAP's entryDN subtree match (a container inside an excluded subtree is searched on its own)."""
        inside = [e for e in self.config.excluded_containers if e is not container and dn_within(e, container)]
        if not inside or not self._subtree_match():
            return filter_text
        nots = "".join(f"(!(entryDN:dnSubtreeMatch:={escape_filter_value(e)}))" for e in inside)
        return f"(&{filter_text}{nots})"

    def _subtree_match(self) -> bool:
        """Whether the server evaluates ``entryDN:dnSubtreeMatch:=`` (OpenLDAP). A server without it finds the
        clause undefined, and its negation would match nothing, so it is asked once: the base_dn entry matches
        its own subtree only where the rule exists."""
        if self._subtree_matching is None:
            base = self.config.base_dn
            flt = f"(entryDN:dnSubtreeMatch:={escape_filter_value(base)})"
            try:
                self._subtree_matching = (
                    len(self._call(partial(_search, base=base, scope=Scope.BASE, flt=flt, attrs=["1.1"]))) == 1
                )
            except LdapOperationError:
                self._subtree_matching = False
        return self._subtree_matching

    # -- delta ------------------------------------------------------------------------------------------------

    def _current_watermark(self) -> str:
        method = self.config.delta
        if method == "accesslog":
            return self._accesslog_head()
        if method == "syncrepl":
            return self._syncrepl_cookie_now()
        if method == "changelog":
            return self._changelog_head()
        raise ConnectorError(f"connector {self.name!r}: no delta method configured")

    def delta_import(self, watermark: str | None) -> Iterator[ImportPage]:
        if self.config.delta is None:
            raise ConnectorError(
                f"connector {self.name!r}: delta import needs delta: accesslog, syncrepl or changelog in its config"
            )
        if not watermark:
            raise WatermarkExpired(f"connector {self.name!r}: no delta watermark yet; a full import sets one")
        if self.config.delta == "accesslog":
            yield from self._accesslog_delta(watermark)
        elif self.config.delta == "syncrepl":
            yield from self._syncrepl_delta(watermark)
        else:
            yield from self._changelog_delta(watermark)

    def _method_missing(self, what: str) -> ConnectorError:
        others = {"accesslog", "syncrepl", "changelog"} - {self.config.delta or ""}
        return ConnectorError(
            f"connector {self.name!r}: the server does not offer {what}; configure delta: "
            f"{' or '.join(sorted(others))} if the server has it, or run full imports only"
        )

    def _refetch(self, changes: list[_Change]) -> ImportPage:
        """Read the changed entries as they are now; changes whose entry is gone or out of scope are deletes."""
        page = ImportPage()
        anchor_attr = self.anchor_attribute()
        latest: dict[str, _Change] = {}
        for change in changes:
            latest[change.anchor or normalize_dn(change.new_dn or change.dn)] = change
        live = [c for c in latest.values() if not c.delete]
        found: dict[str, Entry] = {}
        by_anchor = [c for c in live if c.anchor]
        for start in range(0, len(by_anchor), FILTER_CHUNK):
            chunk = by_anchor[start : start + FILTER_CHUNK]
            ors = "".join(f"({anchor_attr}={escape_filter_value(c.anchor or '')})" for c in chunk)
            flt = f"(&{self._type_filter()}(|{ors}))"
            for entry in self._call(
                partial(_search, base=self.config.base_dn, scope=Scope.SUBTREE, flt=flt, attrs=self._read_attributes())
            ):
                values = entry.get(anchor_attr)
                if values:
                    found[self._anchor_text(values[0])] = entry
        for change in live:
            if change.anchor:
                continue
            dn = change.new_dn or change.dn
            flt = self._type_filter()
            for hit in self._call(partial(_search, base=dn, scope=Scope.BASE, flt=flt, attrs=self._read_attributes())):
                values = hit.get(anchor_attr)
                if values:
                    found[self._anchor_text(values[0])] = hit
                    change.anchor = self._anchor_text(values[0])
        for change in latest.values():
            current = found.get(change.anchor or "")
            if current is not None and not change.delete and self._in_scope(current.dn):
                item = self._record(current)
                if isinstance(item, ImportRecord):
                    page.records.append(item)
                elif isinstance(item, ImportIssue):
                    page.issues.append(item)
                continue
            if change.anchor is None:
                page.issues.append(ImportIssue(change.dn, "deleted entry: the change log does not say its anchor"))
                continue
            was_in_scope = self._in_scope(change.dn) or (change.new_dn is not None and self._in_scope(change.new_dn))
            if was_in_scope or current is not None:
                page.records.append(
                    ImportRecord(
                        anchor=change.anchor,
                        identifier=canonical_dn(change.new_dn or change.dn),
                        object_type=self._guess_type(),
                        delete=True,
                    )
                )
        return page

    def _guess_type(self) -> str:
        return next(iter(self.config.object_types))

    # accesslog (OpenLDAP slapo-accesslog) ------------------------------------------------------------------

    def _accesslog_head(self) -> str:
        """The newest accesslog record now: the next delta starts after it.

        The accesslog database's contextCSN says when it was last written, so only the records of the last
        minutes are scanned to find the newest (the whole log only if that window is empty).
        """
        base = self.config.accesslog_base
        found = self._call(lambda b: b.search(base, Scope.BASE, "(objectClass=*)", ["contextCSN"]))
        if not found:
            raise self._method_missing(f"an accesslog database at {base}")
        csns = sorted(v.decode("ascii") for v in found[0].get("contextCSN"))
        if not csns:
            return EPOCH_WATERMARK
        newest = datetime.strptime(csns[-1].split("#", 1)[0][:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        lower = (newest - timedelta(minutes=5)).strftime("%Y%m%d%H%M%S") + ".000000Z"
        for flt in (f"(reqStart>={lower})", "(objectClass=auditWriteObject)"):
            best = None
            for entries in self._pages(base, Scope.ONE, flt, ["reqStart"]):
                for e in entries:
                    value = e.first_text("reqStart")
                    if value and (best is None or value > best):
                        best = value
            if best is not None:
                return best
        return EPOCH_WATERMARK

    def _accesslog_delta(self, watermark: str) -> Iterator[ImportPage]:
        base = self.config.accesslog_base
        safe = escape_filter_value(watermark)
        if watermark != EPOCH_WATERMARK:
            # the watermark is the reqStart of a record: while that record is in the log, nothing after it was purged
            still = self._call(lambda b: b.search(base, Scope.ONE, f"(reqStart={safe})", ["1.1"]))
            if not still:
                raise WatermarkExpired(
                    f"connector {self.name!r}: accesslog no longer holds {watermark} (purged); a full import is needed"
                )
        flt = f"(&(objectClass=auditWriteObject)(reqResult=0)(reqStart>={safe})(!(reqStart={safe})))"
        attrs = ["reqStart", "reqType", "reqDN", "reqEntryUUID", "reqNewRDN", "reqNewSuperior"]
        last = watermark
        emitted = False
        for entries in self._pages(base, Scope.ONE, flt, attrs):
            rows = sorted(entries, key=lambda e: e.first_text("reqStart") or "")
            changes = [c for c in (self._accesslog_change(e) for e in rows) if c is not None]
            if rows:
                last = rows[-1].first_text("reqStart") or last
            page = self._refetch(changes)
            page.watermark = last
            emitted = True
            yield page
        if not emitted:
            yield ImportPage(watermark=last)

    def _accesslog_change(self, row: Entry) -> _Change | None:
        kind = (row.first_text("reqType") or "").lower()
        dn = row.first_text("reqDN") or ""
        anchor = row.first_text("reqEntryUUID") if self.anchor_attribute().lower() == "entryuuid" else None
        if kind == "delete":
            return _Change(anchor, dn, delete=True)
        if kind in ("add", "modify"):
            return _Change(anchor, dn)
        if kind == "modrdn":
            return _Change(
                anchor, dn, new_dn=self._renamed(dn, row.first_text("reqNewRDN"), row.first_text("reqNewSuperior"))
            )
        return None

    @staticmethod
    def _renamed(dn: str, new_rdn: str | None, new_superior: str | None) -> str | None:
        if not new_rdn:
            return None
        try:
            parent = new_superior if new_superior is not None else parent_dn(dn)
        except DNError:
            return None
        return f"{new_rdn},{parent}" if parent else new_rdn

    # RFC 4533 content synchronization, refreshOnly -----------------------------------------------------------

    def _sync_filter(self) -> str:
        return self._type_filter()

    def _syncrepl_cookie_now(self) -> str:
        """A cookie for "now", from a refresh that can match nothing (so it costs nothing)."""
        self._require_entryuuid_anchor()
        result = self._call(
            lambda b: b.sync_refresh(self.config.base_dn, "(&(objectClass=*)(!(objectClass=*)))", ["1.1"], None)
        )
        if not result.cookie:
            raise self._method_missing("RFC 4533 content synchronization (syncprov)")
        return result.cookie

    def _require_entryuuid_anchor(self) -> None:
        if self.anchor_attribute().lower() != "entryuuid":
            raise ConnectorError(
                f"connector {self.name!r}: delta: syncrepl reports entries by entryUUID, so anchor must be entryUUID"
            )

    def _syncrepl_delta(self, cookie: str) -> Iterator[ImportPage]:
        self._require_entryuuid_anchor()
        try:
            result = self._call(
                lambda b: b.sync_refresh(self.config.base_dn, self._sync_filter(), self._read_attributes(), cookie)
            )
        except LdapOperationError as exc:
            if exc.code in (NO_SUCH_OBJECT, 12, 2):  # 12 unavailableCriticalExtension, 2 protocolError
                raise self._method_missing("RFC 4533 content synchronization (syncprov)") from None
            raise
        if result.present_phase:
            raise WatermarkExpired(
                f"connector {self.name!r}: the server cannot replay deletions since this cookie (its session log "
                "is too short); a full import is needed"
            )
        page = ImportPage()
        for _uuid, entry in result.entries:
            if not self._in_scope(entry.dn):
                page.records.append(
                    ImportRecord(
                        anchor=_uuid, identifier=canonical_dn(entry.dn), object_type=self._guess_type(), delete=True
                    )
                )
                continue
            item = self._record(entry)
            if isinstance(item, ImportRecord):
                page.records.append(item)
            elif isinstance(item, ImportIssue):
                page.issues.append(item)
        for uuid_text in result.deleted:
            page.records.append(
                ImportRecord(anchor=uuid_text, identifier="", object_type=self._guess_type(), delete=True)
            )
        size = self.config.page_size
        records = page.records
        chunks = [records[i : i + size] for i in range(0, len(records), size)] or [[]]
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            yield ImportPage(
                records=chunk, issues=page.issues if last else [], watermark=result.cookie if last else None
            )

    # retro changelog (389 DS, OpenDJ; draft-good-ldap-changelog) ---------------------------------------------

    def _changelog_head(self) -> str:
        dse = self.root_dse()
        last = dse.first_text("lastChangeNumber") or dse.first_text("lastchangenumber")
        if last is not None:
            return last
        best = 0
        found_any = False
        for entries in self._pages(self.config.changelog_base, Scope.ONE, "(changeNumber>=0)", ["changeNumber"]):
            for e in entries:
                found_any = True
                best = max(best, int(e.first_text("changeNumber") or 0))
        if not found_any:
            base = self._call(lambda b: b.search(self.config.changelog_base, Scope.BASE, "(objectClass=*)", ["1.1"]))
            if not base:
                raise self._method_missing(f"a retro changelog at {self.config.changelog_base}")
        return str(best)

    def _changelog_delta(self, watermark: str) -> Iterator[ImportPage]:
        try:
            start = int(watermark)
        except ValueError:
            raise WatermarkExpired(f"connector {self.name!r}: {watermark!r} is not a change number") from None
        base = self.config.changelog_base
        if start > 0:
            first = self._changelog_first()
            if first is not None and first > start + 1:
                raise WatermarkExpired(
                    f"connector {self.name!r}: the changelog starts at {first}, after {start} (trimmed); "
                    "a full import is needed"
                )
        attrs = ["changeNumber", "targetDN", "changeType", "newRDN", "newSuperior", "targetUniqueId", "targetEntryUUID"]
        last = start
        emitted = False
        for entries in self._pages(base, Scope.ONE, f"(changeNumber>={start + 1})", attrs):
            rows = sorted(entries, key=lambda e: int(e.first_text("changeNumber") or 0))
            changes = [c for c in (self._changelog_change(e) for e in rows) if c is not None]
            if rows:
                last = max(last, int(rows[-1].first_text("changeNumber") or 0))
            page = self._refetch(changes)
            page.watermark = str(last)
            emitted = True
            yield page
        if not emitted:
            yield ImportPage(watermark=str(last))

    def _changelog_first(self) -> int | None:
        dse = self.root_dse()
        first = dse.first_text("firstChangeNumber") or dse.first_text("firstchangenumber")
        return int(first) if first is not None else None

    def _changelog_change(self, row: Entry) -> _Change | None:
        dn = row.first_text("targetDN") or ""
        kind = (row.first_text("changeType") or "").lower()
        # a changelog row names its entry by the anchor only when it records that attribute (389 DS's retro
        # changelog: nsUniqueId as targetUniqueId); otherwise the entry is read again by its DN
        anchor = {"entryuuid": row.first_text("targetEntryUUID"), "nsuniqueid": row.first_text("targetUniqueId")}.get(
            self.anchor_attribute().lower()
        )
        if kind == "delete":
            return _Change(anchor, dn, delete=True)
        if kind in ("add", "modify"):
            return _Change(anchor, dn)
        if kind in ("modrdn", "moddn"):
            return _Change(
                anchor, dn, new_dn=self._renamed(dn, row.first_text("newRDN"), row.first_text("newSuperior"))
            )
        return None

    # -- lookup -----------------------------------------------------------------------------------------------

    def lookup(self, object_type: str, identifier: str, keys: dict[str, Any]) -> ImportRecord | None:
        attrs = self._read_attributes()
        flt = self._type_filter()
        candidates: list[Entry] = []
        if identifier:
            try:
                parse_dn(identifier)
                candidates = self._call(lambda b: b.search(identifier, Scope.BASE, flt, attrs))
            except DNError:
                candidates = []
        unique = {a.casefold() for a in self.config.unique_attributes}
        for key, value in keys.items():
            if candidates:
                break
            if value is None or key.casefold() not in unique:
                continue  # only an attribute the directory keeps unique may identify an entry
            key_filter = f"(&{flt}({key}={escape_filter_value(str(value))}))"
            hits: list[Entry] = []
            for container in self.config.import_containers():
                hits += self._call(
                    partial(_search, base=container, scope=Scope.SUBTREE, flt=key_filter, attrs=attrs, size_limit=2)
                )
            hits = self._in_space(hits)
            if len(hits) == 1:
                candidates = hits
        return self._found(object_type, candidates)

    def _in_space(self, hits: list[Entry]) -> list[Entry]:
        """The entries of searches of each container that are in the connector space, each once (a container
        inside an excluded subtree is searched on its own and within its outer container too)."""
        return list({dn_key(e.dn): e for e in hits if self._in_scope(e.dn)}.values())

    def _found(self, object_type: str, candidates: list[Entry]) -> ImportRecord | None:
        """The record a lookup found: an entry of the connector space (an entry elsewhere is one no import sees,
        so reconciliation or adoption must not take it) and of the object type asked for."""
        for entry in candidates:
            if not self._in_scope(entry.dn):
                continue
            item = self._record(entry)
            if isinstance(item, ImportRecord) and item.object_type == object_type:
                return item
        return None

    # -- export -----------------------------------------------------------------------------------------------

    def export(self, items: Sequence[ExportItem]) -> list[ExportResult]:
        """Adds go out pipelined (several in flight, each answered in order); updates and deletes one at a time,
        in the batch's order, so an add is sent before a later change in the same batch."""
        schema = self.schema()
        results: list[ExportResult | None] = [None] * len(items)
        adds: list[_Add] = []
        for index, item in enumerate(items):
            type_schema = schema.object_type(item.object_type)
            try:
                if item.op is ExportOp.ADD:
                    adds.append(_Add(index, item, *self._add_request(item, type_schema)))
                    continue
                self._send_adds(adds, results)
                adds = []
                if item.op is ExportOp.UPDATE:
                    results[index] = self._export_update_wherever(item, type_schema)
                else:
                    results[index] = self._export_delete(item)
            except (LdapOperationError, AttributeValueError, DNError, ExportRefused) as exc:
                results[index] = _failure(item, exc)
        self._send_adds(adds, results)
        done = [r if r is not None else _failure(items[i], None) for i, r in enumerate(results)]
        return [self._name_missing_references(item, result) for item, result in zip(items, done, strict=True)]

    def _name_missing_references(self, item: ExportItem, result: ExportResult) -> ExportResult:
        """A refusal that a reference value to no entry may have caused says which values those are: the server
        does not (Active Directory: "Referenced object not found", "specified dn doesn't exist"). The first few
        are named and the rest counted; finding them costs a search per few hundred values, not one per value."""
        if result.ok or result.code not in REFERENCE_REFUSALS:
            return result
        type_schema = self.schema().object_type(item.object_type)
        for change in item.changes:
            if change.op is ValueOp.REMOVE or self._spec(type_schema, change.name).type is not AttributeType.REFERENCE:
                continue
            try:
                missing, referred = self._missing_entries([str(v) for v in change.values if v])
            except (LdapOperationError, ConnectivityError) as exc:
                log.info(
                    "connector %r: could not look up the %s values of %s: %s",
                    self.name,
                    change.name,
                    item.identifier,
                    exc,
                )
                return result
            found = [f"no entry at {_named(missing)}"] if missing else []
            found += [
                f"held by another naming context (referral to {url}): {_named(dns)}" for url, dns in referred.items()
            ]
            if found:
                result.error = f"{result.error}; {change.name}: {'; '.join(found)}"
                result.attribute = change.name
                return result
        return result

    def _missing_entries(self, dns: Sequence[str]) -> tuple[list[str], dict[str, list[str]]]:
        """The DNs of ``dns`` no entry has (or that are no DNs), in their order; and those under a referral (a
        naming context this server does not hold, as another domain of an Active Directory forest), by the
        referral's URL. Entries are looked for under their parent, a one-level search ORing the RDNs of up to
        ``FILTER_CHUNK`` of its children (the RDN's attribute is usually indexed: uid, cn), so a group of 50,000
        members costs a few hundred searches. A referral is reported, never chased: following it would send this
        connector's bind credentials to a server nobody configured."""
        unique = list(dict.fromkeys(dns))
        groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
        wanted: dict[str, tuple[str, tuple[str, ...]]] = {}
        for dn in unique:
            try:
                rdn_values = leaf_values(dn)
                parent = parent_text(dn)
            except DNError:
                continue
            wanted[dn] = (parent.casefold(), _rdn_key(rdn_values))
            clauses = "".join(f"({a}={escape_filter_value(v)})" for a, v in rdn_values)
            types = "+".join(sorted(a.lower() for a, _ in rdn_values))
            group = groups.setdefault((parent.casefold(), types), [])
            group.append((parent, clauses if len(rdn_values) == 1 else f"(&{clauses})"))
        found: set[tuple[str, tuple[str, ...]]] = set()
        referred_parents: dict[str, str] = {}
        for (parent_key, _types), members in groups.items():
            base = members[0][0]
            for start in range(0, len(members), FILTER_CHUNK):
                ors = "".join(clause for _, clause in members[start : start + FILTER_CHUNK])
                search = partial(_search, base=base, scope=Scope.ONE, flt=f"(|{ors})", attrs=["1.1"])
                try:
                    entries = self._call(search)
                except LdapOperationError as exc:
                    if exc.code != REFERRAL:
                        raise
                    referred_parents[parent_key] = exc.referrals[0] if exc.referrals else "an unnamed server"
                    break
                found.update((parent_key, _rdn_key(leaf_values(entry.dn))) for entry in entries)
        referred: dict[str, list[str]] = {}
        missing: list[str] = []
        for dn in unique:
            key = wanted.get(dn)
            if key is not None and key[0] in referred_parents:
                referred.setdefault(referred_parents[key[0]], []).append(dn)
            elif key not in found:
                missing.append(dn)
        return missing, referred

    def _password_value(self, value: Any) -> bytes:
        if not self.config.encrypted and not self.config.allow_insecure:
            raise AttributeValueError(
                f"{self.config.password_attribute}: a password is not sent over a cleartext connection"
            )
        text = str(value)
        if self.config.password_hashing == "ssha" and not is_hashed(text):  # noqa: S105
            text = ssha(text)
        return text.encode("utf-8")

    def _raw_values(self, spec_schema: ObjectTypeSchema, name: str, values: Iterable[Any]) -> list[bytes]:
        spec = self._spec(spec_schema, name)
        if name.lower() == self.config.password_attribute.lower():
            return [self._password_value(v) for v in values if v is not None]
        return [to_ldap(spec, v) for v in values if v is not None and v != ""]

    def _add_request(self, item: ExportItem, type_schema: ObjectTypeSchema) -> tuple[str, RawAttributes]:
        """The DN and attributes of an add: the item's values, the type's object classes, the RDN's values."""
        dn = item.identifier
        if not dn.strip():
            raise DNError("an entry cannot be added at the empty DN")
        check_dn(dn)
        naming = leaf_values(dn)
        self._refuse_outside_space(dn)
        attrs: RawAttributes = {}
        type_config = self.config.object_types.get(item.object_type)
        if type_config is None:
            raise AttributeValueError(f"object type {item.object_type!r} is not configured for this connector")
        for change in item.changes:
            if change.op is ValueOp.REMOVE:
                continue
            raw = self._raw_values(type_schema, change.name, change.values)
            if raw:
                attrs.setdefault(change.name, []).extend(raw)
        if not any(k.lower() == "objectclass" for k in attrs):
            attrs["objectClass"] = [c.encode("utf-8") for c in type_config.classes_for_add()]
        for attr, _ in naming:
            key = next((k for k in attrs if k.lower() == attr.lower()), attr)
            attrs[key] = self._naming_values(type_schema, dn, key, attrs.get(key, []), adding=True) or []
        for alias in self.naming_aliases:
            found = next((k for k in attrs if k.lower() == alias.lower()), None)
            if found is not None and self._naming_values(type_schema, dn, found, attrs[found]) is None:
                del attrs[found]  # the directory sets it from the RDN
        return dn, attrs

    def _refuse_outside_space(
        self, dn: str, *, moving: bool = False, attribute: str | None = None, flow: str = "identifier (DN)"
    ) -> None:
        """Refuse, before anything is sent, to add or move an entry to ``dn`` when that is outside the connector
        space: no import would see it there, so the export could never be confirmed, the next import would take
        the object for deleted and provisioning could add it again (a duplicate in the directory). A refused move
        leaves the entry where it is, and is refused again at each export until the flow or the containers
        change."""
        refusal = self._scope.refusal(dn)
        if refusal is None:
            return
        if not moving:
            raise ExportRefused(
                attribute,
                f"{refusal}, where no import sees it; build its DN under one of the containers (and outside the "
                "excluded ones) or change the containers",
            )
        raise ExportRefused(
            attribute,
            f"not moved to {dn}: {refusal}, where no import sees it (the next import would take the object for "
            f"deleted and provisioning could add it again), so nothing of this export is sent: change the {flow} "
            "flow to keep it under one of the containers (and outside the excluded ones), or change the containers",
        )

    def _naming_values(
        self, type_schema: ObjectTypeSchema, dn: str, name: str, values: list[bytes], *, adding: bool = False
    ) -> list[bytes] | None:
        """The values of ``name`` to send for the entry at ``dn`` so they agree with its RDN, or None to send no
        change of it. An attribute the RDN does not name goes as it is. A single-valued naming attribute
        (Active Directory's cn) holds exactly the RDN's value, in the DN's case: a flow that gives that name sends
        nothing, since the DN sets it and the server refuses to modify it; another name, or the same one in another
        case, is refused here, since only a rename changes it (the server would keep the DN's spelling, and the
        confirming import would never see the flow's). A multi-valued one (OpenLDAP's cn) gets the RDN's value
        besides the others on add."""
        leaf = leaf_values(dn)
        lower = name.lower()
        value = next((v for a, v in leaf if a.lower() == lower), None)
        alias = value is None and lower in {a.lower() for a in self.naming_aliases}
        if alias:
            value = leaf[0][1]
        if value is None:
            return values
        others = [v for v in values if v.decode("utf-8", "replace").casefold() != value.casefold()]
        if alias or not self._spec(type_schema, name).multivalued:
            if others:
                raise ExportRefused(
                    name,
                    f"{name} {others[0].decode('utf-8', 'replace')!r} is not the name the DN gives the entry "
                    f"({value!r}), and only a rename changes it: flow the new name into the identifier (DN)",
                )
            recased = next((v.decode("utf-8", "replace") for v in values if v != value.encode("utf-8")), None)
            if recased is not None:
                raise ExportRefused(
                    name,
                    f"{name} {recased!r} differs only in case from the name the DN gives the entry ({value!r}), and "
                    "the directory keeps the DN's: flow the same text into the identifier (DN), which renames it",
                )
            return [value.encode("utf-8")] if adding and not alias else None
        return [value.encode("utf-8"), *others] if adding else values

    def _send_adds(self, adds: list[_Add], results: list[ExportResult | None]) -> None:
        """Pipeline the adds; those the server refused for a missing parent (when parents are created) or whose
        answer a dropped connection lost go again one at a time."""
        if not adds:
            return
        anchor_attr = self.anchor_attribute()
        try:
            outcomes = self._connected().add_many(
                [(a.dn, a.attributes) for a in adds], [anchor_attr], self.config.add_window
            )
        except (LdapServerDown, ConnectivityError) as exc:
            outcomes = [LdapServerDown(str(exc))] * len(adds)
        lost = sum(isinstance(o, LdapServerDown) for o in outcomes)
        if lost:
            log.warning(
                "connector %r: the connection dropped with %d adds unanswered; sending them again one at a time",
                self.name,
                lost,
            )
            self._drop()
        for add, outcome in zip(adds, outcomes, strict=True):
            try:
                if isinstance(outcome, LdapServerDown):
                    results[add.index] = self._add_one(add, replayed=True)
                elif isinstance(outcome, LdapOperationError):
                    if outcome.code != NO_SUCH_OBJECT or not self.config.create_parents:
                        raise outcome
                    results[add.index] = self._add_one(add, replayed=False)
                else:
                    results[add.index] = self._added(add, outcome)
            except (LdapOperationError, AttributeValueError, DNError) as exc:
                results[add.index] = _failure(add.item, exc)

    def _add_one(self, add: _Add, *, replayed: bool) -> ExportResult:
        anchor_attr = self.anchor_attribute()
        dn = add.dn

        def send(backend: Backend) -> Entry | None:
            return backend.add(dn, add.attributes, [anchor_attr])

        try:
            entry = self._call(send, what=dn, size=add.size)
        except LdapOperationError as exc:
            if exc.code == ALREADY_EXISTS and replayed:
                # the first try may have been applied before the connection dropped: that entry is this add's
                found = self._entry(dn, [anchor_attr])
                if found is not None:
                    return self._added(add, found)
            if exc.code != NO_SUCH_OBJECT or not self.config.create_parents:
                raise
            self._create_parents(parent_dn(dn))
            entry = self._call(send, what=dn, size=add.size)
        return self._added(add, entry)

    def _added(self, add: _Add, entry: Entry | None) -> ExportResult:
        """The result of an add, with the anchor the server gave the entry (post-read, or read back)."""
        anchor_attr = self.anchor_attribute()
        if entry is None or not entry.get(anchor_attr):
            entry = self._entry(add.dn, [anchor_attr])
        anchor = self._anchor_text(entry.get(anchor_attr)[0]) if entry is not None and entry.get(anchor_attr) else None
        return ExportResult(cs_id=add.item.cs_id, ok=True, anchor=anchor, identifier=canonical_dn(add.dn))

    def _create_parents(self, dn: str) -> None:
        """Create ``dn`` and any missing ancestors as organizational units (only ``ou=`` RDNs are created)."""
        missing: list[str] = []
        current = dn
        while current and not self._exists(current):
            missing.append(current)
            current = parent_dn(current)
        for parent in reversed(missing):
            (attr, value), *_ = parse_dn(parent)[0]
            if attr.lower() != "ou":
                raise LdapOperationError(
                    NO_SUCH_OBJECT, "noSuchObject", f"parent {parent} is missing and is not an ou", parent
                )
            attrs = {"objectClass": [b"organizationalUnit"], "ou": [value.encode("utf-8")]}
            try:
                self._call(partial(_add, dn=parent, attrs=attrs))
            except LdapOperationError as exc:
                if exc.code != ALREADY_EXISTS:
                    raise
            log.info("connector %r: created missing parent %s", self.name, parent)

    def _export_update(self, item: ExportItem, type_schema: ObjectTypeSchema) -> ExportResult:
        dn = item.identifier
        target = item.new_identifier or dn
        if target != dn:
            self._refuse_outside_space(target, moving=True)
        replaces: list[tuple[ModOp, str, list[bytes]]] = []
        chunked: list[tuple[ModOp, str, list[bytes]]] = []
        for change in item.changes:
            raw = self._raw_values(type_schema, change.name, change.values)
            if change.op is ValueOp.REPLACE:
                fitted = self._naming_values(type_schema, target, change.name, raw)
                if fitted is not None:
                    replaces.append((ModOp.REPLACE, change.name, fitted))
            else:
                op = ModOp.ADD if change.op is ValueOp.ADD else ModOp.DELETE
                size = self.config.membership_chunk
                chunked.extend((op, change.name, raw[i : i + size]) for i in range(0, len(raw), size))
        if target != dn:
            dn = self._rename(dn, target)
        if replaces:
            self._call(lambda b: b.modify(dn, replaces), what=dn)
        if len(chunked) == 2 and chunked[0][0] != chunked[1][0] and chunked[0][1].lower() == chunked[1][1].lower():
            chunked = self._swap_values(dn, chunked)  # one add and one remove of the same attribute
        refused: LdapOperationError | None = None
        held: dict[str, _Held] = {}
        for op, name, values in chunked:
            reference = self._spec(type_schema, name).type is AttributeType.REFERENCE
            found = self._modify_values(dn, op, name, values, held.setdefault(name.lower(), _Held(reference)))
            refused = refused or found
        if refused is not None:
            raise refused  # after every other chunk: one bad member keeps no later chunk out either
        return ExportResult(cs_id=item.cs_id, ok=True, anchor=item.anchor, identifier=canonical_dn(dn))

    def _swap_values(
        self, dn: str, chunked: list[tuple[ModOp, str, list[bytes]]]
    ) -> list[tuple[ModOp, str, list[bytes]]]:
        """Values added and removed in one modify (a renamed member: its new DN in, its old one out), so no reader
        ever sees the entry with neither. The remove goes first in it: a DN renamed only in case matches its old
        spelling, so the add alone would be refused as there already. Returns what is left to send value by value:
        nothing, or everything when the server refused the modify for a value already there or gone, or naming no
        entry (sorted out there)."""
        name = chunked[0][1]
        removes_first = sorted(chunked, key=lambda change: change[0] is ModOp.ADD)
        try:
            self._call(partial(_modify, dn=dn, changes=removes_first), what=dn)
        except LdapOperationError as exc:
            if exc.name in REFERENCE_REFUSALS or any(self._harmless(op, name, exc) for op in (ModOp.ADD, ModOp.DELETE)):
                return chunked
            raise
        return []

    def _modify_values(
        self, dn: str, op: ModOp, name: str, values: list[bytes], held: _Held | None = None
    ) -> LdapOperationError | None:
        """Add or remove values; values already there (or already gone) are skipped, as replays require. A server
        without a permissive modify (OpenLDAP) refuses a whole chunk for one value there (or gone): the attribute's
        values are then read once (``held`` keeps them for the item's later chunks) and one modify sends only the
        adds missing and the removes present. When the server refuses some values (a member with no entry behind
        it), the others are applied one at a time and the first refusal is returned: one bad member does not keep a
        thousand out. Any other refusal is raised, and so is noSuchObject when the entry itself is gone (moved since
        the last import, say), before a thousand values are each sent to no entry."""
        held = held if held is not None else _Held(reference=False)
        if held.values is not None:
            values = held.still_to_send(op, values)
            if not values:
                return None
        while True:
            try:
                self._call(partial(_modify, dn=dn, changes=[(op, name, values)]), what=dn)
                held.sent(op, values)
                return None
            except LdapOperationError as exc:
                if self._harmless(op, name, exc):
                    if len(values) == 1:
                        return None
                    if held.values is None:
                        held.values = self._current_values(dn, name)
                        values = held.still_to_send(op, values)
                        if not values:
                            return None
                        continue
                elif exc.name not in REFERENCE_REFUSALS or (exc.code == NO_SUCH_OBJECT and not self._exists(dn)):
                    raise
                elif len(values) == 1:
                    return exc
                break
        refused: LdapOperationError | None = None
        for value in values:  # one at a time, to apply the others
            try:
                self._call(partial(_modify, dn=dn, changes=[(op, name, [value])]), what=dn)
            except LdapOperationError as exc:
                if not self._harmless(op, name, exc):
                    if exc.name not in REFERENCE_REFUSALS:
                        raise
                    refused = refused or exc
                    continue
            held.sent(op, [value])
        return refused

    def _current_values(self, dn: str, name: str) -> list[bytes]:
        """The values of ``name`` the entry at ``dn`` holds now (none when there is no entry)."""
        entry = self._entry(dn, [name])
        return entry.get(name) if entry is not None else []

    def _harmless(self, op: ModOp, name: str, exc: LdapOperationError) -> bool:
        """The server says the value is already there (adding) or already gone (removing)."""
        return exc.code == (TYPE_OR_VALUE_EXISTS if op is ModOp.ADD else NO_SUCH_ATTRIBUTE)

    def _rename(self, dn: str, new_dn: str) -> str:
        check_dn(new_dn)
        new_rdn = leaf_rdn(new_dn)
        new_parent = parent_dn(new_dn)
        superior = new_parent if normalize_dn(new_parent) != normalize_dn(parent_dn(dn)) else None
        try:
            try:
                self._call(lambda b: b.rename(dn, new_rdn, superior), what=dn)
            except LdapOperationError as exc:
                if exc.code == NO_SUCH_OBJECT and self.config.create_parents and superior is not None:
                    exists = self._exists(dn)
                    if exists:
                        self._create_parents(superior)
                        self._call(lambda b: b.rename(dn, new_rdn, superior))
                        return new_dn
                # replayed after a crash: already renamed
                if exc.code == NO_SUCH_OBJECT and self._exists(new_dn):
                    return new_dn
                raise
        except LdapOperationError as exc:
            # the server names neither the new DN nor whether the entry or its new parent is missing
            raise LdapOperationError(
                exc.code, exc.name, f"renaming to {new_dn}: {exc.reason or 'refused by the server'}", exc.dn or dn
            ) from None
        return new_dn

    def _export_update_wherever(self, item: ExportItem, type_schema: ObjectTypeSchema) -> ExportResult:
        """An update sent to the entry's DN, or, when no entry is there, to wherever its anchor is now (moved or
        renamed in the directory since the last import)."""
        try:
            return self._export_update(item, type_schema)
        except LdapOperationError as exc:
            moved = self._moved(item) if exc.code == NO_SUCH_OBJECT else None
            if moved is None:
                raise
            log.info("connector %r: %s is now at %s; updating it there", self.name, item.identifier, moved)
            return self._export_update(replace(item, identifier=moved), type_schema)

    def anchor_filter(self, anchor: str) -> str:
        """A filter matching the entry with this anchor (text as the connector reports it)."""
        return f"({self.anchor_attribute()}={escape_filter_value(anchor)})"

    def _moved(self, item: ExportItem) -> str | None:
        """The DN the item's entry has now, when it is no longer its identifier, found by its anchor."""
        if not item.anchor:
            return None
        try:
            flt = self.anchor_filter(item.anchor)
        except ValueError:
            return None
        search = partial(_search, base=self.config.base_dn, scope=Scope.SUBTREE, flt=flt, attrs=["1.1"], size_limit=2)
        hits = self._call(search)
        if len(hits) != 1 or normalize_dn(hits[0].dn) == normalize_dn(item.identifier):
            return None
        return canonical_dn(hits[0].dn)

    def _export_delete(self, item: ExportItem) -> ExportResult:
        dn = item.identifier
        try:
            self._call(lambda b: b.delete(dn), what=dn)
        except LdapOperationError as exc:
            if exc.code == NO_SUCH_OBJECT:
                # gone is done, unless the entry was only moved or renamed since the last import
                moved = self._moved(item)
                if moved is None:
                    return ExportResult(cs_id=item.cs_id, ok=True, identifier=dn)
                log.info("connector %r: %s is now at %s; deleting it there", self.name, dn, moved)
                return self._export_delete(replace(item, identifier=moved))
            if exc.code != NOT_ALLOWED_ON_NON_LEAF or not self.config.subtree_delete:
                raise
            self._delete_subtree(dn)
        return ExportResult(cs_id=item.cs_id, ok=True, identifier=dn)

    def _delete_subtree(self, dn: str) -> None:
        controls = [v.decode("ascii") for v in self.root_dse().get("supportedControl")]
        if TREE_DELETE_OID in controls:
            self._call(lambda b: b.delete(dn, [TREE_DELETE_OID]))
            return
        children = self._call(lambda b: b.search(dn, Scope.ONE, "(objectClass=*)", ["1.1"]))
        for child in children:
            self._delete_subtree(child.dn)
        try:
            self._call(lambda b: b.delete(dn))
        except LdapOperationError as exc:
            if exc.code != NO_SUCH_OBJECT:
                raise
