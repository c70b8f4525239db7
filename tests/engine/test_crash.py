"""Killed at any moment (SIGKILL) and run again, the engine reaches the state of an uninterrupted run: no change
lost, no object created twice. A real `idsync` process is killed at random points of import, sync and export."""

from __future__ import annotations

import csv
import os
import random
import shutil
from pathlib import Path

import pytest

from idsync.cli.quickstart import write_workspace
from idsync.testing.crash import converge, kill_cycles
from idsync.testing.people import apply_changes
from idsync.testing.postgres import PostgresServer

TRIALS = int(os.environ.get("IDSYNC_CRASH_TRIALS", "6"))
POSTGRES_TRIALS = int(os.environ.get("IDSYNC_CRASH_TRIALS_POSTGRES", "3"))
PEOPLE = 400


def target_rows(workspace: Path) -> dict[str, dict[str, str]]:
    path = workspace / "data" / "directory.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    ids = [r["employeeId"] for r in rows]
    assert len(ids) == len(set(ids)), "an object was created twice in the target"
    upns = [r["userPrincipalName"] for r in rows]
    assert len(upns) == len(set(upns)), "two objects were given the same userPrincipalName"
    return {r["employeeId"]: {k: v for k, v in r.items() if k != "userPrincipalName"} for r in rows}


def prepare(root: Path, store: str = "sqlite") -> None:
    """A workspace after a first full cycle, and HR changes waiting to be synchronized."""
    write_workspace(root, people=PEOPLE, seed=11, target="csv")
    if store != "sqlite":
        config = root / "idsync.yaml"
        text = config.read_text(encoding="utf-8")
        assert "\nstore: sqlite\n" in text
        config.write_text(text.replace("\nstore: sqlite\n", f"\nstore: {store!r}\n"), encoding="utf-8")
    converge(root)
    apply_changes(root / "data" / "hr.csv", 60, seed=5)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("crash") / "base"
    prepare(root)
    return root


@pytest.fixture(scope="module")
def expected(baseline: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    reference = tmp_path_factory.mktemp("crash") / "reference"
    shutil.copytree(baseline, reference)
    converge(reference)
    return target_rows(reference)


@pytest.mark.parametrize("trial", range(TRIALS))
def test_sigkill_at_a_random_point_then_rerun_converges(
    trial: int, baseline: Path, expected: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(baseline, workspace)
    kill_and_converge(workspace, random.Random(1000 + trial), expected)


@pytest.mark.parametrize("trial", range(POSTGRES_TRIALS))
def test_sigkill_on_postgres_then_rerun_converges(
    trial: int, expected: dict[str, dict[str, str]], tmp_path: Path, postgres_server: PostgresServer
) -> None:
    """The same on the PostgreSQL store: a killed client's open transaction is rolled back by the server, and its
    page writes go out in batches of their own (COPY, ids drawn in blocks). The outcome is the SQLite store's."""
    workspace = tmp_path / "ws"
    prepare(workspace, postgres_server.create_database())
    kill_and_converge(workspace, random.Random(2000 + trial), expected)


def kill_and_converge(workspace: Path, rnd: random.Random, expected: dict[str, dict[str, str]]) -> None:
    # the first kill lands anywhere in a cycle (import, sync, export, confirming import); later ones again
    kill_cycles(workspace, rnd)
    converge(workspace)
    got = target_rows(workspace)
    differences = {
        key: {
            a: (got.get(key, {}).get(a), expected.get(key, {}).get(a))
            for a in set(got.get(key, {})) | set(expected.get(key, {}))
            if got.get(key, {}).get(a) != expected.get(key, {}).get(a)
        }
        for key in set(got) | set(expected)
        if got.get(key) != expected.get(key)
    }
    assert not differences, (
        f"{len(differences)} objects differ (got, expected), for example {list(differences.items())[:3]}"
    )
