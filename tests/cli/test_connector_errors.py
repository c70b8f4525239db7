"""A connector that cannot work is said plainly: by validate when the configuration shows it, and otherwise as a
stopped run with its message, never as a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from idsync.cli.main import main
from idsync.connectors.base import ConnectorError
from idsync.engine.workspace import Workspace

LDAP = """\
connectors:
  dir:
    type: ldap
    url: ldap://127.0.0.1:3899
    bind_dn: cn=admin,dc=example,dc=org
    password: ${env:LDAP_PW}
    base_dn: dc=example,dc=org
"""


def idsync(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "idsync", *args], capture_output=True, text=True, timeout=120)


def test_validate_refuses_a_cleartext_simple_bind_at_the_url(tmp_path: Path) -> None:
    (tmp_path / "idsync.yaml").write_text(LDAP, encoding="utf-8")
    done = idsync("-C", str(tmp_path), "validate", "--json")
    assert done.returncode == 3
    (problem,) = json.loads(done.stdout)["problems"]
    assert (problem["line"], problem["column"], problem["path"]) == (4, 5, "connectors.dir.url")
    assert "simple bind over cleartext ldap://127.0.0.1:3899" in problem["message"]
    assert "start_tls" in problem["message"]


@pytest.mark.parametrize(
    ("extra", "accepted"),
    [("    start_tls: true\n", True), ("    allow_insecure: true\n", True), ("    tls_verify: false\n", False)],
)
def test_the_opt_ins_are_accepted_and_unverified_tls_refused(tmp_path: Path, extra: str, accepted: bool) -> None:
    text = LDAP + extra
    if extra.startswith("    tls_verify"):
        text = text.replace("ldap://", "ldaps://")
    (tmp_path / "idsync.yaml").write_text(text, encoding="utf-8")
    done = idsync("-C", str(tmp_path), "validate", "--json")
    assert done.returncode == (0 if accepted else 3), done.stdout
    if not accepted:
        assert json.loads(done.stdout)["problems"][0]["path"] == "connectors.dir.tls_verify"


@pytest.mark.parametrize("command", [["cycle"], ["connector", "list"]])
def test_a_connector_error_outside_a_step_stops_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    (tmp_path / "idsync.yaml").write_text(LDAP.replace("ldap://", "ldaps://"), encoding="utf-8")

    def refuse(self: Workspace, name: str) -> None:
        raise ConnectorError(f"connector {name!r}: cannot be built")

    monkeypatch.setattr(Workspace, "connector", refuse)
    monkeypatch.setattr(sys, "argv", ["idsync", "-C", str(tmp_path), *command])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "stopped: connector 'dir': cannot be built" in err and "Traceback" not in err
