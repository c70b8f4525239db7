"""MIM's Joiner: an operator joins a connector-space object to the metaverse object of their choice, or projects it
into a new one.

The join rules cannot settle every case: two people share the join value (the sync's "ambiguous" error), an account
predates the employee number it should carry, a contractor's record in one system names nothing another holds. MIM's
Joiner lets an operator pick the metaverse object, and the result is an *explicit connector*: a link the join and
scope rules did not make, so they never undo it. Here such a link's rule is ``joined-manually`` (or
``projected-manually``); the sync disconnects an object that leaves the inbound rules' scope only when a join or
projection rule linked it, so a manual link stays until an operator disconnects it (``idsync disconnect``) or the
object is deleted. Projecting by hand is for an object no projection rule takes (a connector whose rules only join).

The join runs the sync's own code for a joined object (every attribute the object contributes computed again, the
references waiting for it resolved, the other connectors evaluated outbound after the join commits), under the run
lock, recorded in the run history as a run of one sync step, as a disconnection is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from idsync.engine.disconnection import OperatorAction, describe
from idsync.engine.run_profiles import Runner
from idsync.model import CSObject, ErrorRow, ImportOp, LinkState, MVObject, RunResult, RunStatus

MANUAL = "joined-manually"
"""The link rule of an operator's join (MIM's explicit connector)."""
MANUAL_PROJECTION = "projected-manually"
"""The link rule of an operator's projection."""


class JoinRefused(ValueError):
    """The join cannot be made as asked; the message names the objects and says why, and what to do instead."""


@dataclass
class ManualJoin:
    """What an operator's join or projection did: the object before and after, the MV object, and the error rows of
    its consequences."""

    run: RunResult
    before: CSObject
    after: CSObject | None
    mv_id: int | None
    """The MV object joined to, or projected (None when the projection failed)."""
    joined: bool = False
    """False when the join failed and left nothing (the error rows say why)."""
    dropped: str | None = None
    """The add provisioning had staged for the MV object in this connector, never sent, that the join replaced."""
    errors: list[ErrorRow] = field(default_factory=list)

    @property
    def status(self) -> RunStatus:
        return self.run.status


def join(runner: Runner, cs_id: int, mv_id: int) -> ManualJoin:
    """Join ``cs_id`` to ``mv_id`` now, as an explicit connector. Raises ``JoinRefused`` for an unknown object, one
    joined already, one whose delete is waiting to be synced, an MV object that holds another object of the same
    connector (but for an add never sent, which the join replaces), and an MV type no rule pairs with the object's
    type (nothing would flow)."""
    store = runner.store
    with runner.holding_run_lock():
        cs = store.cs_get(cs_id)
        if cs is None:
            raise JoinRefused(f"no connector-space object cs:{cs_id}")
        mv = store.mv_get(mv_id)
        if mv is None:
            raise JoinRefused(f"no metaverse object mv:{mv_id}")
        _check(runner, cs, mv)
        action = OperatorAction(runner, cs, f"Joined {describe(cs)} to mv:{mv.id}")
        done = ManualJoin(action.run, action.before, None, mv.id)

        def change() -> None:
            cs.error = None
            others = []
            for other in store.cs_by_mv([mv.id]).get(mv.id, []):
                if other.connector == cs.connector:  # an add never sent (``_check``): this object takes its place
                    store.cs_delete([other.id])
                    done.dropped = describe(other)
                else:
                    others.append(other)
            action.sync.join(cs, mv, others, MANUAL)

        # a failure (a flow of the joined object) undoes the join whole, the dropped add's delete with it
        done.joined = action.apply(change)
        if not done.joined:
            done.dropped = None

        def message(after: CSObject | None) -> str:
            done.after = after
            return _message(done)

        done.errors = action.finish(message)
        return done


