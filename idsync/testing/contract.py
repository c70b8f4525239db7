"""The connector contract: what every connector does the same way, as pytest tests a connector's test module
inherits (in the manner of singer-sdk's tap and target test classes).

A connector's test module implements a small :class:`ContractHarness` — how to create the connector, how to
write objects straight into the connected system behind its back, and which attributes to exercise — and
subclasses :class:`ConnectorContract` with a ``harness`` fixture::

    class TestCsvContract(ConnectorContract):
        @pytest.fixture
        def harness(self, tmp_path: Path) -> ContractHarness:
            return CsvHarness(tmp_path)

Every test uses fresh keys, so a harness over a shared server (slapd, a Samba DC, the Graph emulator) need not
clean up between tests.
"""

from __future__ import annotations

import abc
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import pytest

from idsync.connectors.base import (
    Capabilities,
    ConnectivityError,
    Connector,
    ExportItem,
    ExportResult,
    ImportIssue,
    ImportPage,
    ImportRecord,
)
from idsync.model import (
    AttributeChange,
    Attributes,
    ExportOp,
    ObjectTypeSchema,
    ValueOp,
    as_list,
    coerce,
    values_equal,
)


class ContractHarness(abc.ABC):
    """What the contract needs to know about one connector and its connected system."""

    object_type: str = "person"
    single: str = "displayName"
    """A single-valued string attribute every test object has."""
    multi: str | None = "mail"
    """A multi-valued string attribute, or ``None`` when the object type has none."""
    lookup_by_single: bool = True
    """``lookup`` can find an object by the value of ``single`` (a unique key in the test data)."""
    delta: Literal["changes", "snapshot", "none"] = "changes"
    """How delta import reports changes: each changed object and explicit deletes (``changes``); every object
    whenever anything changed, for the engine to diff (``snapshot``, a file); or not at all (``none``)."""

    @abc.abstractmethod
    def connect(self) -> Connector:
        """A new connector over the system (each step of a run gets its own)."""

    @abc.abstractmethod
    def connect_unreachable(self) -> Connector:
        """A connector whose configuration cannot reach the system (a missing folder, a closed port)."""

    @abc.abstractmethod
    def seed(self, key: str, attributes: Attributes) -> None:
        """Create the object ``identifier(key)`` in the system directly, not through the connector."""

    @abc.abstractmethod
    def seed_update(self, key: str, attributes: Attributes) -> None:
        """Set these attributes of an object in the system directly (``None`` removes one)."""

    @abc.abstractmethod
    def seed_delete(self, key: str) -> None:
        """Delete an object from the system directly."""

    def identifier(self, key: str) -> str:
        """The identifier an object is created with (an LDAP harness returns a DN)."""
        return key

    def attributes(self, key: str) -> Attributes:
        """Storage-form attributes of a new test object (add what the system requires)."""
        out: Attributes = {self.single: f"Zoë D'Angelo-Núñez {key}"}
        if self.multi is not None:
            out[self.multi] = [f"{key}.one@example.org", f"{key}.two@example.org"]
        return out

    def unknown_anchor(self) -> str:
        """An anchor no object has."""
        return str(uuid.uuid4())


@dataclass(slots=True)
class Imported:
    """Every page of one import, put together."""

    records: list[ImportRecord] = field(default_factory=list)
    issues: list[ImportIssue] = field(default_factory=list)
    watermark: str | None = None
    pages: int = 0

    def find(self, identifier: str, ignore_case: bool = False) -> list[ImportRecord]:
        def key(text: str) -> str:
            return text.casefold() if ignore_case else text

        return [r for r in self.records if key(r.identifier) == key(identifier)]


def read_pages(pages: Iterable[ImportPage]) -> Imported:
    out = Imported()
    for page in pages:
        out.pages += 1
        out.records.extend(page.records)
        out.issues.extend(page.issues)
        if page.watermark is not None:
            out.watermark = page.watermark
    return out


def value_changes(values: Attributes) -> list[AttributeChange]:
    """Storage-form values as the changes an add carries: lists as value additions, scalars as replacements."""
    return [
        AttributeChange(name, ValueOp.ADD, value)
        if isinstance(value, list)
        else AttributeChange(name, ValueOp.REPLACE, [value])
        for name, value in values.items()
    ]


def _keys(*names: str) -> list[str]:
    token = uuid.uuid4().hex[:8]
    return [f"c{token}{name}" for name in names]


