from __future__ import annotations

import httpx

from idsync.testing.graph_emulator import AppRegistration, GraphTenant

from .conftest import SCOPE, error_of, get_token


def _token(raw: httpx.Client, tenant_key: str, **form: str) -> httpx.Response:
    return raw.post(
        f"/{tenant_key}/oauth2/v2.0/token", data={"grant_type": "client_credentials", "scope": SCOPE, **form}
    )


def test_client_credentials_issue_an_expiring_bearer(tenant: GraphTenant, app: AppRegistration) -> None:
    with httpx.Client(transport=tenant.transport(), base_url="https://graph.local") as raw:
        body = _token(raw, tenant.tenant_id, client_id=app.client_id, client_secret=app.client_secret).json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] > 3000
        ok = raw.get("/v1.0/users", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert ok.status_code == 200
        tenant.clock.advance(body["expires_in"] + 1)
        expired = raw.get("/v1.0/users", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert expired.status_code == 401
        assert error_of(expired)["code"] == "InvalidAuthenticationToken"
        assert "expired" in str(error_of(expired)["message"])


def test_requests_without_a_valid_token_get_401(tenant: GraphTenant) -> None:
    with httpx.Client(transport=tenant.transport(), base_url="https://graph.local") as raw:
        missing = raw.get("/v1.0/users")
        assert missing.status_code == 401
        assert error_of(missing) | {"innerError": None} == {
            "code": "InvalidAuthenticationToken",
            "message": "Access token is empty.",
            "innerError": None,
        }
        forged = raw.get("/v1.0/users", headers={"Authorization": "Bearer not-a-token"})
        assert forged.status_code == 401
        assert error_of(forged)["code"] == "InvalidAuthenticationToken"


def test_token_endpoint_refusals(tenant: GraphTenant, app: AppRegistration) -> None:
    with httpx.Client(transport=tenant.transport(), base_url="https://graph.local") as raw:
        bad_secret = _token(raw, tenant.domains[0], client_id=app.client_id, client_secret="wrong")
        assert bad_secret.status_code == 401
        assert bad_secret.json()["error"] == "invalid_client"
        assert bad_secret.json()["error_codes"] == [7000215]
        assert app.client_secret not in bad_secret.text
        unknown = _token(raw, tenant.domains[0], client_id="00000000-0000-0000-0000-000000000001", client_secret="x")
        assert unknown.status_code == 400
        assert unknown.json()["error"] == "unauthorized_client"
        wrong_tenant = _token(raw, "fabrikam.onmicrosoft.com", client_id=app.client_id, client_secret=app.client_secret)
        assert wrong_tenant.status_code == 400
        assert "AADSTS90002" in wrong_tenant.json()["error_description"]
        bad_scope = raw.post(
            f"/{tenant.domains[0]}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "scope": "User.Read",
                "client_id": app.client_id,
                "client_secret": app.client_secret,
            },
        )
        assert bad_scope.json()["error"] == "invalid_scope"


def test_each_app_has_its_own_generated_secret(tenant: GraphTenant) -> None:
    first, second = tenant.add_app("a"), tenant.add_app("b")
    assert first.client_id != second.client_id
    assert first.client_secret != second.client_secret
    assert len(first.client_secret) >= 30
    assert first.client_secret not in repr(first)
    with httpx.Client(transport=tenant.transport(), base_url="https://graph.local") as raw:
        assert get_token(raw, tenant, second)


def test_openid_discovery_is_served_in_process_and_over_http(tenant: GraphTenant) -> None:
    # MSAL reads this document before its first token request; both ways of reaching the emulator serve it.
    path = f"/{tenant.domains[0]}/v2.0/.well-known/openid-configuration"
    with httpx.Client(transport=tenant.transport(), base_url="https://login.local") as raw:
        in_process = raw.get(path)
    assert in_process.status_code == 200
    assert in_process.json()["token_endpoint"] == f"https://login.local/{tenant.domains[0]}/oauth2/v2.0/token"
    with tenant.serve() as base_url, httpx.Client(base_url=base_url) as raw:
        over_http = raw.get(path).json()
    assert over_http["token_endpoint"] == f"{base_url}/{tenant.domains[0]}/oauth2/v2.0/token"
    assert set(over_http) == set(in_process.json())
