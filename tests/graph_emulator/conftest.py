from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from idsync.testing.graph_emulator import AppRegistration, GraphTenant

SCOPE = "https://graph.microsoft.com/.default"


def token_form(app: AppRegistration) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "scope": SCOPE,
    }


def get_token(client: httpx.Client, tenant: GraphTenant, app: AppRegistration) -> str:
    response = client.post(f"/{tenant.domains[0]}/oauth2/v2.0/token", data=token_form(app))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bind(object_id: str) -> str:
    return f"https://graph.microsoft.com/v1.0/directoryObjects/{object_id}"


def new_user(alias: str, domain: str = "contoso.com", **extra: object) -> dict[str, object]:
    return {
        "accountEnabled": True,
        "displayName": alias.title(),
        "mailNickname": alias,
        "userPrincipalName": f"{alias}@{domain}",
        "passwordProfile": {"forceChangePasswordNextSignIn": True, "password": "Str0ng-Passw0rd!"},
        **extra,
    }


@pytest.fixture
def tenant() -> GraphTenant:
    return GraphTenant("contoso", domains=("contoso.onmicrosoft.com", "contoso.com"), seed=7)


@pytest.fixture
def app(tenant: GraphTenant) -> AppRegistration:
    return tenant.add_app("idsync-tests")


@pytest.fixture
def client(tenant: GraphTenant, app: AppRegistration) -> Iterator[httpx.Client]:
    """An in-process client, already holding a bearer token."""
    with httpx.Client(transport=tenant.transport(), base_url="https://graph.local") as raw:
        raw.headers["Authorization"] = f"Bearer {get_token(raw, tenant, app)}"
        yield raw


def error_of(response: httpx.Response) -> dict[str, object]:
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "message", "innerError"} <= set(error)
    assert {"date", "request-id", "client-request-id"} <= set(error["innerError"])
    return dict(error)
