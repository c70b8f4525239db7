"""Provisioning on demand (Entra cloud sync's name for it): one object, now, from its source to every target.

An engineer trying a new rule on one person before a cycle touches everyone, or a new hire who starts today and
cannot wait for the night's run: the object is read from its connected system (``Connector.lookup``, the call
that settles an interrupted export), staged as an import page would stage it, synced alone (its joins, projection,
flows and provisioning, the references it resolves), and the exports that sync staged for it in each target are sent,
each as an export step restricted to that object. Deletes and disables are never sent on demand: they wait for the
connector's own export and its deletion threshold, and the answer says so. Nothing else is imported, synced or
exported, and no watermark moves, so the next delta import and sync still see everything they would have.

It is one run in the history (``Provisioned on demand hr 'E1042'``), under the run lock, with a step per stage;
in staging mode the import and sync happen and nothing is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from idsync.connectors.base import Connector, ImportRecord
from idsync.engine.errors import ErrorLog, StepStopped
from idsync.engine.imports import Importer
from idsync.engine.reconciliation import in_flight_ids
from idsync.engine.run_profiles import Runner
from idsync.engine.sync import Synchronizer
from idsync.model import DEPROVISIONING, CSObject, RunResult, RunStatus, Schema, StepKind, StepResult


@dataclass
class TargetOutcome:
    """What became of the object in one target."""

    connector: str
    cs_id: int
    identifier: str
    staged: str | None
    """The pending export the sync left (add, update, rename, delete, disable), None when there was none."""
    sent: bool = False
    held: str | None = None
    """Why it was not sent (a deprovisioning, staging mode, a target stopped)."""


@dataclass
class OnDemand:
    run: RunResult
    source: CSObject | None
    """The source object after its sync (None when it was deleted)."""
    mv_id: int | None
    targets: list[TargetOutcome] = field(default_factory=list)
    missing: bool = False
    """Neither the connector space nor the system holds the object named (the import step says so)."""


def provision_on_demand(runner: Runner, connector: str, identifier: str, cs_id: int | None = None) -> OnDemand:
    """Import, sync and export the object ``identifier`` of ``connector`` (``cs_id``: the connector-space object
    that holds it, when one does)."""
    store = runner.store
    with runner.holding_run_lock():
        run = store.run_start(f"Provisioned on demand {connector} {identifier!r}", runner.staging)
        found: list[CSObject | None] = [store.cs_get(cs_id) if cs_id is not None else None]
        done = OnDemand(run, None, None)

        def import_one(step: StepResult, errors: ErrorLog) -> None:
            instance = runner.ws.connector(connector)
            schema = instance.schema()  # asked once: an LDAP connector reads it from the server
            record = _read(instance, schema, identifier, found[0])
            if record is None and found[0] is None:
                done.missing = True
                raise StepStopped(
                    RunStatus.STOPPED_CONFIG, f"{connector} has no object {identifier!r} (looked up by its identifier)"
                )
            importer = Importer(
                store,
                instance,
                connector,
                schema,
                step,
                errors,
                confirmation_tries=runner.ws.config.safety.export_confirmation_tries,
            )
            importer.stage_one(record, found[0])
            if record is not None:
                found[0] = store.cs_by_anchor(connector, [record.anchor]).get(record.anchor)
            state = "gone from the system: its delete is staged" if record is None else "read"
            step.message = f"{connector} {identifier!r}: {state}"

        imported = runner.execute(run, connector, StepKind.DELTA_IMPORT, work=import_one)
        source = found[0]
        if imported.status.is_stopped or source is None:
            _finish(runner, run)
            return done
        mv_before = source.mv_id
        # its targets before the sync too: a deletion rule may unlink them (their disable or delete still counts)
        linked_before = [c.id for c in store.cs_by_mv([mv_before]).get(mv_before, [])] if mv_before is not None else []

        def sync_one(step: StepResult, errors: ErrorLog) -> None:
            fresh = store.cs_get(source.id)
            if fresh is None:
                raise StepStopped(RunStatus.STOPPED_CONFIG, f"{connector} {identifier!r} left the connector space")
            Synchronizer(runner.sync_context(step, errors), connector, full=False).run_one(fresh)

        synced = runner.execute(run, connector, StepKind.DELTA_SYNC, work=sync_one)
        done.source = store.cs_get(source.id)
        done.mv_id = done.source.mv_id if done.source is not None else mv_before
        if synced.status.is_stopped:
            _finish(runner, run)
            return done
        links = store.cs_by_mv([done.mv_id]).get(done.mv_id, []) if done.mv_id is not None else []
        ids = {c.id for c in links} | set(linked_before)
        targets = [c for c in store.cs_get_many(sorted(ids)).values() if c.connector != connector]
        for target in sorted(targets, key=lambda c: (c.connector, c.id)):
            pending = target.pending_export
            outcome = TargetOutcome(target.connector, target.id, target.identifier, pending.kind if pending else None)
            done.targets.append(outcome)
            if pending is None:
                continue
            if pending.kind in DEPROVISIONING:
                outcome.held = f"left to {target.connector}'s own export and its deletion threshold"
            elif runner.staging:
                outcome.held = "staging mode: nothing is sent"
            else:
                _export(runner, run, outcome)
        _finish(runner, run)
        return done


def _read(instance: Connector, schema: Schema, identifier: str, known: CSObject | None) -> ImportRecord | None:
    """The object as its system holds it, looked up by identifier (the connector space's, when it holds it)."""
    if known is not None:
        return instance.lookup(known.object_type, known.identifier, {})
    for object_type in schema.object_types:
        record = instance.lookup(object_type, identifier, {})
        if record is not None:
            return record
    return None


def _export(runner: Runner, run: RunResult, outcome: TargetOutcome) -> None:
    stopped: set[str] = set()
    if in_flight_ids(runner.store, outcome.connector):
        runner.reconcile(run, outcome.connector, stopped)
    if stopped:
        outcome.held = f"{outcome.connector} could not settle what an interrupted run left in flight"
        return
    step = runner.execute(
        run,
        outcome.connector,
        StepKind.EXPORT,
        work=lambda step, errors: runner.export(step, errors, outcome.connector, only={outcome.cs_id}),
    )
    after = runner.store.cs_get(outcome.cs_id)
    outcome.sent = not step.status.is_stopped and (after is None or after.pending_export is None)
    if not outcome.sent:
        outcome.held = step.message or "not sent: see the run's error rows"


def _finish(runner: Runner, run: RunResult) -> None:
    run.status = RunStatus.worst([s.status for s in run.steps]) if run.steps else RunStatus.SUCCESS
    runner.store.run_finish(run)
