"""The command line on a real workspace: quickstart, cycle, status, search, show, preview, validate, history."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from idsync.testing.graph_emulator import GraphTenant


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


def test_quickstart_leaves_nothing_pending(tmp_path: Path) -> None:
    """The cycle's confirming import stages what it read back; the cycle syncs it too, so right after the quickstart
    status shows no work left on any connector."""
    for target in ("entra", "csv"):
        root = tmp_path / target
        done = idsync("quickstart", str(root), "--people", "40", "--target", target)
        assert done.returncode == 0, done.stderr
        assert ("--tenant-file" in done.stdout) is (target == "entra")
        status = json.loads(idsync("-C", str(root), "status", "--json").stdout)
        pending = {
            c["connector"]: (c["pending_imports"], c["pending_exports"], c["pending_deletes"])
            for c in status["connectors"]
        }
        assert len(pending) == 2 and set(pending.values()) == {(0, 0, 0)}, (target, pending)


def _hr(demo: Path) -> list[dict[str, str]]:
    with (demo / "data" / "hr.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _tenant_view(demo: Path) -> tuple[dict[str, dict[str, Any]], dict[str, str | None], dict[str, set[str]]]:
    """From the tenant file: users by employeeId, each one's manager's employeeId, the groups' members."""
    tenant = GraphTenant.load(demo / "data" / "tenant.json")
    users = {u["employeeId"]: u for u in tenant.users()}
    employee = {u["id"]: e for e, u in users.items()}
    managers = {e: employee.get(tenant.manager_of(u["id"]) or "") for e, u in users.items()}
    groups = {g["displayName"]: {employee[m] for m in tenant.members(g["id"])} for g in tenant.groups()}
    return users, managers, groups


def test_quickstart_provisioned_users_with_managers_groups_and_disabled_leavers(demo: Path) -> None:
    hr = _hr(demo)
    users, managers, groups = _tenant_view(demo)
    assert set(users) == {r["employeeId"] for r in hr}
    leavers = {r["employeeId"] for r in hr if r["status"] != "active"}
    assert leavers and all(users[e]["accountEnabled"] is (e not in leavers) for e in users)
    upns = [u["userPrincipalName"] for u in users.values()]
    assert len({u.casefold() for u in upns}) == len(upns)
    assert all(u.isascii() and u.endswith("@contoso.example") for u in upns)
    assert {e: m for e, m in managers.items() if m} == {r["employeeId"]: r["managerId"] for r in hr if r["managerId"]}
    departments: dict[str, set[str]] = {}
    for row in hr:
        departments.setdefault(f"Department: {row['department']}", set())
        if row["status"] == "active":
            departments[f"Department: {row['department']}"].add(row["employeeId"])
    assert groups == departments


def test_an_hr_move_and_a_leaver_reach_the_tenant(demo: Path) -> None:
    hr_file = demo / "data" / "hr.csv"
    original = hr_file.read_text(encoding="utf-8")
    rows = _hr(demo)
    managers = {r["managerId"] for r in rows}
    mover, leaver = [r for r in rows if r["status"] == "active" and r["employeeId"] not in managers][:2]
    was = mover["department"]
    target = next(r["department"] for r in rows if r["department"] not in (was, "Executive Office"))
    mover.update(department=target, managerId="")
    leaver["status"] = "leaver"
    try:
        with hr_file.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        done = idsync("-C", str(demo), "cycle", "--json")
        assert done.returncode == 0, done.stderr
        export = next(s for s in json.loads(done.stdout)["steps"] if s["step"] == "export")
        # two users (the mover's department and manager, the leaver's account) and the groups they leave or join
        touched = {was, target, leaver["department"]}
        assert export["updates"] == 2 + len(touched) and export["adds"] == export["deletes"] == export["errors"] == 0
        users, managers_now, groups = _tenant_view(demo)
        assert users[mover["employeeId"]]["department"] == target and managers_now[mover["employeeId"]] is None
        assert mover["employeeId"] in groups[f"Department: {target}"]
        assert mover["employeeId"] not in groups[f"Department: {was}"]
        assert users[leaver["employeeId"]]["accountEnabled"] is False
        assert leaver["employeeId"] not in groups[f"Department: {leaver['department']}"]
    finally:
        hr_file.write_text(original, "utf-8")
        assert idsync("-C", str(demo), "cycle").returncode == 0


def test_status_search_show_and_history(demo: Path) -> None:
    departments = len({r["department"] for r in _hr(demo)})
    status = json.loads(idsync("-C", str(demo), "status", "--json").stdout)
    by_name = {c["connector"]: c for c in status["connectors"]}
    assert by_name["hr"]["objects"] == 300 + departments and by_name["entra"]["objects"] == 300 + departments
    assert by_name["entra"]["pending_exports"] == 0
    found = json.loads(idsync("-C", str(demo), "search", "cs", "--connector", "hr", "--limit", "3", "--json").stdout)
    assert found["total"] == 300 + departments and len(found["objects"]) == 3
    anchor = found["objects"][1]["anchor"]
    shown = json.loads(idsync("-C", str(demo), "show", f"hr:{anchor}", "--json").stdout)
    assert shown["cs"]["anchor"] == anchor and shown["mv"]["lineage"]["displayName"]["rule"] == "hr-people"
    (entra,) = [link for link in shown["links"] if link["connector"] == "entra"]
    account = json.loads(idsync("-C", str(demo), "show", f"entra:{entra['identifier']}", "--json").stdout)
    assert account["cs"]["object_type"] == "user" and account["cs"]["attributes"]["employeeId"] == anchor
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


def test_the_csv_target_needs_no_tenant(tmp_path: Path) -> None:
    root = tmp_path / "csv-demo"
    done = idsync("quickstart", str(root), "--people", "60", "--target", "csv")
    assert done.returncode == 0, done.stderr
    assert not (root / "data" / "tenant.json").exists() and "data/directory.csv" in done.stdout
    with (root / "data" / "directory.csv").open(encoding="utf-8") as handle:
        target = {r["employeeId"]: r for r in csv.DictReader(handle)}
    assert set(target) == {r["employeeId"] for r in _hr(root) if r["status"] == "active"}
    again = json.loads(idsync("-C", str(root), "cycle", "--json").stdout)
    assert [s["adds"] + s["updates"] for s in again["steps"] if s["step"] == "export"] == [0]


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


def test_connector_list_test_and_schema(demo: Path) -> None:
    listed = json.loads(idsync("-C", str(demo), "connector", "list", "--json").stdout)
    assert {c["connector"] for c in listed} >= {"hr"}
    assert idsync("-C", str(demo), "connector", "test", "hr").returncode == 0
    schema = json.loads(idsync("-C", str(demo), "connector", "schema", "hr", "--json").stdout)
    person = schema["person"]
    assert person["managerId"]["type"] == "reference" and person["hireDate"]["type"] == "datetime"
    assert idsync("-C", str(demo), "connector", "schema", "nosuch").returncode == 4


def test_connector_test_fails_clearly(tmp_path: Path) -> None:
    (tmp_path / "idsync.yaml").write_text(
        "connectors:\n  hr: {type: csv, path: missing/hr.csv, object_type: p, anchor: id}\n", encoding="utf-8"
    )
    done = idsync("-C", str(tmp_path), "connector", "test", "hr")
    assert done.returncode == 2 and "hr: cannot connect" in done.stderr
