"""Running the operations of a batch of export items: JSON ``$batch`` requests of up to 20, sent concurrently.

Each round packs the operations that can go now (the one before them answered) into batches without ``dependsOn``,
sends them side by side under the rate governor, and reads every answer on its own: done; throttled (wait its
``Retry-After``, and make everyone wait); a server error or a lost answer (back off and retry - but a create whose
answer was lost is looked up before it is sent again); or a refusal, which ends that item and no other. An item
whose create may have happened and cannot be settled stops the export with a connectivity error, so the engine
keeps it in flight and reconciles it on the next run instead of guessing.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from idsync.connectors.base import ConnectivityError, ConnectorError
from idsync.connectors.graph.client import BatchAnswer, BatchItem, GraphClient
from idsync.connectors.graph.config import GraphConfig
from idsync.connectors.graph.errors import AmbiguousRequest, GraphFailure, GraphRequestError
from idsync.connectors.graph.lookup import Finder, Wanted
from idsync.connectors.graph.operations import ItemWork, Kind, Op, Planner, State, made
from idsync.connectors.graph.throttle import backoff, retry_after_seconds
from idsync.connectors.graph.values import identifier_attribute, identifier_of

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], None]


@dataclass
class _Sent:
    ops: list[Op]
    answers: dict[str, BatchAnswer] | None = None
    error: Exception | None = None


class Executor:
    def __init__(
        self,
        client: GraphClient,
        finder: Finder,
        planner: Planner,
        config: GraphConfig,
        pool: ThreadPoolExecutor,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.finder = finder
        self.planner = planner
        self.config = config
        self.pool = pool
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self._lost_batches = 0
        self._allowance: int | None = None
        """While Graph throttles: how many operations to send in the next round (what got through last time, and
        one batch more). Sending everything again would only collect 429s, each of which counts against the app."""

    def run(self, works: Sequence[ItemWork]) -> None:
        while True:
            self._settle(works)
            pending = [op for w in works if not w.finished for op in w.ops if op.state is State.PENDING]
            if not pending:
                break
            now = self.clock()
            ready = self._ready(pending, now)
            if not ready:
                later = [op.not_before for op in pending if op.not_before > now]
                if not later:
                    for op in pending:  # waiting on something that will not happen: a bug, said plainly
                        op.work.gave_up = f"operation {op.kind.value} could not be scheduled"
                        op.work.cancel_rest()
                    break
                self.sleep(max(0.0, min(later) - now))
                continue
            batches = self._pack(self._allowed(ready))
            admitted = throttled = 0
            for sent in self.pool.map(self._send, batches):
                done, refused = self._read(sent)
                admitted += done
                throttled += refused
            if throttled:
                self._allowance = admitted + self.config.batch_size
            elif self._allowance is not None:
                self._allowance *= 2
                if self._allowance >= len(pending):
                    self._allowance = None
        unsettled = [w for w in works if w.ambiguous and not w.exists and w.failure is None and w.refusal is None]
        if unsettled:
            names = ", ".join(w.item.identifier for w in unsettled[:5])
            raise ConnectivityError(
                f"Graph did not answer whether {len(unsettled)} object(s) were created ({names}); they stay in flight "
                "and are looked up before anything is sent again"
            )

    # scheduling ---------------------------------------------------------------------------------------------------
    def _ready(self, pending: list[Op], now: float) -> list[Op]:
        """The operations that can go now: not waiting out a delay, and the one before them answered. One never
        rides in the same batch as the one it follows: Graph takes a ``$batch`` fully in parallel or fully in
        sequence only ("Batch should be either fully sequential or fully parallel"), and batches here are parallel."""
        return [op for op in pending if op.not_before <= now and (op.after is None or op.after.state is State.DONE)]

    def _allowed(self, ready: list[Op]) -> list[Op]:
        return ready if self._allowance is None else ready[: max(self._allowance, 1)]

    def _pack(self, ready: list[Op]) -> list[list[Op]]:
        size = self.config.batch_size
        return [ready[start : start + size] for start in range(0, len(ready), size)]

    def _send(self, ops: list[Op]) -> _Sent:
        items = [BatchItem(str(n), op.method, op.resolved_path(), op.body) for n, op in enumerate(ops, start=1)]
        try:
            return _Sent(ops, self.client.batch(items, what="exporting to Graph"))
        except (AmbiguousRequest, GraphRequestError) as exc:
            return _Sent(ops, error=exc)

    # answers ----------------------------------------------------------------------------------------------------
    def _read(self, sent: _Sent) -> tuple[int, int]:
        """Apply a batch's answers. Returns (operations done, operations throttled)."""
        if sent.error is not None:
            if isinstance(sent.error, GraphRequestError):
                for op in sent.ops:
                    op.work.fail(sent.error.failure)
                return 0, 0
            self._lost_batches += 1
            if self._lost_batches > self.config.max_retries + 1:
                raise ConnectivityError(f"Graph keeps losing export batches: {sent.error}")
            for op in sent.ops:
                self._transient(op, None, ambiguous=True)
            return 0, 0
        self._lost_batches = 0
        assert sent.answers is not None
        done = throttled = 0
        for number, op in enumerate(sent.ops, start=1):
            if op.state is not State.PENDING or op.work.finished:
                continue
            answer = sent.answers.get(str(number))
            if answer is None:
                self._transient(op, None, ambiguous=True)
            elif answer.ok:
                self._done(op, answer)
                done += 1
            elif answer.status == 429:
                self._throttled(op, answer)
                throttled += 1
            elif answer.status >= 500 or answer.status == 408:
                self._transient(op, answer, ambiguous=True)
            else:
                self._refused(op, answer.failure())
        return done, throttled

    def _done(self, op: Op, answer: BatchAnswer) -> None:
        op.state = State.DONE
        work = op.work
        if op.kind.makes_object:
            made(work, answer.body)
            if op.kind is Kind.RESTORE:
                log.info("restored soft-deleted user %s for %s", work.object_id, work.item.identifier)
        elif op.kind is Kind.READ and isinstance(answer.body, dict):
            work.identifier = identifier_of(work.kind, answer.body)
        elif op.kind is Kind.UPDATE and op.body and op.body.get(identifier_attribute(work.kind)):
            work.identifier = str(op.body[identifier_attribute(work.kind)])

    def _throttled(self, op: Op, answer: BatchAnswer) -> None:
        op.throttles += 1
        wait = retry_after_seconds(answer.headers, self._backoff(op.throttles))
        assert wait is not None
        self.client.stats.throttled += 1
        self.client.governor.throttled(wait)
        op.not_before = self.clock() + wait
        if op.throttles > self.config.max_throttle_waits:
            op.work.gave_up = f"still throttled by Graph after {op.throttles} waits; it will be sent again later"
            op.work.cancel_rest()

    def _transient(self, op: Op, answer: BatchAnswer | None, *, ambiguous: bool) -> None:
        op.attempts += 1
        if ambiguous and op.kind in (Kind.CREATE, Kind.INVITE):
            op.work.ambiguous = True
        asked = retry_after_seconds(answer.headers) if answer is not None else None
        op.not_before = self.clock() + (asked if asked is not None else self._backoff(op.attempts))
        if op.attempts > self.config.max_retries:
            what = answer.failure().describe() if answer is not None else "no answer"
            op.work.gave_up = f"Graph failed {op.attempts} times ({what}); it will be sent again later"
            op.work.cancel_rest()

    def _refused(self, op: Op, failure: GraphFailure) -> None:
        work = op.work
        if op.tolerate is not None and op.tolerate(failure):
            op.state = State.DONE
            return
        if op.kind is Kind.RESTORE and failure.status == 404 and op.attempts and work.restore_id:
            # an earlier attempt whose answer was lost did restore it: it is no longer among the deleted items
            op.state = State.DONE
            work.object_id, work.exists = work.restore_id, True
            return
        if op.kind is Kind.BIND_MEMBERS and (failure.already_exists or failure.status == 404 or failure.about_members):
            # a bind is all or nothing and Graph does not say which member it refused: one by one, the others go in
            self.planner.split_members(op)
            return
        if op.kind is Kind.ADD_MEMBER:
            member = str((op.body or {}).get("@odata.id", "")).rsplit("/", 1)[-1]
            what = "does not exist in Graph" if failure.status == 404 else "refused"
            failure = GraphFailure(
                failure.status, failure.code, f"member {member} {what}: {failure.message}", "members"
            )
        if op.kind is Kind.MANAGER and failure.status == 404:
            failure = GraphFailure(failure.status, failure.code, failure.message, "manager")
        if op.kind is Kind.CREATE and failure.conflict and work.ambiguous:
            # our own earlier attempt may be the object in the way: look it up before calling it a refusal
            work.conflict = failure
            op.not_before = self.clock()
            return
        work.fail(failure)

    def _backoff(self, attempt: int) -> float:
        return backoff(attempt - 1, self.config.retry_base_seconds, self.config.retry_max_seconds, self.rng)

    # ambiguity ------------------------------------------------------------------------------------------------
    def _settle(self, works: Sequence[ItemWork]) -> None:
        """Creates whose answer was lost: find the object before anything is sent again."""
        todo = [w for w in works if w.ambiguous and not w.exists and not w.finished]
        todo = [w for w in todo if (m := w.maker()) is not None and m.state is State.PENDING]
        if not todo:
            return
        wanted = [Wanted(w.kind, w.item.identifier, w.sent) for w in todo]
        try:
            found = self.finder.find_many(wanted)
        except ConnectivityError:
            raise
        except ConnectorError as exc:
            found = [exc] * len(todo)
        for work, outcome in zip(todo, found, strict=True):
            maker = work.maker()
            assert maker is not None
            if isinstance(outcome, ConnectorError):
                work.gave_up = str(outcome)
                work.cancel_rest()
            elif outcome is not None:
                log.info("%s %s was created by an attempt whose answer was lost: adopted", work.kind, outcome["id"])
                maker.state = State.DONE
                work.object_id = str(outcome["id"])
                work.identifier = identifier_of(work.kind, outcome)
                work.exists = True
                work.ambiguous = False
            elif work.conflict is not None:
                work.ambiguous = False
                work.fail(work.conflict)
            else:
                work.ambiguous = False  # not there: sending it again is safe
