"""Plain data shared by every layer: no I/O, no policy."""

from __future__ import annotations

from idsync.model.attributes import (
    AttributeSpec,
    AttributeType,
    AttributeValueError,
    Compare,
    ObjectTypeSchema,
    Schema,
    as_list,
    changed_attributes,
    coerce,
    in_storage_form,
    normalize,
    recased,
    values_equal,
)
from idsync.model.changes import DEPROVISIONING, DISABLE, AttributeChange, ExportOp, PendingExport, ValueOp
from idsync.model.names import closest
from idsync.model.objects import (
    Attributes,
    Contribution,
    CSObject,
    ImportOp,
    LinkState,
    MVObject,
    PendingImport,
)
from idsync.model.runs import ErrorRow, RunResult, RunStatus, StepCounters, StepKind, StepResult

__all__ = [
    "DEPROVISIONING",
    "DISABLE",
    "AttributeChange",
    "AttributeSpec",
    "AttributeType",
    "AttributeValueError",
    "Attributes",
    "CSObject",
    "Compare",
    "Contribution",
    "ErrorRow",
    "ExportOp",
    "ImportOp",
    "LinkState",
    "MVObject",
    "ObjectTypeSchema",
    "PendingExport",
    "PendingImport",
    "RunResult",
    "RunStatus",
    "Schema",
    "StepCounters",
    "StepKind",
    "StepResult",
    "ValueOp",
    "as_list",
    "changed_attributes",
    "closest",
    "coerce",
    "in_storage_form",
    "normalize",
    "recased",
    "values_equal",
]
