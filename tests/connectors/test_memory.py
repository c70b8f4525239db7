"""The in-memory connector's own behaviour: renames, the change log, and the failure switches tests rely on."""

from __future__ import annotations

from typing import Any

import pytest

from idsync.connectors.base import ConnectivityError, ExportItem, WatermarkExpired
from idsync.connectors.memory import MemoryConnector, MemoryDirectory, connector_type, memory_context
from idsync.model import AttributeChange, AttributeSpec, Compare, ExportOp, ObjectTypeSchema, Schema, ValueOp
from idsync.testing.contract import read_pages, value_changes

SCHEMA = Schema(
    {
        "user": ObjectTypeSchema(
            "user",
            {
                "mail": AttributeSpec("mail", compare=Compare.IGNORE_CASE),
                "proxyAddresses": AttributeSpec("proxyAddresses", multivalued=True),
                "employeeNumber": AttributeSpec("employeeNumber"),
            },
        )
    }
)


def connect(target: MemoryDirectory, **options: Any) -> MemoryConnector:
    config = {"type": "memory", "directory": "target", **options}
    made = connector_type.create("target", config, memory_context({"target": target}))
    assert isinstance(made, MemoryConnector)
    return made


def add(cs_id: int, identifier: str, **values: Any) -> ExportItem:
    return ExportItem(cs_id, "user", ExportOp.ADD, identifier, changes=value_changes(values))


def test_adds_get_a_uuid_anchor_or_their_identifier() -> None:
    directory = MemoryDirectory(SCHEMA)
    (result,) = connect(directory).export([add(1, "CN=Ann", mail="ann@x")])
    assert result.ok and result.anchor is not None and len(result.anchor) == 36 and result.anchor.count("-") == 4
    (keyed,) = connect(directory, anchor_from_identifier=True).export([add(2, "CN=Bob")])
    assert keyed.anchor == "CN=Bob"
    assert connect(directory, anchor_from_identifier=True).capabilities.identifier_is_anchor


def test_a_rename_keeps_the_anchor_and_reports_the_new_identifier() -> None:
    directory = MemoryDirectory(SCHEMA)
    anchor = directory.add("user", "CN=Ann,OU=Sales", {"mail": "ann@x"})
    connector = connect(directory)
    watermark = read_pages(connector.full_import()).watermark
    item = ExportItem(
        1,
        "user",
        ExportOp.UPDATE,
        "CN=Ann,OU=Sales",
        anchor,
        [AttributeChange("mail", ValueOp.REPLACE, ["a@x"])],
        new_identifier="CN=Ann,OU=Marketing",
    )
    (result,) = connector.export([item])
    assert (result.ok, result.anchor, result.identifier) == (True, anchor, "CN=Ann,OU=Marketing")
    (record,) = read_pages(connector.delta_import(watermark)).records
    assert (record.anchor, record.identifier, record.attributes) == (anchor, "CN=Ann,OU=Marketing", {"mail": "a@x"})


def test_delta_import_reports_each_changed_object_once_in_its_latest_state() -> None:
    directory = MemoryDirectory(SCHEMA)
    a = directory.add("user", "a", {"mail": "a@x"})
    b = directory.add("user", "b")
    connector = connect(directory, page_size=1)
    watermark = read_pages(connector.full_import()).watermark
    directory.replace(a, {"mail": "a1@x"})
    directory.replace(a, {"mail": "a2@x"})
    directory.delete(b)
    c = directory.add("user", "c")
    pages = list(connector.delta_import(watermark))
    assert [p.watermark is not None for p in pages] == [False, False, True]
    records = [r for p in pages for r in p.records]
    assert [(r.anchor, r.delete, r.attributes) for r in records] == [
        (a, False, {"mail": "a2@x"}),
        (b, True, {}),
        (c, False, {}),
    ]
    assert records[1].identifier == "b"


