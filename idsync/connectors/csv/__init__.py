"""CSV files as a source and a target: ``type: csv`` in a workspace's configuration."""

from __future__ import annotations

from typing import Any, ClassVar

from idsync.connectors.base import ConnectorContext
from idsync.connectors.csv.config import CsvConfig
from idsync.connectors.csv.connector import CsvConnector, create, offline_schema
from idsync.model import Schema


class CsvConnectorType:
    name: ClassVar[str] = "csv"
    config_model: ClassVar[type[CsvConfig]] = CsvConfig

    @staticmethod
    def create(name: str, config: Any, context: ConnectorContext) -> CsvConnector:
        return create(name, config, context.workspace)

    @staticmethod
    def offline_schema(config: CsvConfig, workspace: str, *, writing: bool) -> Schema | None:
        return offline_schema(config, workspace, writing=writing)


connector_type = CsvConnectorType()

__all__ = ["CsvConfig", "CsvConnector", "CsvConnectorType", "connector_type"]
