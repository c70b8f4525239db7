"""The ``idsync`` command. Commands parse, call and print; the work happens in the layers below.

Exit codes: 0 success · 1 completed with errors · 2 stopped (Ctrl-C included: the step ends after its page; a
connector or secret failing outside any step too, with its message) · 3 invalid configuration · 4 usage (a name,
object or run that is not there included) · 130 aborted by a second Ctrl-C.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import ClassVar

import click

from idsync import __version__
from idsync.cli import logs
from idsync.cli.context import EXIT_CONFIG, EXIT_STOPPED, EXIT_USAGE, CliState, report_config_error
from idsync.config import ConfigError, SecretError
from idsync.connectors.base import ConnectorError


class IdsyncGroup(click.Group):
    """Subcommands that live in optional or heavy modules are imported only when called: ``idsync --help`` lists
    them from the short help kept here (a test holds it to each command's own)."""

    LAZY: ClassVar[dict[str, tuple[str, str, str]]] = {
        "expr": ("idsync.cli.expr", "expr", "Evaluate attribute-flow expressions and list their functions."),
        "emulator": ("idsync.cli.emulator", "emulator", "Local emulators for tests and demos."),
        "migrate": (
            "idsync.cli.migrate",
            "migrate",
            "Read a FIM/MIM (or Azure AD Connect) configuration export and plan the move off the FIM Connector for "
            "Azure AD.",
        ),
        "serve": (
            "idsync.cli.service",
            "serve",
            "Run the scheduler, the REST API and the web dashboard until stopped (SIGTERM or Ctrl-C).",
        ),
        "report": (
            "idsync.cli.service",
            "report",
            "Write a self-contained HTML report of run RUN: steps, counters, throughput, errors and exports.",
        ),
        "audit": (
            "idsync.cli.audit",
            "audit",
            "Search the audit trail: every export (when, run, object, old and new values, the rule responsible), "
            "newest first.",
        ),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.LAZY))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            command = self.commands.get(name)
            if command is None:
                rows.append((name, click.Command(name, help=self.LAZY[name][2]).get_short_help_str(limit)))
            elif not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        found = super().get_command(ctx, name)
        if found is not None or name not in self.LAZY:
            return found
        import importlib

        module_name, attr, _ = self.LAZY[name]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None
            raise click.ClickException(
                f"'idsync {name}' needs the package {exc.name!r}; install idsync with its extras: "
                "pip install 'idsync[all]'"
            ) from None
        command: click.Command = getattr(module, attr)
        return command

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (ConnectorError, SecretError) as exc:
            # a connected system, or a secret, failed outside any step (building a connector to read what it can
            # do): the run stops, as a step's failure would stop it, with the message (never quoting a secret the
            # workspace resolved) and no traceback
            state = ctx.find_object(CliState)
            click.echo(f"stopped: {state.scrub(str(exc)) if state else exc}", err=True)
            raise click.exceptions.Exit(EXIT_STOPPED) from None


@click.group(cls=IdsyncGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="idsync")
@click.option(
    "-C",
    "workspace",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="The workspace folder (the one holding idsync.yaml).",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Show the idsync loggers' info lines on stderr too (-vv: debug); warnings and errors show always.",
)
@click.pass_context
def cli(ctx: click.Context, workspace: Path, verbose: int) -> None:
    """idsync — identity synchronization in MIM's model.

    Objects are imported from connected systems into connector spaces, joined or projected into the metaverse,
    and provisioned to target systems through attribute flows with precedence, as MIM Sync and Connect Sync do.

    \b
    Get going:
      idsync quickstart             write a demo workspace and run a first cycle
      idsync -C idsync-demo status  where things stand
      idsync -C idsync-demo cycle   import, sync, export, confirm — every connector
    \b
    Inspect:
      search cs|mv, show OBJECT, preview OBJECT, history [RUN]
    \b
    Operate:
      approve-deletes CONNECTOR, disconnect OBJECT [--explicit | --clear],
      join OBJECT --to mv:ID, project OBJECT, on-demand OBJECT (one object, source to targets, now)
    \b
    Exit codes: 0 success · 1 completed with errors · 2 stopped (a first Ctrl-C too) · 3 invalid configuration
    · 4 usage (also no such object, run, connector or profile; a malformed reference; refusing to overwrite)
    · 130 aborted (a second Ctrl-C)
    """
    ctx.obj = CliState(workspace, log_handler=logs.install(ctx, verbose))


def _register() -> None:
    from idsync.cli import connector, inspect, run, setup

    for module in (setup, run, inspect, connector):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    try:
        code = cli.main(standalone_mode=False)
    except click.UsageError as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        report_config_error(exc)
        sys.exit(EXIT_CONFIG)
    sys.exit(code if isinstance(code, int) else 0)
