"""Groups derived from a column of a CSV file: one object per value, the qualifying rows as members - references
inside the connector, so the engine resolves them - and an HR edit moves the membership with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from idsync.connectors.base import ConnectorContext, ConnectorError, ExportItem
from idsync.connectors.csv import CsvConfig, connector_type
from idsync.engine.run_profiles import Runner
from idsync.engine.workspace import Workspace
from idsync.model import AttributeType, ExportOp, RunStatus
from idsync.testing.contract import read_pages

DEPARTMENTS = {"column": "department", "object_type": "department", "where": {"status": ["active"]}}
PEOPLE = (
    "id,name,department,status\n"
    "1,Zoë,Ventes & Marketing,active\n"
    "2,Björn,Ventes & Marketing,active\n"
    "3,Ana,Research,leaver\n"
    "4,Åsa,,active\n"
    "5,Li,Research,active\n"
)


def config(**extra: Any) -> dict[str, Any]:
    return {"type": "csv", "path": "hr.csv", "object_type": "person", "anchor": "id", "groups": [DEPARTMENTS], **extra}


def test_one_object_per_value_with_the_qualifying_rows_as_members(tmp_path: Path) -> None:
    (tmp_path / "hr.csv").write_text(PEOPLE, encoding="utf-8")
    connector = connector_type.create("hr", config(page_size=2), ConnectorContext(str(tmp_path)))
    schema = connector.schema().object_type("department")
    assert schema.spec("members").type is AttributeType.REFERENCE and schema.spec("members").multivalued
    pages = list(connector.full_import())
    groups = {r.anchor: r for r in pages[-1].records if r.object_type == "department"}
    assert {a: (r.identifier, r.attributes) for a, r in groups.items()} == {
        "department:Ventes & Marketing": ("Ventes & Marketing", {"name": "Ventes & Marketing", "members": ["1", "2"]}),
        "department:Research": ("Research", {"name": "Research", "members": ["5"]}),  # the leaver is not one
    }
    assert pages[-1].watermark is not None
    assert len(read_pages(pages).records) == 5 + 2
    (refused,) = connector.export([ExportItem(1, "department", ExportOp.ADD, "Legal")])
    assert not refused.ok and refused.error and "derived from the column 'department'" in refused.error
    connector.close()


def test_a_value_whose_rows_all_fail_the_condition_keeps_an_empty_group(tmp_path: Path) -> None:
    (tmp_path / "hr.csv").write_text("id,department,status\n1,Legal,leaver\n", encoding="utf-8")
    connector = connector_type.create("hr", config(), ConnectorContext(str(tmp_path)))
    (group,) = [r for r in read_pages(connector.full_import()).records if r.object_type == "department"]
    assert group.attributes == {"name": "Legal", "members": None}


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ([{"column": "department", "object_type": "person"}], "an object_type of its own"),
        ([{"column": "tags", "object_type": "tag"}], "multi-valued"),
        ([{"column": "d", "object_type": "d", "name": "x", "members": "x"}], "name the same attribute"),
    ],
)
def test_bad_group_settings_are_refused(groups: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CsvConfig.model_validate(config(groups=groups, columns={"tags": "string[]"}))


def test_a_missing_column_stops_the_import_naming_it(tmp_path: Path) -> None:
    (tmp_path / "hr.csv").write_text("id,name\n1,Zoë\n", encoding="utf-8")
    connector = connector_type.create("hr", config(), ConnectorContext(str(tmp_path)))
    with pytest.raises(ConnectorError, match="no column 'department', which the 'department' groups"):
        list(connector.full_import())


WORKSPACE = """
connectors:
  hr:
    type: csv
    path: hr.csv
    object_type: person
    anchor: id
    groups: [{column: department, object_type: department, where: {status: [active]}}]
metaverse:
  person: [id, name]
  group:
    attributes: {name: string, members: "reference[]"}
inbound:
  - {name: people, connector: hr, object_type: person, metaverse_type: person, project: true,
     join: [{id: id}], flows: {id: id, name: name}}
  - {name: departments, connector: hr, object_type: department, metaverse_type: group, project: true,
     join: [{name: name}], flows: {name: name, members: members}}
"""


def test_the_engine_resolves_the_members_and_follows_an_hr_move(tmp_path: Path) -> None:
    (tmp_path / "idsync.yaml").write_text(WORKSPACE, encoding="utf-8")
    (tmp_path / "hr.csv").write_text(PEOPLE, encoding="utf-8")

    def groups() -> dict[str, set[str]]:
        with Workspace.load(tmp_path) as ws:
            run = Runner(ws).cycle()
            assert run.status is RunStatus.SUCCESS, [s.message for s in run.steps]
            people = {str(p.id): p.attributes["name"] for p in ws.store.mv_page("person", 0, 100)}
            return {
                g.attributes["name"]: {people[m] for m in g.attributes.get("members", [])}
                for g in ws.store.mv_page("group", 0, 100)
            }

    assert groups() == {"Ventes & Marketing": {"Zoë", "Björn"}, "Research": {"Li"}}
    (tmp_path / "hr.csv").write_text(PEOPLE.replace("2,Björn,Ventes & Marketing", "2,Björn,Research"), "utf-8")
    assert groups() == {"Ventes & Marketing": {"Zoë"}, "Research": {"Björn", "Li"}}
