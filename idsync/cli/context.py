"""Shared command-line plumbing: the workspace option, opening it, reporting configuration errors."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from idsync.cli.output import console
from idsync.config import ConfigError
from idsync.model.names import closest
from idsync.model.redaction import SecretHidingHandler, scrub
from idsync.store import StoreError

EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_STOPPED = 2
EXIT_CONFIG = 3
EXIT_USAGE = 4


@dataclass
class CliState:
    workspace: Path
    options: dict[str, Any] = field(default_factory=dict)
    log_handler: SecretHidingHandler | None = None
    """Where the idsync loggers write (``idsync.cli.logs``); told the secrets of the workspace opened."""
    secrets: frozenset[str] = frozenset()
    """The resolved secret values of the workspace opened, which no line the command prints may quote."""

    def open(self) -> Any:
        from idsync.engine.workspace import Workspace

        try:
            ws = Workspace.load(self.workspace, options=self.options)
        except ConfigError as exc:
            report_config_error(exc)
            raise click.exceptions.Exit(EXIT_CONFIG) from None
        except StoreError as exc:
            raise click.ClickException(str(exc)) from None
        self.opened(ws)
        return ws

    def opened(self, ws: Any) -> None:
        """Learn the resolved secrets of a workspace opened here, or by a command that opens its own (the cutover
        dry run), so that neither the log lines nor the messages printed quote them."""
        self.secrets = frozenset(ws.all_secret_values())
        if self.log_handler is not None:
            self.log_handler.hide(self.secrets)

    def scrub(self, text: str) -> str:
        """``text`` (a connected system's message, which may quote what it was sent) without the secret values."""
        return scrub(text, self.secrets) or text


def report_config_error(exc: ConfigError) -> None:
    out = console(stderr=True)
    count = len(exc.issues)
    out.print(f"[red]invalid configuration[/red] ({count} problem{'s' if count != 1 else ''}):", highlight=False)
    for issue in exc.issues:
        out.print(f"  {issue}", markup=False, highlight=False)


def unknown_name(what: str, name: str, known: Iterable[str], where: str = "") -> click.UsageError:
    """A usage error for a name that is not there (a connector, an object type, an attribute): the closest known
    name when one is close, else every known one, so the user sees what to type instead."""
    names = sorted(set(known))
    match = closest(name, names)
    hint = f"did you mean {match!r}? (known: {', '.join(names)})" if match else f"known: {', '.join(names) or 'none'}"
    return click.UsageError(f"no {what} {name!r}{where}; {hint}")


pass_state = click.make_pass_decorator(CliState)
