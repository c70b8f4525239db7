"""Import steps: full, delta and confirming imports stage what the connected system holds into its connector space.

Each page commits with its watermark in one transaction (a delta's watermark per page; a full import's watermark
with its obsoletion, at the end), so an import killed at any moment re-runs without losing or doubling a change.
An import is also where exports are confirmed: a value idsync sent and now sees back is confirmed; a value the
target keeps differently goes back to pending export, and after a few tries becomes an error instead of a loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from idsync.connectors.base import (
    Capabilities,
    Connector,
    ImportPage,
    ImportRecord,
    ValueDelta,
    WatermarkExpired,
)
from idsync.engine.errors import ErrorLog
from idsync.engine.pending_exports import attribute_changes, expected_state
from idsync.engine.secrets import secret_attributes
from idsync.model import (
    AttributeSpec,
    AttributeValueError,
    CSObject,
    ExportOp,
    ImportOp,
    ObjectTypeSchema,
    PendingExport,
    PendingImport,
    Schema,
    StepKind,
    StepResult,
    as_list,
    changed_attributes,
    coerce,
    in_storage_form,
    normalize,
    recased,
    values_equal,
)
from idsync.store import Store
from idsync.store.rows import identifier_key

Progress = Callable[[int], None]


@dataclass
class ImportOutcome:
    full: bool
    message: str | None = None


class Importer:
    def __init__(
        self,
        store: Store,
        connector: Connector,
        name: str,
        schema: Schema,
        step: StepResult,
        errors: ErrorLog,
        *,
        confirmation_tries: int = 3,
        progress: Progress | None = None,
    ) -> None:
        self.store = store
        self.connector = connector
        self.name = name
        self.schema = schema
        self.caps: Capabilities = connector.capabilities
        self.step = step
        self.errors = errors
        self.confirmation_tries = confirmation_tries
        self.progress = progress
        self.marker = step.id
        self.secrets = secret_attributes(self.caps)
        """Never kept: a directory that returns a password (or its hash) does not put it in a hologram."""
        self._unanchored: bool | None = None
        self._plain_names: set[str] = set()
        """Attribute names seen and known not to be secret."""

    def run(self) -> ImportOutcome:
        kind = self.step.kind
        watermark = self.store.get_watermark(self.name)
        message = None
        if kind is StepKind.FULL_IMPORT or not self.caps.delta_import or watermark is None:
            if kind is not StepKind.FULL_IMPORT:
                message = (
                    "no delta watermark yet: ran a full import"
                    if self.caps.delta_import
                    else "this connector has no delta import: ran a full import"
                )
            self._consume(self.connector.full_import(), full=True)
            return ImportOutcome(True, message)
        try:
            snapshot = self._consume(self.connector.delta_import(watermark), full=False)
        except WatermarkExpired as exc:
            message = f"the delta watermark is no longer valid ({exc}): ran a full import instead"
            self._consume(self.connector.full_import(), full=True)
            return ImportOutcome(True, message)
        return ImportOutcome(snapshot, message)

    def _consume(self, pages: Iterable[ImportPage], *, full: bool) -> bool:
        final_watermark: str | None = None
        snapshot = full
        for page in pages:
            # a delta by comparison yields nothing when nothing changed, and the whole content when anything did
            snapshot = snapshot or page.snapshot or self.caps.delta_is_snapshot
            with self.store.transaction():
                self._apply(page)
                if page.watermark is not None:
                    if snapshot:
                        final_watermark = page.watermark
                    else:
                        self.store.set_watermark(self.name, page.watermark)
                self.store.add_errors(self.errors.drain())
            if self.progress:
                self.progress(len(page.records) + len(page.issues))
            self.errors.check_limit()
        if snapshot:
            with self.store.transaction():
                self._obsolete()
                if final_watermark is not None:
                    self.store.set_watermark(self.name, final_watermark)
                self.store.add_errors(self.errors.drain())
        return snapshot

    def stage_one(self, record: ImportRecord | None, cs: CSObject | None) -> None:
        """One object as its system holds it now (``record``; None: it is gone, and ``cs`` is what the connector
        space holds), staged in one transaction as a page of an import would be. Provisioning on demand imports one
        object so; the watermark stays, and the next delta import finds nothing new in what it staged."""
        with self.store.transaction():
            if record is not None:
                self._apply(ImportPage([record]))
            elif cs is not None and self._stage_delete(cs):
                self.store.cs_save([cs])
                self.step.counters.deletes += 1
            self.store.add_errors(self.errors.drain())

    # one page ------------------------------------------------------------------------------------------------
    def _apply(self, page: ImportPage) -> None:
        counters = self.step.counters
        for issue in page.issues:
            self.errors.add(issue.reason, identifier=issue.identifier, attribute=issue.attribute, code="import-error")
        issue_anchors = [i.anchor for i in page.issues if i.anchor]
        anchors = [r.anchor for r in page.records] + issue_anchors
        existing = self.store.cs_by_anchor(self.name, anchors)
        if issue_anchors:
            # a malformed row is still there: it must not be taken for a delete by the obsoletion
            self.store.cs_mark_seen(self.name, [existing[a].id for a in issue_anchors if a in existing], self.marker)
        if self._unanchored is None:
            # provisioned objects waiting for their anchor are made by sync, never during an import: asked once
            self._unanchored = self.store.cs_has_unanchored(self.name)
        missing = [r.identifier for r in page.records if r.anchor not in existing and not r.delete]
        waiting = self.store.cs_by_identifier(self.name, missing) if missing and self._unanchored else {}
        seen_here: set[str] = set()
        saves: list[CSObject] = []
        fresh: list[CSObject] = []
        typed = self._copied if page.storage_form else self._typed
        for record in page.records:
            if record.anchor in seen_here:
                self.errors.add(
                    f"duplicate anchor {record.anchor!r} in this import; the first occurrence was kept",
                    identifier=record.identifier,
                    code="duplicate-anchor",
                )
                continue
            seen_here.add(record.anchor)
            cs = existing.get(record.anchor)
            if cs is None and waiting and not record.delete:
                cs = self._adopt(record, waiting)
            if record.delete:
                if cs is not None and self._stage_delete(cs):
                    saves.append(cs)
                    counters.deletes += 1
                continue
            object_schema = self.schema.object_type(record.object_type)
            try:
                attributes = typed(object_schema, record.attributes)
            except AttributeValueError as exc:
                if cs is not None:
                    cs.last_seen = self.marker
                    saves.append(cs)
                self.errors.add(
                    str(exc).split(": ", 1)[-1],
                    identifier=record.identifier,
                    attribute=str(exc).split(":", 1)[0],
                    code="bad-value",
                    cs=cs,
                )
                continue
            if cs is None:
                if record.partial:
                    attributes = _settled(object_schema, attributes)
                fresh.append(
                    CSObject(
                        id=0,
                        connector=self.name,
                        object_type=record.object_type,
                        identifier=record.identifier,
                        anchor=record.anchor,
                        hologram=attributes,
                        pending_import=PendingImport(ImportOp.ADD, sorted(attributes)),
                        last_seen=self.marker,
                    )
                )
                continue
            if cs.last_seen == self.marker and self.step.kind is StepKind.FULL_IMPORT:
                self.errors.add(
                    f"duplicate anchor {record.anchor!r} in this import; the first occurrence was kept",
                    identifier=record.identifier,
                    code="duplicate-anchor",
                )
                continue
            self._update(cs, record, object_schema, attributes)
            saves.append(cs)
        self.store.cs_save(saves)
        # new objects go in as one batch; one the store refuses (its anchor taken meanwhile) is that object's error
        refused = self.store.cs_insert_many(fresh) if fresh else []
        counters.adds += len(fresh) - len(refused)
        for obj, reason in refused:
            self.errors.add(reason, identifier=obj.identifier, code="anchor-taken")

    def _copied(self, schema: ObjectTypeSchema, attributes: dict[str, Any]) -> dict[str, Any]:
        """The attributes of a record already in storage form: a copy, without the secret ones."""
        if attributes.keys() <= self._plain_names:
            return dict(attributes)
        out = {}
        for name, value in attributes.items():
            if name in self.secrets:
                continue
            self._plain_names.add(name)
            out[name] = value
        return out

    def _typed(self, schema: ObjectTypeSchema, attributes: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        specs = schema.attributes
        for name, value in attributes.items():
            if name in self.secrets:
                continue
            spec = specs.get(name)
            if isinstance(value, ValueDelta):
                out[name] = (
                    value
                    if spec is None
                    else ValueDelta(
                        tuple(as_list(coerce(spec, list(value.add)))), tuple(as_list(coerce(spec, list(value.remove))))
                    )
                )
                continue
            if spec is None:
                if value is None or value == "" or value == []:
                    if value is None:
                        out[name] = None
                    continue
                out[name] = value
                continue
            out[name] = value if in_storage_form(spec, value) else coerce(spec, value)
        return out

    def _adopt(self, record: ImportRecord, waiting: dict[str, list[CSObject]]) -> CSObject | None:
        """A provisioned object seen for the first time: it was created with its identifier and has no anchor yet."""
        for cs in waiting.get(identifier_key(record.identifier), []):
            if cs.anchor is None and cs.object_type == record.object_type:
                if not self.caps.case_insensitive_identifiers and cs.identifier != record.identifier:
                    continue
                cs.anchor = record.anchor
                if (
                    cs.pending_export is not None
                    and cs.pending_export.op is ExportOp.ADD
                    and not cs.pending_export.in_flight
                ):
                    # it exists already (created by a previous run that stopped before recording it): update it
                    cs.pending_export = PendingExport(
                        ExportOp.UPDATE, cs.pending_export.changes, None, cs.pending_export.rule
                    )
                return cs
        return None

    def _stage_delete(self, cs: CSObject) -> bool:
        cs.last_seen = self.marker
        if cs.pending_import is not None and cs.pending_import.op is ImportOp.DELETE:
            return False
        delete = PendingImport(ImportOp.DELETE, [], None)
        cs.pending_import = cs.pending_import.merge(delete) if cs.pending_import else delete
        return True

    def _update(self, cs: CSObject, record: ImportRecord, schema: ObjectTypeSchema, attributes: dict[str, Any]) -> None:
        counters = self.step.counters
        old = cs.hologram
        if record.partial:
            new = dict(old)
            for name, value in attributes.items():
                if isinstance(value, ValueDelta):
                    value = apply_delta(schema.spec(name), new.get(name), value)
                if value is None:
                    new.pop(name, None)
                else:
                    new[name] = value
        else:
            new = {k: v for k, v in attributes.items() if v is not None}
        expected = expected_state(cs)
        drift = changed_attributes(schema, expected, new)
        moved = changed_attributes(schema, old, new)
        confirmed = self._confirm(cs, schema, new)
        renamed = self._identifier_changed(cs, record.identifier)
        cs.last_seen = self.marker
        cs.hologram = new
        if renamed:
            staged = PendingImport(ImportOp.RENAME, moved, cs.identifier)
            cs.identifier = record.identifier
        elif moved:
            staged = PendingImport(ImportOp.UPDATE, moved)
        else:
            if cs.pending_import is not None and cs.pending_import.op is ImportOp.DELETE:
                # deleted, then seen again before a sync: it is back
                cs.pending_import = cs.pending_import.merge(PendingImport(ImportOp.UPDATE, []))
            counters.unchanged += 1
            return
        cs.pending_import = cs.pending_import.merge(staged) if cs.pending_import else staged
        if renamed:
            counters.renames += 1
        elif drift:
            counters.updates += 1
        elif confirmed:
            counters.confirmed += 1
        else:
            counters.unchanged += 1

    def _identifier_changed(self, cs: CSObject, identifier: str) -> bool:
        if self.caps.case_insensitive_identifiers:
            return cs.identifier.casefold() != identifier.casefold() or cs.identifier != identifier
        return cs.identifier != identifier

    def _confirm(self, cs: CSObject, schema: ObjectTypeSchema, imported: dict[str, Any]) -> bool:
        """Export confirmation. Returns True when at least one exported value was confirmed."""
        if not cs.unconfirmed:
            return False
        confirmed = False
        retry: dict[str, tuple[Any, str]] = {}
        tries = 0
        for attr, memo in list(cs.unconfirmed.items()):
            spec = schema.spec(attr)
            wanted = memo.get("value")
            if values_equal(spec, imported.get(attr), wanted) and not recased(spec, imported.get(attr), wanted):
                confirmed = True
                del cs.unconfirmed[attr]
                continue
            if memo.get("stuck"):
                continue  # reported once already; kept so the same value is not exported again and again
            memo_tries = int(memo.get("tries", 1))
            if memo_tries >= self.confirmation_tries:
                # keep the memo, marked: the expected state keeps the wanted value, so no sync re-exports it until
                # the wanted value itself changes
                cs.unconfirmed[attr] = {**memo, "stuck": True}
                self.errors.add(
                    f"export not confirmed: the target keeps {imported.get(attr)!r} instead of {wanted!r} after "
                    f"{memo_tries} exports; stopped re-exporting (a target that normalizes values needs the flow to "
                    "produce its form)",
                    cs=cs,
                    attribute=attr,
                    code="export-not-confirmed",
                )
                continue
            del cs.unconfirmed[attr]
            retry[attr] = (wanted, memo.get("rule") or "")
            tries = max(tries, memo_tries)
        if retry:
            changes = attribute_changes(schema, retry, imported)
            pending = cs.pending_export
            if pending is None or pending.op is ExportOp.UPDATE:
                kept = [c for c in (pending.changes if pending else []) if c.name not in retry]
                cs.pending_export = PendingExport(
                    ExportOp.UPDATE,
                    kept + changes,
                    pending.new_identifier if pending else None,
                    pending.rule if pending else None,
                    tries,
                )
        return confirmed

    # obsoletion ---------------------------------------------------------------------------------------------
    def _obsolete(self) -> None:
        """After a complete snapshot: objects it did not contain are gone from the system."""
        after = 0
        while True:
            page = self.store.cs_unseen(self.name, self.marker, after, 1000)
            if not page:
                return
            staged = [cs for cs in page if self._stage_delete(cs)]
            self.store.cs_save(staged)
            self.step.counters.deletes += len(staged)
            after = page[-1].id


def _settled(schema: ObjectTypeSchema, attributes: dict[str, Any]) -> dict[str, Any]:
    """The attributes of an object first seen in a partial record: value changes applied to nothing."""
    out = dict(attributes)
    for name, value in attributes.items():
        if isinstance(value, ValueDelta):
            out[name] = apply_delta(schema.spec(name), None, value)
    return out


def apply_delta(spec: AttributeSpec, current: Any, delta: ValueDelta) -> Any:
    """A multi-valued attribute after values were added and removed; replays are harmless."""
    values = list(as_list(current))
    keys = {normalize(spec, v) for v in values}
    for v in delta.add:
        if normalize(spec, v) not in keys:
            values.append(v)
            keys.add(normalize(spec, v))
    gone = {normalize(spec, v) for v in delta.remove}
    values = [v for v in values if normalize(spec, v) not in gone]
    return values or None
