"""Connector-space and metaverse objects, in MIM's terms."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from idsync.model.changes import ExportOp, PendingExport

Attributes = dict[str, Any]
"""Storage-form attribute map: name -> scalar (single-valued) or list (multi-valued). Absent means null."""


class LinkState(enum.StrEnum):
    CONNECTOR = "connector"
    """Joined to (or projected into / provisioned from) an MV object."""
    DISCONNECTOR = "disconnector"
    """Not joined; every sync of its connector tries the join rules again."""
    EXPLICIT = "explicit-disconnector"
    """Never joined again automatically (an operator's decision)."""
    FILTERED = "filtered-disconnector"
    """Out of the inbound rules' scope."""


class ImportOp(enum.StrEnum):
    """A pending import: what an import staged and no sync has processed yet."""

    ADD = "add"
    UPDATE = "update"
    RENAME = "rename"
    DELETE = "delete"


@dataclass(slots=True)
class PendingImport:
    op: ImportOp
    changed: list[str] = field(default_factory=list)
    """Attributes whose values changed since the last sync (all of them for an add)."""
    old_identifier: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.op.value, "changed": self.changed}
        if self.old_identifier is not None:
            out["old_identifier"] = self.old_identifier
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PendingImport:
        return cls(ImportOp(data["op"]), list(data.get("changed", [])), data.get("old_identifier"))

    def merge(self, later: PendingImport) -> PendingImport:
        """Two imports before one sync: the pending import both of them would have staged."""
        if later.op is ImportOp.DELETE:
            if self.op is ImportOp.ADD:
                # added and deleted before any sync saw it: nothing for sync to do but remove it
                return PendingImport(ImportOp.DELETE, [], self.old_identifier)
            return PendingImport(ImportOp.DELETE, [], self.old_identifier or later.old_identifier)
        if self.op is ImportOp.ADD:
            return PendingImport(ImportOp.ADD, sorted(set(self.changed) | set(later.changed)))
        if self.op is ImportOp.DELETE:
            # deleted, then back with the same anchor (restored): treat as an update of everything
            return PendingImport(ImportOp.UPDATE, sorted(set(self.changed) | set(later.changed)))
        op = ImportOp.RENAME if ImportOp.RENAME in (self.op, later.op) else ImportOp.UPDATE
        return PendingImport(
            op, sorted(set(self.changed) | set(later.changed)), self.old_identifier or later.old_identifier
        )


@dataclass(slots=True)
class CSObject:
    """One object of a connected system as idsync knows it."""

    id: int
    connector: str
    object_type: str
    identifier: str
    anchor: str | None = None
    hologram: Attributes = field(default_factory=dict)
    """The values last imported: what the connected system is known to hold."""
    link_state: LinkState = LinkState.DISCONNECTOR
    mv_id: int | None = None
    link_rule: str | None = None
    """How the link came to be: ``projected:<rule>``, ``joined:<rule>``, ``provisioned:<rule>``."""
    pending_import: PendingImport | None = None
    pending_export: PendingExport | None = None
    unconfirmed: dict[str, Any] = field(default_factory=dict)
    """Export memory: attribute -> {"value": desired storage value, "tries": n} sent but not yet seen back."""
    error: str | None = None
    last_seen: int = 0

    @property
    def is_connector(self) -> bool:
        return self.link_state is LinkState.CONNECTOR and self.mv_id is not None

    @property
    def add_unconfirmed(self) -> bool:
        """Provisioning staged it and the target has not given it an anchor: an add pending, perhaps in flight (then
        the target may hold it already; otherwise it has nothing of it)."""
        pending = self.pending_export
        return self.anchor is None and pending is not None and pending.op is ExportOp.ADD


@dataclass(slots=True)
class Contribution:
    """Lineage of one metaverse attribute value: who set it."""

    connector: str
    rule: str
    cs_id: int

    def to_json(self) -> list[Any]:
        return [self.connector, self.rule, self.cs_id]

    @classmethod
    def from_json(cls, data: list[Any]) -> Contribution:
        return cls(str(data[0]), str(data[1]), int(data[2]))


@dataclass(slots=True)
class MVObject:
    id: int
    object_type: str
    attributes: Attributes = field(default_factory=dict)
    provenance: dict[str, Contribution] = field(default_factory=dict)
    created_run: int | None = None
