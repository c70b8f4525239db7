"""Running, and operator actions that write sync state: ``run PROFILE|CONNECTOR:STEP``, ``cycle``, ``approve-deletes``,
``disconnect``, ``join``, ``project``, ``on-demand``."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape

from idsync.cli.context import CliState, pass_state, unknown_name
from idsync.cli.output import console, print_json, print_run
from idsync.cli.progress import RichProgress
from idsync.model import RunResult, RunStatus, StepKind

if TYPE_CHECKING:
    from idsync.engine.workspace import Workspace

JSON_HELP = "Print one JSON document (run id, status, per-step counters) instead of tables."
STAGING_HELP = "Compute everything, write nothing to any connected system (pending exports stay for review)."


def _finish(run: RunResult, as_json: bool) -> None:
    if as_json:
        print_json(run.summary())
    else:
        out = console()
        print_run(run, out)
        if any(s.counters.errors for s in run.steps):
            out.print(f"errors: idsync history {run.id} --errors")
    raise click.exceptions.Exit(run.status.exit_code)


class CtrlC:
    """Ctrl-C during a run. The first one is a stop request, answered by the engine after the page in progress
    commits: the step ends as stopped-cancelled, nothing committed is lost, the summary prints and the exit code is
    the one of a stopped run. A second one aborts at once (exit 130); that page rolls back and the next run
    converges all the same."""

    REASON = "interrupted (Ctrl-C): stopped after the last committed page; the next run goes on from there"

    def __init__(self) -> None:
        self.reason: str | None = None
        self._previous: Any = None

    def __call__(self) -> str | None:
        return self.reason

    def __enter__(self) -> CtrlC:
        self._previous = signal.signal(signal.SIGINT, self._first)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self._previous)

    def run_returned(self) -> None:
        """The run is over, recorded and about to be summarized: a Ctrl-C now (the second press of a person who
        was told to press again, just as the run stopped at a page) has nothing left to abort, and an abort would
        print "aborted" and exit 130 after a summary that says how the run really ended."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    def _first(self, signum: int, frame: object) -> None:
        self.reason = self.REASON
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.stderr.write("\nstopping after the current page; Ctrl-C again to abort at once\n")
        sys.stderr.flush()


def step_names() -> list[str]:
    """The step spellings a profile in idsync.yaml accepts; ``run CONNECTOR:STEP`` takes the same."""
    from typing import get_args

    from idsync.config.models import StepName

    return list(get_args(StepName))


def _single_step(ws: Any, what: str) -> list[tuple[str, StepKind]]:
    """``CONNECTOR:STEP`` as the one step of a run, read the way a profile's ``{CONNECTOR: STEP}`` is read, so the two
    accept the same spellings. Anything else is a usage error naming the profiles and the single-step form."""
    from pydantic import ValidationError

    from idsync.config import Step

    connector, sep, name = what.partition(":")
    connectors = ws.connector_names()
    if sep and connector in connectors:
        try:
            step = Step.model_validate({connector: name})
        except ValidationError:
            pass
        else:
            return [(step.connector, StepKind(step.step))]
    profiles = ", ".join(sorted(ws.config.profiles)) or "none defined"
    raise click.UsageError(
        f"{what!r} is neither a run profile nor CONNECTOR:STEP.\n"
        f"  profiles: {profiles}\n"
        f"  CONNECTOR:STEP runs one step (for example {connectors[0] if connectors else 'hr'}:full-import)\n"
        f"    connectors: {', '.join(connectors) or 'none'}\n"
        f"    steps: {', '.join(step_names())}"
    )


def _execute(state: CliState, staging: bool, as_json: bool, what: str | None) -> None:
    """Run ``what`` — a run profile's name or ``CONNECTOR:STEP`` — or the delta cycle when it is None. All three
    take the run lock, are recorded in the run history under that name, and print the same summary."""
    from idsync.engine.run_profiles import RunLocked, Runner, RunOptions

    ws = state.open()
    try:
        if what is None:
            steps = None
        elif what in ws.config.profiles:
            steps = [(s.connector, StepKind(s.step)) for s in ws.config.profiles[what]]
        else:
            steps = _single_step(ws, what)
        with CtrlC() as ctrl_c:
            runner = Runner(ws, RunOptions(staging=True if staging else None, stop=ctrl_c), RichProgress())
            result = runner.cycle() if steps is None else runner.run_steps(what or "cycle", steps)
            ctrl_c.run_returned()
            _finish(result, as_json)
    except RunLocked as exc:
        console(stderr=True).print(f"[red]not started:[/red] {escape(str(exc))}")
        raise click.exceptions.Exit(2) from None
    finally:
        ws.close()


