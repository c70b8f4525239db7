"""An operator's decisions on one CS object's link, as MIM's connector space offers them: "Disconnect" (as a normal
or an explicit disconnector) and "Convert to normal disconnector".

A disconnection is what a sync does to a CS object that leaves — the link removed, the MV attributes it gave
falling to their next contributor by precedence, the MV deletion rule applied, the remaining links evaluated
outbound — so it runs the sync's own code for that, under the run lock, and is recorded in the run history as a
run of one sync step (the audit trail holds exports only). Its outbound consequences are evaluated after the
disconnection itself commits, as a sync's waiting evaluations are: a target's objection (provisioning meets the
object just disconnected) is an error row on that run, never a reason to keep a link the operator removed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from idsync.engine.context import SyncContext
from idsync.engine.errors import ErrorLog, ObjectError
from idsync.engine.run_profiles import Runner
from idsync.engine.sync import Synchronizer
from idsync.model import (
    CSObject,
    ErrorRow,
    ImportOp,
    LinkState,
    MVObject,
    PendingImport,
    RunResult,
    RunStatus,
    StepKind,
    StepResult,
)


class DisconnectRefused(ValueError):
    """The object cannot be changed as asked; the message names it and says why. ``explicit_would``: an explicit
    disconnect would do what was asked; each front end says how its callers ask for one (``told``)."""

    def __init__(self, message: str, *, explicit_would: bool = False) -> None:
        super().__init__(message)
        self.explicit_would = explicit_would

    def told(self, how: str) -> str:
        """The message, with ``how`` (``--explicit``, ``{"explicit": true}``, a button) when it is the way on."""
        return f"{self}; {how} makes it an explicit disconnector" if self.explicit_would else str(self)


@dataclass
class Disconnection:
    """What an operator's action did: the object before and after, the MV object it left and what became of it."""

    run: RunResult
    before: CSObject
    after: CSObject | None
    mv_id: int | None = None
    """The MV object it was linked to."""
    disconnected: bool = False
    """False when the disconnection failed and left nothing (the error rows say why)."""
    mv_deleted: bool = False
    dropped_export: str | None = None
    """The operation of a pending export the disconnected object had (it wanted values for a link now gone)."""
    errors: list[ErrorRow] = field(default_factory=list)

    @property
    def status(self) -> RunStatus:
        return self.run.status


class OperatorSync(Synchronizer):
    """The sync, for one CS object an operator disconnects or joins: outbound evaluations wait for the retry pass,
    after the operator's decision commits."""

    def __init__(self, ctx: SyncContext, connector: str) -> None:
        super().__init__(ctx, connector, full=False)
        self.deferring = True

    def _outbound(self, mv: MVObject, links: list[CSObject]) -> None:
        if self.deferring:
            self.ctx.retry_out.add(mv.id)
            return
        super()._outbound(mv, links)


class OperatorAction:
    """One operator decision on a CS object's link, run as a sync of that object: a run of one sync step in the
    history, the decision in one transaction, its outbound consequences after it commits (a target's objection is
    an error row on that run, never a reason to undo the decision). The caller holds the run lock."""

    def __init__(self, runner: Runner, cs: CSObject, label: str) -> None:
        self.runner = runner
        self.before = replace(cs)
        self.run = runner.store.run_start(label, runner.staging)
        self.step = runner.store.step_start(self.run, cs.connector, StepKind.DELTA_SYNC)
        self.errors = ErrorLog(self.step, 0)
        self.sync = OperatorSync(runner.sync_context(self.step, self.errors), cs.connector)

    def apply(self, change: Callable[[], None]) -> bool:
        """Make ``change`` in one transaction, then evaluate what waits. False when it failed and left nothing (nor
        its counts): an error row on the run says why."""
        step, counters = self.step, replace(self.step.counters)
        try:
            with self.runner.store.transaction():
                change()
        except ObjectError as exc:
            step.counters = counters
            self.errors.from_exception(exc, cs=self.before)
            step.status = RunStatus.COMPLETED_ERRORS
            return False
        self.sync.deferring = False
        self.sync.retry_references()
        step.status = RunStatus.COMPLETED_ERRORS if self.errors.total else RunStatus.SUCCESS
        return True

    def finish(self, message: Callable[[CSObject | None], str]) -> list[ErrorRow]:
        """Record the run, its step's ``message`` (given the object as it is now); returns the run's error rows."""
        store = self.runner.store
        store.add_errors(self.errors.drain())
        self.step.message = message(store.cs_get(self.before.id))
        rows = store.errors(run_id=self.run.id, limit=100)
        finish_run(self.runner, self.run, self.step)
        return rows


def describe(cs: CSObject) -> str:
    """An object as the run history names it (``Disconnected hr 'E0003' (cs:3)``: the run's name, in an operator's
    words, the same in the dashboard and ``idsync history``) and as the step's message does."""
    return f"{cs.connector} {cs.identifier!r} (cs:{cs.id})"


