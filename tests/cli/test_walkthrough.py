"""What a newcomer runs into on the csv quickstart: text printed as typed, runs of one step, honest approvals, usage
errors for what does not exist, readable references and values, lookups that say why they found nothing."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def idsync(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "idsync", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("walkthrough") / "demo"
    done = idsync("quickstart", str(root), "--people", "40", "--target", "csv")
    assert done.returncode == 0, done.stderr
    return root


def _rows(root: Path) -> list[dict[str, str]]:
    with (root / "data" / "hr.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@contextmanager
def hr_edited(root: Path, rows: list[dict[str, str]]) -> Iterator[None]:
    """hr.csv holds ``rows`` inside the block; afterwards the original file is back and a cycle has run."""
    hr = root / "data" / "hr.csv"
    original = hr.read_text(encoding="utf-8")
    try:
        with hr.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        yield
    finally:
        hr.write_text(original, "utf-8")
        assert idsync("-C", str(root), "cycle").returncode == 0


def test_emoji_codes_print_as_typed(demo: Path, tmp_path: Path) -> None:
    rows = _rows(demo)
    someone = rows[3]
    someone["sn"] += " :100:"
    with hr_edited(demo, rows):
        assert idsync("-C", str(demo), "run", "import").returncode == 0
        preview = idsync("-C", str(demo), "preview", f"hr:{someone['employeeId']}")
        assert preview.returncode == 0, preview.stderr
        assert ":100:" in preview.stdout and "\N{HUNDRED POINTS SYMBOL}" not in preview.stdout
        shown = idsync("-C", str(demo), "show", f"hr:{someone['employeeId']}")
        assert ":100:" in shown.stdout and "\N{HUNDRED POINTS SYMBOL}" not in shown.stdout
    # an error on line 100 of the configuration, at the misspelt function: idsync.yaml:100:19:
    (tmp_path / "idsync.yaml").write_text(
        "#\n" * 93
        + "connectors:\n  hr: {type: csv, path: x.csv, object_type: p, anchor: id}\nmetaverse:\n"
        + "  person: [id]\ninbound:\n  - {name: r, connector: hr, object_type: p, metaverse_type: person,\n"
        + "     flows: {id: 'Jion(\",\", [a])'}}\n",
        encoding="utf-8",
    )
    done = idsync("-C", str(tmp_path), "validate")
    assert done.returncode == 3 and "idsync.yaml:100:19:" in done.stderr, done.stderr


def test_run_takes_a_profile_or_one_connector_step(demo: Path) -> None:
    done = idsync("-C", str(demo), "run", "hr:full-import", "--json")
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    assert run["profile"] == "hr:full-import" and run["status"] == "success"
    assert [(s["connector"], s["step"]) for s in run["steps"]] == [("hr", "full-import")]
    latest = json.loads(idsync("-C", str(demo), "history", "--limit", "1", "--json").stdout)
    assert latest[0]["run_id"] == run["run_id"] and latest[0]["profile"] == "hr:full-import"
    assert idsync("-C", str(demo), "run", "directory:export").returncode == 0
    for wrong in ("full-import", "hr:bogus", "nosuch:export"):
        refused = idsync("-C", str(demo), "run", wrong)
        assert refused.returncode == 4, (wrong, refused.stderr)
        message = " ".join(refused.stderr.split())
        assert "profiles: delta, full, import" in message and "connectors: hr, directory" in message, message
        assert "steps: full-import, delta-import, full-sync, delta-sync, export, confirming-import" in message


def test_approve_deletes_says_what_it_approves(tmp_path: Path) -> None:
    root = tmp_path / "deletes"
    assert idsync("quickstart", str(root), "--people", "40", "--target", "csv").returncode == 0
    config = root / "idsync.yaml"
    text = config.read_text(encoding="utf-8")
    text = text.replace("    deprovision: disable\n", "    deprovision: delete\n")
    text = text.replace("    deprovision_flows:\n      accountEnabled: 'False'\n", "")
    config.write_text(text + "safety: {deletion_threshold: 3}\n", encoding="utf-8")
    rows = _rows(root)
    managers = {r["managerId"] for r in rows}
    leaving = [r["employeeId"] for r in rows if r["status"] == "active" and r["employeeId"] not in managers][:6]
    with (root / "data" / "hr.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if r["employeeId"] not in leaving)
    held = idsync("-C", str(root), "cycle")
    assert held.returncode == 2 and "stopped-deletion-threshold" in held.stdout, held.stdout

    partial = idsync("-C", str(root), "approve-deletes", "directory", "--count", "2")
    message = " ".join(partial.stderr.split())
    assert partial.returncode == 4, partial.stdout
    assert (
        "approving 2 lets the export through only while at most 2 deletes and disables are pending; 6 are pending"
        in message
    )
    assert idsync("-C", str(root), "cycle").returncode == 2  # nothing was approved

    unknown = idsync("-C", str(root), "approve-deletes", "directori")
    assert unknown.returncode == 4 and "did you mean 'directory'" in unknown.stderr, unknown.stderr

    approved = idsync("-C", str(root), "approve-deletes", "directory")
    assert approved.returncode == 0, approved.stderr
    assert "approved the 6 pending deletes and disables of directory" in " ".join(approved.stdout.split())
    done = idsync("-C", str(root), "cycle", "--json")
    assert done.returncode == 0, done.stdout
    assert [s["deletes"] for s in json.loads(done.stdout)["steps"] if s["step"] == "export"] == [6]


def test_what_does_not_exist_is_a_usage_error_named_as_typed(demo: Path, tmp_path: Path) -> None:
    for args, named in (
        (("show", "cs:999999"), "cs:999999"),
        (("show", "mv:999999"), "mv:999999"),
        (("preview", "cs:999999"), "cs:999999"),
        (("preview", "mv:999999"), "mv:999999"),
        (("show", "hr:E0999999"), "hr:E0999999"),
        (("preview", "hr:E0999999"), "hr:E0999999"),
        (("audit", "--object", "hr:E0999999"), "hr:E0999999"),
        (("disconnect", "hr:E0999999"), "hr:E0999999"),
        (("history", "99"), "no run 99"),
        (("report", "99", "-o", str(tmp_path / "r.html")), "no run 99"),
        (("show", "foo:bar"), "'foo' is not a connector"),
        (("show", "cs:x"), "takes a number"),
    ):
        done = idsync("-C", str(demo), *args)
        assert done.returncode == 4, (args, done.returncode, done.stderr)
        assert named in done.stderr, (args, done.stderr)
    assert "#" not in idsync("-C", str(demo), "preview", "cs:999999").stderr
    (tmp_path / "idsync.yaml").write_text("# mine\n", encoding="utf-8")
    again = idsync("-C", str(tmp_path), "init")
    assert again.returncode == 4 and "--force" in again.stderr
    assert (tmp_path / "idsync.yaml").read_text(encoding="utf-8") == "# mine\n"


def test_preview_and_show_print_references_and_values_readably(demo: Path) -> None:
    rows = _rows(demo)
    boss = next(r for r in rows if r["status"] == "active" and r["managerId"])
    boss_mv = json.loads(idsync("-C", str(demo), "show", f"hr:{boss['employeeId']}", "--json").stdout)["mv"]
    newcomer = {**rows[-1], "employeeId": "E0999001", "givenName": "Nova", "sn": "Newcomb", "status": "active"}
    newcomer["managerId"] = boss["employeeId"]
    leaver = next(r for r in rows if r["status"] == "active" and r is not boss and r["employeeId"] != boss["managerId"])
    leaver["status"] = "leaver"
    with hr_edited(demo, [*rows, newcomer]):
        assert idsync("-C", str(demo), "run", "import").returncode == 0
        preview = idsync("-C", str(demo), "preview", "hr:E0999001")
        assert preview.returncode == 0, preview.stderr
        assert "mv:None" not in preview.stdout and "link: (new) -> mv:" in preview.stdout, preview.stdout
        name = boss_mv["attributes"]["displayName"]
        assert f"mv manager: - -> mv:{boss_mv['id']} ({name})" in preview.stdout, preview.stdout
        # deprovisioned: the profile 'delta' exports the disable and confirms it, leaving a pending import
        assert idsync("-C", str(demo), "run", "delta").returncode == 0
        shown = idsync("-C", str(demo), "show", f"directory:{leaver['employeeId']}")
        assert shown.returncode == 0, shown.stderr
        assert "pending import: update (changed: accountEnabled)" in shown.stdout, shown.stdout
        assert "{'op'" not in shown.stdout


def test_status_json_never_truncates(demo: Path) -> None:
    status = json.loads(idsync("-C", str(demo), "status", "--json").stdout)
    watermarks = [c["watermark"] for c in status["connectors"] if c["watermark"]]
    assert watermarks and all("…" not in w for w in watermarks)
    assert max(len(w) for w in watermarks) > 40


def test_show_and_preview_print_markup_in_data_as_text(demo: Path) -> None:
    rows = _rows(demo)
    odd = {**rows[-1], "employeeId": "E[i]77", "givenName": "Brace", "sn": "Square", "managerId": ""}
    with hr_edited(demo, [*rows, odd]):
        assert idsync("-C", str(demo), "run", "import").returncode == 0
        shown = idsync("-C", str(demo), "show", "hr:E[i]77")
        assert shown.returncode == 0, shown.stderr
        assert "'E[i]77'" in shown.stdout, shown.stdout
        preview = idsync("-C", str(demo), "preview", "hr:E[i]77")
        assert "directory 'E[i]77'" in preview.stdout, preview.stdout


def test_searches_name_what_does_not_exist(demo: Path) -> None:
    for args, hint in (
        (("search", "cs", "--connector", "directori"), "did you mean 'directory'"),
        (("search", "cs", "--connector", "hr", "--type", "persn"), "did you mean 'person'"),
        (("search", "cs", "--connector", "hr", "--attr", "surname=x"), "no attribute 'surname'"),
        (("search", "mv", "--attr", "nosuch=x"), "no metaverse attribute 'nosuch'"),
        (("search", "mv", "--attr", "SN=x"), "did you mean 'sn'"),
        (("search", "mv", "--type", "persn"), "did you mean 'person'"),
    ):
        done = idsync("-C", str(demo), *args)
        assert done.returncode == 4, (args, done.stdout)
        assert hint in done.stderr, (args, done.stderr)
    sn = _rows(demo)[0]["sn"]
    found = json.loads(
        idsync("-C", str(demo), "search", "cs", "--connector", "hr", "--attr", f"sn={sn}", "--json").stdout
    )
    assert found["total"] == sum(r["sn"].casefold() == sn.casefold() for r in _rows(demo)) > 0


def test_search_mv_lists_a_type_without_an_attribute(demo: Path) -> None:
    done = idsync("-C", str(demo), "search", "mv", "--type", "person", "--limit", "5", "--json")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert len(found["objects"]) == 5 and found["total"] == 40
    assert {m["object_type"] for m in found["objects"]} == {"person"}
    text = idsync("-C", str(demo), "search", "mv", "--type", "person", "--limit", "5")
    assert text.returncode == 0 and "40 metaverse objects (first 5)" in text.stdout, text.stdout


def test_history_errors_without_a_run_shows_the_last_run(demo: Path) -> None:
    rows = _rows(demo)
    rows[4]["hireDate"] = "not a date"
    with hr_edited(demo, rows):
        failed = idsync("-C", str(demo), "run", "hr:delta-import", "--json")
        assert failed.returncode == 1, failed.stdout
        run_id = json.loads(failed.stdout)["run_id"]
        done = idsync("-C", str(demo), "history", "--errors")
        assert done.returncode == 0, done.stderr
        assert f"errors of run {run_id}" in done.stdout and rows[4]["employeeId"] in done.stdout, done.stdout
        as_json = json.loads(idsync("-C", str(demo), "history", "--errors", "--json").stdout)
        assert as_json["run_id"] == run_id and as_json["errors"], as_json


def test_audit_of_a_source_object_points_at_its_exported_links(demo: Path) -> None:
    eid = _rows(demo)[0]["employeeId"]
    target = json.loads(idsync("-C", str(demo), "audit", "--object", f"directory:{eid}", "--json").stdout)
    assert target["rows"] and {r["connector"] for r in target["rows"]} == {"directory"}
    source = idsync("-C", str(demo), "audit", "--object", f"hr:{eid}")
    assert source.returncode == 0, source.stderr
    assert f"nothing was exported to hr:{eid}; the objects it is linked to: directory:{eid}" in source.stdout


def test_quickstart_needs_a_positive_number_of_people(tmp_path: Path) -> None:
    for count in ("0", "-5"):
        done = idsync("quickstart", str(tmp_path / f"demo{count}"), "--people", count, "--target", "csv")
        assert done.returncode == 4 and "--people" in done.stderr, done.stderr
        assert not (tmp_path / f"demo{count}").exists()


def test_preview_without_a_pending_import_says_to_import_first(demo: Path) -> None:
    rows = _rows(demo)
    rows[6]["department"] = "Somewhere Else"
    with hr_edited(demo, rows):
        done = idsync("-C", str(demo), "preview", f"hr:{rows[6]['employeeId']}")
        assert done.returncode == 0, done.stderr
        text = " ".join(done.stdout.split())
        assert "no pending import" in text and "idsync run import" in text, text
        assert "staged (imported) state" in text
        assert idsync("-C", str(demo), "run", "import").returncode == 0
        staged = idsync("-C", str(demo), "preview", f"hr:{rows[6]['employeeId']}")
        assert "Somewhere Else" in staged.stdout and "no pending import" not in staged.stdout


def test_preview_of_a_person_deleted_from_hr_shows_the_deletion_and_the_disable(demo: Path) -> None:
    rows = _rows(demo)
    gone = next(r for r in rows if r["status"] == "active")
    with hr_edited(demo, [r for r in rows if r is not gone]):
        assert idsync("-C", str(demo), "run", "import").returncode == 0
        preview = idsync("-C", str(demo), "preview", f"hr:{gone['employeeId']}")
        assert preview.returncode == 0, preview.stderr
        text = " ".join(preview.stdout.split())
        assert "from the metaverse" in text and f"removes hr:{gone['employeeId']}" in text
        assert f"directory '{gone['employeeId']}'" in text and "accountEnabled" in text and "False" in text
        assert "pending export: disable" in text  # the deprovisioning kind the deletion threshold counts
