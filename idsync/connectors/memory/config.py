"""Configuration of an in-memory connector: which test directory it talks to, and how that directory behaves."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from idsync.connectors.config import ConnectorConfig


class MemoryConfig(ConnectorConfig):
    type: Literal["memory"] = "memory"
    directory: str
    """The name of a :class:`~idsync.connectors.memory.directory.MemoryDirectory` in the context's
    ``memory_directories`` option."""
    anchor_from_identifier: bool = False
    """Use the identifier as the anchor of an added object (a keyed system) instead of a new uuid4."""
    references_by: Literal["anchor", "identifier"] = "anchor"
    page_size: int = Field(default=100, ge=1)
    unique_attributes: list[str] = Field(default_factory=list)
    """Attributes this test directory keeps unique: ``lookup`` may find an object by them (and by nothing else)."""
    secret_attributes: list[str] = Field(default_factory=list)
    """Write-only attributes this directory takes (an initial password), declared as the connector's secrets."""
