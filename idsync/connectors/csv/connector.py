"""The CSV connector: one file, one object type, one row per object; a source (an HR extract) and a target.

- Full import streams the file in pages of ``page_size`` rows and never holds it whole. A malformed row (wrong
  number of fields, a value that does not fit its column's type, an empty anchor) or the second occurrence of an
  anchor becomes an :class:`ImportIssue` naming the row, the column and the reason, and the import goes on.
- The watermark is the file's sha256 and size (and a fingerprint of the settings that change how it reads).
  Delta import yields nothing when the file is unchanged; otherwise it re-reads the whole file, like a full
  import, and the engine diffs that snapshot against the connector space to find the changes and the deletions
  (``Capabilities.delta_is_snapshot``): a file has no change log to read.
- Export writes through a journal and rewrites the file once per export step, at ``close()``; see
  :mod:`idsync.connectors.csv.journal` for why and for what a crash leaves behind.
"""

from __future__ import annotations

import glob
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from idsync.connectors.base import (
    Capabilities,
    ConnectivityError,
    ConnectorError,
    ExportItem,
    ExportResult,
    ImportIssue,
    ImportPage,
    ImportRecord,
)
from idsync.connectors.csv.cells import format_cell, format_one, parse_cell
from idsync.connectors.csv.config import CsvConfig
from idsync.connectors.csv.journal import Journal, JournalOp, apply, journal_path
from idsync.connectors.csv.rows import EMPTY_SHA256, Fingerprint, RowReader, empty_fingerprint, hash_file
from idsync.connectors.values import apply_change, change_value
from idsync.model import (
    AttributeSpec,
    AttributeType,
    AttributeValueError,
    ExportOp,
    Schema,
    ValueOp,
    coerce,
    values_equal,
)

DEFAULT_EXPORT_BATCH = 1000
"""A batch costs one journal transaction whatever its size, so CSV batches are larger than the default."""


@dataclass(slots=True)
class _Layout:
    """Where things are in a file's header."""

    header: list[str]
    anchor: int
    identifier: int
    columns: list[tuple[int, AttributeSpec]]
    """The imported columns."""
    index: dict[str, int]
    object_type: int | None = None
    """The object type column, when the file holds several types."""