@click.command("run")
@click.argument("what", metavar="PROFILE|CONNECTOR:STEP")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.option("--staging", is_flag=True, help=STAGING_HELP)
@pass_state
def run_command(state: CliState, what: str, as_json: bool, staging: bool) -> None:
    """Run a run profile (a named list of steps in idsync.yaml), or one step of one connector.

    \b
    idsync run full                 the profile 'full'
    idsync run hr:full-import       one step: CONNECTOR:STEP
    idsync run directory:export

    Steps: full-import, delta-import, full-sync, delta-sync, export, confirming-import. A single step runs as a
    profile does: under the run lock, recorded in the history under its name, the same summary and --json.
    A stopped step stops the rest of its connector's steps; the exit code is 0 success, 1 completed with errors,
    2 stopped, 4 no such profile, connector or step.

    Ctrl-C stops the run after the page in progress commits (status stopped-cancelled, exit code 2); a second
    Ctrl-C aborts at once (exit code 130).
    """
    _execute(state, staging, as_json, what)


@click.command("cycle")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.option("--staging", is_flag=True, help=STAGING_HELP)
@pass_state
def cycle_command(state: CliState, as_json: bool, staging: bool) -> None:
    """Run a sync cycle over every connector: import (delta when possible), sync, export, confirming import, and a
    sync of what the confirming import staged, so nothing it could finish is left pending.

    This is Connect Sync's delta cycle. Run it twice in a row and the second one exports nothing. Exit codes and
    Ctrl-C as for 'idsync run'.
    """
    _execute(state, staging, as_json, None)


@click.command("approve-deletes")
@click.argument("connector")
@click.option(
    "--count",
    type=click.IntRange(min=0),
    default=None,
    help="Approve only while at most N deletes and disables are pending. The export sends all of them or none, so "
    "N below what is pending now is refused (default: everything pending now).",
)
@pass_state
def approve_deletes(state: CliState, connector: str, count: int | None) -> None:
    """Let the next export of CONNECTOR send its pending deletes and disables past the deletion threshold.

    The threshold counts deletes and the updates a `disable` deprovision action staged (an emptied HR file must
    not disable everyone either). The approval covers what is pending now: the next export sends it all, unless more
    is pending by then (then it stops again). That export uses the approval up. --count N approves at most N: an
    export never sends part of them, so N below what is pending now is refused (exit code 4) rather than recorded.

    Review them first: idsync search cs --connector CONNECTOR --pending-delete
    """
    from idsync.service.readmodel import BadReference
    from idsync.service.readmodel import approve_deletes as approve

    ws = state.open()
    try:
        if connector not in ws.connector_names():
            raise unknown_name("connector", connector, ws.connector_names())
        try:
            approved, pending = approve(ws.store, ws.connector_names(), connector, count, below_pending=False)
        except BadReference as exc:
            raise click.UsageError(str(exc)) from None
    finally:
        ws.close()
    if not pending:
        message = f"nothing to approve: {connector} has no pending deletes or disables"
    else:
        message = (
            f"approved the {approved} pending deletes and disables of {connector}: its next export sends them, "
            f"unless more than {approved} are pending by then (then it stops again)"
        )
    console().print(message, markup=False)


@click.command("disconnect")
@click.argument("obj", metavar="OBJECT")
@click.option(
    "--explicit",
    is_flag=True,
    help="Make it an explicit disconnector: no join or projection takes it again (a disconnector may be made one).",
)
@click.option(
    "--clear",
    is_flag=True,
    help="Convert an explicit disconnector to a normal one: the next sync tries its join rules again.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of text.")
