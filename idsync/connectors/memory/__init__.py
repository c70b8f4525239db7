"""An in-memory connected system for tests: ``type: memory`` with ``directory: NAME``, where NAME is a
:class:`MemoryDirectory` in the context's ``memory_directories`` option."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from idsync.connectors.base import ConnectorContext
from idsync.connectors.memory.config import MemoryConfig
from idsync.connectors.memory.connector import MemoryConnector
from idsync.connectors.memory.directory import OPTION, ExportRefused, MemoryDirectory, MemoryObject, directories


class MemoryConnectorType:
    name: ClassVar[str] = "memory"
    config_model: ClassVar[type[MemoryConfig]] = MemoryConfig

    @staticmethod
    def create(name: str, config: Any, context: ConnectorContext) -> MemoryConnector:
        model = config if isinstance(config, MemoryConfig) else MemoryConfig.model_validate(dict(config))
        return MemoryConnector(name, model, directories(context.options))


connector_type = MemoryConnectorType()


def memory_context(directories: Mapping[str, MemoryDirectory], workspace: str = ".") -> ConnectorContext:
    """A connector context that carries ``directories`` (name -> directory) to memory connectors."""
    return ConnectorContext(workspace=workspace, options={OPTION: directories})


__all__ = [
    "OPTION",
    "ExportRefused",
    "MemoryConfig",
    "MemoryConnector",
    "MemoryConnectorType",
    "MemoryDirectory",
    "MemoryObject",
    "connector_type",
    "memory_context",
]