class _Refused(Exception):
    """One export item the file cannot take; becomes that item's error result."""

    def __init__(self, message: str, code: str, attribute: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.attribute = attribute


class CsvConnector:
    def __init__(self, name: str, config: CsvConfig, workspace: str) -> None:
        self.name = name
        self.config = config
        self.path = config.resolve_path(workspace)
        # no renames (a row's key is its anchor); references hold the referenced row's anchor
        self.capabilities = Capabilities(
            delta_import=True,
            delta_is_snapshot=True,
            export=True,
            identifier_is_anchor=config.identifier_column == config.anchor,
            export_batch_size=config.export_batch_size or DEFAULT_EXPORT_BATCH,
        )
        self._fingerprint = config.fingerprint()
        self._session: _ExportSession | None = None

    # -- discovery and connectivity -------------------------------------------------------------------------

    def schema(self) -> Schema:
        header = None
        if self.path.is_file():
            with self._reader() as reader:
                header = reader.header
        types = {name: self.config.object_schema(name, header) for name in self.config.types}
        types.update({g.object_type: g.object_schema() for g in self.config.groups})
        return Schema(types)

    def test_connection(self) -> None:
        folder = self.path.parent
        if not folder.is_dir():
            raise ConnectivityError(f"{self.name}: the folder {folder} does not exist")
        if self.path.exists():
            try:
                with self._reader() as reader:
                    if reader.header is not None:
                        self._layout(reader.header)
            except ConnectorError as exc:
                raise ConnectivityError(str(exc)) from None
            return
        if not self.config.missing_ok:
            raise ConnectivityError(
                f"{self.name}: {self.path} does not exist (set missing_ok: true for a file idsync creates)"
            )
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ConnectivityError(f"{self.name}: {self.path} does not exist and {folder} is not writable")

    # -- import ---------------------------------------------------------------------------------------------

    def full_import(self) -> Iterator[ImportPage]:
        self._settle()
        yield from self._read_all()

    def delta_import(self, watermark: str | None) -> Iterator[ImportPage]:
        """Nothing when the file is byte-for-byte what ``watermark`` describes (one hashing pass, skipped when
        the size differs). Otherwise every row, exactly as a full import reads them: a file keeps no record of
        what changed, so the engine diffs this snapshot against the connector space, and the objects it does
        not see are the deletions (``Capabilities.delta_is_snapshot``)."""
        self._settle()
        previous = Fingerprint.parse(watermark)
        if previous is not None and previous.config == self._fingerprint:
            if self.path.exists():
                if self.path.stat().st_size == previous.size and hash_file(self.path, self._fingerprint) == previous:
                    return
            elif self.config.missing_ok and previous.sha256 == EMPTY_SHA256:
                return
        yield from self._read_all()

    def lookup(self, object_type: str, identifier: str, keys: dict[str, Any]) -> ImportRecord | None:
        if object_type not in self.config.types:
            return None
        self._settle()
        if not self.path.exists():
            return None
        with self._reader() as reader:
            if reader.header is None:
                return None
            layout = self._layout(reader.header)
            wanted = [(layout.index[k], self.config.spec(k), v) for k, v in keys.items() if k in layout.index]
            for line, fields in reader.rows():
                if len(fields) != len(layout.header):
                    continue
                if fields[layout.identifier] == identifier or any(
                    self._cell_equals(spec, fields[i], value) for i, spec, value in wanted
                ):
                    record, _issues = self._parse_row(layout, line, fields)
                    if record is not None and record.object_type == object_type:
                        return record
        return None

    def _cell_equals(self, spec: AttributeSpec, text: str, value: Any) -> bool:
        try:
            return value is not None and values_equal(
                spec, parse_cell(spec, text, self.config.multivalue_separator), coerce(spec, value)
            )
        except AttributeValueError:
            return False

    def _read_all(self) -> Iterator[ImportPage]:
        if not self.path.exists():
            if not self.config.missing_ok:
                raise ConnectivityError(f"{self.name}: {self.path} does not exist")
            yield ImportPage(watermark=empty_fingerprint(self._fingerprint).watermark())
            return
        page_size = self.config.page_size
        with self._reader() as reader:
            if reader.header is None:
                if not self.config.missing_ok:
                    raise ConnectorError(f"{self.name}: {self.path} is empty: it has no header row")
                yield ImportPage(watermark=reader.fingerprint(self._fingerprint).watermark())
                return
            layout = self._layout(reader.header)
            tally = _Tally(self, layout)
            seen: dict[str, int] = {}
            page = ImportPage()
            for line, fields in reader.rows():
                record, issues = self._parse_row(layout, line, fields)
                anchor = record.anchor if record is not None else _field(fields, layout.anchor)
                if anchor:
                    first = seen.setdefault(anchor, line)
                    if first != line:
                        record = None
                        issues = [
                            ImportIssue(
                                _field(fields, layout.identifier) or anchor,
                                f"row {line}: the anchor {anchor!r} is already used by row {first}",
                                self.config.anchor,
                                anchor,
                            )
                        ]
                if record is not None:
                    page.records.append(record)
                    tally.count(fields, record.anchor)
                page.issues.extend(issues)
                if len(page.records) + len(page.issues) >= page_size:
                    yield page
                    page = ImportPage()
            page.records.extend(tally.records())
            page.watermark = reader.fingerprint(self._fingerprint).watermark()
            yield page

    def _parse_row(
        self, layout: _Layout, line: int, fields: list[str]
    ) -> tuple[ImportRecord | None, list[ImportIssue]]:
        config = self.config
        width = len(layout.header)
        anchor = _field(fields, layout.anchor)
        identifier = _field(fields, layout.identifier)
        who = identifier or anchor or f"row {line}"
        if len(fields) != width:
            column = layout.header[len(fields)] if len(fields) < width else None
            reason = f"row {line}: {len(fields)} fields where the header has {width}"
            if column is not None:
                reason += f" (no value for {column!r} or the columns after it)"
            return None, [ImportIssue(who, reason, column, anchor or None)]
        if not anchor:
            return None, [ImportIssue(who, f"row {line}: the anchor column {config.anchor!r} is empty", config.anchor)]
        if not identifier:
            reason = f"row {line}: the identifier column {config.identifier_column!r} is empty"
            return None, [ImportIssue(who, reason, config.identifier_column, anchor)]
        object_type = config.object_type
        if layout.object_type is not None:
            object_type = fields[layout.object_type]
            if object_type not in config.object_types:
                reason = (
                    f"row {line}: the object type {object_type!r} (column {config.object_type_column!r}) is not one "
                    f"of {', '.join(config.object_types)}"
                )
                return None, [ImportIssue(who, reason, config.object_type_column, anchor)]
        assert object_type is not None
        attributes: dict[str, Any] = {}
        issues = []
        separator = config.multivalue_separator
        for i, spec in layout.columns:
            text = fields[i]
            if not text:
                continue
            try:
                value = parse_cell(spec, text, separator)
            except AttributeValueError as exc:
                issues.append(ImportIssue(who, f"row {line}: {exc}", spec.name, anchor))
                continue
            if value is not None:
                attributes[spec.name] = value
        if issues:
            return None, issues
        return ImportRecord(anchor, identifier, object_type, attributes), []

    # -- export ---------------------------------------------------------------------------------------------

    def export(self, items: Sequence[ExportItem]) -> list[ExportResult]:
        if self._session is None:
            self._settle()
            self._session = _ExportSession(self)
        return self._session.export(items)

    def close(self) -> None:
        self._settle()

    def _settle(self) -> None:
        """Fold whatever the journal holds into the file: the export step's batches, or a crashed step's."""
        session, self._session = self._session, None
        if session is not None:
            session.finish()
            return
        path = journal_path(self.path)
        if path.exists():  # an export step that crashed: its acknowledged batches go in before anything reads
            for stale in self.path.parent.glob(f".{glob.escape(self.path.name)}.*.tmp"):
                stale.unlink(missing_ok=True)
            _finish(self, _open_journal(self))

    # -- helpers --------------------------------------------------------------------------------------------

    def _reader(self) -> RowReader:
        return RowReader(self.path, self.config.read_encoding, self.config.csv_format(), self.config.column_names)

    def _layout(self, header: list[str]) -> _Layout:
        config = self.config
        index: dict[str, int] = {}
        for i, column in enumerate(header):
            if column in index:
                raise ConnectorError(f"{self.name}: {self.path}: the column {column!r} appears twice in the header")
            index[column] = i
        roles = [("anchor", config.anchor), ("identifier", config.identifier_column)]
        if config.object_type_column is not None:
            roles.append(("object type", config.object_type_column))
        for role, column in roles:
            if column not in index:
                raise ConnectorError(
                    f"{self.name}: {self.path} has no {role} column {column!r} (its columns: {', '.join(header)})"
                )
        columns = [(i, config.spec(c)) for i, c in enumerate(header) if c and config.imports(c)]
        type_column = index[config.object_type_column] if config.object_type_column is not None else None
        return _Layout(header, index[config.anchor], index[config.identifier_column], columns, index, type_column)


class _Tally:
    """The members of the groups derived from columns (``groups``), counted while the rows stream by."""

    def __init__(self, connector: CsvConnector, layout: _Layout) -> None:
        self.groups = connector.config.groups
        index = layout.index
        for group in self.groups:
            for column in [group.column, *group.where]:
                if column not in index:
                    raise ConnectorError(
                        f"{connector.name}: {connector.path} has no column {column!r}, which the "
                        f"{group.object_type!r} groups are derived from"
                    )
        self.index = index
        self.members: list[dict[str, list[str]]] = [{} for _ in self.groups]

    def count(self, fields: list[str], anchor: str) -> None:
        for group, members in zip(self.groups, self.members, strict=True):
            value = fields[self.index[group.column]].strip()
            if value:
                found = members.setdefault(value, [])
                if group.qualifies(lambda column: fields[self.index[column]]):
                    found.append(anchor)

    def records(self) -> list[ImportRecord]:
        out = []
        for group, members in zip(self.groups, self.members, strict=True):
            for value, anchors in members.items():
                attributes = {group.name: value, group.members: anchors or None}
                out.append(ImportRecord(group.anchor(value), value, group.object_type, attributes))
        return out


def _field(fields: list[str], i: int) -> str:
    return fields[i] if i < len(fields) else ""


def _open_journal(connector: CsvConnector) -> Journal:
    path = journal_path(connector.path)
    try:
        return Journal(path)
    except (sqlite3.Error, OSError) as exc:
        raise ConnectorError(
            f"{connector.name}: the export journal {path} cannot be used ({exc}); it holds exports not yet in "
            f"{connector.path.name}: move it aside only once they are known to be lost"
        ) from None


def _finish(connector: CsvConnector, journal: Journal, touched: set[str] | None = None) -> None:
    try:
        apply(connector.config, connector.path, journal, touched)
    except OSError as exc:
        journal.close()
        raise ConnectorError(f"{connector.name}: cannot write {connector.path}: {exc.strerror or exc}") from None
    except BaseException:
        journal.close()
        raise
    journal.discard()


@dataclass
class _ExportSession:
    """One export step: the anchors the file held when it began, what the step added and deleted, and the
    journal its batches go to."""

    connector: CsvConnector
    journal: Journal = field(init=False)
    header: list[str] = field(init=False)
    initial: set[str] = field(init=False)
    added: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    touched: set[str] = field(default_factory=set)
    """Anchors of the file's rows this step changes: all the rewrite has to look up in the journal."""

    def __post_init__(self) -> None:
        connector = self.connector
        config = connector.config
        self.header = config.initial_header()
        self.initial = set()
        if connector.path.exists():
            with connector._reader() as reader:
                if reader.header is not None:
                    layout = connector._layout(reader.header)
                    self.header = list(reader.header)
                    for _line, fields in reader.rows():
                        if anchor := _field(fields, layout.anchor):
                            self.initial.add(anchor)
        elif not connector.path.parent.is_dir():
            raise ConnectivityError(f"{connector.name}: the folder {connector.path.parent} does not exist")
        self.journal = _open_journal(connector)

    def export(self, items: Sequence[ExportItem]) -> list[ExportResult]:
        overlay: dict[str, bool] = {}
        header = list(self.header)
        ops: list[JournalOp] = []
        results: list[ExportResult] = []
        for item in items:
            try:
                op, result = self._prepare(item, overlay, header)
            except _Refused as refusal:
                results.append(
                    ExportResult(item.cs_id, False, error=str(refusal), code=refusal.code, attribute=refusal.attribute)
                )
                continue
            if op is not None:
                ops.append(op)
                overlay[op.anchor] = op.kind != "delete"
                header.extend(c.name for c in item.changes if c.name not in header)
            results.append(result)
        if ops:
            try:
                self.journal.append(ops, header)
            except Exception as exc:
                raise ConnectorError(f"{self.connector.name}: cannot record the export batch: {exc}") from None
            for anchor, present in overlay.items():
                if present:
                    self.added.add(anchor)
                else:
                    self.added.discard(anchor)
                    if anchor in self.initial:
                        self.deleted.add(anchor)
                if anchor in self.initial:
                    self.touched.add(anchor)
            self.header = header
        return results

    def finish(self) -> None:
        _finish(self.connector, self.journal, self.touched)

    def _exists(self, anchor: str) -> bool:
        return anchor in self.added or (anchor in self.initial and anchor not in self.deleted)

    def _prepare(
        self, item: ExportItem, overlay: dict[str, bool], header: list[str]
    ) -> tuple[JournalOp | None, ExportResult]:
        config = self.connector.config
        derived = next((g for g in config.groups if g.object_type == item.object_type), None)
        if derived is not None:
            raise _Refused(
                f"{item.identifier}: {item.object_type!r} objects are derived from the column {derived.column!r} "
                "and cannot be written",
                "unsupported",
            )
        if item.object_type not in config.types:
            raise _Refused(
                f"{item.identifier}: this file holds {', '.join(map(repr, config.types))} objects, "
                f"not {item.object_type!r}",
                "unsupported",
            )
        if item.new_identifier is not None and item.new_identifier != item.identifier:
            raise _Refused(f"{item.identifier}: a CSV file cannot rename an object", "unsupported")
        for change in item.changes:
            if not config.imports(change.name):
                raise _Refused(
                    f"{item.identifier}: {change.name!r} is not one of this connector's attributes",
                    "unsupported",
                    change.name,
                )
        if item.op is ExportOp.ADD:
            return self._add(item, overlay)
        anchor = item.anchor or (item.identifier if config.identifier_column == config.anchor else None)
        if not anchor:
            raise _Refused(f"{item.identifier}: no anchor to find the row by", "no-such-object")
        exists = overlay.get(anchor, self._exists(anchor))
        if item.op is ExportOp.DELETE:
            return (JournalOp(anchor, "delete") if exists else None), ExportResult(item.cs_id, True, anchor=anchor)
        if not exists:
            raise _Refused(f"{item.identifier}: no row has the anchor {anchor!r}", "no-such-object")
        payload = []
        for change in item.changes:
            value = self._value(item, change.name, change.op, change.values)
            if change.name == config.anchor and change.op is ValueOp.REPLACE and format_one(value) != anchor:
                raise _Refused(f"{item.identifier}: the anchor column cannot change", "unsupported", change.name)
            payload.append([change.name, change.op.value, value])
        return JournalOp(anchor, "update", payload), ExportResult(item.cs_id, True, anchor=anchor)

    def _add(self, item: ExportItem, overlay: dict[str, bool]) -> tuple[JournalOp, ExportResult]:
        config = self.connector.config
        attributes: dict[str, Any] = {}
        for change in item.changes:
            value = self._value(item, change.name, change.op, change.values)
            if change.op is not ValueOp.REPLACE:
                value = apply_change(config.spec(change.name), attributes.get(change.name), change.op, value)
            attributes[change.name] = value
        keys = {config.identifier_column: item.identifier} | (
            {} if config.identifier_column == config.anchor else {config.anchor: attributes.get(config.anchor)}
        )
        for column, raw in keys.items():
            if raw is None or raw == "":
                raise _Refused(f"{item.identifier}: an add needs a value for the column {column!r}", "missing", column)
            value = self._value(item, column, ValueOp.REPLACE, [raw])
            given = attributes.get(column)
            if given is not None and given != value:
                raise _Refused(
                    f"{item.identifier}: the column {column!r} is the object's key and is set to {given!r}",
                    "invalid-value",
                    column,
                )
            attributes[column] = value
        attributes = {name: value for name, value in attributes.items() if value is not None}
        if config.object_type_column is not None:
            attributes[config.object_type_column] = item.object_type
        anchor = format_one(attributes[config.anchor])
        if overlay.get(anchor, self._exists(anchor)):
            raise _Refused(f"{item.identifier}: a row with the anchor {anchor!r} already exists", "already-exists")
        identifier = format_one(attributes[config.identifier_column])
        result = ExportResult(
            item.cs_id, True, anchor=anchor, identifier=identifier if identifier != item.identifier else None
        )
        return JournalOp(anchor, "add", attributes), result

    def _value(self, item: ExportItem, name: str, op: ValueOp, values: list[Any]) -> Any:
        """The storage-form value a change carries, refused when the column cannot hold or encode it."""
        config = self.connector.config
        spec = config.spec(name)
        if (
            op is ValueOp.REPLACE
            and len(values) == 1
            and type(values[0]) is str
            and spec.type is AttributeType.STRING
            and not spec.multivalued
        ):
            # the common case, text into a text column: nothing to coerce, and ASCII every encoding can write
            if not values[0].isascii():
                self._encodable(item, name, values[0])
            if config.quote_char is None:
                self._unquoted(item, name, values[0])
            return values[0] or None
        try:
            value = change_value(spec, op, values)
        except AttributeValueError as exc:
            raise _Refused(f"{item.identifier}: {exc}", "invalid-value", name) from None
        text = format_cell(spec, value, config.multivalue_separator)
        self._encodable(item, name, text)
        if config.quote_char is None:
            self._unquoted(item, name, text)
        return value

    def _unquoted(self, item: ExportItem, name: str, text: str) -> None:
        """Without a text qualifier a field cannot hold the delimiter or a line break: it would split the row."""
        delimiter = self.connector.config.delimiter
        for bad, what in ((delimiter, f"the delimiter {delimiter!r}"), ("\r", "a line break"), ("\n", "a line break")):
            if bad in text:
                raise _Refused(
                    f"{item.identifier}: {name}: the value holds {what}, which a file without a text qualifier "
                    "(quote_char: null) cannot hold",
                    "invalid-value",
                    name,
                )

    def _encodable(self, item: ExportItem, name: str, text: str) -> None:
        encoding = self.connector.config.write_encoding
        try:
            text.encode(encoding)
        except UnicodeEncodeError as exc:
            bad = text[exc.start : exc.end]
            raise _Refused(
                f"{item.identifier}: {name}: {bad!r} cannot be written as {encoding}", "invalid-value", name
            ) from None


def create(name: str, config: CsvConfig | Mapping[str, Any], workspace: str) -> CsvConnector:
    model = config if isinstance(config, CsvConfig) else CsvConfig.model_validate(dict(config))
    return CsvConnector(name, model, workspace)


def offline_schema(config: CsvConfig, workspace: str, *, writing: bool) -> Schema | None:
    """Reading: the file's header and the declared columns, once the file exists (a file still to be created, or
    one that cannot be read now, tells nothing yet). Writing: an export adds any column the file lacks, so only
    ``attributes`` (the columns this connector keeps) limits what can be written. A file without a header row
    has exactly its ``column_names``, known with or without the file."""
    if config.column_names is not None or (writing and config.attributes is not None):
        types = {name: config.object_schema(name, None) for name in config.types}
        if not writing:
            types.update({g.object_type: g.object_schema() for g in config.groups})
        return Schema(types)
    if writing:
        return None
    connector = CsvConnector("", config, workspace)
    if not connector.path.is_file():
        return None
    try:
        return connector.schema()
    except (ConnectorError, OSError, ValueError):
        return None
