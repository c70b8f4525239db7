"""The CSV connector: configuration, import of good and bad rows, the content-hash watermark, and export."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from idsync.connectors.base import ConnectivityError, ConnectorContext, ConnectorError, ExportItem
from idsync.connectors.csv import CsvConfig, CsvConnector, connector_type
from idsync.connectors.csv.journal import Journal, JournalOp, apply, journal_path
from idsync.engine.run_profiles import Runner
from idsync.engine.workspace import Workspace
from idsync.model import AttributeChange, AttributeType, ExportOp, RunStatus, ValueOp
from idsync.testing.contract import Imported, read_pages, value_changes


def make(folder: Path, **options: Any) -> CsvConnector:
    config: dict[str, Any] = {"type": "csv", "path": "hr.csv", "object_type": "person", "anchor": "id"}
    config.update(options)
    connector = connector_type.create("hr", config, ConnectorContext(str(folder)))
    assert isinstance(connector, CsvConnector)
    return connector


def write(folder: Path, text: str, name: str = "hr.csv", encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def full(connector: CsvConnector) -> Imported:
    return read_pages(connector.full_import())


def by_anchor(imported: Imported) -> dict[str, dict[str, Any]]:
    return {r.anchor: r.attributes for r in imported.records}


def add(cs_id: int, identifier: str, **values: Any) -> ExportItem:
    return ExportItem(cs_id, "person", ExportOp.ADD, identifier, changes=value_changes(values))


def update(cs_id: int, anchor: str, *changes: AttributeChange) -> ExportItem:
    return ExportItem(cs_id, "person", ExportOp.UPDATE, anchor, anchor, list(changes))


# -- configuration ----------------------------------------------------------------------------------------------


def test_type_specs_become_attribute_specs() -> None:
    config = CsvConfig(
        path="x.csv", object_type="person", anchor="id", columns={"managers": "reference[]", "age": " integer "}
    )
    assert config.spec("managers").type is AttributeType.REFERENCE and config.spec("managers").multivalued
    assert config.spec("age").type is AttributeType.INTEGER and not config.spec("age").multivalued
    assert config.spec("unlisted").type is AttributeType.STRING
    assert config.spec("id").required


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"columns": {"age": "number"}}, "column 'age': unknown type 'number'"),
        ({"delimiter": ";;"}, "delimiter must be exactly one character"),
        ({"multivalue_separator": "\\"}, "multivalue_separator cannot be"),
        ({"columns": {"id": "string[]"}}, "cannot be multi-valued"),
        ({"encoding": "klingon"}, "unknown text encoding"),
        ({"anchor": " "}, "must not be empty"),
        ({"colums": {}}, "Extra inputs are not permitted"),
    ],
)
def test_bad_configuration_is_refused_with_the_reason(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CsvConfig.model_validate({"type": "csv", "path": "x.csv", "object_type": "person", "anchor": "id", **options})


def test_relative_paths_resolve_against_the_workspace(tmp_path: Path) -> None:
    assert make(tmp_path, path="data/hr.csv").path == tmp_path / "data" / "hr.csv"
    absolute = tmp_path / "elsewhere.csv"
    assert make(Path("/nonexistent"), path=str(absolute)).path == absolute


# -- import -----------------------------------------------------------------------------------------------------


def test_full_import_streams_pages_and_puts_the_watermark_on_the_last(tmp_path: Path) -> None:
    write(tmp_path, "id,name\n" + "".join(f"{i},Person {i}\n" for i in range(5)))
    pages = list(make(tmp_path, page_size=2).full_import())
    assert [len(p.records) for p in pages] == [2, 2, 1]
    assert [p.watermark is not None for p in pages] == [False, False, True]
    assert [r.anchor for p in pages for r in p.records] == ["0", "1", "2", "3", "4"]


def test_values_are_read_in_storage_form(tmp_path: Path) -> None:
    write(
        tmp_path,
        "\ufeffid,name,age,active,hired,photo,groups,manager\n"
        "7,Zoë Ní Bhriain,41,yes,2024-01-02T03:04:05+02:00,aGk=,a|b\\|c|,8\n",
    )
    connector = make(
        tmp_path,
        multivalue_separator="|",
        columns={
            "age": "integer",
            "active": "boolean",
            "hired": "datetime",
            "photo": "binary",
            "groups": "string[]",
            "manager": "reference",
        },
    )
    imported = full(connector)
    assert not imported.issues
    (record,) = imported.records
    assert (record.anchor, record.identifier, record.object_type) == ("7", "7", "person")
    assert record.attributes == {
        "id": "7",
        "name": "Zoë Ní Bhriain",
        "age": 41,
        "active": True,
        "hired": "2024-01-02T01:04:05Z",
        "photo": "aGk=",
        "groups": ["a", "b|c"],
        "manager": "8",
    }


def test_empty_cells_are_absent_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, "id,name,mail\r\n1,,\r\n\r\n,,\r\n2,Ann,\r\n")
    imported = full(make(tmp_path))
    assert by_anchor(imported) == {"1": {"id": "1"}, "2": {"id": "2", "name": "Ann"}}
    assert not imported.issues


def test_malformed_rows_become_issues_and_the_import_goes_on(tmp_path: Path) -> None:
    write(
        tmp_path,
        "id,name,age\n"
        "1,Ann,30\n"  # line 2
        "2,Bob,thirty\n"  # line 3: bad integer
        "3,Cid\n"  # line 4: a field short
        ",Dee,40\n"  # line 5: no anchor
        "1,Eve,50\n"  # line 6: anchor already used
        '4,"Fay\nFoo",60,extra\n'  # lines 7-8: a field too many
        "5,Gus,70\n",  # line 9
    )
    imported = full(make(tmp_path, columns={"age": "integer"}))
    assert sorted(by_anchor(imported)) == ["1", "5"]
    assert by_anchor(imported)["1"]["name"] == "Ann", "the first occurrence of an anchor wins"
    issues = {(i.reason, i.attribute, i.anchor, i.identifier) for i in imported.issues}
    assert issues == {
        ("row 3: age: 'thirty' is not an integer", "age", "2", "2"),
        ("row 4: 2 fields where the header has 3 (no value for 'age' or the columns after it)", "age", "3", "3"),
        ("row 5: the anchor column 'id' is empty", "id", None, "row 5"),
        ("row 6: the anchor '1' is already used by row 2", "id", "1", "1"),
        ("row 7: 4 fields where the header has 3", None, "4", "4"),
    }


def test_a_separate_identifier_column(tmp_path: Path) -> None:
    write(tmp_path, "id,upn\n1,ann@example.org\n2,\n")
    imported = full(make(tmp_path, identifier="upn"))
    assert [(r.anchor, r.identifier) for r in imported.records] == [("1", "ann@example.org")]
    (issue,) = imported.issues
    assert (issue.attribute, issue.anchor) == ("upn", "2")


def test_the_attribute_allow_list_limits_what_is_imported(tmp_path: Path) -> None:
    write(tmp_path, "id,name,salary,mail\n1,Ann,99000,ann@example.org\n")
    connector = make(tmp_path, attributes=["name", "mail"])
    assert by_anchor(full(connector)) == {"1": {"id": "1", "name": "Ann", "mail": "ann@example.org"}}
    assert "salary" not in connector.schema().object_type("person").attributes


def test_delimiter_and_encoding_are_configurable(tmp_path: Path) -> None:
    """A semicolon-delimited file may keep the semicolon separator too: the csv quoting tells them apart."""
    write(tmp_path, 'id;name;groups\n1;Jürgen Groß;"a;b"\n', encoding="latin-1")
    with pytest.raises(ConnectorError, match="not utf-8-sig text"):
        full(make(tmp_path, delimiter=";"))
    imported = full(make(tmp_path, delimiter=";", encoding="latin-1", columns={"groups": "string[]"}))
    assert by_anchor(imported) == {"1": {"id": "1", "name": "Jürgen Groß", "groups": ["a", "b"]}}


def test_a_missing_file_stops_the_import_unless_missing_ok(tmp_path: Path) -> None:
    with pytest.raises(ConnectivityError, match="does not exist"):
        full(make(tmp_path))
    imported = full(make(tmp_path, missing_ok=True))
    assert imported.records == [] and imported.watermark is not None
    assert list(make(tmp_path, missing_ok=True).delta_import(imported.watermark)) == []
    write(tmp_path, "")
    with pytest.raises(ConnectorError, match="no header row"):
        full(make(tmp_path))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,mail\nAnn,a@x\n", r"no anchor column 'id' \(its columns: name, mail\)"),
        ("id,a,a\n", "'a' appears twice"),
    ],
)
def test_a_header_the_configuration_does_not_fit_stops_the_import(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path, text)
    with pytest.raises(ConnectorError, match=message):
        full(make(tmp_path))


def test_test_connection(tmp_path: Path) -> None:
    with pytest.raises(ConnectivityError, match=r"folder .* does not exist"):
        make(tmp_path, path="nowhere/hr.csv").test_connection()
    with pytest.raises(ConnectivityError, match="missing_ok"):
        make(tmp_path).test_connection()
    make(tmp_path, missing_ok=True).test_connection()
    write(tmp_path, "name\nAnn\n")
    with pytest.raises(ConnectivityError, match="no anchor column"):
        make(tmp_path).test_connection()
    write(tmp_path, "id,name\n\xff\n", encoding="latin-1")
    with pytest.raises(ConnectivityError, match="not utf-8-sig text"):
        make(tmp_path).test_connection()
    write(tmp_path, "id,name\n1,Ann\n")
    make(tmp_path).test_connection()


# -- delta import -----------------------------------------------------------------------------------------------


def test_delta_import_is_empty_while_the_bytes_are_the_same(tmp_path: Path) -> None:
    path = write(tmp_path, "id,name\n1,Ann\n2,Bob\n")
    watermark = full(make(tmp_path)).watermark
    assert list(make(tmp_path).delta_import(watermark)) == []
    os.utime(path, (1_000_000, 1_000_000))
    assert list(make(tmp_path).delta_import(watermark)) == [], "a new modification time is not a change"


@pytest.mark.parametrize(
    "changed",
    [
        "id,name\n1,Ann\n2,Bib\n",  # same size, other bytes
        "id,name\n1,Ann\n",  # a deletion
        "id,name\n1,Ann\n2,Bob\n3,Cid\n",  # an addition
    ],
)
def test_delta_import_after_a_change_is_a_full_snapshot(tmp_path: Path, changed: str) -> None:
    write(tmp_path, "id,name\n1,Ann\n2,Bob\n")
    first = full(make(tmp_path))
    write(tmp_path, changed)
    delta = read_pages(make(tmp_path).delta_import(first.watermark))
    assert by_anchor(delta) == by_anchor(full(make(tmp_path)))
    assert delta.watermark not in (None, first.watermark)
    assert list(make(tmp_path).delta_import(delta.watermark)) == []


def test_a_configuration_change_or_an_unreadable_watermark_rereads_the_file(tmp_path: Path) -> None:
    write(tmp_path, "id,age\n1,30\n")
    watermark = full(make(tmp_path)).watermark
    delta = read_pages(make(tmp_path, columns={"age": "integer"}).delta_import(watermark))
    assert by_anchor(delta) == {"1": {"id": "1", "age": 30}}
    for garbage in (None, "", "csv1:x:y:z", "something else"):
        assert len(read_pages(make(tmp_path).delta_import(garbage)).records) == 1


# -- export -----------------------------------------------------------------------------------------------------


def test_export_keeps_the_column_order_and_appends_new_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "id,sn,givenName\r\n1,Łukasiewicz,Jan\r\n2,O'Brien,Siobhán\r\n3,Dvořák,Jiří\r\n")
    connector = make(tmp_path)
    results = connector.export(
        [
            update(1, "2", AttributeChange("title", ValueOp.REPLACE, ["Engineer"])),
            add(2, "4", sn="D'Angelo", givenName="Niccolò"),
            ExportItem(3, "person", ExportOp.DELETE, "1", "1"),
        ]
    )
    connector.close()
    assert [r.ok for r in results] == [True, True, True]
    assert results[1].anchor == "4"
    assert path.read_bytes().decode("utf-8") == (
        "id,sn,givenName,title\r\n2,O'Brien,Siobhán,Engineer\r\n3,Dvořák,Jiří,\r\n4,D'Angelo,Niccolò,\r\n"
    )


def test_a_new_file_starts_with_the_configured_columns(tmp_path: Path) -> None:
    connector = make(tmp_path, missing_ok=True, identifier="upn", columns={"mail": "string[]", "age": "integer"})
    (result,) = connector.export([add(1, "ann@example.org", id="7", mail=["a@x", "b;c@x"], nick="Annie")])
    connector.close()
    assert (result.ok, result.anchor, result.identifier) == (True, "7", None)
    text = (tmp_path / "hr.csv").read_bytes().decode("utf-8")
    assert text == "id,upn,mail,age,nick\r\n7,ann@example.org,a@x;b\\;c@x,,Annie\r\n"


def test_multi_valued_updates_add_and_remove_values(tmp_path: Path) -> None:
    write(tmp_path, "id,groups\n1,a;b\\;c;d\n")
    connector = make(tmp_path, columns={"groups": "string[]"})
    (result,) = connector.export(
        [
            update(
                1,
                "1",
                AttributeChange("groups", ValueOp.REMOVE, ["a", "zz"]),
                AttributeChange("groups", ValueOp.ADD, ["d", "e;f"]),
            )
        ]
    )
    connector.close()
    assert result.ok
    assert by_anchor(full(make(tmp_path, columns={"groups": "string[]"})))["1"]["groups"] == ["b;c", "d", "e;f"]


def test_the_file_is_rewritten_once_per_export_step_at_close(tmp_path: Path) -> None:
    path = write(tmp_path, "id,name\n1,Ann\n")
    before = path.stat().st_ino
    connector = make(tmp_path)
    for batch in range(3):
        assert connector.export([add(batch, f"n{batch}", name=f"New {batch}")])[0].ok
        assert path.stat().st_ino == before and path.read_bytes().decode() == "id,name\n1,Ann\n"
    assert journal_path(path).exists()
    connector.close()
    assert path.stat().st_ino != before
    assert sorted(by_anchor(full(make(tmp_path)))) == ["1", "n0", "n1", "n2"]
    assert not journal_path(path).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hr.csv"]


def test_an_export_step_that_never_closed_is_replayed_before_the_next_read(tmp_path: Path) -> None:
    path = write(tmp_path, "id,name\n1,Ann\n")
    crashed = make(tmp_path)
    assert crashed.export([add(1, "2", name="Bob"), update(2, "1", AttributeChange("name", ValueOp.REPLACE, ["Anne"]))])
    assert path.read_bytes().decode() == "id,name\n1,Ann\n", "nothing is written before close"
    # a new process: the journal is replayed before the lookup reads the file
    found = make(tmp_path).lookup("person", "2", {})
    assert found is not None and found.attributes == {"id": "2", "name": "Bob"}
    assert by_anchor(full(make(tmp_path))) == {"1": {"id": "1", "name": "Anne"}, "2": {"id": "2", "name": "Bob"}}


def test_replaying_a_journal_twice_gives_the_same_file(tmp_path: Path) -> None:
    """A crash after the file was replaced but before the journal was deleted replays it over its own result."""
    path = write(tmp_path, "id,groups,name\n1,a;b,Ann\n2,c,Bob\n")
    config = make(tmp_path, columns={"groups": "string[]"}).config
    journal = Journal(tmp_path / "j")
    journal.append(
        [
            JournalOp(
                "1", "update", [["groups", "add", ["c"]], ["groups", "remove", ["a"]], ["name", "replace", None]]
            ),
            JournalOp("2", "delete"),
            JournalOp("3", "add", {"id": "3", "groups": ["x"], "name": "Cid"}),
            JournalOp("3", "update", [["groups", "add", ["y", "x"]]]),
            JournalOp("2", "add", {"id": "2", "name": "Bea"}),
            JournalOp("4", "add", {"id": "4"}),
            JournalOp("4", "delete"),
        ],
        ["id", "groups", "name", "mail"],
    )
    apply(config, path, journal)
    once = path.read_bytes().decode()
    assert once == "id,groups,name,mail\r\n1,b;c,,\r\n2,,Bea,\r\n3,x;y,Cid,\r\n"
    apply(config, path, journal)
    assert path.read_bytes().decode() == once
    journal.discard()


def test_malformed_rows_survive_a_rewrite(tmp_path: Path) -> None:
    path = write(tmp_path, "id,name\n1,Ann\n2,Bob,extra\n,Nobody\n")
    connector = make(tmp_path)
    assert connector.export([add(1, "3", name="Cid")])[0].ok
    connector.close()
    assert path.read_bytes().decode() == "id,name\r\n1,Ann\r\n2,Bob,extra\r\n,Nobody\r\n3,Cid\r\n"


@pytest.mark.parametrize(
    ("item", "code", "attribute", "message"),
    [
        (add(1, "1", name="Again"), "already-exists", None, "a row with the anchor '1' already exists"),
        (update(1, "9", AttributeChange("name", ValueOp.REPLACE, ["X"])), "no-such-object", None, "no row has"),
        (update(1, "1", AttributeChange("age", ValueOp.REPLACE, ["old"])), "invalid-value", "age", "not an integer"),
        (update(1, "1", AttributeChange("name", ValueOp.ADD, ["X"])), "invalid-value", "name", "send a replace"),
        (update(1, "1", AttributeChange("name", ValueOp.REPLACE, ["X", "Y"])), "invalid-value", "name", "2 values"),
        (update(1, "1", AttributeChange("name", ValueOp.REPLACE, ["€"])), "invalid-value", "name", "latin-1"),
        (update(1, "1", AttributeChange("id", ValueOp.REPLACE, ["2"])), "unsupported", "id", "anchor column"),
        (update(1, "1", AttributeChange("salary", ValueOp.REPLACE, ["1"])), "unsupported", "salary", "attributes"),
        (ExportItem(1, "group", ExportOp.ADD, "g"), "unsupported", None, "holds 'person' objects"),
        (ExportItem(1, "person", ExportOp.UPDATE, "1", "1", new_identifier="2"), "unsupported", None, "rename"),
        (add(1, ""), "missing", "id", "needs a value for the column 'id'"),
    ],
)
def test_an_export_the_file_cannot_take_is_an_error_for_that_object_only(
    tmp_path: Path, item: ExportItem, code: str, attribute: str | None, message: str
) -> None:
    path = write(tmp_path, "id,name,age\n1,Ann,30\n", encoding="latin-1")
    connector = make(tmp_path, encoding="latin-1", columns={"age": "integer"}, attributes=["name", "age"])
    refused, accepted = connector.export([item, add(2, "5", name="Bob")])
    connector.close()
    assert (refused.ok, refused.code, refused.attribute) == (False, code, attribute)
    assert refused.error is not None and message in refused.error
    assert accepted.ok
    assert path.read_bytes().decode("latin-1") == "id,name,age\r\n1,Ann,30\r\n5,Bob,\r\n"


def test_a_replayed_batch_is_harmless(tmp_path: Path) -> None:
    write(tmp_path, "id,groups\n1,a\n")
    batch = [
        update(1, "1", AttributeChange("groups", ValueOp.ADD, ["b"])),
        ExportItem(2, "person", ExportOp.DELETE, "2", "2"),
    ]
    for _ in range(2):
        connector = make(tmp_path, columns={"groups": "string[]"})
        assert all(r.ok for r in connector.export(batch))
        connector.close()
    assert by_anchor(full(make(tmp_path, columns={"groups": "string[]"}))) == {"1": {"id": "1", "groups": ["a", "b"]}}


def test_lookup_by_identifier_and_by_key(tmp_path: Path) -> None:
    write(tmp_path, "id,mail,age\n1,ann@example.org,30\n2,bob@example.org,41\n")
    connector = make(tmp_path, columns={"age": "integer"})
    found = connector.lookup("person", "2", {})
    assert found is not None and found.attributes["mail"] == "bob@example.org"
    by_mail = connector.lookup("person", "missing", {"mail": "ann@example.org"})
    assert by_mail is not None and by_mail.anchor == "1"
    by_age = connector.lookup("person", "missing", {"age": "41"})
    assert by_age is not None and by_age.anchor == "2"
    assert connector.lookup("person", "missing", {"mail": "nobody@example.org", "unknown": "x"}) is None
    assert connector.lookup("group", "1", {}) is None


def test_an_unreadable_journal_stops_the_import_instead_of_losing_its_exports(tmp_path: Path) -> None:
    write(tmp_path, "id,name\n1,Ann\n")
    journal_path(tmp_path / "hr.csv").write_text("not a database")
    with pytest.raises(ConnectorError, match=r"export journal .* cannot be used"):
        full(make(tmp_path))
    assert journal_path(tmp_path / "hr.csv").exists()


# -- several object types in one file --------------------------------------------------------------------------

MIXED = (
    "kind,id,sn,managerId,members\r\n"
    "person,E1,Lovelace,,\r\n"
    "person,E2,Hopper,E1,\r\n"
    "department,D-ENG,,,E1;E2\r\n"
    "robot,R2,D2,,\r\n"
)
TYPED = {
    "object_type": None,
    "object_type_column": "kind",
    "object_types": ["person", "department"],
    "columns": {"managerId": "reference", "members": "reference[]"},
}


def test_a_type_column_gives_each_row_its_object_type(tmp_path: Path) -> None:
    write(tmp_path, MIXED)
    connector = make(tmp_path, **TYPED)
    assert set(connector.schema().object_types) == {"person", "department"}
    imported = full(connector)
    types = {r.anchor: r.object_type for r in imported.records}
    assert types == {"E1": "person", "E2": "person", "D-ENG": "department"}
    assert by_anchor(imported)["D-ENG"] == {"id": "D-ENG", "members": ["E1", "E2"]}
    assert "kind" not in by_anchor(imported)["E2"]
    [issue] = imported.issues
    assert issue.identifier == "R2" and issue.attribute == "kind" and "'robot'" in issue.reason
    assert issue.anchor == "R2"  # a bad row is still there: not a delete
    found = connector.lookup("department", "D-ENG", {})
    assert found is not None and found.object_type == "department"
    assert connector.lookup("person", "D-ENG", {}) is None


def test_a_type_column_is_written_on_add_and_checked_on_export(tmp_path: Path) -> None:
    path = write(tmp_path, MIXED)
    connector = make(tmp_path, **TYPED)
    added, wrong = connector.export(
        [
            ExportItem(1, "department", ExportOp.ADD, "D-OPS", changes=value_changes({"members": ["E2"]})),
            ExportItem(2, "printer", ExportOp.ADD, "P1", changes=value_changes({"sn": "x"})),
        ]
    )
    connector.close()
    assert added.ok and not wrong.ok and wrong.code == "unsupported" and "'printer'" in (wrong.error or "")
    assert path.read_bytes().decode("utf-8").endswith("department,D-OPS,,,E2\r\n")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"object_type_column": "kind"}, "either object_type"),
        ({"object_type": None, "object_type_column": "kind"}, "needs object_types"),
        ({"object_types": ["a"]}, "needs object_type_column"),
        ({"object_type": None, "object_type_column": "id", "object_types": ["a"]}, "object type column"),
    ],
)
def test_type_column_configuration_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CsvConfig.model_validate({"path": "x.csv", "object_type": "person", "anchor": "id", **options})


# -- text qualifier and header row (MIM's delimited-text agent settings) ----------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"header": False}, "header: false needs column_names"),
        ({"column_names": ["id", "name"]}, r"column_names is for a file without a header row \(header: false\)"),
        ({"header": False, "column_names": ["name"]}, "anchor: 'id' is not one of column_names"),
        ({"header": False, "column_names": ["id", "id"]}, "column_names: 'id' appears twice"),
        ({"header": False, "column_names": ["id"], "columns": {"age": "integer"}}, "columns: 'age' is not one of"),
        ({"quote_char": ","}, "quote_char ',' is also the delimiter"),
        ({"quote_char": "''"}, "quote_char must be exactly one character"),
        ({"quote_char": "\n"}, "quote_char cannot be"),
    ],
)
def test_bad_header_and_quoting_settings_are_refused_naming_the_setting(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CsvConfig.model_validate({"type": "csv", "path": "x.csv", "object_type": "person", "anchor": "id", **options})


def test_the_text_qualifier_is_configurable(tmp_path: Path) -> None:
    write(tmp_path, "id,name,note\n1,'Smith, John',\"quoted\"\n")
    # with the default '"' the apostrophes are text and the comma between them splits the field
    assert full(make(tmp_path)).issues
    imported = full(make(tmp_path, quote_char="'"))
    assert by_anchor(imported) == {"1": {"id": "1", "name": "Smith, John", "note": '"quoted"'}}
    # no qualifier at all: every character is text, the delimiter always ends a field
    write(tmp_path, "id,name\n1,\"Ann\"\n2,'Bo'\n")
    assert by_anchor(full(make(tmp_path, quote_char=None))) == {
        "1": {"id": "1", "name": '"Ann"'},
        "2": {"id": "2", "name": "'Bo'"},
    }


def test_export_with_another_qualifier_quotes_with_it(tmp_path: Path) -> None:
    path = write(tmp_path, "id,name\r\n1,Ann\r\n")
    connector = make(tmp_path, quote_char="'")
    (result,) = connector.export([add(1, "2", name="O'Brien, Siobhán")])
    connector.close()
    assert result.ok, result.error
    assert path.read_bytes().decode("utf-8") == "id,name\r\n1,Ann\r\n2,'O''Brien, Siobhán'\r\n"
    assert by_anchor(full(make(tmp_path, quote_char="'")))["2"]["name"] == "O'Brien, Siobhán"


def test_without_a_qualifier_a_value_that_would_split_the_row_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "id,name\r\n1,Ann\r\n")
    connector = make(tmp_path, quote_char=None)
    results = connector.export(
        [add(1, "2", name='Bo "the" Builder'), add(2, "3", name="Smith, John"), add(3, "4", name="two\nlines")]
    )
    connector.close()
    assert [r.ok for r in results] == [True, False, False]
    assert results[1].attribute == "name" and "the delimiter ','" in str(results[1].error)
    assert "quote_char: null" in str(results[1].error) and "a line break" in str(results[2].error)
    assert path.read_bytes().decode("utf-8") == 'id,name\r\n1,Ann\r\n2,Bo "the" Builder\r\n'


def test_a_file_without_a_header_row_reads_and_writes_the_configured_columns(tmp_path: Path) -> None:
    names = ["id", "name", "mail"]
    path = write(tmp_path, "1,Ann,ann@example.org;a@x\n2,Bo,\n")
    connector = make(tmp_path, header=False, column_names=names, columns={"mail": "string[]"})
    assert by_anchor(full(connector)) == {
        "1": {"id": "1", "name": "Ann", "mail": ["ann@example.org", "a@x"]},
        "2": {"id": "2", "name": "Bo"},
    }
    results = connector.export(
        [
            update(1, "2", AttributeChange("name", ValueOp.REPLACE, ["Bob"])),
            add(2, "3", name="Cy"),
            add(3, "4", name="Di", title="Engineer"),  # no such column, and the file cannot gain one
        ]
    )
    connector.close()
    assert [r.ok for r in results] == [True, True, False] and results[2].attribute == "title"
    assert path.read_bytes().decode("utf-8") == "1,Ann,ann@example.org;a@x\r\n2,Bob,\r\n3,Cy,\r\n"
    assert [r.anchor for r in full(make(tmp_path, header=False, column_names=names)).records] == ["1", "2", "3"]
    # a short row is reported against the configured names
    write(tmp_path, "1,Ann\n")
    (issue,) = full(make(tmp_path, header=False, column_names=names)).issues
    assert "2 fields where the header has 3" in issue.reason and issue.attribute == "mail"


def test_a_file_without_a_header_row_has_its_schema_before_it_exists(tmp_path: Path) -> None:
    from idsync.connectors.csv.connector import offline_schema

    config = CsvConfig(
        path="new.csv", object_type="person", anchor="id", header=False, column_names=["id", "age"], missing_ok=True
    )
    for writing in (False, True):
        schema = offline_schema(config, str(tmp_path), writing=writing)
        assert schema is not None and set(schema.object_type("person").attributes) == {"id", "age"}
    connector = make(tmp_path, path="new.csv", header=False, column_names=["id", "age"], missing_ok=True)
    (result,) = connector.export([add(1, "7", age="41")])
    connector.close()
    assert result.ok and (tmp_path / "new.csv").read_bytes() == b"7,41\r\n"


def test_an_empty_file_without_a_header_row_is_a_source_with_no_objects(tmp_path: Path) -> None:
    """Without a header row, zero rows is how the file says it holds nothing: a full import reads no object (the
    engine then deletes them all, and the deletion threshold holds the export that would follow)."""
    write(tmp_path, "")
    connector = make(tmp_path, header=False, column_names=["id", "name"])
    imported = full(connector)
    assert imported.records == [] and imported.issues == [] and imported.watermark is not None
    assert list(connector.delta_import(imported.watermark)) == []  # unchanged: nothing to read
    write(tmp_path, "1,Ann\r\n")
    assert by_anchor(read_pages(connector.delta_import(imported.watermark))) == {"1": {"id": "1", "name": "Ann"}}
    connector.close()


def test_the_deletion_threshold_holds_what_an_emptied_header_less_source_would_delete(tmp_path: Path) -> None:
    """A header-less HR file that arrives empty by accident reads as "everyone left": the deletes it causes in a
    target wait at the deletion threshold, and nothing is written there until they are approved."""
    (tmp_path / "idsync.yaml").write_text(
        """
