"""A delta import found by comparison (a CSV file's content hash) is a whole snapshot: rows gone are deletes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from idsync.cli.main import cli

CONFIG = """
connectors:
  hr: {type: csv, path: hr.csv, object_type: person, anchor: id}
metaverse:
  person: [employeeId, sn]
inbound:
  - {name: hr, connector: hr, object_type: person, metaverse_type: person, join: [{employeeId: id}], project: true,
     flows: {employeeId: id, sn: sn}}
profiles:
  full: [{hr: full-import}, {hr: full-sync}]
  delta: [{hr: delta-import}, {hr: delta-sync}]
"""


def run(folder: Path, profile: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["-C", str(folder), "run", profile, "--json"])
    assert result.exit_code == 0, result.stdout + result.stderr
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def test_a_row_removed_from_the_file_is_deleted_by_the_delta_import(tmp_path: Path) -> None:
    (tmp_path / "idsync.yaml").write_text(CONFIG, encoding="utf-8")
    hr = tmp_path / "hr.csv"
    hr.write_text("id,sn\n1,Lovelace\n2,Hopper\n3,Turing\n", encoding="utf-8")
    run(tmp_path, "full")
    unchanged = run(tmp_path, "delta")["steps"][0]
    assert (unchanged["adds"], unchanged["updates"], unchanged["deletes"]) == (0, 0, 0)
    hr.write_text("id,sn\n1,Lovelace\n3,Turing-Smith\n", encoding="utf-8")
    delta_import, delta_sync = run(tmp_path, "delta")["steps"]
    assert (delta_import["updates"], delta_import["deletes"]) == (1, 1)
    assert delta_sync["mv_deletes"] == 1
    listed = CliRunner().invoke(cli, ["-C", str(tmp_path), "search", "mv", "--attr", "employeeId=*"])
    assert "2 metaverse objects" in listed.stdout and "mv:2 " not in listed.stdout
