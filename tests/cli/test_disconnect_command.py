"""``idsync disconnect`` on a real workspace: explicit disconnector, search by state, show, --clear, refusals,
the run lock and the run history."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from idsync.engine.run_profiles import RUN_LOCK
from idsync.store import open_store


def idsync(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "idsync", "-C", str(root), *args], capture_output=True, text=True, timeout=300
    )


def as_json(done: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert done.stdout, done.stderr
    data: dict[str, object] = json.loads(done.stdout)
    return data


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("disconnect") / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "idsync", "quickstart", str(root), "--people", "40", "--target", "csv"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    # the quickstart's outbound join: a person who comes back finds their account again instead of clashing with it
    assert "    join: [{employeeId: employeeId}]" in (root / "idsync.yaml").read_text(encoding="utf-8")
    return root


def _account(root: Path, eid: str) -> dict[str, str]:
    with (root / "data" / "directory.csv").open(encoding="utf-8") as handle:
        return next(r for r in csv.DictReader(handle) if r["employeeId"] == eid)


def _employee(root: Path, index: int) -> str:
    with (root / "data" / "hr.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["status"] == "active"]
    return rows[index]["employeeId"]


def test_explicit_disconnect_is_found_by_state_kept_apart_by_cycles_and_cleared(demo: Path) -> None:
    eid = _employee(demo, 3)
    before = as_json(idsync(demo, "show", f"hr:{eid}", "--json"))
    cs = before["cs"]
    assert isinstance(cs, dict) and cs["link_state"] == "connector"
    mv_id = cs["mv_id"]

    done = idsync(demo, "disconnect", f"hr:{eid}", "--explicit", "--json")
    assert done.returncode == 0, done.stderr
    result = as_json(done)
    assert result["status"] == "success" and result["mv_id"] == mv_id
    # hr is authoritative for people: the person leaves the metaverse, as when HR deletes them
    assert result["mv_deleted"] is True
    obj = result["object"]
    assert isinstance(obj, dict) and obj["link_state"] == "explicit-disconnector" and obj["mv_id"] is None

    shown = idsync(demo, "show", f"hr:{eid}")
    assert shown.returncode == 0 and "explicit-disconnector" in shown.stdout
    found = as_json(idsync(demo, "search", "cs", "--state", "explicit-disconnector", "--json"))
    assert found["total"] == 1 and [o["anchor"] for o in found["objects"]] == [eid]  # type: ignore[attr-defined]

    history = json.loads(idsync(demo, "history", "--json").stdout)
    named = f"Disconnected hr {cs['identifier']!r} (cs:{cs['id']}) as an explicit disconnector"
    assert history[0]["profile"] == named and history[0]["status"] == "success"
    assert "explicit disconnector" in history[0]["steps"][0]["message"]

    for _ in range(2):  # neither projected nor joined again, delta or full
        assert idsync(demo, "cycle").returncode == 0
    assert idsync(demo, "run", "full").returncode == 0
    kept = as_json(idsync(demo, "show", f"hr:{eid}", "--json"))["cs"]
    assert isinstance(kept, dict) and kept["link_state"] == "explicit-disconnector" and kept["mv_id"] is None
    assert _account(demo, eid)["accountEnabled"].lower() == "false"  # deprovisioned (disable) with the person

    cleared = idsync(demo, "disconnect", f"hr:{eid}", "--clear")
    assert cleared.returncode == 0 and "normal disconnector again" in cleared.stdout
    again = idsync(demo, "cycle")
    assert again.returncode == 0, again.stdout
    back = as_json(idsync(demo, "show", f"hr:{eid}", "--json"))
    assert isinstance(back["cs"], dict) and back["cs"]["link_state"] == "connector"
    assert [link["connector"] for link in back["links"]] == ["directory"]  # type: ignore[union-attr]
    assert _account(demo, eid)["accountEnabled"].lower() == "true"
    assert as_json(idsync(demo, "search", "cs", "--state", "explicit-disconnector", "--json"))["total"] == 0


def test_refusals_exit_with_the_usage_code_and_name_the_object(demo: Path) -> None:
    eid = _employee(demo, 5)
    unknown = idsync(demo, "disconnect", "hr:NO-SUCH-ID")
    assert unknown.returncode == 4 and "NO-SUCH-ID" in unknown.stderr
    assert idsync(demo, "disconnect", "cs:999999").returncode == 4
    metaverse = idsync(demo, "disconnect", "mv:1")
    assert metaverse.returncode == 4 and "connector-space object" in metaverse.stderr
    assert idsync(demo, "disconnect", f"hr:{eid}", "--explicit", "--clear").returncode == 4
    not_explicit = idsync(demo, "disconnect", f"hr:{eid}", "--clear")
    assert not_explicit.returncode == 4 and "is not an explicit disconnector" in not_explicit.stderr
    assert idsync(demo, "search", "cs", "--state", "nonsense").returncode == 4


def test_a_run_holding_the_store_refuses_the_disconnection(demo: Path) -> None:
    eid = _employee(demo, 7)
    holder = "another-host:4242:1"
    store = open_store("sqlite", demo)
    try:
        assert store.acquire_lock(RUN_LOCK, holder, 3600)
        done = idsync(demo, "disconnect", f"hr:{eid}", "--explicit")
        assert done.returncode == 2 and holder in done.stderr
    finally:
        store.release_lock(RUN_LOCK, holder)
        store.close()
    shown = as_json(idsync(demo, "show", f"hr:{eid}", "--json"))["cs"]
    assert isinstance(shown, dict) and shown["link_state"] == "connector"
