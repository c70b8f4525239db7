"""``idsync join`` (MIM's Joiner) on a real workspace: an account an operator kept apart is joined back by hand,
stays joined through cycles, and refusals exit with the usage code naming the objects."""

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


def shown(root: Path, ref: str) -> dict[str, object]:
    done = idsync(root, "show", ref, "--json")
    assert done.returncode == 0, done.stderr
    data: dict[str, object] = json.loads(done.stdout)
    return data


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("join") / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "idsync", "quickstart", str(root), "--people", "30", "--target", "csv"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return root


def test_an_account_kept_apart_is_joined_back_by_hand_and_stays(demo: Path) -> None:
    linked = shown(demo, "mv:1")["links"]
    assert isinstance(linked, list)
    account = next(link for link in linked if link["connector"] == "directory")
    ref = f"cs:{account['id']}"
    apart = idsync(demo, "disconnect", ref, "--explicit")
    # provisioning meets the explicit disconnector's identifier: an error row, no second account
    assert apart.returncode == 1 and "explicit disconnector" in apart.stdout

    done = idsync(demo, "join", ref, "--to", "mv:1", "--json")

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "success" and result["mv_id"] == 1 and result["errors"] == []
    obj = result["object"]
    assert (obj["link_state"], obj["mv_id"], obj["link_rule"]) == ("connector", 1, "joined-manually")
    assert "explicit connector" in result["message"]
    history = json.loads(idsync(demo, "history", "--json").stdout)
    assert history[0]["profile"] == f"Joined directory {account['identifier']!r} ({ref}) to mv:1"

    cycle = idsync(demo, "cycle", "--json")
    assert cycle.returncode == 0, cycle.stdout
    exports = [s for s in json.loads(cycle.stdout)["steps"] if s["step"] == "export"]
    assert exports and all(s["adds"] == s["deletes"] == 0 for s in exports)
    assert shown(demo, ref)["cs"]["link_rule"] == "joined-manually"  # type: ignore[index]

    again = idsync(demo, "join", ref, "--to", "mv:2")
    assert again.returncode == 4 and "is joined to mv:1 already (an explicit connector)" in again.stderr


def test_refusals_exit_with_the_usage_code(demo: Path) -> None:
    wrong_way = idsync(demo, "join", "mv:1", "--to", "mv:2")
    assert wrong_way.returncode == 4 and "join takes a connector-space object" in wrong_way.stderr
    not_mv = idsync(demo, "join", "cs:1", "--to", "cs:2")
    assert not_mv.returncode == 4 and "join it to a metaverse object (mv:ID)" in not_mv.stderr
    missing = idsync(demo, "join", "hr:NO-SUCH-ID", "--to", "mv:1")
    assert missing.returncode == 4 and "NO-SUCH-ID" in missing.stderr
    no_target = idsync(demo, "join", "cs:1", "--to", "mv:999999")
    assert no_target.returncode == 4 and "no metaverse object mv:999999" in no_target.stderr
    no_to = idsync(demo, "join", "cs:1")
    assert no_to.returncode == 4 and "Missing option '--to'" in no_to.stderr


def test_a_person_kept_apart_is_projected_again_by_hand_and_finds_their_account(demo: Path) -> None:
    with (demo / "data" / "hr.csv").open(encoding="utf-8") as handle:
        eid = [r for r in csv.DictReader(handle) if r["status"] == "active"][4]["employeeId"]
    # hr is authoritative for people: an explicit disconnect deletes the person and disables the account
    assert idsync(demo, "disconnect", f"hr:{eid}", "--explicit").returncode == 0
    assert idsync(demo, "cycle").returncode == 0
    assert _account(demo, eid)["accountEnabled"].lower() == "false"

    done = idsync(demo, "project", f"hr:{eid}", "--json")

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "success" and result["object"]["link_rule"] == "projected-manually"
    person = shown(demo, f"mv:{result['mv_id']}")
    assert person["mv"]["attributes"]["employeeId"] == eid  # type: ignore[index]
    # the outbound join adopts the account left behind, and the next cycle enables it again
    assert idsync(demo, "cycle").returncode == 0
    assert _account(demo, eid)["accountEnabled"].lower() == "true"
    assert shown(demo, f"hr:{eid}")["cs"]["link_rule"] == "projected-manually"  # type: ignore[index]

    refused = idsync(demo, "project", f"directory:{eid}")
    assert refused.returncode == 4 and "joined to mv:" in refused.stderr
    wrong_type = idsync(demo, "project", f"hr:{eid}", "--type", "group")
    assert wrong_type.returncode == 4 and "already" in wrong_type.stderr


def _account(root: Path, eid: str) -> dict[str, str]:
    with (root / "data" / "directory.csv").open(encoding="utf-8") as handle:
        return next(r for r in csv.DictReader(handle) if r["employeeId"] == eid)
