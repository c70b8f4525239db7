"""The CSV connector passes the connector contract, with its default file format and with that of a MIM
delimited-text agent set to another text qualifier and no header row. The harness writes the file with the csv
module directly."""

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

    COLUMNS = ("id", "displayName", "mail")

    def __init__(self, folder: Path, quote: str = '"', header: bool = True) -> None:
        self.folder = folder
        self.path = folder / "people.csv"
        self.quote = quote
        self.header = header
        self._write(list(self.COLUMNS), [])

    def _config(self, path: str) -> dict[str, Any]:
        config: dict[str, Any] = {
            "type": "csv",
            "path": path,
            "object_type": "person",
            "anchor": "id",
            "columns": {"mail": "string[]"},
            "quote_char": self.quote,
        }
        if not self.header:
            config |= {"header": False, "column_names": list(self.COLUMNS)}
        return config

    def connect(self) -> Connector:
        return connector_type.create("people", self._config("people.csv"), ConnectorContext(str(self.folder)))

    def connect_unreachable(self) -> Connector:
        return connector_type.create("people", self._config("missing/people.csv"), ConnectorContext(str(self.folder)))

    def _read(self) -> tuple[list[str], list[dict[str, str]]]:
        with self.path.open(encoding="utf-8-sig", newline="") as handle:
            names = None if self.header else list(self.COLUMNS)
            reader = csv.DictReader(handle, names, quotechar=self.quote)
            rows = list(reader)
            return list(reader.fieldnames or []), rows

    def _write(self, header: list[str], rows: list[dict[str, str]]) -> None:
        with self.path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, header, quotechar=self.quote)
            if self.header:
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


class TestCsvContractWithoutHeaderRow(ConnectorContract):
    """The file of a MIM delimited-text agent with the text qualifier ' and "use first row for header names" off."""

    @pytest.fixture
    def harness(self, tmp_path: Path) -> ContractHarness:
        return CsvHarness(tmp_path, quote="'", header=False)
