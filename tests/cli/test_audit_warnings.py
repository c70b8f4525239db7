"""``idsync audit`` shows the warning an export carried: the reference values it removed that name no object of the
connector space (a ``member`` added by hand from outside the connector's containers), counted and quoted, so the
trail the run's message points at says what was lost."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from idsync.cli.main import cli
from idsync.cli.quickstart import write_workspace
from idsync.store import open_store

WARNING = (
    "directory 'cn=staff': the export removes 3 member value(s) that name no object of the directory connector "
    "space ('uid=[b]x[/b],ou=elsewhere', 'uid=y,ou=elsewhere' and 1 more), because the member flow of rule "
    "'groups' owns the attribute; to keep values idsync does not know, set manage: known-values on that flow"
)


def _workspace(root: Path) -> Path:
    write_workspace(root, people=3, target="csv")
    store = open_store("sqlite", root)
    try:
        store.audit_add(
            [
                {"run_id": 1, "connector": "directory", "cs_id": 1, "identifier": "cn=other", "op": "add",
                 "rule": "groups", "result": "success", "changes": [["member", "add", ["uid=1"], "groups"]]},
                {"run_id": 1, "connector": "directory", "cs_id": 2, "identifier": "cn=staff", "op": "update",
                 "rule": "groups", "result": "success", "warnings": [WARNING],
                 "changes": [["member", "remove", ["uid=[b]x[/b],ou=elsewhere", "uid=y,ou=elsewhere", "uid=z"],
                              "groups"]]},
            ]
        )  # fmt: skip
    finally:
        store.close()
    return root


def test_the_audit_shows_the_removal_warning_of_the_export_that_carried_it(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws")
    listed = CliRunner().invoke(cli, ["-C", str(root), "audit", "--json"], catch_exceptions=False)
    assert listed.exit_code == 0, listed.output
    assert {r["identifier"]: r["warnings"] for r in json.loads(listed.output)["rows"]} == {
        "cn=staff": [WARNING],
        "cn=other": [],
    }
    table = CliRunner().invoke(cli, ["-C", str(root), "audit"], catch_exceptions=False, terminal_width=400)
    assert table.exit_code == 0, table.output
    below = table.output.rpartition("┘")[2]
    # the sentence as recorded, once, with the run of its export; the value's brackets printed as they are
    assert " ".join(below.split()) == f"warning (run 1): {WARNING}"
