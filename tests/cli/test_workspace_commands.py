"""The command line on a real workspace: quickstart, cycle, status, search, show, preview, validate, history."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest


def idsync(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "idsync", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "demo"
    done = idsync("quickstart", str(root), "--people", "300")
    assert done.returncode == 0, done.stderr
    assert "300 HR people" in done.stdout and "Try next" in done.stdout
    return root


def test_quickstart_then_cycle_exports_nothing(demo: Path) -> None:
    done = idsync("-C", str(demo), "cycle", "--json")
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    assert run["status"] == "success"
    exports = [s for s in run["steps"] if s["step"] == "export"]
    assert exports and all(s["adds"] == s["updates"] == s["deletes"] == s["renames"] == 0 for s in exports)
    assert {"connector", "step", "adds", "updates", "deletes", "renames", "unchanged", "errors", "seconds"} <= set(
        run["steps"][0]
    )


def test_quickstart_provisioned_every_active_person(demo: Path) -> None:
    with (demo / "data" / "hr.csv").open(encoding="utf-8") as handle:
        hr = list(csv.DictReader(handle))
    with (demo / "data" / "directory.csv").open(encoding="utf-8") as handle:
        target = {r["employeeId"]: r for r in csv.DictReader(handle)}
    active = [r for r in hr if r["status"] == "active"]
    assert len(active) < len(hr)  # the generator made some leavers
    assert set(target) == {r["employeeId"] for r in active}
    upns = [r["userPrincipalName"] for r in target.values()]
    assert len(set(upns)) == len(upns)
    assert all(u.isascii() and "@contoso.example" in u for u in upns)
    active_ids = {r["employeeId"] for r in active}
    managed = [r for r in active if r["managerId"] in active_ids]
    assert managed and all(target[r["employeeId"]]["manager"] == r["managerId"] for r in managed)


def test_status_search_show_and_history(demo: Path) -> None:
    status = json.loads(idsync("-C", str(demo), "status", "--json").stdout)
    by_name = {c["connector"]: c for c in status["connectors"]}
    assert by_name["hr"]["objects"] == 300 and by_name["directory"]["pending_exports"] == 0
    found = json.loads(idsync("-C", str(demo), "search", "cs", "--connector", "hr", "--limit", "3", "--json").stdout)
    assert found["total"] == 300 and len(found["objects"]) == 3
    anchor = found["objects"][1]["anchor"]
    shown = json.loads(idsync("-C", str(demo), "show", f"hr:{anchor}", "--json").stdout)
    assert shown["cs"]["anchor"] == anchor and shown["mv"]["lineage"]["displayName"]["rule"] == "hr-people"
    assert any(link["connector"] == "directory" for link in shown["links"])
    history = json.loads(idsync("-C", str(demo), "history", "--json").stdout)
    assert len(history) >= 2 and history[0]["status"] == "success"
    text = idsync("-C", str(demo), "show", f"hr:{anchor}")
    assert text.returncode == 0 and "lineage" in text.stdout


def test_preview_shows_the_change_and_commits_nothing(demo: Path, tmp_path: Path) -> None:
    hr = demo / "data" / "hr.csv"
    original = hr.read_text(encoding="utf-8")
    rows = list(csv.DictReader(original.splitlines()))
    target = rows[5]
    try:
        hr.write_text(
            original.replace(f"{target['employeeId']},{target['givenName']}", f"{target['employeeId']},Zed"), "utf-8"
        )
        imported = idsync("-C", str(demo), "run", "import", "--json")
        assert imported.returncode == 0, imported.stderr
        preview = json.loads(idsync("-C", str(demo), "preview", f"hr:{target['employeeId']}", "--json").stdout)
        assert preview["mv_changes"]["givenName"]["after"] == "Zed"
        before = json.loads(idsync("-C", str(demo), "show", f"hr:{target['employeeId']}", "--json").stdout)
        assert before["mv"]["attributes"]["givenName"] == target["givenName"]  # nothing committed
    finally:
        hr.write_text(original, "utf-8")
        assert idsync("-C", str(demo), "cycle").returncode == 0


def test_invalid_configuration_exits_3_with_positions(tmp_path: Path) -> None:
    (tmp_path / "idsync.yaml").write_text(
        "connectors:\n  hr: {type: csv, path: x.csv, object_type: p, anchor: id}\nmetaverse:\n  person: [id]\n"
        "inbound:\n  - {name: r, connector: hr, object_type: p, metaverse_type: person,\n"
        "     flows: {id: 'Jion(\",\", [a])'}}\n",
        encoding="utf-8",
    )
    done = idsync("-C", str(tmp_path), "validate")
    assert done.returncode == 3
    assert "idsync.yaml:7:" in done.stderr and "Jion" in done.stderr
    as_json = json.loads(idsync("-C", str(tmp_path), "validate", "--json").stdout)
    assert as_json["valid"] is False and as_json["problems"][0]["line"] == 7


def test_usage_errors_exit_4_and_config_schema_is_json(tmp_path: Path) -> None:
    assert idsync("no-such-command").returncode == 4
    schema = json.loads(idsync("config", "schema").stdout)
    assert "connectors" in schema["properties"] and "$defs" in schema
    help_text = idsync("--help").stdout
    for command in ("quickstart", "cycle", "preview", "search", "migrate", "emulator", "expr"):
        assert command in help_text