def disconnect(runner: Runner, cs_id: int, *, explicit: bool) -> Disconnection | None:
    """Disconnect ``cs_id`` from its MV object now; with ``explicit`` it also becomes an explicit disconnector, which
    no join or projection takes again (a disconnector may be made explicit too). Returns None when there is nothing
    to do (it is an explicit disconnector already); raises ``DisconnectRefused`` for an unknown object, a disconnector
    without ``explicit``, and an add that was never exported."""
    store = runner.store
    with runner.holding_run_lock():
        cs = store.cs_get(cs_id)
        if cs is None:
            raise DisconnectRefused(f"no connector-space object cs:{cs_id}")
        if cs.link_state is LinkState.EXPLICIT:
            return None
        if cs.mv_id is None and not explicit:
            raise DisconnectRefused(
                f"{describe(cs)} is not joined to a metaverse object (it is a {cs.link_state.value})",
                explicit_would=True,
            )
        pending = cs.pending_export
        if cs.mv_id is not None and cs.add_unconfirmed:
            raise DisconnectRefused(
                f"{describe(cs)} is an add not exported yet: {cs.connector} has no such object to disconnect. "
                "Let the export run first, or change the scope of the outbound rule that provisions it"
            )
        label = f"Disconnected {describe(cs)}{' as an explicit disconnector' if explicit else ''}"
        action = OperatorAction(runner, cs, label)
        sync, store = action.sync, runner.store
        done = Disconnection(action.run, action.before, None, mv_id=cs.mv_id)

        def change() -> None:
            waiting = cs.pending_import
            if cs.mv_id is not None:
                done.dropped_export = pending.op.value if pending is not None else None
                cs.pending_export = None
                mv = store.mv_get(cs.mv_id)
                if mv is not None:
                    sync.disconnect(cs, mv)
                    done.mv_deleted = store.mv_get(mv.id) is None
                else:
                    cs.mv_id, cs.link_state, cs.link_rule = None, LinkState.DISCONNECTOR, None
            # a change an import staged is still to be synced; a normal disconnector gets its second look at
            # the next sync, delta or full, as one whose join value changed does
            cs.pending_import = waiting
            if explicit:
                cs.link_state = LinkState.EXPLICIT
            elif waiting is None:
                cs.pending_import = PendingImport(ImportOp.UPDATE, [])
            store.cs_save([cs])

        # a failure is the disconnection's own (a remaining contributor's flow): nothing of it stays
        done.disconnected = action.apply(change)

        def message(after: CSObject | None) -> str:
            done.after = after
            return _message(done, explicit)

        done.errors = action.finish(message)
        return done


def make_normal(runner: Runner, cs_id: int) -> Disconnection:
    """MIM's "Convert to normal disconnector": ``cs_id``, an explicit disconnector, becomes a normal one, and the next
    sync of its connector (delta or full) runs the join and projection rules for it again."""
    store = runner.store
    with runner.holding_run_lock():
        cs = store.cs_get(cs_id)
        if cs is None:
            raise DisconnectRefused(f"no connector-space object cs:{cs_id}")
        if cs.link_state is not LinkState.EXPLICIT:
            raise DisconnectRefused(f"{describe(cs)} is not an explicit disconnector (it is a {cs.link_state.value})")
        run = store.run_start(f"Converted {describe(cs)} to a normal disconnector", runner.staging)
        step = store.step_start(run, cs.connector, StepKind.DELTA_SYNC)
        done = Disconnection(run, cs, None)
        with store.transaction():
            cs.link_state = LinkState.DISCONNECTOR
            if cs.pending_import is None:
                cs.pending_import = PendingImport(ImportOp.UPDATE, [])
            store.cs_save([cs])
        step.status = RunStatus.SUCCESS
        step.message = f"operator: {describe(cs)} is a normal disconnector again; the next sync tries its join rules"
        done.after = store.cs_get(cs_id)
        finish_run(runner, run, step)
        return done


def _message(done: Disconnection, explicit: bool) -> str:
    after = done.after
    if after is None or not done.disconnected:
        return f"operator: {describe(done.before)} was not disconnected (see the error rows)"
    text = f"operator: {describe(done.before)}"
    if done.mv_id is not None:
        text += f" disconnected from mv:{done.mv_id}"
        if done.mv_deleted:
            text += " (deleted by its deletion rule)"
    text += "; an explicit disconnector" if explicit else "; a normal disconnector"
    if after.mv_id is not None:
        text += f", and joined again at once by {after.link_rule} (an explicit disconnect keeps it apart)"
    if done.dropped_export:
        text += f"; its pending export ({done.dropped_export}) was dropped"
    return text


def finish_run(runner: Runner, run: RunResult, step: StepResult) -> None:
    step.ended = time.time()
    runner.store.step_save(step)
    run.steps = [step]
    run.status = step.status
    runner.store.run_finish(run)
