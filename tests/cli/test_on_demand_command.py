"""``idsync on-demand`` on a real workspace (CSV files): a new hire appended to the HR file is in the directory
file at once, another change waits for the next cycle, and a name the HR file does not hold is a usage error."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest


def idsync(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "idsync", "-C", str(root), *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("on-demand") / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "idsync", "quickstart", str(root), "--people", "20", "--target", "csv"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return root


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_new_hire_goes_now_and_the_rest_waits_for_the_cycle(demo: Path) -> None:
    hr = demo / "data" / "hr.csv"
    rows = _rows(hr)
    boss = rows[0]["employeeId"]
    hire = dict(rows[-1], employeeId="E0999001", givenName="Zoë", sn="O'Brien", managerId=boss, status="active")
    rows.append(hire)
    rows[2]["title"] = "Principal Engineer"  # a change the next cycle is for
    with hr.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    staged = idsync(demo, "on-demand", "hr:E0999001", "--staging")
    assert staged.returncode == 0, staged.stderr
    assert "directory 'E0999001'" in staged.stdout and "add not sent: staging mode" in staged.stdout
    assert "E0999001" not in {r["employeeId"] for r in _rows(demo / "data" / "directory.csv")}

    done = idsync(demo, "on-demand", "hr:E0999001", "--json")

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "success" and result["profile"] == "Provisioned on demand hr 'E0999001'"
    assert [(t["connector"], t["staged"], t["sent"]) for t in result["targets"]] == [("directory", "add", True)]
    accounts = {r["employeeId"]: r for r in _rows(demo / "data" / "directory.csv")}
    assert accounts["E0999001"]["userPrincipalName"] == "zoe.obrien@contoso.example"
    assert accounts["E0999001"]["manager"] == boss
    assert accounts[rows[2]["employeeId"]]["jobTitle"] != "Principal Engineer"

    text = idsync(demo, "on-demand", "hr:E0999001")
    assert text.returncode == 0 and "directory 'E0999001'" in text.stdout and "nothing to change" in text.stdout
    cycle = idsync(demo, "cycle", "--json")
    exports = [s for s in json.loads(cycle.stdout)["steps"] if s["step"] == "export"]
    assert [(s["adds"], s["updates"]) for s in exports] == [(0, 1)]  # the title; the hire went on demand
    assert {r["employeeId"]: r for r in _rows(demo / "data" / "directory.csv")}[rows[2]["employeeId"]][
        "jobTitle"
    ] == "Principal Engineer"


def test_an_unknown_object_is_a_usage_error(demo: Path) -> None:
    missing = idsync(demo, "on-demand", "hr:NO-SUCH-ID")
    assert missing.returncode == 4 and "hr has no object 'NO-SUCH-ID'" in missing.stderr
    metaverse = idsync(demo, "on-demand", "mv:1")
    assert metaverse.returncode == 4 and "source object" in metaverse.stderr
    assert idsync(demo, "on-demand", "nowhere:1").returncode == 4
