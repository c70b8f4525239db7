"""The in-memory connector passes the connector contract."""

from __future__ import annotations

import pytest

from idsync.connectors.base import Connector
from idsync.connectors.memory import MemoryDirectory, connector_type, memory_context
from idsync.model import Attributes, AttributeSpec, ObjectTypeSchema, Schema
from idsync.testing.contract import ConnectorContract, ContractHarness

PEOPLE = Schema(
    {
        "person": ObjectTypeSchema(
            "person", {"displayName": AttributeSpec("displayName"), "mail": AttributeSpec("mail", multivalued=True)}
        )
    }
)


class MemoryHarness(ContractHarness):
    delta = "changes"

    def __init__(self) -> None:
        self.directory = MemoryDirectory(PEOPLE)
        self.context = memory_context({"people": self.directory})

    def connect(self) -> Connector:
        config = {"type": "memory", "directory": "people", "unique_attributes": ["displayName"]}
        return connector_type.create("mem", config, self.context)

    def connect_unreachable(self) -> Connector:
        return connector_type.create("mem", {"type": "memory", "directory": "elsewhere"}, self.context)

    def _anchor(self, key: str) -> str:
        found = self.directory.find(key)
        assert found is not None
        return found.anchor

    def seed(self, key: str, attributes: Attributes) -> None:
        self.directory.add("person", key, attributes)

    def seed_update(self, key: str, attributes: Attributes) -> None:
        self.directory.replace(self._anchor(key), attributes)

    def seed_delete(self, key: str) -> None:
        self.directory.delete(self._anchor(key))


class TestMemoryContract(ConnectorContract):
    @pytest.fixture
    def harness(self) -> ContractHarness:
        return MemoryHarness()
