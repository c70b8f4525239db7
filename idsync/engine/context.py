"""What every sync decision needs at hand, for one step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from idsync.connectors.base import Capabilities
from idsync.engine.errors import ErrorLog
from idsync.engine.rules import RuleSet
from idsync.expressions import EvalContext
from idsync.model import ObjectTypeSchema, StepResult
from idsync.store import Store


@dataclass
class SyncContext:
    store: Store
    rules: RuleSet
    capabilities: Callable[[str], Capabilities]
    cs_schema: Callable[[str, str], ObjectTypeSchema]
    """(connector, object type) -> schema, from what the last import discovered; never calls the system."""
    step: StepResult
    errors: ErrorLog
    eval_ctx: EvalContext
    staging: bool = False
    retry_in: set[int] = field(default_factory=set)
    """MV objects with inbound references to retry after the rest of the sync."""
    retry_out: set[int] = field(default_factory=set)
    """MV objects whose outbound flows wait for a referenced object to be provisioned."""
    scope_cache: dict[tuple[str, int], bool] = field(default_factory=dict)

    def mv_schema(self, mv_type: str) -> ObjectTypeSchema:
        schema = self.rules.mv_schemas.get(mv_type)
        return schema if schema is not None else ObjectTypeSchema(mv_type)
