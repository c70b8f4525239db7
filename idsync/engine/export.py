"""The export step: pending exports go to the connected system in batches, each recorded in flight first.

Order matters for references: a value that points at an object whose add has not been sent yet is held back and
sent in a second pass, after the adds of the first pass returned their anchors; deletes go last, after the updates
that stop naming the deleted objects (a report's manager, a group's member). Staging mode computes and reports
everything and sends nothing. The deletion threshold is checked before the first byte goes out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from idsync.config import Safety
from idsync.connectors.base import Connector, ExportItem, ExportResult
from idsync.engine.errors import ErrorLog, ObjectError
from idsync.engine.outside_values import step_warning
from idsync.engine.reconciliation import keeps_anchor, record_success, set_in_flight
from idsync.engine.references import PLACEHOLDER, identifier_pending
from idsync.engine.rules import RuleSet
from idsync.engine.secrets import SecretFlows, is_withheld, secret_attributes
from idsync.engine.thresholds import approval_used, check_deletion_threshold
from idsync.model import (
    AttributeChange,
    AttributeSpec,
    CSObject,
    ExportOp,
    PendingExport,
    Schema,
    StepResult,
    ValueOp,
)
from idsync.store import CSFilter, Store
from idsync.store.rows import identifier_key

Progress = Callable[[int], None]
MAX_PASSES = 8
"""Reference chains deeper than this (a group in a group in a group ... all new) finish at the next run."""


@dataclass
class _Prepared:
    cs: CSObject
    item: ExportItem
    deferred: list[AttributeChange] = field(default_factory=list)


class Exporter:
    def __init__(
        self,
        store: Store,
        connector: Connector,
        name: str,
        rules: RuleSet,
        step: StepResult,
        errors: ErrorLog,
        safety: Safety,
        *,
        staging: bool = False,
        batch_size: int | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.store = store
        self.connector = connector
        self.name = name
        self.rules = rules
        self.step = step
        self.errors = errors
        self.safety = safety
        self.staging = staging
        self.caps = connector.capabilities
        self.batch_size = batch_size or self.caps.export_batch_size
        self.progress = progress
        self.secrets = secret_attributes(self.caps)
        """Initial passwords are sent, never recorded: the audit row shows that a value went, not the value."""
        self._keeps_old = not self.caps.renames_update_references
        """The target keeps a renamed object's old identifier in the values naming it until an export changes them."""
        self._secret_flows: SecretFlows | None = None
        self.reference_attributes: dict[str, set[str]] = {}
        self._schema: Schema | None = None
        self._failed: set[int] = set()
        """Objects whose send failed in this step: a later pass does not send them again (one error row each)."""
        self.warnings: dict[int, list[str]] = {}
        """Object -> the warnings of the pending export sent (or, staging, kept) for it: the step's message."""
        self._deletes: set[int] = set()
        """Deletes held back to the end of the step: a directory that checks references (Active Directory) may
        refuse a change naming an entry it deleted already, so the updates that stop naming it are sent first."""
        for rule in rules.outbound:
            if rule.connector == name:
                self.reference_attributes.setdefault(rule.object_type, set()).update(rule.reference_targets)

    def run(self, only: set[int] | None = None) -> str | None:
        """Send the connector's pending exports, or those of ``only`` (provisioning on demand, which sends no
        deprovisioning: those wait for the connector's own export and its deletion threshold)."""
        check = check_deletion_threshold(self.store, self.name, self.safety) if only is None else None
        if self.staging:
            return self._stage_only()
        held = self._pass(only)
        for _ in range(MAX_PASSES):
            if not held:
                break
            again = self._pass(held)
            if again >= held:
                # no progress (the objects they wait for failed or wait themselves): send what can be sent, and
                # let the target say what is missing
                self._pass(again, force=True)
                break
            held = again
        if self._deletes:
            self._pass(self._deletes, deletes=True)
        if check is not None and check.approved:
            approval_used(self.store, self.name)
        remaining = self.store.cs_count(CSFilter(connector=self.name, pending_export=True))
        self.step.counters.exported_pending = remaining
        return step_warning(self.warnings, f"idsync audit --run {self.step.run_id} --connector {self.name}")

    def _stage_only(self) -> str:
        counters = self.step.counters
        after = 0
        total = 0
        while True:
            page = self.store.cs_page(CSFilter(connector=self.name, pending_export=True), after, 1000)
            if not page:
                break
            for cs in page:
                self._count(cs.pending_export)
                if cs.pending_export is not None and cs.pending_export.warnings:
                    self.warnings[cs.id] = cs.pending_export.warnings
                total += 1
            after = page[-1].id
        counters.exported_pending = total
        staged = (
            f"staging mode: {total} pending exports computed and kept, nothing sent "
            f"(see them with `idsync search cs --connector {self.name} --pending-export`)"
        )
        warning = step_warning(self.warnings, f"idsync search cs --connector {self.name} --pending-export")
        return f"{staged}; {warning}" if warning else staged

    def _count(self, pending: PendingExport | None) -> None:
        counters = self.step.counters
        if pending is None:
            return
        if pending.op is ExportOp.ADD:
            counters.adds += 1
        elif pending.op is ExportOp.DELETE:
            counters.deletes += 1
        else:
            if pending.new_identifier is not None:
                counters.renames += 1
            if pending.changes:
                counters.updates += 1

    # passes ----------------------------------------------------------------------------------------------------
    def _pass(self, only: set[int] | None, *, force: bool = False, deletes: bool = False) -> set[int]:
        """Send every pending export once (or those of ``only``). Returns the objects with values held back.
        Deletes wait in ``_deletes`` for the last pass (``deletes``).

        An add whose held-back values include an attribute the target requires (a groupOfNames needs a member)
        is held back whole, since the target would refuse it; ``force`` sends it anyway."""
        held: set[int] = set()
        after = 0
        todo = sorted(only) if only is not None else []
        while True:
            if only is None:
                page = self.store.cs_page(CSFilter(connector=self.name, pending_export=True), after, self.batch_size)
            else:
                chunk, todo = todo[: self.batch_size], todo[self.batch_size :]
                page = list(self.store.cs_get_many(chunk).values())
                if not chunk:
                    break
            if not page:
                if only is None:
                    break
                continue
            after = page[-1].id
            prepared = [p for p in (self._prepare(cs) for cs in page) if p is not None]
            if not deletes:
                self._deletes.update(p.cs.id for p in prepared if p.item.op is ExportOp.DELETE)
                prepared = [p for p in prepared if p.item.op is not ExportOp.DELETE]
            waiting = set() if force else {p.cs.id for p in prepared if self._needs_deferred(p)}
            sendable = [p for p in prepared if not _empty(p.item) and p.cs.id not in waiting]
            held.update(p.cs.id for p in prepared if p.deferred)
            if sendable:
                self._send(sendable)
            if self.progress:
                self.progress(0 if deletes else len(page))  # the first pass counted the deletes it held back
            self.errors.check_limit()
        return held

    def _prepare(self, cs: CSObject) -> _Prepared | None:
        pending = cs.pending_export
        if pending is None or pending.in_flight or cs.id in self._failed:
            return None
        refs = self.reference_attributes.get(cs.object_type, set())
        changes: list[AttributeChange] = []
        deferred: list[AttributeChange] = []
        for change in pending.changes:
            if is_withheld(change):
                try:
                    change = self._secret(cs, change)
                except ObjectError as exc:
                    self._failed.add(cs.id)
                    self.errors.from_exception(exc, cs=cs)
                    return None
            if change.name not in refs or not change.values:
                changes.append(change)
                continue
            ready, waiting = self._resolve(change.values, removing=change.op is ValueOp.REMOVE)
            if ready:
                changes.append(AttributeChange(change.name, change.op, ready, change.rule))
            if waiting:
                deferred.append(AttributeChange(change.name, change.op, waiting, change.rule))
        item = ExportItem(
            cs_id=cs.id,
            object_type=cs.object_type,
            op=pending.op,
            identifier=cs.identifier,
            anchor=cs.anchor,
            changes=changes,
            new_identifier=pending.new_identifier,
            hologram=cs.hologram,
        )
        return _Prepared(cs, item, deferred)

    def _target_schema(self) -> Schema:
        if self._schema is None:
            self._schema = self.connector.schema()
        return self._schema

    def _needs_deferred(self, prepared: _Prepared) -> bool:
        """An add that cannot be created without the values it waits for."""
        if prepared.item.op is not ExportOp.ADD or not prepared.deferred:
            return False
        attributes = self._target_schema().object_type(prepared.item.object_type).attributes
        return any((spec := attributes.get(c.name)) is not None and spec.required for c in prepared.deferred)

    def _secret(self, cs: CSObject, change: AttributeChange) -> AttributeChange:
        """A change whose secret value the pending export only marks, with the value its flow gives now."""
        if self._secret_flows is None:
            self._secret_flows = SecretFlows(self.store, self.rules, self.name)
        spec: AttributeSpec | None = self._target_schema().object_type(cs.object_type).attributes.get(change.name)
        return self._secret_flows.resolve(cs, change, spec)

    def _resolve(self, values: list[Any], *, removing: bool = False) -> tuple[list[Any], list[Any]]:
        """Reference values ready to send, and those naming an object whose add has not been sent yet. A value
        ``removing`` that names an object whose rename has not been sent waits too, where the target keeps a renamed
        entry's old identifier in the values naming it (a directory without referential integrity): its new
        identifier can only be added after the rename, and the old one goes in the same later pass, so the object
        is never missing from the value in between (a member from its group)."""
        ready: list[Any] = []
        waiting: list[Any] = []
        placeholders = [int(str(v)[len(PLACEHOLDER) :]) for v in values if str(v).startswith(PLACEHOLDER)]
        targets = self.store.cs_get_many(placeholders) if placeholders else {}
        by_identifier: dict[str, list[CSObject]] = {}
        if self.caps.references_by == "identifier":
            plain = [str(v) for v in values if not str(v).startswith(PLACEHOLDER)]
            by_identifier = self.store.cs_by_identifier(self.name, plain) if plain else {}
        for value in values:
            text = str(value)
            if text.startswith(PLACEHOLDER):
                target = targets.get(int(text[len(PLACEHOLDER) :]))
                if target is None:
                    continue  # the referenced object is gone: drop the value
                if target.anchor is not None and self.caps.references_by == "anchor":
                    ready.append(target.anchor)
                elif self.caps.references_by == "identifier" and not identifier_pending(target):
                    ready.append(target.identifier)
                else:
                    waiting.append(value)
                continue
            if self.caps.references_by == "identifier":
                found = by_identifier.get(identifier_key(text), [])
                renamed_later = removing and self._keeps_old and any(map(_renaming, found))
                if renamed_later or any(t.add_unconfirmed for t in found):
                    waiting.append(value)
                    continue
            ready.append(value)
        return ready, waiting

    def _send(self, batch: list[_Prepared]) -> None:
        with self.store.transaction():
            for p in batch:
                assert p.cs.pending_export is not None
                p.cs.pending_export.in_flight = True
            self.store.cs_save([p.cs for p in batch])
            set_in_flight(self.store, self.name, [p.cs.id for p in batch])
        results: dict[int, ExportResult] = {}
        for result in self.connector.export([p.item for p in batch]):
            results[result.cs_id] = result
        audit: list[dict[str, Any]] = []
        now = time.time()
        with self.store.transaction():
            answered = {
                p.cs.id: results.get(p.cs.id)
                or ExportResult(
                    p.cs.id, False, error="the connector returned no result for this object", code="no-result"
                )
                for p in batch
            }
            holders = self._anchor_holders(batch, answered)
            for p in batch:
                audit.append(self._record(p, answered[p.cs.id], now, holders))
            set_in_flight(self.store, self.name, [])
            self.store.audit_add(audit)
            self.store.add_errors(self.errors.drain())

    def _record(self, p: _Prepared, result: ExportResult, now: float, holders: dict[str, CSObject]) -> dict[str, Any]:
        cs = p.cs
        pending = cs.pending_export
        assert pending is not None
        row: dict[str, Any] = {
            "at": now,
            "run_id": self.step.run_id,
            "step_id": self.step.id,
            "connector": self.name,
            "cs_id": cs.id,
            "identifier": cs.identifier,
            "op": pending.op.value if pending.new_identifier is None else f"{pending.op.value}+rename",
            "rule": pending.rule,
            "changes": self.secrets.changes(
                [c.to_json() for c in p.item.changes]
                + (
                    [["__identifier__", "replace", [pending.new_identifier], pending.rule]]
                    if pending.new_identifier
                    else []
                )
            ),
            "result": "success" if result.ok else f"error: {result.error}",
            # what the export removed that idsync does not know (outside_values): said where the export is audited
            "warnings": list(pending.warnings) if result.ok else [],
        }
        if not result.ok:
            self._refused(cs, result.error or "export failed", result.code or "export-error", result)
            return row
        if pending.op is ExportOp.ADD:
            anchor = self._new_anchor(cs, result)
            holder = self._anchor_holder(cs, anchor, holders) if anchor is not None else None
            if holder is not None:
                row["result"] = "error: anchor held by another object"
                row["warnings"] = []
                self._refused(
                    cs,
                    f"export: {self.name} answered the add with the anchor {anchor!r}, which cs #{holder.id} "
                    f"({holder.identifier!r}, {_link_text(holder)}) already stands for: the target did not create a "
                    "new object; the add is sent again at the next export, until one of the two is deleted or "
                    "disconnected",
                    "anchor-taken",
                    None,
                )
                return row
            cs.anchor = anchor
        self._count(pending)
        if pending.warnings:
            self.warnings[cs.id] = pending.warnings
        cs.error = None
        if pending.op is ExportOp.DELETE:
            self.store.cs_delete([cs.id])
            return row
        if pending.new_identifier is not None:
            cs.identifier = pending.new_identifier
        if result.identifier:
            cs.identifier = result.identifier
        record_success(cs, sent=p.item.changes, secrets=self.secrets)
        if p.deferred:
            cs.pending_export = PendingExport(ExportOp.UPDATE, p.deferred, None, pending.rule, pending.tries)
        else:
            cs.pending_export = None
        self.store.cs_save([cs])
        return row

    def _refused(self, cs: CSObject, error: str, code: str, result: ExportResult | None) -> None:
        """The export of ``cs`` did not take: it stays pending (not in flight) with its error, sent again next run."""
        pending = cs.pending_export
        assert pending is not None
        self._failed.add(cs.id)
        pending.in_flight = False
        pending.tries += 1
        cs.error = error
        self.errors.add(
            error,
            cs=cs,
            attribute=result.attribute if result else None,
            code=code,
            detail="retryable" if result and result.retryable else None,
        )
        self.store.cs_save([cs])

    def _new_anchor(self, cs: CSObject, result: ExportResult) -> str | None:
        return result.anchor or (cs.identifier if self.caps.identifier_is_anchor else cs.anchor)

    def _anchor_holders(self, batch: list[_Prepared], answered: dict[int, ExportResult]) -> dict[str, CSObject]:
        """The objects that already hold the anchors the target gave the batch's new objects, in one lookup."""
        anchors = [
            anchor
            for p in batch
            if p.item.op is ExportOp.ADD
            and answered[p.cs.id].ok
            and (anchor := self._new_anchor(p.cs, answered[p.cs.id])) is not None
        ]
        return self.store.cs_by_anchor(self.name, anchors) if anchors else {}

    def _anchor_holder(self, cs: CSObject, anchor: str, holders: dict[str, CSObject]) -> CSObject | None:
        """The object that keeps the anchor a target gave the new object ``cs``, if another one does (``holders``:
        who held the batch's anchors, kept current as the batch is recorded). Another object of the connector
        holding it means the target answered with an object it had (an upsert): whether that object keeps it is
        decided as in reconciliation after a crash (``keeps_anchor``)."""
        holder = holders.get(anchor)
        if holder is not None and holder.id != cs.id:
            if keeps_anchor(holder):
                return holder
            self.store.cs_delete([holder.id])
        holders[anchor] = cs
        return None


def _link_text(cs: CSObject) -> str:
    return f"joined to MV #{cs.mv_id}" if cs.mv_id is not None else cs.link_state.value


def _empty(item: ExportItem) -> bool:
    return item.op is ExportOp.UPDATE and not item.changes and item.new_identifier is None


def _renaming(cs: CSObject) -> bool:
    return cs.pending_export is not None and cs.pending_export.new_identifier is not None
