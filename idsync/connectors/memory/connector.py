"""The in-memory connector: the Connector protocol over a :class:`MemoryDirectory`, for tests of the engine.

It behaves as a directory with a change log: full import pages through every object, delta import reads the
log after a sequence-number watermark (each changed object once, its current state or a delete), and export
applies adds (assigning a uuid4 anchor), updates, renames and deletes one object at a time, so a crash hook
firing mid-batch leaves what a real target would: the objects before it written, the rest not.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from idsync.connectors.base import (
    Capabilities,
    ConnectivityError,
    ExportItem,
    ExportResult,
    ImportPage,
    ImportRecord,
    WatermarkExpired,
)
from idsync.connectors.memory.config import MemoryConfig
from idsync.connectors.memory.directory import (
    ALREADY_EXISTS,
    INVALID_VALUE,
    NO_SUCH_OBJECT,
    ExportRefused,
    MemoryDirectory,
    MemoryObject,
)
from idsync.connectors.values import apply_change, change_value
from idsync.model import (
    AttributeValueError,
    ExportOp,
    ObjectTypeSchema,
    Schema,
    ValueOp,
    as_list,
    coerce,
    values_equal,
)


class MemoryConnector:
    def __init__(self, name: str, config: MemoryConfig, directories: Mapping[str, MemoryDirectory]) -> None:
        self.name = name
        self.config = config
        self._directories = directories
        found = directories.get(config.directory)
        self.capabilities = Capabilities(
            delta_import=True,
            export=True,
            rename=True,
            references_by=config.references_by,
            identifier_is_anchor=config.anchor_from_identifier,
            case_insensitive_identifiers=bool(found and found.case_insensitive_identifiers),
            export_batch_size=config.export_batch_size or 100,
            secret_attributes=frozenset(config.secret_attributes),
        )

    def _directory(self) -> MemoryDirectory:
        directory = self._directories.get(self.config.directory)
        if directory is None:
            raise ConnectivityError(f"{self.name}: there is no memory directory named {self.config.directory!r}")
        if not directory.available:
            raise ConnectivityError(f"{self.name}: the memory directory {self.config.directory!r} is not available")
        return directory

    def schema(self) -> Schema:
        directory = self._directory()
        types = dict(directory.schema.object_types)
        for obj in directory.objects():
            types.setdefault(obj.object_type, ObjectTypeSchema(obj.object_type))
        return Schema(types)

    def test_connection(self) -> None:
        self._directory()

    def full_import(self) -> Iterator[ImportPage]:
        directory = self._directory()
        watermark = str(directory.sequence)  # taken first: a change made while paging comes again in the delta
        anchors = [obj.anchor for obj in directory.objects()]
        size = self.config.page_size
        for start in range(0, len(anchors), size):
            records = [self._record(o) for a in anchors[start : start + size] if (o := directory.get(a)) is not None]
            last = start + size >= len(anchors)
            yield ImportPage(records, watermark if last else None)
        if not anchors:
            yield ImportPage(watermark=watermark)

    def delta_import(self, watermark: str | None) -> Iterator[ImportPage]:
        directory = self._directory()
        if watermark is None or not watermark.isdecimal() or not directory.watermark_valid(int(watermark)):
            raise WatermarkExpired(f"{self.name}: the watermark {watermark!r} is not in the change log")
        changes = directory.changes_since(int(watermark))
        new_watermark = str(directory.sequence)
        size = self.config.page_size
        for start in range(0, len(changes), size):
            records = []
            for anchor, identifier, object_type in changes[start : start + size]:
                obj = directory.get(anchor)
                if obj is None:
                    records.append(ImportRecord(anchor, identifier, object_type, delete=True))
                else:
                    records.append(self._record(obj))
            yield ImportPage(records, new_watermark if start + size >= len(changes) else None)

    def lookup(self, object_type: str, identifier: str, keys: dict[str, Any]) -> ImportRecord | None:
        directory = self._directory()
        found = directory.find(identifier)
        if found is not None and found.object_type == object_type:
            return self._record(found)
        schema = directory.schema.object_type(object_type)
        for name, value in keys.items():
            if value is None or name not in self.config.unique_attributes:
                continue
            spec = schema.spec(name)
            hits = [
                o
                for o in directory.objects(object_type)
                if values_equal(spec, o.attributes.get(name), coerce(spec, value))
            ]
            if len(hits) == 1:
                return self._record(hits[0])
        return None

    def export(self, items: Sequence[ExportItem]) -> list[ExportResult]:
        directory = self._directory()
        results = []
        for item in items:
            try:
                directory.check_export(item.op.value, item.identifier)
                results.append(self._export_one(directory, item))
            except ExportRefused as refusal:
                results.append(
                    ExportResult(
                        item.cs_id,
                        False,
                        error=str(refusal),
                        code=refusal.code,
                        retryable=refusal.retryable,
                        attribute=refusal.attribute,
                    )
                )
        return results

    def close(self) -> None:
        pass

    def _export_one(self, directory: MemoryDirectory, item: ExportItem) -> ExportResult:
        obj = directory.get(item.anchor) if item.anchor else directory.find(item.identifier)
        if item.op is ExportOp.DELETE:
            if obj is not None:
                directory.delete(obj.anchor)
                directory.exported.append(("delete", obj.identifier))
            return ExportResult(item.cs_id, True, anchor=item.anchor)
        if item.op is ExportOp.ADD:
            if directory.find(item.identifier) is not None:
                raise ExportRefused(f"{item.identifier}: an object with this identifier already exists", ALREADY_EXISTS)
            values = self._changed_values(directory, item, {})
            anchor = item.identifier if self.config.anchor_from_identifier else str(uuid.uuid4())
            directory.add(item.object_type, item.identifier, values, anchor=anchor)
            directory.exported.append(("add", item.identifier))
            return ExportResult(item.cs_id, True, anchor=anchor)
        if obj is None:
            raise ExportRefused(f"{item.identifier}: no such object", NO_SUCH_OBJECT)
        values = self._changed_values(directory, item, obj.attributes)
        if item.new_identifier is not None and item.new_identifier != obj.identifier:
            directory.rename(obj.anchor, item.new_identifier)
        if values:
            directory.replace(obj.anchor, values)
        directory.exported.append(("update", obj.identifier))
        renamed = obj.identifier if obj.identifier != item.identifier else None
        return ExportResult(item.cs_id, True, anchor=obj.anchor, identifier=renamed)

    def _changed_values(self, directory: MemoryDirectory, item: ExportItem, current: dict[str, Any]) -> dict[str, Any]:
        """The new value of every attribute the item changes, checked before anything is written."""
        schema = directory.schema.object_type(item.object_type)
        out: dict[str, Any] = {}
        for change in item.changes:
            spec = schema.spec(change.name)
            try:
                value = change_value(spec, change.op, change.values)
            except AttributeValueError as exc:
                raise ExportRefused(f"{item.identifier}: {exc}", INVALID_VALUE, attribute=change.name) from None
            if change.op is not ValueOp.REMOVE:
                directory.check_values(item.identifier, change.name, as_list(value))
            before = out[change.name] if change.name in out else current.get(change.name)
            out[change.name] = apply_change(spec, before, change.op, value)
        return out

    def _record(self, obj: MemoryObject) -> ImportRecord:
        attributes = {k: list(v) if isinstance(v, list) else v for k, v in obj.attributes.items()}
        return ImportRecord(obj.anchor, obj.identifier, obj.object_type, attributes)
