"""Running as a service: ``serve``, and ``report RUN`` (a self-contained HTML report of a run).

Both need the ``web`` extra; they import it only when called, so ``idsync --help`` stays light.
"""

from __future__ import annotations

from pathlib import Path

import click

from idsync.cli.context import CliState, pass_state
from idsync.cli.output import console

WEB_EXTRA = "pip install 'idsync[web]'"


def _missing(exc: ModuleNotFoundError) -> click.ClickException:
    return click.ClickException(f"this command needs the package {exc.name!r}: {WEB_EXTRA}")


@click.command("serve")
@click.option("--host", help="Address to listen on (default: service.bind, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: service.port, 8470).")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    help="JSON log lines on stderr at this level and above.",
)
@pass_state
def serve(state: CliState, host: str | None, port: int | None, log_level: str) -> None:
    """Run the scheduler, the REST API and the web dashboard until stopped (SIGTERM or Ctrl-C).

    Schedules come from the service section of idsync.yaml (default: the delta cycle every 30 minutes). The API
    and the dashboard need the token named by service.token. On SIGTERM, running steps finish the page they are
    on, commit it, and the service exits. SIGHUP reads idsync.yaml again for the runs that start afterwards (a file
    that does not validate is logged with its line and column, and the running configuration stays). A second
    instance on the same store waits in standby.
    """
    from idsync.config import ConfigError
    from idsync.store import StoreError

    try:
        from idsync.service.app import ServiceSetupError
        from idsync.service.app import serve as run_server
    except ModuleNotFoundError as exc:
        raise _missing(exc) from None
    try:
        run_server(state.workspace, host=host, port=port, log_level=log_level, options=state.options)
    except ServiceSetupError as exc:
        raise click.ClickException(str(exc)) from None
    except ConfigError:
        raise
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("report")
@click.argument("run_id", metavar="RUN", type=int)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the HTML (default: idsync-run-RUN.html here; - for standard output).",
)
@pass_state
def report(state: CliState, run_id: int, output: Path | None) -> None:
    """Write a self-contained HTML report of run RUN: steps, counters, throughput, errors and exports."""
    try:
        from idsync.service.report import render_report
    except ModuleNotFoundError as exc:
        raise _missing(exc) from None
    from idsync.service.readmodel import NotFound

    ws = state.open()
    try:
        html = render_report(ws, run_id)
    except NotFound as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        ws.close()
    if output is not None and str(output) == "-":
        click.echo(html, nl=False)
        return
    target = output or Path(f"idsync-run-{run_id}.html")
    target.write_text(html, encoding="utf-8")
    console().print(f"wrote {target}")


COMMANDS = [serve, report]
