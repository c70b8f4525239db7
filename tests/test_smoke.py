from __future__ import annotations

import subprocess
import sys

import click
from click.testing import CliRunner

from idsync.cli.main import IdsyncGroup, cli


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert "idsync" in result.output


def test_help_lists_the_lazy_commands_without_importing_them() -> None:
    """``idsync --help`` answers from the group's table: no lazily loaded command module (migration assistant,
    expressions, emulator, service) is imported, nor the configuration's pydantic models and YAML loader (a command
    loads them when it opens a workspace), and each listed text is the command's own short help."""
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from idsync.cli.main import IdsyncGroup, cli\n"
        "out = CliRunner().invoke(cli, ['--help']).output\n"
        "heavy = {m for m, _, _ in IdsyncGroup.LAZY.values()}\n"
        "heavy |= {'idsync.config.models', 'idsync.config.loader', 'yaml'}\n"
        "print(sorted(heavy & set(sys.modules)), all(name in out for name in IdsyncGroup.LAZY))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[] True"
    ctx = click.Context(cli)
    for name, (_, _, text) in IdsyncGroup.LAZY.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.get_short_help_str(1000) == text, name


def test_help_imports_neither_pydantic_nor_a_connector_stack() -> None:
    """The real ``idsync --help`` (the module's entry point, in a fresh interpreter) stays light: pydantic loads
    with a workspace's configuration, a connector's package and client libraries with the connector."""
    code = (
        "import runpy, sys\n"
        "sys.argv = ['idsync', '--help']\n"
        "try:\n"
        "    runpy.run_module('idsync', run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    assert exit.code in (0, None), exit.code\n"
        "heavy = ('pydantic', 'ldap3', 'ldap', 'httpx', 'msal', 'psycopg', 'starlette', 'regex')\n"
        "loaded = {m for m in sys.modules if m.split('.')[0] in heavy}\n"
        "loaded |= {m for m in sys.modules if m.startswith('idsync.connectors.') and m != 'idsync.connectors.base'}\n"
        "print(sorted(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Usage: idsync" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"
