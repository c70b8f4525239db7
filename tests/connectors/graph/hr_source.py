"""A small HR source connector for the engine tests: a CSV of people, and one department object per department
whose members are its active people. It stands in for the CSV connector, which lives on another branch."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from idsync.connectors.base import (
    Capabilities,
    ConnectorContext,
    ExportItem,
    ExportResult,
    ImportPage,
    ImportRecord,
)
from idsync.connectors.config import ConnectorConfig
from idsync.model import AttributeSpec, AttributeType, ObjectTypeSchema, Schema

COLUMNS = ("employeeId", "givenName", "sn", "department", "managerId", "status")


class HrConfig(ConnectorConfig):
    type: Literal["hr-test"] = "hr-test"
    path: str


class HrSource:
    capabilities = Capabilities(full_import=True, delta_import=False, export=False, identifier_is_anchor=True)

    def __init__(self, name: str, config: HrConfig, context: ConnectorContext) -> None:
        self.name = name
        self.path = Path(context.workspace) / config.path

    def schema(self) -> Schema:
        person = {c: AttributeSpec(c) for c in COLUMNS}
        person["managerId"] = AttributeSpec("managerId", AttributeType.REFERENCE)
        department = {
            "name": AttributeSpec("name"),
            "members": AttributeSpec("members", AttributeType.REFERENCE, multivalued=True),
        }
        return Schema(
            {"person": ObjectTypeSchema("person", person), "department": ObjectTypeSchema("department", department)}
        )

    def test_connection(self) -> None:
        pass

    def full_import(self) -> Iterator[ImportPage]:
        with self.path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        people = [
            ImportRecord(row["employeeId"], row["employeeId"], "person", {c: row.get(c) or None for c in COLUMNS})
            for row in rows
        ]
        departments: dict[str, list[str]] = {}
        for row in rows:
            if row["status"] == "active":
                departments.setdefault(row["department"], []).append(row["employeeId"])
        groups = [
            ImportRecord(f"dept:{name}", f"dept:{name}", "department", {"name": name, "members": sorted(members)})
            for name, members in sorted(departments.items())
        ]
        yield ImportPage(people + groups)

    def delta_import(self, watermark: str | None) -> Iterator[ImportPage]:
        return self.full_import()

    def export(self, items: Sequence[ExportItem]) -> list[ExportResult]:
        return [ExportResult(i.cs_id, False, error="read-only source") for i in items]

    def lookup(self, object_type: str, identifier: str, keys: dict[str, Any]) -> ImportRecord | None:
        return None

    def close(self) -> None:
        pass


class HrSourceType:
    name: ClassVar[str] = "hr-test"
    config_model: ClassVar[type[HrConfig]] = HrConfig

    @staticmethod
    def create(name: str, config: Any, context: ConnectorContext) -> HrSource:
        return HrSource(name, config, context)


def write_people(path: Path, rows: list[tuple[str, ...]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
