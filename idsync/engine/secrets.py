"""Secret attributes (initial passwords): computed when they are sent, never stored.

A connector's secret attributes are the well-known password attributes and its ``Capabilities.secret_attributes``.
The engine keeps none of their values: imports drop them (no hologram holds one), export memory skips them, and a
pending export holds :data:`SECRET_MARKER` where the value would be. The export step evaluates the marked flow again,
against the MV object as it is then, right before it sends; the value lives only in the item handed to the
connector. A RandomString password is therefore drawn once, when it is sent.

Flows to secret attributes are initial-only whatever their configuration says: a value no import can read back can
never be compared with what the target holds, so a flow applied at every sync would send it at every export.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from idsync.connectors.base import Capabilities
from idsync.engine.errors import ObjectError
from idsync.engine.evaluation import SENTINELS, binary_attributes, evaluate_flow, expression_input, typed
from idsync.engine.rules import CompiledFlow, RuleSet
from idsync.expressions import EvalContext
from idsync.model import AttributeChange, AttributeSpec, CSObject, ObjectTypeSchema, as_list
from idsync.model.redaction import SecretAttributes
from idsync.store import Store

SECRET_MARKER = "[secret: computed when exported]"  # noqa: S105 - a marker, not a password
"""What a pending export holds in place of a secret value."""


def secret_attributes(caps: Capabilities) -> SecretAttributes:
    return SecretAttributes.with_extra(caps.secret_attributes)


def withheld(value: Any) -> Any:
    """The stored stand-in for a flow's secret value (``None`` stays ``None``: nothing is to be sent)."""
    return None if value is None else SECRET_MARKER


def is_withheld(change: AttributeChange) -> bool:
    return SECRET_MARKER in change.values


class SecretFlows:
    """Evaluates, for one export step, the flows whose values the pending exports only mark."""

    def __init__(self, store: Store, rules: RuleSet, connector: str) -> None:
        self.store = store
        self.rules = rules
        self.connector = connector
        self.eval_ctx = EvalContext(now=datetime.now(UTC))

    def resolve(self, cs: CSObject, change: AttributeChange, spec: AttributeSpec | None) -> AttributeChange:
        """``change`` with the value its rule's flow gives now; an :class:`ObjectError` naming the object and the
        attribute when there is none (the object left the metaverse, the rule or the flow is gone, or it gives
        nothing)."""
        what = f"{change.name}: the secret value of rule {change.rule!r}"
        mv = self.store.mv_get(cs.mv_id) if cs.mv_id is not None else None
        if mv is None:
            raise ObjectError(
                f"{what} cannot be computed: the object is no longer joined to a metaverse object",
                attribute=change.name,
                code="secret-unavailable",
            )
        flow = self._flow(change)
        if flow is None:
            raise ObjectError(
                f"{what} cannot be computed: the rule no longer has that flow", attribute=change.name, code="config"
            )
        schema = self.rules.mv_schemas.get(mv.object_type) or ObjectTypeSchema(mv.object_type)
        values = expression_input(mv.attributes, binary_attributes(schema))
        result = typed(spec, evaluate_flow(flow, values, self.eval_ctx, change.rule or ""))
        if result is None or any(result is s for s in SENTINELS):
            raise ObjectError(
                f"{what} gave no value when the export was sent", attribute=change.name, code="secret-unavailable"
            )
        return AttributeChange(change.name, change.op, list(as_list(result)), change.rule)

    def _flow(self, change: AttributeChange) -> CompiledFlow | None:
        for rule in self.rules.outbound:
            if rule.name == change.rule and rule.connector == self.connector:
                flows = [f for f in rule.flows if f.target == change.name]
                return min(flows, key=lambda f: (f.precedence, f.order)) if flows else None
        return None
