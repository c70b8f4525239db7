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


def _validate(tmp_path: Path, containers: str, excluded: str | None = None) -> tuple[int, str]:
    text = BLOCK.format(containers=containers)
    if excluded is not None:
        text += f"    excluded_containers: {excluded}\n"
    (tmp_path / "idsync.yaml").write_text(text, encoding="utf-8")
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


STAFF = "'ou=staff,dc=example,dc=org'"
CONTRACTORS = "'OU=Contractors, OU=Staff,DC=example,DC=org'"
INTERNS = "'ou=interns,ou=contractors,ou=staff,dc=example,dc=org'"


@pytest.mark.parametrize(
    ("containers", "excluded", "reason"),
    [
        (f"[{STAFF}]", "['ou=groups,dc=example,dc=org']", "is not within the containers (ou=staff,dc=example,dc=org)"),
        # unquoted in [...]: "ou=contractors" alone is outside the containers
        (f"[{STAFF}]", "[ou=contractors,ou=staff,dc=example,dc=org]", "'ou=contractors' is not within the containers"),
        ("[]", "['ou=people,dc=example,dc=net']", "is not within the containers (dc=example,dc=org)"),
        (f"[{STAFF}]", "['OU=Staff,DC=Example,DC=org']", "is one of the containers"),
        (f"[{STAFF}]", f"[{CONTRACTORS}, {INTERNS}]", f"lies within excluded container {CONTRACTORS} already"),
        (f"[{STAFF}]", "['ou=a,,ou=staff,dc=example,dc=org']", "ou=a,,ou=staff"),
    ],
)
def test_an_excluded_container_outside_the_containers_or_already_excluded_is_refused_where_it_is_written(
    tmp_path: Path, containers: str, excluded: str, reason: str
) -> None:
    code, output = _validate(tmp_path, containers, excluded)
    assert code == 3, output
    assert "idsync.yaml:7:" in output and "excluded_containers" in output, output
    assert reason in output, output


def test_a_container_inside_an_excluded_one_is_taken_and_one_merely_nested_is_not(tmp_path: Path) -> None:
    """MIM's include-inside-exclude: Interns inside excluded Contractors inside included Staff."""
    code, output = _validate(tmp_path, f"[{STAFF}, {INTERNS}]", f"[{CONTRACTORS}]")
    assert code == 0, output
    code, output = _validate(tmp_path, f"[{STAFF}, {INTERNS}]", "['ou=temps,ou=staff,dc=example,dc=org']")
    assert code == 3
    assert f"container {INTERNS} lies within container {STAFF}" in output, output
    # a container inside an excluded one of its own, within another container, brings its subtree back in too
    nested = f"[{STAFF}, {INTERNS}, 'ou=temps,ou=interns,ou=contractors,ou=staff,dc=example,dc=org']"
    excluded = f"[{CONTRACTORS}, 'ou=temps,ou=interns,ou=contractors,ou=staff,dc=example,dc=org']"
    code, output = _validate(tmp_path, nested, excluded)
    assert code == 3 and "is one of the containers" in output, output