class ConnectorContract:
    """The contract tests. Subclass with a ``harness`` fixture returning a :class:`ContractHarness`."""

    @pytest.fixture
    def harness(self) -> ContractHarness:
        raise NotImplementedError("a contract test class provides a `harness` fixture")

    # -- helpers --------------------------------------------------------------------------------------------

    def full_import(self, harness: ContractHarness) -> Imported:
        connector = harness.connect()
        try:
            return read_pages(connector.full_import())
        finally:
            connector.close()

    def delta_import(self, harness: ContractHarness, watermark: str | None) -> Imported:
        connector = harness.connect()
        try:
            return read_pages(connector.delta_import(watermark))
        finally:
            connector.close()

    def export(self, harness: ContractHarness, items: list[ExportItem]) -> list[ExportResult]:
        connector = harness.connect()
        try:
            results = connector.export(items)
        finally:
            connector.close()
        assert [r.cs_id for r in results] == [i.cs_id for i in items], "one result per item, in order"
        return results

    def object_schema(self, harness: ContractHarness) -> ObjectTypeSchema:
        connector = harness.connect()
        try:
            return connector.schema().object_type(harness.object_type)
        finally:
            connector.close()

    def capabilities(self, harness: ContractHarness) -> Capabilities:
        connector = harness.connect()
        connector.close()
        return connector.capabilities

    def one(self, harness: ContractHarness, imported: Imported, key: str) -> ImportRecord:
        ignore_case = self.capabilities(harness).case_insensitive_identifiers
        found = imported.find(harness.identifier(key), ignore_case)
        assert len(found) == 1, f"{harness.identifier(key)}: imported {len(found)} times, expected once"
        return found[0]

    def absent(self, harness: ContractHarness, imported: Imported, key: str) -> None:
        live = [r for r in imported.find(harness.identifier(key), True) if not r.delete]
        assert not live, f"{harness.identifier(key)} is still there: {live}"

    def assert_attributes(self, harness: ContractHarness, record: ImportRecord, expected: Attributes) -> None:
        schema = self.object_schema(harness)
        for name, value in expected.items():
            got = record.attributes.get(name)
            assert values_equal(schema.spec(name), got, value), f"{record.identifier}: {name} is {got!r}, not {value!r}"

    def add_item(self, harness: ContractHarness, cs_id: int, key: str, attributes: Attributes) -> ExportItem:
        changes = value_changes(attributes)
        return ExportItem(cs_id, harness.object_type, ExportOp.ADD, harness.identifier(key), changes=changes)

    def added_anchor(self, harness: ContractHarness, key: str, result: ExportResult) -> str | None:
        """The anchor an add's result gives the new object (``None`` when the connector says its results
        carry none: the confirming import finds it then)."""
        assert result.ok, f"export of {harness.identifier(key)} failed: {result.error}"
        capabilities = self.capabilities(harness)
        anchor = result.anchor or (harness.identifier(key) if capabilities.identifier_is_anchor else None)
        if capabilities.export_results_carry_anchor:
            assert anchor, "an add's result carries the new object's anchor"
        return anchor

    def assert_anchor(self, record: ImportRecord, anchor: str | None) -> None:
        assert record.anchor, f"{record.identifier} has no anchor"
        if anchor is not None:
            assert record.anchor == anchor, f"{record.identifier}: anchor {record.anchor!r}, export said {anchor!r}"

    def seeded(self, harness: ContractHarness, *names: str) -> tuple[list[str], Imported]:
        keys = _keys(*names)
        for key in keys:
            harness.seed(key, harness.attributes(key))
        return keys, self.full_import(harness)

    def require_export(self, harness: ContractHarness) -> None:
        if not self.capabilities(harness).export:
            pytest.skip("this connector does not export")

    def require_delta(self, harness: ContractHarness) -> None:
        capabilities = self.capabilities(harness)
        if harness.delta == "none":
            assert not capabilities.delta_import, "the harness says no delta import; the connector offers one"
            pytest.skip("this connector has no delta import")
        assert capabilities.delta_import
        assert capabilities.delta_is_snapshot == (harness.delta == "snapshot"), "capabilities and harness disagree"

    # -- discovery ------------------------------------------------------------------------------------------

    def test_schema_describes_the_object_type(self, harness: ContractHarness) -> None:
        connector = harness.connect()
        schema = connector.schema()
        connector.close()
        assert harness.object_type in schema.object_types
        object_schema = schema.object_type(harness.object_type)
        assert not object_schema.spec(harness.single).multivalued
        if harness.multi is not None:
            assert object_schema.spec(harness.multi).multivalued

    def test_test_connection(self, harness: ContractHarness) -> None:
        connector = harness.connect()
        connector.test_connection()
        connector.close()
        unreachable = harness.connect_unreachable()
        with pytest.raises(ConnectivityError):
            unreachable.test_connection()
        unreachable.close()

    # -- import ---------------------------------------------------------------------------------------------

    def test_full_import_yields_every_object_once_in_storage_form(self, harness: ContractHarness) -> None:
        keys, imported = self.seeded(harness, "a", "b", "c")
        assert not imported.issues, imported.issues
        for key in keys:
            record = self.one(harness, imported, key)
            self.assert_anchor(record, None)
            assert record.object_type == harness.object_type
            assert not record.delete
            self.assert_attributes(harness, record, harness.attributes(key))
        anchors = [r.anchor for r in imported.records]
        assert len(anchors) == len(set(anchors)), "an anchor came twice"
        schema = self.object_schema(harness)
        for record in imported.records:
            for name, value in record.attributes.items():
                assert coerce(schema.spec(name), value) == value, f"{record.identifier}: {name}={value!r}"
        if self.capabilities(harness).delta_import:
            assert imported.watermark, "a full import of a connector with delta import produces a watermark"

    def test_delta_import_after_no_change_yields_nothing(self, harness: ContractHarness) -> None:
        self.require_delta(harness)
        _, imported = self.seeded(harness, "a", "b")
        delta = self.delta_import(harness, imported.watermark)
        assert delta.records == [], delta.records

    def test_delta_import_after_an_add_an_update_and_a_delete(self, harness: ContractHarness) -> None:
        self.require_delta(harness)
        (a, b, c), imported = self.seeded(harness, "a", "b", "c")
        deleted_anchor = self.one(harness, imported, c).anchor
        (d,) = _keys("d")
        harness.seed(d, harness.attributes(d))
        renamed = f"Björk Ní Bhriain {b}"
        harness.seed_update(b, {harness.single: renamed})
        harness.seed_delete(c)
        delta = self.delta_import(harness, imported.watermark)
        assert delta.watermark, "a delta import produces a new watermark"
        added = self.one(harness, delta, d)
        assert not added.delete
        self.assert_attributes(harness, added, harness.attributes(d))
        updated = self.one(harness, delta, b)
        assert not updated.delete
        self.assert_attributes(harness, updated, {harness.single: renamed})
        if harness.delta == "changes":
            assert [r for r in delta.records if r.anchor == deleted_anchor and r.delete], f"no delete for {c}"
            self.absent(harness, delta, a)
        else:
            assert not [r for r in delta.records if r.delete], "a snapshot carries no deletes: the engine diffs"
            self.absent(harness, delta, c)
            self.one(harness, delta, a)
        again = self.delta_import(harness, delta.watermark)
        assert again.records == [], again.records

    # -- export ---------------------------------------------------------------------------------------------

    def test_export_add_then_import_finds_it_by_the_returned_anchor(self, harness: ContractHarness) -> None:
        self.require_export(harness)
        (key,) = _keys("new")
        attributes = harness.attributes(key)
        (result,) = self.export(harness, [self.add_item(harness, 1, key, attributes)])
        anchor = self.added_anchor(harness, key, result)
        record = self.one(harness, self.full_import(harness), key)
        self.assert_anchor(record, anchor)
        self.assert_attributes(harness, record, attributes)

    def test_export_update_then_import_shows_it(self, harness: ContractHarness) -> None:
        self.require_export(harness)
        (key,), imported = self.seeded(harness, "u")
        anchor = self.one(harness, imported, key).anchor
        attributes = harness.attributes(key)
        changes = [AttributeChange(harness.single, ValueOp.REPLACE, [f"Łukasz Øster-Çelik {key}"])]
        expected: Attributes = {harness.single: f"Łukasz Øster-Çelik {key}"}
        if harness.multi is not None:
            values = as_list(attributes[harness.multi])
            added = f"{key}.added@example.org"
            changes += [
                AttributeChange(harness.multi, ValueOp.ADD, [added]),
                AttributeChange(harness.multi, ValueOp.REMOVE, [values[0]]),
            ]
            expected[harness.multi] = [*values[1:], added]
        item = ExportItem(2, harness.object_type, ExportOp.UPDATE, harness.identifier(key), anchor, changes)
        (result,) = self.export(harness, [item])
        assert result.ok, result.error
        self.assert_attributes(harness, self.one(harness, self.full_import(harness), key), expected)

    def test_export_replace_with_no_value_clears_the_attribute(self, harness: ContractHarness) -> None:
        self.require_export(harness)
        (key,), imported = self.seeded(harness, "z")
        anchor = self.one(harness, imported, key).anchor
        changes = [AttributeChange(harness.single, ValueOp.REPLACE, [])]
        item = ExportItem(3, harness.object_type, ExportOp.UPDATE, harness.identifier(key), anchor, changes)
        (result,) = self.export(harness, [item])
        assert result.ok, result.error
        record = self.one(harness, self.full_import(harness), key)
        assert record.attributes.get(harness.single) is None

    def test_export_adding_a_present_value_or_removing_an_absent_one_succeeds(self, harness: ContractHarness) -> None:
        self.require_export(harness)
        if harness.multi is None:
            pytest.skip("the object type has no multi-valued attribute")
        (key,), imported = self.seeded(harness, "i")
        anchor = self.one(harness, imported, key).anchor
        values = as_list(harness.attributes(key)[harness.multi])
        changes = [
            AttributeChange(harness.multi, ValueOp.ADD, [values[0]]),
            AttributeChange(harness.multi, ValueOp.REMOVE, [f"{key}.never@example.org"]),
        ]
        item = ExportItem(4, harness.object_type, ExportOp.UPDATE, harness.identifier(key), anchor, changes)
        (result,) = self.export(harness, [item])
        assert result.ok, result.error
        self.assert_attributes(harness, self.one(harness, self.full_import(harness), key), {harness.multi: values})

    def test_export_delete_then_import_no_longer_has_it(self, harness: ContractHarness) -> None:
        self.require_export(harness)
        if not self.capabilities(harness).delete:
            pytest.skip("this connector does not delete")
        (gone, kept), imported = self.seeded(harness, "gone", "kept")
        anchor = self.one(harness, imported, gone).anchor
        item = ExportItem(5, harness.object_type, ExportOp.DELETE, harness.identifier(gone), anchor)
        (result,) = self.export(harness, [item])
        assert result.ok, result.error
        after = self.full_import(harness)
        self.absent(harness, after, gone)
        self.one(harness, after, kept)
        (replayed,) = self.export(harness, [item])
        assert replayed.ok, f"deleting an object already gone (a replay after a crash) failed: {replayed.error}"

    def test_lookup_finds_an_exported_add(self, harness: ContractHarness) -> None:
        self.require_export(harness)
        (key, missing) = _keys("look", "missing")
        attributes = harness.attributes(key)
        (result,) = self.export(harness, [self.add_item(harness, 6, key, attributes)])
        anchor = self.added_anchor(harness, key, result)
        connector = harness.connect()
        try:
            found = connector.lookup(harness.object_type, harness.identifier(key), {})
            assert found is not None, "lookup by identifier"
            self.assert_anchor(found, anchor)
            if harness.lookup_by_single:
                keys = {harness.single: attributes[harness.single]}
                by_key = connector.lookup(harness.object_type, harness.identifier(missing), keys)
                assert by_key is not None and by_key.anchor == found.anchor, "lookup by a unique key"
            assert connector.lookup(harness.object_type, harness.identifier(missing), {}) is None
        finally:
            connector.close()

    def test_a_failing_object_does_not_fail_the_rest_of_the_batch(self, harness: ContractHarness) -> None:
        self.require_export(harness)
        (missing, key) = _keys("missing", "fine")
        bad = ExportItem(
            7,
            harness.object_type,
            ExportOp.UPDATE,
            harness.identifier(missing),
            harness.unknown_anchor(),
            [AttributeChange(harness.single, ValueOp.REPLACE, ["nobody"])],
        )
        attributes = harness.attributes(key)
        failed, succeeded = self.export(harness, [bad, self.add_item(harness, 8, key, attributes)])
        assert not failed.ok and failed.error, "an update of an object that does not exist is an error result"
        anchor = self.added_anchor(harness, key, succeeded)
        self.assert_anchor(self.one(harness, self.full_import(harness), key), anchor)
