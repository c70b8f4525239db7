"""Preview: what a sync of one object would change, computed for real and rolled back.

The same code as a sync runs — scope, join, projection, precedence, outbound, provisioning — inside a
transaction that is always rolled back, so what preview shows is exactly what a sync would do, and nothing stays.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from idsync.engine.context import SyncContext
from idsync.engine.errors import ErrorLog
from idsync.engine.provisioning import outbound
from idsync.engine.sync import Synchronizer
from idsync.engine.workspace import Workspace
from idsync.expressions import EvalContext
from idsync.model import CSObject, ErrorRow, MVObject, StepKind, StepResult


@dataclass
class PreviewResult:
    cs_before: CSObject | None = None
    cs_after: CSObject | None = None
    mv_before: MVObject | None = None
    mv_after: MVObject | None = None
    links_after: list[CSObject] = field(default_factory=list)
    """The MV object's links after the sync, and the objects linked to it before that the sync unlinked (a target
    object deprovisioned with its deleted MV object, say), each as the sync leaves it."""
    errors: list[ErrorRow] = field(default_factory=list)

    @property
    def mv_deleted(self) -> bool:
        return self.mv_before is not None and self.mv_after is None

    @property
    def mv_changes(self) -> dict[str, tuple[object, object]]:
        before = self.mv_before.attributes if self.mv_before else {}
        after = self.mv_after.attributes if self.mv_after else {}
        return {
            k: (before.get(k), after.get(k)) for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)
        }


def preview(ws: Workspace, *, cs_id: int | None = None, mv_id: int | None = None) -> PreviewResult:
    store = ws.store
    step = StepResult(0, 0, 0, "", StepKind.FULL_SYNC, started=time.time())
    errors = ErrorLog(step, 0)
    ctx = SyncContext(
        store, ws.rules, ws.capabilities, ws.cs_schema, step, errors, EvalContext(now=datetime.now(UTC)), staging=True
    )
    result = PreviewResult()
    linked_before: list[int] = []
    with store.savepoint_rollback():
        if cs_id is not None:
            cs = store.cs_get(cs_id)
            if cs is None:
                raise LookupError(f"no connector-space object #{cs_id}")
            result.cs_before = cs
            result.mv_before = store.mv_get(cs.mv_id) if cs.mv_id is not None else None
            if result.mv_before is not None:
                linked_before = [c.id for c in store.cs_by_mv([result.mv_before.id]).get(result.mv_before.id, [])]
            sync = Synchronizer(ctx, cs.connector, full=True)
            sync.process(store.cs_get(cs_id) or cs)
            sync.retry_references()
            result.cs_after = store.cs_get(cs_id)
            after_mv = result.cs_after.mv_id if result.cs_after else None
            if after_mv is None and result.mv_before is not None:
                after_mv = result.mv_before.id
            result.mv_after = store.mv_get(after_mv) if after_mv is not None else None
        elif mv_id is not None:
            mv = store.mv_get(mv_id)
            if mv is None:
                raise LookupError(f"no metaverse object #{mv_id}")
            result.mv_before = mv
            links = store.cs_by_mv([mv_id]).get(mv_id, [])
            linked_before = [c.id for c in links]
            outbound(ctx, store.mv_get(mv_id) or mv, links)
            result.mv_after = store.mv_get(mv_id)
        after = store.cs_by_mv([result.mv_after.id]).get(result.mv_after.id, []) if result.mv_after else []
        unlinked = set(linked_before) - {c.id for c in after}
        result.links_after = after + [c for c in store.cs_get_many(sorted(unlinked)).values()]
        result.errors = list(errors.rows)
    return result