@pass_state
def disconnect_command(state: CliState, obj: str, explicit: bool, clear: bool, as_json: bool) -> None:
    """Disconnect the connector-space object OBJECT from its metaverse object now, as MIM's connector space
    "Disconnect" does: the link goes, the metaverse values it gave fall to their next contributor by precedence,
    the metaverse deletion rule applies, and the other connectors of that metaverse object are evaluated outbound.
    A normal disconnector may be joined again by the next sync; an explicit one never is, until --clear.

    OBJECT is cs:ID or CONNECTOR:ANCHOR-OR-IDENTIFIER. The command takes the run lock (it refuses while a run is
    in progress) and is recorded in the run history. Exit codes: 0 done, 1 done with error rows (a target's
    objection), 2 a run holds the store, 4 refused (unknown object, not joined, an add not exported yet).

    --clear is MIM's "Convert to normal disconnector". It stays a flag of disconnect, and is no 'connect' command,
    because it joins nothing: it only lifts the operator's earlier decision, and the join rules decide again.
    """
    from idsync.engine.disconnection import DisconnectRefused
    from idsync.service.actions import disconnect_object

    if explicit and clear:
        raise click.UsageError("--explicit and --clear ask for opposite things; give one of them")
    try:
        _operator_action(state, lambda ws: disconnect_object(ws, obj, explicit=explicit, clear=clear), as_json)
    except DisconnectRefused as exc:
        raise click.UsageError(exc.told("--explicit")) from None


@click.command("join")
@click.argument("obj", metavar="OBJECT")
@click.option("--to", "to", metavar="MV-OBJECT", required=True, help="The metaverse object to join it to: mv:ID.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of text.")
@pass_state
def join_command(state: CliState, obj: str, to: str, as_json: bool) -> None:
    """Join the connector-space object OBJECT to the metaverse object MV-OBJECT now, as MIM's Joiner does: for
    what the join rules cannot settle (an "ambiguous" join error, an account without the value its join rule
    needs). The object's values flow into the metaverse object by precedence, and the other connectors of that
    metaverse object are evaluated outbound.

    The link is an explicit connector: join and scope rules never undo it; 'idsync disconnect' does. OBJECT is
    cs:ID or CONNECTOR:ANCHOR-OR-IDENTIFIER, a disconnector of any kind (explicit ones too: the operator decides
    again). Find candidates with 'idsync search mv --attr NAME=VALUE' and compare with 'idsync show'.

    \b
    Examples:
      idsync join hr:E1042 --to mv:311
      idsync join cs:5120 --to mv:311 --json

    The command takes the run lock and is recorded in the run history. Exit codes: 0 done, 1 done with error rows
    (a flow of the object failed, or a target's objection), 2 a run holds the store, 4 refused (unknown object, one
    joined already, a metaverse object holding another object of that connector, no rule between the two types).
    """
    from idsync.engine.joiner import JoinRefused
    from idsync.service.actions import join_object

    _operator_action(state, lambda ws: join_object(ws, obj, to), as_json, refused=JoinRefused)


@click.command("project")
@click.argument("obj", metavar="OBJECT")
@click.option(
    "--type",
    "mv_type",
    metavar="MV-TYPE",
    help="The metaverse object type to project into; needed only when the object's inbound rules flow into several.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of text.")
@pass_state
def project_command(state: CliState, obj: str, mv_type: str | None, as_json: bool) -> None:
    """Project the connector-space object OBJECT into a new metaverse object now, as MIM's Joiner's "Project" does:
    for an object no projection rule takes (a connector whose rules only join, an object the join rules miss that
    is a person of its own). Its values flow into the new object through its inbound rules, and the metaverse
    object's targets are evaluated outbound (provisioning included).

    The link is an explicit connector: join and scope rules never undo it; 'idsync disconnect' does. OBJECT is
    cs:ID or CONNECTOR:ANCHOR-OR-IDENTIFIER, a disconnector of any kind.

    \b
    Examples:
      idsync project ad:CN=Ann Lee,OU=Contractors,DC=example,DC=org
      idsync project cs:5120 --type person --json

    Recorded in the run history; exit codes as for 'idsync join'.
    """
    from idsync.engine.joiner import JoinRefused
    from idsync.service.actions import project_object

    _operator_action(state, lambda ws: project_object(ws, obj, mv_type), as_json, refused=JoinRefused)


