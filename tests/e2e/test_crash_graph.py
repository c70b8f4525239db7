"""Killed mid-export to a Graph tenant (SIGKILL) and run again, a workspace reaches the tenant an uninterrupted run
leaves: the same users and groups with the same values, managers and members, no user created twice.

Graph assigns the object id, so a create whose answer died with the process is only known by looking it up by its
keys (userPrincipalName, mailNickname): this is what the reconciliation of exports in flight is for. The quickstart
workspace (HR people, a security group per department, managers, leavers disabled) is pointed at an emulated
tenant served over HTTP from this process, which ``idsync`` reaches as a subprocess; a first cycle of a few hundred
people is killed after a random delay, then HR changes are killed the same way. The tenant is read directly.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from idsync.cli.quickstart import write_workspace
from idsync.testing.crash import converge, kill_cycles
from idsync.testing.graph_emulator import GraphTenant
from idsync.testing.people import apply_changes

pytestmark = pytest.mark.slow

TRIALS = int(os.environ.get("IDSYNC_CRASH_TRIALS_GRAPH", "3"))
PEOPLE = 300
CHANGES = 60
SECRET = "IDSYNC_TEST_GRAPH_SECRET"
DOMAIN = "contoso.example"
USER_PROPERTIES = (
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "department",
    "jobTitle",
    "officeLocation",
    "accountEnabled",
    "mailNickname",
)
GROUP_PROPERTIES = ("displayName", "description", "securityEnabled", "mailEnabled")
Tenant = dict[str, dict[str, Any]]
"""``user:<employeeId>`` or ``group:<mailNickname>`` -> properties, manager and members by employeeId."""


@dataclass(frozen=True)
class Served:
    """A tenant served over HTTP, and what ``idsync`` needs to reach it (its app's secret goes in the environment)."""

    tenant: GraphTenant
    base_url: str
    client_id: str
    env: dict[str, str]


@pytest.fixture(scope="module")
def serve() -> Iterator[Callable[[], Served]]:
    """Start a tenant of one's own on a loopback port; every one is stopped at the end of the module."""
    with contextlib.ExitStack() as stack:

        def start() -> Served:
            tenant = GraphTenant("contoso", domains=("contoso.onmicrosoft.com", DOMAIN), seed=7)
            app = tenant.add_app("idsync")
            base_url = stack.enter_context(tenant.serve())
            return Served(tenant, base_url, app.client_id, {SECRET: app.client_secret})

        yield start


def write(folder: Path, served: Served) -> None:
    write_workspace(folder, people=PEOPLE, seed=31, target="entra")
    config = yaml.safe_load((folder / "idsync.yaml").read_text(encoding="utf-8"))
    block = config["connectors"]["entra"]
    del block["emulator"]
    block.update(
        {
            "client_id": served.client_id,
            "client_secret": "${env:" + SECRET + "}",
            "login_endpoint": served.base_url,
            "graph_endpoint": served.base_url,
            "insecure_http": True,
            "retry_base_seconds": 0.01,
            "retry_max_seconds": 0.05,
        }
    )
    (folder / "idsync.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def objects(tenant: GraphTenant) -> int:
    """How many users and groups the tenant holds."""
    with tenant.lock:
        return sum(1 for _ in tenant.directory.live("user")) + sum(1 for _ in tenant.directory.live("group"))


def read_tenant(tenant: GraphTenant) -> Tenant:
    """Every user and group of the tenant, read from the emulator directly; a user or group twice fails here."""
    users = tenant.users()
    ids = [u.get("employeeId") for u in users]
    twice = sorted({i for i in ids if ids.count(i) > 1}, key=str)
    assert not twice, f"users created twice: {twice}"
    employee = {u["id"]: u.get("employeeId") for u in users}
    found: Tenant = {}
    for user in users:
        entry = {p: user.get(p) for p in USER_PROPERTIES}
        manager = tenant.manager_of(user["id"])
        entry["manager"] = employee.get(manager) if manager else None
        found[f"user:{user['employeeId']}"] = entry
    groups = tenant.groups()
    nicknames = [g.get("mailNickname") for g in groups]
    twice = sorted({n for n in nicknames if nicknames.count(n) > 1}, key=str)
    assert not twice, f"groups created twice: {twice}"
    for group in groups:
        entry = {p: group.get(p) for p in GROUP_PROPERTIES}
        entry["members"] = sorted(str(employee.get(m, m)) for m in tenant.members(group["id"]))
        found[f"group:{group['mailNickname']}"] = entry
    return found


def compare(got: Tenant, expected: Tenant) -> None:
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    differ = {
        key: {p: (got[key].get(p), expected[key].get(p)) for p in expected[key] if got[key].get(p) != expected[key][p]}
        for key in set(got) & set(expected)
        if got[key] != expected[key]
    }
    assert not (missing or extra or differ), (
        f"{len(missing)} objects missing, for example {missing[:3]}; {len(extra)} extra, for example {extra[:3]}; "
        f"{len(differ)} differ (got, expected), for example {list(differ.items())[:2]}"
    )


@pytest.fixture(scope="module")
def expected(serve: Callable[[], Served], tmp_path_factory: pytest.TempPathFactory) -> tuple[Tenant, Tenant]:
    """The tenant after an uninterrupted first cycle, and after the HR changes that follow it."""
    served = serve()
    folder = tmp_path_factory.mktemp("crash-graph") / "reference"
    write(folder, served)
    converge(folder, env=served.env)
    first = read_tenant(served.tenant)
    with (folder / "data" / "hr.csv").open(encoding="utf-8", newline="") as handle:
        people = {f"user:{row['employeeId']}" for row in csv.DictReader(handle)}
    assert {key for key in first if key.startswith("user:")} == people  # what a trial must reach
    apply_changes(folder / "data" / "hr.csv", CHANGES, seed=5)
    converge(folder, env=served.env)
    return first, read_tenant(served.tenant)


@pytest.mark.parametrize("trial", range(TRIALS))
def test_sigkill_mid_export_to_graph_then_rerun_converges(
    trial: int, serve: Callable[[], Served], expected: tuple[Tenant, Tenant], tmp_path: Path
) -> None:
    rnd = random.Random(4000 + trial)
    served = serve()
    folder = tmp_path / "ws"
    write(folder, served)

    # even trials: killed after a random delay, anywhere in a cycle; odd ones: in the middle of the export, once
    # the tenant holds a random number of new objects
    progress = None if trial % 2 == 0 else functools.partial(objects, served.tenant)
    kill_cycles(folder, rnd, kills=(1, 2), delay=(1.2, 3.0), progress=progress, writes=(1, PEOPLE), env=served.env)
    converge(folder, env=served.env)
    compare(read_tenant(served.tenant), expected[0])

    apply_changes(folder / "data" / "hr.csv", CHANGES, seed=5)
    kill_cycles(folder, rnd, kills=(1, 2), delay=(0.8, 2.5), env=served.env)
    converge(folder, env=served.env)
    compare(read_tenant(served.tenant), expected[1])
