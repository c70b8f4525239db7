"""``idsync emulator graph --tenant-file``: a tenant a workspace keeps (the quickstart's data/tenant.json) served over
real HTTP to any Graph client, written back to its file, and locked against a run writing the same file meanwhile."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.password_profile import PasswordProfile
from msgraph.generated.models.user import User

from idsync.connectors.base import ConnectivityError, ConnectorContext
from idsync.connectors.graph.config import GraphConfig
from idsync.connectors.graph.connector import GraphConnector
from idsync.testing.graph_emulator import GraphTenant
from idsync.testing.graph_emulator.tenant_file import TenantFileBusy, TenantFileLock, lock_path

from .test_fidelity_msgraph import SCOPE, EmulatorCredential

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
QUICKSTART_CLIENT_ID = "9c6f1c52-0d7e-4a8e-9f3b-2b1d6f0e7a41"


def idsync(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "idsync", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture
def demo(quickstart: Path, tmp_path: Path) -> Path:
    """A fresh copy of a workspace the quickstart wrote (tests change its tenant)."""
    copy = tmp_path / "demo"
    shutil.copytree(quickstart, copy)
    return copy


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("served") / "demo"
    done = idsync("quickstart", str(root), "--people", "40")
    assert done.returncode == 0, done.stderr
    return root


@dataclass
class Served:
    proc: subprocess.Popen[str]
    base: str
    token_url: str
    client_id: str
    secret: str

    def token(self) -> str:
        form = {"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.secret}
        reply = httpx.post(self.token_url, data={**form, "scope": SCOPE})
        assert reply.status_code == 200, reply.text
        return str(reply.json()["access_token"])

    def stop(self, sig: signal.Signals) -> str:
        self.proc.send_signal(sig)
        _, err = self.proc.communicate(timeout=30)
        assert self.proc.returncode == 0, err
        return err


@contextmanager
def serving(tenant_file: Path, *options: str) -> Iterator[Served]:
    command = [sys.executable, "-m", "idsync", "emulator", "graph", "--port", "0", "--tenant-file", str(tenant_file)]
    proc = subprocess.Popen([*command, *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while not any("client secret" in line for line in lines) and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            lines.append(line)
        output = "".join(lines)
        base = re.search(r"graph endpoint:\s+(http://127\.0\.0\.1:\d+)/v1\.0", output)
        token_url = re.search(r"token endpoint:\s+(\S+)", output)
        client_id = re.search(r"client id:\s+(\S+)", output)
        secret = re.search(r"client secret:\s+(\S+)", output)
        assert base and token_url and client_id and secret, (output, proc.stderr and proc.stderr.read())
        served = Served(proc, base.group(1), token_url.group(1), client_id.group(1), secret.group(1))
        for _ in range(100):  # the port is bound before uvicorn accepts
            try:
                httpx.get(f"{served.base}/v1.0/organization")
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield served
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


def _list_users(served: Served, token: str) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = []
    url: str | None = f"{served.base}/v1.0/users?$select=id,userPrincipalName,employeeId&$top=7"
    while url:
        page = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
        assert page.status_code == 200, page.text
        users += page.json()["value"]
        url = page.json().get("@odata.nextLink")
    return users


def _new_user(alias: str) -> dict[str, Any]:
    return {
        "accountEnabled": True,
        "displayName": alias.title(),
        "mailNickname": alias,
        "userPrincipalName": f"{alias}@contoso.example",
        "passwordProfile": {"password": "Str0ng-Passw0rd!x", "forceChangePasswordNextSignIn": True},
    }


def _connector(name: str, workspace: Path) -> GraphConnector:
    block = {"type": "graph", "tenant": "contoso.example", "client_id": QUICKSTART_CLIENT_ID}
    config = GraphConfig.model_validate({**block, "emulator": "data/tenant.json"})
    return GraphConnector(name, config, ConnectorContext(str(workspace)))


def _upns(tenant_file: Path) -> set[str]:
    return {u["userPrincipalName"] for u in GraphTenant.load(tenant_file).users()}


def test_a_quickstart_tenant_is_browsed_changed_and_saved_back(demo: Path) -> None:
    tenant_file = demo / "data" / "tenant.json"
    with (demo / "data" / "hr.csv").open(encoding="utf-8") as handle:
        people = {row["employeeId"] for row in csv.DictReader(handle)}
    with serving(tenant_file) as served:
        assert served.client_id == QUICKSTART_CLIENT_ID  # the workspace's app, with a secret made at load
        assert served.secret not in tenant_file.read_text(encoding="utf-8")
        users = _list_users(served, served.token())
        assert {u["employeeId"] for u in users} == people and len(users) == len(people)

        credential = EmulatorCredential(served.token_url, served.client_id, served.secret)
        adapter = GraphRequestAdapter(
            AzureIdentityAuthenticationProvider(credential, scopes=[SCOPE], allowed_hosts=["127.0.0.1"])
        )
        adapter.base_url = f"{served.base}/v1.0"
        client = GraphServiceClient(request_adapter=adapter)
        profile = PasswordProfile(force_change_password_next_sign_in=True, password="Str0ng-Passw0rd!y")
        body = User(
            account_enabled=True,
            display_name="Sdk Person",
            mail_nickname="sdk.person",
            user_principal_name="sdk.person@contoso.example",
            password_profile=profile,
        )

        async def through_the_sdk() -> tuple[int, str | None]:
            first = await client.users.get()
            created = await client.users.post(body)
            return len(first.value), created.id

        listed, sdk_id = asyncio.run(through_the_sdk())
        assert listed == min(100, len(people)) and sdk_id

        created = httpx.post(
            f"{served.base}/v1.0/users",
            json=_new_user("curl.person"),
            headers={"Authorization": f"Bearer {served.token()}"},
        )
        assert created.status_code == 201, created.text

        # an idsync run on the same file is refused while it is served, and says by whom
        refused = idsync("-C", str(demo), "cycle", "--json")
        assert refused.returncode == 2, refused.stderr
        (entra,) = [s for s in json.loads(refused.stdout)["steps"] if s["connector"] == "entra"]
        assert entra["status"] == "stopped-connectivity"
        assert "idsync emulator graph at http://127.0.0.1" in entra["message"]
        assert f"process {served.proc.pid} " in entra["message"]

        err = served.stop(signal.SIGTERM)
    assert "saved" in err
    upns = _upns(tenant_file)
    assert {"sdk.person@contoso.example", "curl.person@contoso.example"} <= upns and len(upns) == len(people) + 2
    assert not lock_path(tenant_file).exists()
    again = idsync("-C", str(demo), "cycle", "--json")  # the file is free again
    assert again.returncode == 0, again.stderr


def test_writes_are_saved_while_serving_or_only_when_stopped(demo: Path) -> None:
    tenant_file = demo / "data" / "tenant.json"
    with serving(tenant_file, "--save-interval", "0.2") as served:
        token = served.token()
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.post(f"{served.base}/v1.0/users", json=_new_user("early"), headers=headers).status_code == 201
        deadline = time.monotonic() + 10
        while "early@contoso.example" not in _upns(tenant_file) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "early@contoso.example" in _upns(tenant_file)  # written while still serving
        served.stop(signal.SIGINT)
    with serving(tenant_file, "--save-interval", "0") as served:
        headers = {"Authorization": f"Bearer {served.token()}"}
        assert httpx.post(f"{served.base}/v1.0/users", json=_new_user("late"), headers=headers).status_code == 201
        time.sleep(0.5)
        assert "late@contoso.example" not in _upns(tenant_file)
        served.stop(signal.SIGINT)
    assert {"early@contoso.example", "late@contoso.example"} <= _upns(tenant_file)


def test_a_file_a_run_holds_is_refused_naming_the_run(demo: Path) -> None:
    connector = _connector("entra", demo)
    connector.test_connection()
    try:
        done = idsync("emulator", "graph", "--port", "0", "--tenant-file", str(demo / "data" / "tenant.json"))
        assert done.returncode == 1
        assert "the Graph connector 'entra'" in done.stderr and f"process {os.getpid()} " in done.stderr
        assert "tenant.json" in done.stderr
    finally:
        connector.close()
    assert not lock_path(demo / "data" / "tenant.json").exists()


def test_a_missing_or_corrupt_file_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    done = idsync("emulator", "graph", "--port", "0", "--tenant-file", str(missing))
    assert done.returncode == 4 and "nowhere.json" in done.stderr and "does not exist" in done.stderr
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text('{"format": "idsync-graph-emulator-tenant", "version": 1, "name": ', encoding="utf-8")
    done = idsync("emulator", "graph", "--port", "0", "--tenant-file", str(corrupt))
    assert done.returncode == 4 and "corrupt.json: cannot load the emulated tenant" in done.stderr
    assert not lock_path(corrupt).exists()
    done = idsync("emulator", "graph", "--port", "0", "--tenant-file", str(corrupt), "--seed-users", "3")
    assert done.returncode == 4 and "drop --seed-users" in done.stderr
    done = idsync("emulator", "graph", "--port", "0", "--save-interval", "5")
    assert done.returncode == 4 and "add --tenant-file" in done.stderr


def test_the_lock_is_exclusive_names_its_holder_and_outlives_no_process(tmp_path: Path) -> None:
    tenant_file = tmp_path / "tenant.json"
    with TenantFileLock(tenant_file, "the first holder") as first:
        assert first.held and lock_path(tenant_file).exists()
        with pytest.raises(TenantFileBusy, match=rf"the first holder \(process {os.getpid()} on "):
            TenantFileLock(tenant_file, "a second one").acquire()
    assert not lock_path(tenant_file).exists()
    # a holder killed outright leaves its lock file behind, but not its lock
    code = (
        "import sys, time; from pathlib import Path; "
        "from idsync.testing.graph_emulator.tenant_file import TenantFileLock; "
        f"lock = TenantFileLock(Path({str(tenant_file)!r}), 'doomed'); lock.acquire(); "
        "print('held', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    with pytest.raises(TenantFileBusy, match="doomed"):
        TenantFileLock(tenant_file, "too early").acquire()
    proc.kill()
    proc.wait(10)
    assert lock_path(tenant_file).exists()
    with TenantFileLock(tenant_file, "after the kill"):
        assert "after the kill" in lock_path(tenant_file).read_text(encoding="utf-8")


def test_a_second_connector_session_on_the_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    tenant_file = tmp_path / "data" / "tenant.json"
    first = _connector("entra", tmp_path)
    first.test_connection()
    second = _connector("other", tmp_path)
    with pytest.raises(
        ConnectivityError, match=r"tenant\.json: the emulated tenant is in use by the Graph connector 'entra'"
    ):
        second.test_connection()
    first.close()
    second.test_connection()  # free again
    second.close()
    assert not lock_path(tenant_file).exists()