@click.command("on-demand")
@click.argument("obj", metavar="OBJECT")
@click.option("--staging", is_flag=True, help="Import and sync it, send nothing: see what would go with --json.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of text.")
@pass_state
def on_demand_command(state: CliState, obj: str, staging: bool, as_json: bool) -> None:
    """Provision one object on demand, as Entra cloud sync's "Provision on demand" does: read OBJECT from its
    connected system now, sync it alone (join, projection, flows, provisioning), and send what that staged for it to
    every target. For trying a rule on one person before a cycle touches everyone, or a new hire who cannot wait.

    OBJECT is CONNECTOR:ANCHOR-OR-IDENTIFIER (an object not imported yet is looked up in the system by that
    identifier) or cs:ID. Nothing else is imported, synced or exported and no watermark moves. Deletes and disables
    are never sent on demand: they wait for the connector's own export and its deletion threshold. In staging mode
    (--staging, or the workspace's) nothing is sent. Recorded in the run history.

    \b
    Examples:
      idsync on-demand hr:E1042
      idsync on-demand hr:E1042 --json

    Exit codes: 0 done, 1 done with error rows, 2 a step stopped (a system unreachable) or a run holds the store,
    4 no such object (in the connector space or the system).
    """
    from idsync.service.actions import provision_object

    _operator_action(state, lambda ws: provision_object(ws, obj, staging=staging), as_json, _print_on_demand)


def _print_on_demand(data: dict[str, Any]) -> None:
    out = console()
    for step in data["steps"]:
        counts = ", ".join(f"{step[k]} {k}" for k in ("adds", "updates", "deletes", "renames") if step[k])
        detail = "; ".join(x for x in (counts, step.get("message", "")) if x)
        out.print(
            f"{step['connector']} {step['step']}: {step['status']}{' — ' + detail if detail else ''}", markup=False
        )
    source = data["object"]
    if source is not None:
        linked = (
            f"mv:{source['mv_id']} ({source['link_rule']})"
            if source["mv_id"]
            else f"not joined ({source['link_state']})"
        )
        out.print(f"{source['connector']} {source['identifier']!r} is {linked}", markup=False)
    for t in data["targets"]:
        out.print(f"  {t['connector']} {t['identifier']!r} (cs:{t['cs_id']}): {t['outcome']}", markup=False)
    _print_errors(data)


def _print_action(data: dict[str, Any]) -> None:
    console().print(data["message"], markup=False)
    _print_errors(data)


def _print_errors(data: dict[str, Any]) -> None:
    out = console()
    for e in data.get("errors", []):
        who = e["identifier"] or (f"cs:{e['cs_id']}" if e["cs_id"] else f"mv:{e['mv_id']}")
        out.print(f"  [red]error:[/red] {escape(e['connector'])} {escape(str(who))}: {escape(e['reason'])}")


def _operator_action(
    state: CliState,
    act: Callable[[Workspace], dict[str, Any]],
    as_json: bool,
    text: Callable[[dict[str, Any]], None] = _print_action,
    *,
    refused: type[Exception] | None = None,
) -> None:
    """Run an operator action (``idsync.service.actions``) and print its answer (``text``: its message and error rows
    by default), or the JSON; the exit code is its run's. A bad reference, an object the system does not hold or
    the action's ``refused`` is a usage error; a held store, exit code 2."""
    from idsync.engine.run_profiles import RunLocked
    from idsync.service.readmodel import BadReference, NotFound

    usage = (BadReference, NotFound, *((refused,) if refused is not None else ()))
    ws = state.open()
    try:
        data = act(ws)
    except usage as exc:
        raise click.UsageError(str(exc)) from None
    except RunLocked as exc:
        console(stderr=True).print(f"[red]not done:[/red] {exc}")
        raise click.exceptions.Exit(2) from None
    finally:
        ws.close()
    if data.get("missing"):
        raise click.UsageError(data["steps"][0].get("message", "no such object"))
    if as_json:
        print_json(data)
    else:
        text(data)
    raise click.exceptions.Exit(RunStatus(data["status"]).exit_code)


COMMANDS = [
    run_command,
    cycle_command,
    approve_deletes,
    disconnect_command,
    join_command,
    project_command,
    on_demand_command,
]