def test_an_expired_watermark_says_so() -> None:
    directory = MemoryDirectory(SCHEMA)
    connector = connect(directory)
    watermark = read_pages(connector.full_import()).watermark
    directory.add("user", "a")
    directory.trim_log()
    for stale in (watermark, None, "not-a-number", "999"):
        with pytest.raises(WatermarkExpired):
            list(connector.delta_import(stale))


def test_injected_failures_hit_only_their_objects_and_can_wear_off() -> None:
    directory = MemoryDirectory(SCHEMA)
    directory.fail("b", op="add", code="busy", retryable=True, times=1)
    directory.refuse_value("mail", "bad@x")
    connector = connect(directory)
    first = connector.export([add(1, "a"), add(2, "b"), add(3, "c", mail="bad@x")])
    assert [r.ok for r in first] == [True, False, False]
    assert (first[1].code, first[1].retryable) == ("busy", True)
    assert (first[2].code, first[2].attribute) == ("invalid-value", "mail")
    assert directory.find("c") is None, "a refused object is not half-written"
    second = connector.export([add(2, "b")])
    assert second[0].ok, "the failure wore off after one time"


def test_already_exists_and_no_such_object() -> None:
    directory = MemoryDirectory(SCHEMA, case_insensitive_identifiers=True)
    directory.add("user", "CN=Ann")
    connector = connect(directory)
    assert connector.capabilities.case_insensitive_identifiers
    exists, missing = connector.export(
        [add(1, "cn=ann"), ExportItem(2, "user", ExportOp.UPDATE, "CN=Nobody", "no-such-anchor")]
    )
    assert (exists.ok, exists.code) == (False, "already-exists")
    assert (missing.ok, missing.code) == (False, "no-such-object")
    found = connector.lookup("user", "cn=ANN", {})
    assert found is not None and found.identifier == "CN=Ann"


def test_a_normalizing_target_stores_something_else_than_was_sent() -> None:
    directory = MemoryDirectory(SCHEMA)
    directory.normalize("mail", str.lower)
    connector = connect(directory)
    (result,) = connector.export([add(1, "a", mail="Ann.Lee@Example.ORG")])
    record = connector.lookup("user", "a", {})
    assert result.ok and record is not None and record.attributes["mail"] == "ann.lee@example.org"


def test_the_crash_hook_fires_mid_batch_after_n_exports() -> None:
    directory = MemoryDirectory(SCHEMA)
    directory.crash_after(2, KeyboardInterrupt())
    connector = connect(directory)
    with pytest.raises(KeyboardInterrupt):
        connector.export([add(1, "a"), add(2, "b"), add(3, "c"), add(4, "d")])
    assert sorted(o.identifier for o in directory.objects()) == ["a", "b"]
    assert directory.exported == [("add", "a"), ("add", "b")]
    assert [r.ok for r in connector.export([add(3, "c")])] == [True], "the hook fires once"


def test_multi_valued_changes_have_set_semantics() -> None:
    directory = MemoryDirectory(SCHEMA)
    anchor = directory.add("user", "a", {"proxyAddresses": ["smtp:a@x", "smtp:b@x"]})
    item = ExportItem(
        1,
        "user",
        ExportOp.UPDATE,
        "a",
        anchor,
        [
            AttributeChange("proxyAddresses", ValueOp.ADD, ["smtp:b@x", "smtp:c@x"]),
            AttributeChange("proxyAddresses", ValueOp.REMOVE, ["smtp:a@x", "smtp:zz@x"]),
        ],
    )
    assert connect(directory).export([item])[0].ok
    found = directory.get(anchor)
    assert found is not None and found.attributes["proxyAddresses"] == ["smtp:b@x", "smtp:c@x"]


def test_an_unknown_or_unavailable_directory_is_a_connectivity_error() -> None:
    directory = MemoryDirectory(SCHEMA)
    with pytest.raises(ConnectivityError, match="no memory directory named 'elsewhere'"):
        connect(directory, directory="elsewhere").test_connection()
    directory.available = False
    with pytest.raises(ConnectivityError, match="not available"):
        list(connect(directory).full_import())
