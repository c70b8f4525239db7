"""The emulator under uvicorn on a real loopback socket."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from idsync.testing.graph_emulator import GraphTenant

from .conftest import new_user, token_form


def test_serves_over_http_on_a_free_loopback_port() -> None:
    tenant = GraphTenant("contoso", domains=("contoso.com",))
    app = tenant.add_app()
    with tenant.serve() as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=base_url, timeout=10) as client:
            token = client.post(
                "/contoso.com/oauth2/v2.0/token",
                data=token_form(app),
            ).json()["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
            created = client.post("/v1.0/users", json=new_user("http"))
            assert created.status_code == 201
            page = client.get("/v1.0/users").json()
            assert page["@odata.context"] == f"{base_url}/v1.0/$metadata#users"
            assert [u["id"] for u in page["value"]] == [created.json()["id"]]
            tenant.configure_faults(drop_rate=1.0, drop_phase="after")
            with pytest.raises(httpx.TransportError):
                client.post("/v1.0/users", json=new_user("dropped"))
            tenant.configure_faults(drop_rate=0.0)
            assert client.get("/v1.0/users/dropped@contoso.com").status_code == 200
    with pytest.raises(httpx.TransportError), httpx.Client(base_url=base_url, timeout=2) as client:
        client.get("/v1.0/users")


def test_async_transport_runs_the_asgi_app() -> None:
    asyncio.run(_async_round_trip())


async def _async_round_trip() -> None:
    tenant = GraphTenant("contoso")
    app = tenant.add_app()
    async with httpx.AsyncClient(transport=tenant.async_transport(), base_url="https://graph.local") as client:
        token = (
            await client.post(
                "/contoso.onmicrosoft.com/oauth2/v2.0/token",
                data=token_form(app),
            )
        ).json()["access_token"]
        response = await client.get("/v1.0/users", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200 and response.json()["value"] == []
        tenant.configure_faults(drop_rate=1.0, drop_phase="before")
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/v1.0/users", headers={"Authorization": f"Bearer {token}"})
