"""Join: finding the existing object a new one belongs to.

Inbound, a CS object's values are matched against metaverse attributes; outbound, an MV object's values are
matched against the target connector space (how cloud users created by the old connector are adopted instead of
duplicated). Join rules run in order; a rule with no match hands over to the next; several matches are an
"ambiguous join" error for that object, never a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from idsync.engine.context import SyncContext
from idsync.engine.errors import ObjectError
from idsync.engine.evaluation import evaluate
from idsync.engine.rules import JoinCriterion
from idsync.expressions import AUTHORITATIVE_NULL, IGNORE_THIS_FLOW
from idsync.model import as_list
from idsync.store.rows import key_value

_MISSING = object()


@dataclass(frozen=True, slots=True)
class JoinMatch:
    target_id: int
    criterion: int


def _criterion_values(
    ctx: SyncContext, criterion: JoinCriterion, values: Mapping[str, Any], rule: str
) -> list[tuple[str, list[str]]] | None:
    pairs = []
    for attr, expr in criterion.pairs:
        direct = expr.direct_attribute
        result = values.get(direct, _MISSING) if direct is not None else _MISSING
        if result is _MISSING or isinstance(result, list):
            # anything but a plain value of the attribute goes through the expression
            result = evaluate(
                expr,
                values,
                ctx.eval_ctx,
                what="join rule {} of {!r}",
                about=(criterion.index + 1, rule),
                attribute=attr,
            )
        if result is None or result is IGNORE_THIS_FLOW or result is AUTHORITATIVE_NULL:
            return None
        keys = [key_value(v) for v in as_list(result) if v is not None and v != ""]
        if not keys:
            return None
        pairs.append((attr, keys))
    return pairs


def run_join_rules(
    ctx: SyncContext,
    criteria: list[JoinCriterion],
    values: Mapping[str, Any],
    rule: str,
    lookup: Callable[[str, list[str]], dict[str, list[int]]],
    describe: Callable[[int], str],
    remedy: str = "make the join rule more specific or fix the data",
) -> JoinMatch | None:
    """Try each criterion in order; ``lookup(attribute, keys)`` returns key -> candidate ids; an ambiguity's error
    ends with ``remedy``."""
    for criterion in criteria:
        pairs = _criterion_values(ctx, criterion, values, rule)
        if pairs is None:
            continue
        candidates: set[int] | None = None
        for attr, keys in pairs:
            found = lookup(attr, keys)
            ids = {i for key in keys for i in found.get(key, [])}
            candidates = ids if candidates is None else candidates & ids
            if not candidates:
                break
        if not candidates:
            continue
        if len(candidates) > 1:
            listed = ", ".join(describe(i) for i in sorted(candidates)[:5])
            more = f" and {len(candidates) - 5} more" if len(candidates) > 5 else ""
            attrs = ", ".join(a for a, _ in pairs)
            raise ObjectError(
                f"ambiguous join: rule {rule!r} join {criterion.index + 1} on {attrs} matches {len(candidates)} "
                f"objects ({listed}{more}); {remedy}",
                attribute=pairs[0][0],
                code="ambiguous-join",
            )
        return JoinMatch(next(iter(candidates)), criterion.index)
    return None


def join_metaverse(
    ctx: SyncContext, criteria: list[JoinCriterion], mv_type: str, values: Mapping[str, Any], rule: str
) -> JoinMatch | None:
    return run_join_rules(
        ctx,
        criteria,
        values,
        rule,
        lambda attr, keys: ctx.store.mv_find(mv_type, attr, keys),
        lambda i: f"mv:{i}",
        "make the join rule more specific, fix the data, or join it by hand: idsync join OBJECT --to mv:ID",
    )


def join_connector_space(
    ctx: SyncContext, criteria: list[JoinCriterion], connector: str, values: Mapping[str, Any], rule: str
) -> JoinMatch | None:
    return run_join_rules(
        ctx,
        criteria,
        values,
        rule,
        lambda attr, keys: ctx.store.cs_find(connector, attr, keys),
        lambda i: f"cs #{i}",
    )
