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
    waiting_refs: set[tuple[str, str, str]] | None = None
    """(direction, connector, ref) of every unresolved reference, loaded once per step."""
    waiting_owners: set[tuple[int, str, str]] = field(default_factory=set)
    deferred_unresolved: list[tuple[str, str, str, list[str]]] | None = None
    """While a projection computes an MV object that has no id yet, its unresolved references wait here."""
    """(mv_id, attribute, direction) that have unresolved rows."""

    def load_unresolved(self) -> None:
        rows = self.store.unresolved_all()
        self.waiting_refs = {(r.direction, r.connector, r.ref) for r in rows}
        self.waiting_owners = {(r.mv_id, r.attribute, r.direction) for r in rows}

    def mv_schema(self, mv_type: str) -> ObjectTypeSchema:
        schema = self.rules.mv_schemas.get(mv_type)
        return schema if schema is not None else ObjectTypeSchema(mv_type)
