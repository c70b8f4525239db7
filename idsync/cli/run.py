"""Running: ``run PROFILE``, ``cycle``, ``approve-deletes``."""

from __future__ import annotations

import click

from idsync.cli.context import CliState, pass_state
from idsync.cli.output import console, print_json, print_run
from idsync.cli.progress import RichProgress
from idsync.model import RunResult

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


def _execute(state: CliState, staging: bool, as_json: bool, profile: str | None) -> None:
    from idsync.engine.run_profiles import RunLocked, Runner, RunOptions

    ws = state.open()
    try:
        runner = Runner(ws, RunOptions(staging=True if staging else None), RichProgress())
        result = runner.cycle() if profile is None else runner.run_profile(profile)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from None
    except RunLocked as exc:
        console(stderr=True).print(f"[red]not started:[/red] {exc}")
        raise click.exceptions.Exit(2) from None
    finally:
        ws.close()
    _finish(result, as_json)


@click.command("run")
@click.argument("profile")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.option("--staging", is_flag=True, help=STAGING_HELP)
@pass_state
def run_command(state: CliState, profile: str, as_json: bool, staging: bool) -> None:
    """Run the run profile PROFILE (a named list of steps in idsync.yaml).

    Steps: full-import, delta-import, full-sync, delta-sync, export, confirming-import. A stopped step stops the
    rest of its connector's steps; the exit code is 0 success, 1 completed with errors, 2 stopped.
    """
    _execute(state, staging, as_json, profile)


@click.command("cycle")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.option("--staging", is_flag=True, help=STAGING_HELP)
@pass_state
def cycle_command(state: CliState, as_json: bool, staging: bool) -> None:
    """Run a sync cycle over every connector: import (delta when possible), sync, export, confirming import, and a
    sync of what the confirming import staged, so nothing it could finish is left pending.

    This is Connect Sync's delta cycle. Run it twice in a row and the second one exports nothing.
    """
    _execute(state, staging, as_json, None)


@click.command("approve-deletes")
@click.argument("connector")
@click.option("--count", type=int, default=None, help="Approve at most this many deletes (default: all pending now).")
@pass_state
def approve_deletes(state: CliState, connector: str, count: int | None) -> None:
    """Let the next export of CONNECTOR send its pending deletes past the deletion threshold.

    Review them first: idsync search cs --connector CONNECTOR --pending-delete
    """
    from idsync.service.readmodel import BadReference, NotFound
    from idsync.service.readmodel import approve_deletes as approve

    ws = state.open()
    try:
        approved, pending = approve(ws.store, ws.connector_names(), connector, count)
    except (NotFound, BadReference) as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        ws.close()
    console().print(f"approved {approved} of {pending} pending deletes for the next export of {connector}")


COMMANDS = [run_command, cycle_command, approve_deletes]
