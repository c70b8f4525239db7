"""What a newcomer meets first: ``idsync init`` says where its source file goes, and the listing commands refuse a
count that lists nothing or, to SQLite, everything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from idsync.cli.main import cli


def idsync(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "idsync", *args], capture_output=True, text=True, timeout=120)


def test_init_says_where_the_hr_file_goes_and_with_what_columns(tmp_path: Path) -> None:
    written = CliRunner().invoke(cli, ["-C", str(tmp_path), "init"], catch_exceptions=False, terminal_width=300)
    assert written.exit_code == 0, written.output
    said = " ".join(written.output.split())
    assert "data/hr.csv" in said, said
    columns = said.split("columns: ", 1)[1].split(")", 1)[0].split(", ")
    # a file with exactly the columns it names is what the first cycle needs
    rows = [",".join(columns), ",".join(f"{c}-1" if c != "managerId" else "" for c in columns)]
    (tmp_path / "data" / "hr.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    done = CliRunner().invoke(cli, ["-C", str(tmp_path), "cycle", "--json"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert {(s["connector"], s["step"]): s["adds"] for s in json.loads(done.output)["steps"]}[("hr", "delta-sync")] == 1
    shown = CliRunner().invoke(cli, ["-C", str(tmp_path), "show", "hr:employeeId-1", "--json"], catch_exceptions=False)
    person = json.loads(shown.output)["mv"]["attributes"]
    # every metaverse attribute the file's flows fill has its value: no column the rules read was left unnamed
    assert person == {
        "employeeId": "employeeId-1",
        "givenName": "givenName-1",
        "sn": "sn-1",
        "displayName": "givenName-1 sn-1",
        "department": "department-1",
        "status": "status-1",
    }


@pytest.mark.parametrize("command", [("search", "cs"), ("search", "mv"), ("history",), ("audit",)])
@pytest.mark.parametrize("limit", ["0", "-1"])
def test_a_limit_below_one_is_a_usage_error(tmp_path: Path, command: tuple[str, ...], limit: str) -> None:
    CliRunner().invoke(cli, ["-C", str(tmp_path), "init"], catch_exceptions=False)
    done = idsync("-C", str(tmp_path), *command, "--limit", limit)
    assert done.returncode == 4 and "--limit" in done.stderr, (done.returncode, done.stdout, done.stderr)


def test_the_quickstart_lists_what_to_try_next_in_two_columns(tmp_path: Path) -> None:
    root = tmp_path / "a-demo-folder"
    done = CliRunner().invoke(cli, ["quickstart", str(root), "--people", "12", "--target", "csv"], terminal_width=300)
    assert done.exit_code == 0, done.output
    tried = done.output.split("Try next:\n", 1)[1].splitlines()
    described = {
        line.index(s) for line in tried for s in ("what is where", "find people", "or everyone's changes") if s in line
    }
    assert len(described) == 1, tried  # the descriptions start in one column
    assert f"(edit {root / 'data' / 'hr.csv'}:" in done.output  # the file as seen from here, not from the workspace
