"""What every sync decision needs at hand, for one step."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from idsync.connectors.base import Capabilities
from idsync.engine.errors import ErrorLog
from idsync.engine.evaluation import binary_attributes, expression_input
from idsync.engine.rules import DN, RuleSet
from idsync.expressions import EvalContext
from idsync.model import CSObject, MVObject, ObjectTypeSchema, StepResult
from idsync.store import Store

__all__ = ["DN", "SyncContext"]

T = TypeVar("T")


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
    """(mv_id, attribute, direction) that have unresolved rows."""
    left_waiting: dict[tuple[int, str, str], tuple[str, str]] = field(default_factory=dict)
    """(mv_id, attribute, direction) -> (connector, one of its references) of what this step recorded as unresolved
    and has not resolved since: what the step's message says it leaves waiting."""
    deferred_unresolved: list[tuple[str, str, str, list[str]]] | None = None
    """While a projection computes an MV object that has no id yet, its unresolved references wait here."""
    export_plans: dict[tuple[str, str, tuple[int, ...], str], list[Any]] = field(default_factory=dict)
    """(connector, object type, outbound rules, which flows) -> the export flow plan (``export_flows._plan``)."""
    binary: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    """(connector or "", object type) -> its binary attributes. Schemas change only when an import discovers them,
    never during a sync, so one lookup per type and step is exact."""
    warnings: dict[int, list[str]] = field(default_factory=dict)
    """CS object id -> what its staged pending export deserves a warning about (``engine.outside_values``)."""
    named_dn: dict[tuple[str, str], bool] = field(default_factory=dict)
    """(connector, object type) -> whether its inbound rules' expressions read ``[dn]`` (``cs_values``)."""

    def __post_init__(self) -> None:
        # neither a connector's capabilities nor its schemas change during a step (only an import discovers a
        # schema): ask the workspace once per connector and object type (an undiscovered type's empty schema
        # would otherwise be made anew at every provisioning)
        self.capabilities = _once(self.capabilities)
        self.cs_schema = _once(self.cs_schema)

    def load_unresolved(self) -> None:
        rows = self.store.unresolved_all()
        self.waiting_refs = {(r.direction, r.connector, r.ref) for r in rows}
        self.waiting_owners = {(r.mv_id, r.attribute, r.direction) for r in rows}

    def mv_schema(self, mv_type: str) -> ObjectTypeSchema:
        schema = self.rules.mv_schemas.get(mv_type)
        return schema if schema is not None else ObjectTypeSchema(mv_type)

    def cs_values(self, cs: CSObject) -> Mapping[str, Any]:
        """What expressions see of a CS object: its hologram, binary values as bytes, and ``dn``, its identifier
        (the distinguished name in a directory), as MIM and Connect Sync show it to rules (a dn-part flow reads
        it), unless the system has an attribute of that name."""
        key = (cs.connector, cs.object_type)
        binary = self.binary.get(key)
        if binary is None:
            binary = self.binary[key] = binary_attributes(self.cs_schema(cs.connector, cs.object_type))
        values = expression_input(cs.hologram, binary)
        named = self.named_dn.get(key)
        if named is None:
            named = self.named_dn[key] = self.rules.inbound_reads(cs.connector, cs.object_type, DN)
        if named and DN not in values:
            values = {**values, DN: cs.identifier}
        return values

    def mv_values(self, mv: MVObject) -> Mapping[str, Any]:
        """What expressions see of an MV object: its attributes, binary values as bytes."""
        key = ("", mv.object_type)
        binary = self.binary.get(key)
        if binary is None:
            binary = self.binary[key] = binary_attributes(self.mv_schema(mv.object_type))
        return expression_input(mv.attributes, binary)


def _once(ask: Callable[..., T]) -> Callable[..., T]:
    """``ask``, answering each combination of arguments from the first answer."""
    known: dict[tuple[Any, ...], T] = {}

    def once(*args: Any) -> T:
        found = known.get(args)
        if found is None:
            found = known[args] = ask(*args)
        return found

    return once