def project(runner: Runner, cs_id: int, mv_type: str | None = None) -> ManualJoin:
    """Project ``cs_id`` into a new MV object of ``mv_type`` now, as an explicit connector; without ``mv_type``, the
    one type its inbound rules flow into. Raises ``JoinRefused`` as ``join`` does, and for a type no inbound rule of
    the object flows into (the new object would get no values)."""
    store = runner.store
    with runner.holding_run_lock():
        cs = store.cs_get(cs_id)
        if cs is None:
            raise JoinRefused(f"no connector-space object cs:{cs_id}")
        _check_unlinked(cs, "project")
        mv_type = _projection_type(runner, cs, mv_type)
        action = OperatorAction(runner, cs, f"Projected {describe(cs)} into a new {mv_type}")
        done = ManualJoin(action.run, action.before, None, None)

        def change() -> None:
            cs.error = None
            done.mv_id = action.sync.project(cs, mv_type, MANUAL_PROJECTION).id

        if not action.apply(change):
            done.mv_id = None  # rolled back with the rest
        done.joined = done.mv_id is not None

        def message(after: CSObject | None) -> str:
            done.after = after
            if not done.joined:
                return f"operator: {describe(done.before)} was not projected (see the error rows)"
            return (
                f"operator: {describe(done.before)} projected into mv:{done.mv_id} ({mv_type}) as an explicit "
                "connector; join and scope rules leave the link alone until 'idsync disconnect'"
            )

        done.errors = action.finish(message)
        return done


def _projection_type(runner: Runner, cs: CSObject, wanted: str | None) -> str:
    types = sorted({r.mv_type for r in runner.ws.rules.inbound_for(cs.connector, cs.object_type)})
    if wanted is None:
        if len(types) == 1:
            return types[0]
        if not types:
            raise JoinRefused(
                f"no inbound rule flows {cs.connector} {cs.object_type!r} objects into the metaverse, so a projection "
                f"of {describe(cs)} would hold no values"
            )
        raise JoinRefused(f"{describe(cs)} could be projected into {', '.join(types)}: say which type")
    if wanted not in types:
        have = f" (its inbound rules flow into {', '.join(types)})" if types else ""
        raise JoinRefused(
            f"no inbound rule flows {cs.connector} {cs.object_type!r} objects into {wanted!r} metaverse objects, so "
            f"a projection of {describe(cs)} would hold no values{have}"
        )
    return wanted


def _check_unlinked(cs: CSObject, verb: str) -> None:
    who = describe(cs)
    if cs.mv_id is not None:
        how = "an explicit connector" if cs.link_rule in (MANUAL, MANUAL_PROJECTION) else f"by {cs.link_rule}"
        raise JoinRefused(
            f"{who} is joined to mv:{cs.mv_id} already ({how}); 'idsync disconnect cs:{cs.id}' first, then {verb} it"
        )
    if cs.pending_import is not None and cs.pending_import.op is ImportOp.DELETE:
        raise JoinRefused(f"{who} was deleted in {cs.connector} (an import staged its delete); a sync removes it")


def _unsent_add(cs: CSObject) -> bool:
    """An object provisioning staged and no export has sent (not even in flight): the target has nothing of it, so
    an operator's join of an existing object in its place drops it, which is how an account that predates the rules
    is adopted instead of a second one created."""
    return cs.add_unconfirmed and cs.pending_export is not None and not cs.pending_export.in_flight


def _check(runner: Runner, cs: CSObject, mv: MVObject) -> None:
    who = describe(cs)
    _check_unlinked(cs, "join")
    holder = next((o for o in runner.store.cs_by_mv([mv.id]).get(mv.id, []) if o.connector == cs.connector), None)
    if holder is not None and not _unsent_add(holder):
        raise JoinRefused(
            f"mv:{mv.id} is joined to {describe(holder)} already; one metaverse object holds at most one object of "
            f"each connector: 'idsync disconnect cs:{holder.id}' first, or join {who} to another metaverse object"
        )
    rules = runner.ws.rules
    inbound = any(r.mv_type == mv.object_type for r in rules.inbound_for(cs.connector, cs.object_type))
    outbound = (cs.connector, cs.object_type) in rules.outbound_for(mv.object_type)
    if not inbound and not outbound:
        raise JoinRefused(
            f"no inbound or outbound rule pairs {cs.connector} {cs.object_type!r} objects with {mv.object_type!r} "
            f"metaverse objects, so nothing would flow between {who} and mv:{mv.id}"
        )


def _message(done: ManualJoin) -> str:
    after = done.after
    if after is None or not done.joined:
        return f"operator: {describe(done.before)} was not joined to mv:{done.mv_id} (see the error rows)"
    state = "" if done.before.link_state is LinkState.DISCONNECTOR else f", was a {done.before.link_state.value}"
    dropped = f"; the add staged for {done.dropped}, never sent, was dropped" if done.dropped else ""
    return (
        f"operator: {describe(done.before)} joined to mv:{done.mv_id} as an explicit connector{state}; "
        f"join and scope rules leave the link alone until 'idsync disconnect'{dropped}"
    )
