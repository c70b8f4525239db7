"""The CSV connector passes the connector contract. The harness writes the file with the csv module directly."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from idsync.connectors.base import Connector, ConnectorContext
from idsync.connectors.csv import connector_type
from idsync.model import Attributes
from idsync.testing.contract import ConnectorContract, ContractHarness


class CsvHarness(ContractHarness):
    object_type = "person"
    single = "displayName"
    multi = "mail"
    delta = "snapshot"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "people.csv"
        self._write(["id", "displayName", "mail"], [])

    def _config(self, path: str) -> dict[str, Any]:
        return {"type": "csv", "path": path, "object_type": "person", "anchor": "id", "columns": {"mail": "string[]"}}

    def connect(self) -> Connector:
        return connector_type.create("people", self._config("people.csv"), ConnectorContext(str(self.folder)))

    def connect_unreachable(self) -> Connector:
        return connector_type.create("people", self._config("missing/people.csv"), ConnectorContext(str(self.folder)))

    def _read(self) -> tuple[list[str], list[dict[str, str]]]:
        with self.path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            return list(reader.fieldnames or []), rows

    def _write(self, header: list[str], rows: list[dict[str, str]]) -> None:
        with self.path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, header)
            writer.writeheader()
            writer.writerows(rows)

    def _set(self, header: list[str], row: dict[str, str], attributes: Attributes) -> None:
        for name, value in attributes.items():
            if name not in header:
                header.append(name)
            row[name] = ";".join(value) if isinstance(value, list) else ("" if value is None else str(value))

    def seed(self, key: str, attributes: Attributes) -> None:
        header, rows = self._read()
        row = {"id": key}
        self._set(header, row, attributes)
        self._write(header, [*rows, row])

    def seed_update(self, key: str, attributes: Attributes) -> None:
        header, rows = self._read()
        for row in rows:
            if row["id"] == key:
                self._set(header, row, attributes)
        self._write(header, rows)

    def seed_delete(self, key: str) -> None:
        header, rows = self._read()
        self._write(header, [r for r in rows if r["id"] != key])


class TestCsvContract(ConnectorContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> ContractHarness:
        return CsvHarness(tmp_path)
