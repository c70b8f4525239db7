from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from idsync.cli.emulator import emulator
from idsync.connectors.graph import schema_tables
from idsync.testing.fixtures import fixture_path, missing_reason
from idsync.testing.graph_emulator import schema

REPO = Path(__file__).resolve().parents[2]
CSDL = fixture_path("graph", "v1.0-Prod.csdl")


@pytest.mark.skipif(not CSDL.exists(), reason=missing_reason(CSDL))
def test_committed_schema_table_matches_the_generator(tmp_path: Path) -> None:
    out = tmp_path / "tables.py"
    subprocess.run([sys.executable, str(REPO / "scripts" / "gen_graph_schema.py"), str(CSDL), str(out)], check=True)
    committed = Path(schema_tables.__file__).read_text(encoding="utf-8")
    assert out.read_text(encoding="utf-8") == committed


def test_schema_tables_carry_types_collections_and_lengths() -> None:
    assert schema.USER["userPrincipalName"].edm_type == "Edm.String"
    assert schema.USER["businessPhones"].collection and not schema.USER["businessPhones"].nullable
    assert schema.USER["accountEnabled"].edm_type == "Edm.Boolean"
    assert schema.USER["displayName"].max_length == 256
    assert schema.USER["id"].nullable is False  # inherited from entity
    assert schema.GROUP["groupTypes"].collection
    assert schema.complex_properties("microsoft.graph.passwordProfile")["forceChangePasswordNextSignIn"].edm_type == (
        "Edm.Boolean"
    )
    assert set(schema.USER_DEFAULT_SELECT) <= set(schema.USER)


def test_cli_help_lists_the_graph_command() -> None:
    result = CliRunner().invoke(emulator, ["graph", "--help"])
    assert result.exit_code == 0
    for option in ("--port", "--host", "--tenant", "--domain", "--seed-users", "--tenant-file", "--save-interval"):
        assert option in result.output
    # how to get a token, without a real secret
    assert "grant_type=client_credentials" in result.output and "/.default" in result.output


def test_cli_serves_and_prints_generated_credentials(tmp_path: Path) -> None:
    code = (
        "from idsync.cli.emulator import emulator; emulator(['graph', '--port', '0', '--seed-users', '3', "
        "'--domain', 'contoso.com', '--tenant', 'contoso'])"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 20
        assert proc.stdout is not None
        while not any("client secret" in line for line in lines) and time.monotonic() < deadline:
            lines.append(proc.stdout.readline())
        output = "".join(lines)
        base = re.search(r"graph endpoint:\s+(http://127\.0\.0\.1:\d+)/v1\.0", output)
        client_id = re.search(r"client id:\s+(\S+)", output)
        secret = re.search(r"client secret:\s+(\S+)", output)
        assert base and client_id and secret, output
        grant = {
            "grant_type": "client_credentials",
            "client_id": client_id.group(1),
            "client_secret": secret.group(1),
            "scope": "https://graph.microsoft.com/.default",
        }
        token = None
        for _ in range(100):
            try:
                token = httpx.post(f"{base.group(1)}/contoso.com/oauth2/v2.0/token", data=grant).json()["access_token"]
                break
            except httpx.TransportError:
                time.sleep(0.1)
        users = httpx.get(f"{base.group(1)}/v1.0/users", headers={"Authorization": f"Bearer {token}"}).json()
        assert len(users["value"]) == 3
        assert all(u["userPrincipalName"].endswith("@contoso.com") for u in users["value"])
        # a custom domain is verified beside the tenant's initial one, as in Entra: the token endpoint at
        # TENANT.onmicrosoft.com (docs/graph-emulator.md's curl) answers too
        assert "verified domains: contoso.com, contoso.onmicrosoft.com" in output
        initial = httpx.post(f"{base.group(1)}/contoso.onmicrosoft.com/oauth2/v2.0/token", data=grant)
        assert initial.status_code == 200 and initial.json()["access_token"], initial.text
    finally:
        proc.terminate()
        proc.wait(10)


def test_seed_makes_ids_reproducible() -> None:
    from idsync.testing.graph_emulator import GraphTenant

    first, second, other = GraphTenant("x", seed=5), GraphTenant("x", seed=5), GraphTenant("x", seed=6)
    assert first.tenant_id == second.tenant_id != other.tenant_id
    assert first.seed_users(3) == second.seed_users(3) != other.seed_users(3)
