"""The ``idsync`` command. Commands parse, call and print; the work happens in the layers below."""

from __future__ import annotations

import click

from idsync import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="idsync")
def cli() -> None:
    """idsync — identity synchronization in MIM's model."""


def main() -> None:
    cli()