connectors:
  hr: {type: csv, path: hr.csv, object_type: person, anchor: id, header: false, column_names: [id, name]}
  out: {type: csv, path: out.csv, object_type: person, anchor: id, missing_ok: true}
metaverse:
  person:
    attributes: {id: string, name: string}
    deletion: {when: authoritative, authoritative: [hr]}
inbound:
  - {name: people, connector: hr, object_type: person, metaverse_type: person, project: true,
     join: [{id: id}], flows: {id: id, name: name}}
outbound:
  - {name: copy, connector: out, object_type: person, metaverse_type: person, provision: true,
     identifier: '[id]', join: [{id: id}], flows: {id: id, name: name}, deprovision: delete}
safety: {deletion_threshold: 2}
""",
        encoding="utf-8",
    )
    write(tmp_path, "1,Ann\r\n2,Bo\r\n3,Cy\r\n")
    with Workspace.load(tmp_path) as ws:
        assert Runner(ws).cycle().status is RunStatus.SUCCESS
    exported = (tmp_path / "out.csv").read_bytes()
    assert exported.count(b"\r\n") == 4  # the header and three people
    write(tmp_path, "")
    with Workspace.load(tmp_path) as ws:
        run = Runner(ws).cycle()
    held = [s for s in run.steps if s.connector == "out" and s.status is RunStatus.STOPPED_DELETION_THRESHOLD]
    assert run.status is RunStatus.STOPPED_DELETION_THRESHOLD and held, [(s.connector, s.status) for s in run.steps]
    assert "3 pending deletes" in (held[0].message or "")
    assert (tmp_path / "out.csv").read_bytes() == exported
    write(tmp_path, "1,Ann\r\n2,Bo\r\n3,Cy\r\n")  # the complete file arrives: the people join what the target kept
    with Workspace.load(tmp_path) as ws:
        run = Runner(ws).cycle()
    assert run.status is RunStatus.SUCCESS, [(s.connector, s.kind, s.status, s.message) for s in run.steps]
    assert all(s.counters.deletes == 0 for s in run.steps if s.connector == "out")
    assert (tmp_path / "out.csv").read_bytes() == exported
