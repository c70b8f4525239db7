"""Attribute-level changes: what export sends and what preview shows."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class ValueOp(enum.StrEnum):
    REPLACE = "replace"
    """Single-valued: the new value (``None`` clears the attribute)."""
    ADD = "add"
    """Multi-valued: values to add."""
    REMOVE = "remove"
    """Multi-valued: values to remove."""


@dataclass(slots=True)
class AttributeChange:
    name: str
    op: ValueOp
    values: list[Any]
    rule: str | None = None
    """The outbound rule that wants this change (lineage, preview, audit)."""

    def to_json(self) -> list[Any]:
        # the member itself, a str: JSON writes its value (``.value`` costs a descriptor call per change)
        return [self.name, self.op, self.values, self.rule]

    @classmethod
    def from_json(cls, data: list[Any]) -> AttributeChange:
        return cls(data[0], ValueOp(data[1]), list(data[2]), data[3] if len(data) > 3 else None)


class ExportOp(enum.StrEnum):
    ADD = "add"
    UPDATE = "update"
    DELETE = "delete"


DISABLE = "disable"
"""The kind of a pending export that deprovisions by updating (see ``PendingExport.kind``)."""
DEPROVISIONING = (ExportOp.DELETE.value, DISABLE)
"""The kinds of pending export that deprovision: what the deletion threshold counts (``CSFilter.export_ops``)."""


@dataclass(slots=True)
class PendingExport:
    """What sync wants written to a connected system and export has not sent.

    An update may carry a rename (``new_identifier``) together with attribute changes, as MIM's "update with
    DN change" does; a delete carries nothing else.
    """

    op: ExportOp
    changes: list[AttributeChange] = field(default_factory=list)
    new_identifier: str | None = None
    rule: str | None = None
    tries: int = 0
    in_flight: bool = False
    deprovisioning: bool = False
    """An update a deprovision action staged (``disable``): the deletion threshold counts it with the deletes."""
    warnings: list[str] = field(default_factory=list)
    """What the operator should know before this is sent (values it removes that name no object idsync knows)."""

    @property
    def kind(self) -> str:
        """What the store indexes the export as: its operation, or ``disable`` for a deprovisioning update."""
        return DISABLE if self.deprovisioning and self.op is ExportOp.UPDATE else self.op.value

    def is_empty(self) -> bool:
        return self.op is ExportOp.UPDATE and not self.changes and self.new_identifier is None

    def change(self, name: str) -> list[AttributeChange]:
        return [c for c in self.changes if c.name == name]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.op.value, "changes": [c.to_json() for c in self.changes]}
        if self.new_identifier is not None:
            out["new_identifier"] = self.new_identifier
        if self.rule is not None:
            out["rule"] = self.rule
        if self.tries:
            out["tries"] = self.tries
        if self.in_flight:
            out["in_flight"] = True
        if self.deprovisioning:
            out["deprovision"] = True
        if self.warnings:
            out["warnings"] = self.warnings
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PendingExport:
        return cls(
            op=ExportOp(data["op"]),
            changes=[AttributeChange.from_json(c) for c in data.get("changes", [])],
            new_identifier=data.get("new_identifier"),
            rule=data.get("rule"),
            tries=int(data.get("tries", 0)),
            in_flight=bool(data.get("in_flight", False)),
            deprovisioning=bool(data.get("deprovision", False)),
            warnings=list(data.get("warnings", [])),
        )
