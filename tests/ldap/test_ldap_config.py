"""The ``type: ldap`` block's checks that need no server: where a configuration mistake is reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from idsync.cli.main import cli

BLOCK = """\
connectors:
  dir:
    type: ldap
    url: ldaps://directory.example.org:636
    base_dn: dc=example,dc=org
    containers: {containers}
"""


def _validate(tmp_path: Path, containers: str) -> tuple[int, str]:
    (tmp_path / "idsync.yaml").write_text(BLOCK.format(containers=containers), encoding="utf-8")
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "validate"])
    return result.exit_code, " ".join(result.output.split())


def test_a_dn_split_by_a_yaml_flow_list_is_refused_where_it_is_written(tmp_path: Path) -> None:
    # unquoted in [...], the DN's commas separate list items: three "containers", two outside the base
    code, output = _validate(tmp_path, "[ou=people,dc=example,dc=org]")
    assert code == 3
    assert "idsync.yaml:6:" in output
    assert "'ou=people' is not within base_dn 'dc=example,dc=org'" in output
    assert "quote each DN" in output


def test_nested_containers_are_refused(tmp_path: Path) -> None:
    code, output = _validate(tmp_path, "['ou=people,dc=example,dc=org', 'OU=Staff, OU=People,DC=example,DC=org']")
    assert code == 3
    assert "'OU=Staff, OU=People,DC=example,DC=org' lies within container 'ou=people,dc=example,dc=org'" in output


@pytest.mark.parametrize(
    "containers", ["['ou=people,dc=example,dc=org']", "['ou=people,dc=example,dc=org', 'ou=groups,dc=example,dc=org']"]
)
def test_containers_within_the_base_are_taken(tmp_path: Path, containers: str) -> None:
    code, output = _validate(tmp_path, containers)
    assert code == 0, output
