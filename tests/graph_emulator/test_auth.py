from __future__ import annotations

import base64
import json
import time

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from idsync.testing.graph_emulator import AppRegistration, GraphTenant
from idsync.testing.graph_emulator.assertions import load_certificate, self_signed_certificate

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


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _assertion(key_pem: str, header: dict[str, object], claims: dict[str, object]) -> str:
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if header["alg"] == "PS256":
        scheme: padding.AsymmetricPadding = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    else:
        scheme = padding.PKCS1v15()
    return f"{signing_input}.{_b64(key.sign(signing_input.encode(), scheme, hashes.SHA256()))}"


def test_certificate_credentials_with_a_signed_client_assertion(tenant: GraphTenant, app: AppRegistration) -> None:
    pem, key_pem = self_signed_certificate()
    other_pem, other_key = self_signed_certificate("someone-else")
    tenant.add_certificate(app, pem)
    cert = load_certificate(pem)
    endpoint = f"https://login.local/{tenant.domains[0]}/oauth2/v2.0/token"
    now = int(time.time())
    claims = {"aud": endpoint, "iss": app.client_id, "sub": app.client_id, "exp": now + 600, "nbf": now - 5}
    sha256 = {"alg": "PS256", "typ": "JWT", "x5t#S256": _b64(bytes.fromhex(cert.sha256))}
    sha1 = {"alg": "RS256", "typ": "JWT", "x5t": _b64(bytes.fromhex(cert.sha1))}

    def token(assertion: str) -> httpx.Response:
        form = {
            "client_id": app.client_id,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        }
        with httpx.Client(transport=tenant.transport(), base_url="https://login.local") as raw:
            return _token(raw, tenant.domains[0], **form)

    for header in (sha256, sha1):
        answer = token(_assertion(key_pem, header, claims))
        assert answer.status_code == 200 and answer.json()["token_type"] == "Bearer"

    def refusal(assertion: str) -> str:
        answer = token(assertion)
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
        return str(answer.json()["error_description"])

    assert "AADSTS700027" in refusal(_assertion(other_key, sha256, claims))  # signed by another key
    unknown = {"alg": "PS256", "x5t#S256": _b64(bytes.fromhex(load_certificate(other_pem).sha256))}
    assert "not registered on application" in refusal(_assertion(other_key, unknown, claims))
    assert "AADSTS700021" in refusal(_assertion(key_pem, sha256, {**claims, "aud": "https://elsewhere/token"}))
    assert "AADSTS700024" in refusal(_assertion(key_pem, sha256, {**claims, "exp": now - 3600}))
    assert "AADSTS50027" in refusal("not.a-jwt")
