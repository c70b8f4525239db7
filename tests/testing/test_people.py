"""The people generator: unique, deterministic, a real hierarchy, international names, and streaming."""

from __future__ import annotations

import csv
import itertools
import tracemalloc
from datetime import date
from pathlib import Path

from idsync.connectors.base import ConnectorContext
from idsync.connectors.csv import connector_type
from idsync.testing.contract import read_pages
from idsync.testing.people import COLUMNS, DEPARTMENTS, EXECUTIVE, LEAVER, apply_changes, generate, write_csv


def check_hierarchy(people: list[dict[str, str]]) -> None:
    """One CEO; one head per department reporting to the CEO; everyone else reports to someone of their own
    department; following managers from anyone reaches the CEO without a cycle."""
    by_id = {p["employeeId"]: p for p in people}
    assert len(by_id) == len(people), "employee ids are unique"
    (ceo,) = [p for p in people if not p["managerId"]]
    assert ceo["department"] == EXECUTIVE
    heads = [p for p in people if p["managerId"] == ceo["employeeId"]]
    assert sorted(p["department"] for p in heads) == sorted(DEPARTMENTS)
    head_ids = {p["employeeId"] for p in heads}
    for person in people:
        if person is ceo or person["employeeId"] in head_ids:
            continue
        manager = by_id[person["managerId"]]
        assert manager["department"] == person["department"], person
    reaches_ceo = {ceo["employeeId"]}
    for person in people:
        path: list[str] = []
        current = person["employeeId"]
        while current not in reaches_ceo:
            assert current not in path, f"cycle through {current}"
            path.append(current)
            current = by_id[current]["managerId"]
        reaches_ceo.update(path)


def test_people_form_a_tree_within_departments() -> None:
    check_hierarchy(list(generate(5_000, 11)))


def test_generation_is_deterministic_and_a_prefix_of_longer_runs() -> None:
    first = list(generate(600, 3))
    assert first == list(generate(600, 3))
    assert first != list(generate(600, 4))
    assert list(generate(250, 3)) == first[:250]


def test_people_look_like_an_international_hr_file() -> None:
    people = list(generate(10_000, 5))
    assert set(people[0]) == set(COLUMNS)
    names = [p["givenName"] + " " + p["sn"] for p in people]
    assert sum(not n.isascii() for n in names) > len(names) * 0.4, "plenty of diacritics"
    assert sum("'" in p["sn"] for p in people) > len(people) * 0.02, "O'Brien, D'Angelo and friends"
    for letter in "éüøñçłřşğıễđőțþ":
        assert any(letter in n.casefold() for n in names), f"no name with {letter!r}"
    assert any(p["displayName"] == f"{p['sn']} {p['givenName']}" for p in people), "family name first too"
    assert 10 <= len({p["department"] for p in people}) <= 15
    leavers = sum(p["status"] == LEAVER for p in people) / len(people)
    assert 0.02 <= leavers <= 0.04
    assert {p["status"] for p in people} == {"active", LEAVER}
    with_mobile = sum(bool(p["mobile"]) for p in people) / len(people)
    assert 0.7 <= with_mobile <= 0.9
    assert all(date.fromisoformat(p["hireDate"]) for p in people)
    assert len({p["title"] for p in people}) > 30
    assert "mobile" not in next(iter(generate(1, 5, mobile=False)))


def test_generation_streams_in_bounded_memory() -> None:
    tracemalloc.start()
    try:
        count = sum(1 for _ in generate(200_000, 9))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 200_000
    assert peak < 4 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB for 200k people"


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_written_file_imports_cleanly_with_the_csv_connector(tmp_path: Path) -> None:
    write_csv(tmp_path / "hr.csv", 1_500, 2)
    config = {
        "type": "csv",
        "path": "hr.csv",
        "object_type": "person",
        "anchor": "employeeId",
        "columns": {"managerId": "reference"},
    }
    imported = read_pages(connector_type.create("hr", config, ConnectorContext(str(tmp_path))).full_import())
    assert not imported.issues
    assert [r.attributes for r in imported.records] == [
        {k: v for k, v in p.items() if v} for p in itertools.islice(generate(1_500, 2), 1_500)
    ]


def test_changes_touch_exactly_the_people_they_report(tmp_path: Path) -> None:
    path = tmp_path / "hr.csv"
    write_csv(path, 2_000, 4)
    before = {p["employeeId"]: p for p in read(path)}
    changes = apply_changes(path, 150, seed=8)
    after = {p["employeeId"]: p for p in read(path)}
    assert sum(changes.counts.values()) == 150 == len(changes.employee_ids) == len(set(changes.employee_ids))
    assert all(changes.counts[kind] > 0 for kind in ("rename", "move", "leaver", "edit", "hire"))
    changed = {e for e in before if before[e] != after[e]}
    hired = set(after) - set(before)
    assert changed | hired == set(changes.employee_ids)
    assert len(hired) == changes.counts["hire"] and not set(before) - set(after)
    moved = [e for e in changed if before[e]["department"] != after[e]["department"]]
    assert len(moved) == changes.counts["move"]
    check_hierarchy(list(after.values()))
    path2 = tmp_path / "again.csv"
    write_csv(path2, 2_000, 4)
    apply_changes(path2, 150, seed=8)
    assert path2.read_bytes() == path.read_bytes(), "the same seed makes the same changes"
