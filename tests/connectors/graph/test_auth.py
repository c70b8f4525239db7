"""Tokens: MSAL against the emulated identity platform (in-process), renewal before expiry and after a 401, the
plain client-credentials grant over real HTTP, and secrets kept out of messages and logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from idsync.connectors.base import ConnectivityError
from idsync.testing.graph_emulator import AppRegistration, GraphTenant
from idsync.testing.graph_emulator.assertions import load_certificate, self_signed_certificate

from .conftest import connect


def test_msal_gets_one_token_for_many_requests(
    tenant: GraphTenant, app: AppRegistration, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tenant.seed_users(5)
    connector = connect(tenant, app, tmp_path)
    connector.test_connection()
    list(connector.full_import())
    assert connector.stats["tokens_acquired"] == 1
    assert connector.stats["http_requests"] >= 4
    connector.close()
    assert "oauth2/v2.0/token" in caplog.text  # MSAL's own request went through the connector's client
    assert app.client_secret not in caplog.text


def test_a_wrong_secret_is_a_connectivity_error_without_the_secret(
    tenant: GraphTenant, app: AppRegistration, tmp_path: Path
) -> None:
    impostor = AppRegistration("x", app.client_id, "not-the-secret-" + "x" * 20, app.object_id)
    connector = connect(tenant, impostor, tmp_path)
    with pytest.raises(ConnectivityError) as caught:
        connector.test_connection()
    message = str(caught.value)
    assert "AADSTS7000215" in message and "client secret" in message
    assert impostor.client_secret not in message and app.client_secret not in message
    connector.close()


def test_a_token_that_expires_mid_import_is_renewed_after_the_401(
    tenant: GraphTenant, app: AppRegistration, tmp_path: Path
) -> None:
    tenant.seed_users(2500)
    connector = connect(tenant, app, tmp_path, object_types={"user": {"attributes": ["displayName"]}})
    pages = connector.full_import()
    first = next(pages)
    tenant.clock.advance(3600)  # the emulator's clock moves; the connector's does not: Graph says 401
    rest = list(pages)
    assert len(first.records) + sum(len(p.records) for p in rest) == 2500
    assert connector.stats["tokens_renewed_after_401"] == 1
    assert connector.stats["tokens_acquired"] == 2
    connector.close()


def test_tokens_are_renewed_before_they_expire(tenant: GraphTenant, app: AppRegistration, tmp_path: Path) -> None:
    tenant.seed_users(3)
    connector = connect(tenant, app, tmp_path, options={"graph_token_clock": tenant.clock.monotonic})
    connector.test_connection()
    tenant.clock.advance(3400)  # 199 s left on a 3599 s token: inside the renewal margin
    connector.test_connection()
    assert connector.stats["tokens_renewed_before_expiry"] == 1
    assert connector.stats["tokens_renewed_after_401"] == 0
    tenant.clock.advance(60)
    connector.test_connection()  # the renewed token is good for another hour
    assert connector.stats["tokens_acquired"] == 2
    connector.close()


def test_plain_client_credentials_over_http_when_allowed(
    tenant: GraphTenant, app: AppRegistration, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tenant.seed_users(3)
    caplog.set_level(logging.DEBUG)
    with tenant.serve() as base_url:
        connector = connect(
            tenant,
            app,
            tmp_path,
            in_process=False,
            login_endpoint=base_url,
            graph_endpoint=base_url,
            insecure_http=True,
        )
        records = [r for page in connector.full_import() for r in page.records]
        connector.close()
    assert len([r for r in records if r.object_type == "user"]) == 3
    assert "insecure_http is on" in caplog.text
    assert app.client_secret not in caplog.text


@pytest.mark.parametrize("by", ["certificate-file", "sha1-thumbprint"])
def test_certificate_credentials_through_msal(
    by: str, tenant: GraphTenant, app: AppRegistration, tmp_path: Path
) -> None:
    pem, key_pem = self_signed_certificate()
    tenant.add_certificate(app, pem)
    (tmp_path / "idsync.crt").write_text(pem)
    (tmp_path / "idsync.key").write_text(key_pem)
    certificate: dict[str, str] = {"private_key": "${file:idsync.key}"}
    if by == "certificate-file":
        certificate["path"] = "idsync.crt"
    else:
        certificate["thumbprint"] = load_certificate(pem).sha1
    connector = connect(tenant, app, tmp_path, client_secret=None, certificate=certificate)
    connector.test_connection()
    assert connector.stats["tokens_acquired"] == 1
    connector.close()


def test_an_unregistered_certificate_is_refused(tenant: GraphTenant, app: AppRegistration, tmp_path: Path) -> None:
    pem, key_pem = self_signed_certificate("not-registered")
    (tmp_path / "c.crt").write_text(pem)
    (tmp_path / "c.key").write_text(key_pem)
    certificate = {"path": "c.crt", "private_key": "${file:c.key}"}
    connector = connect(tenant, app, tmp_path, client_secret=None, certificate=certificate)
    with pytest.raises(ConnectivityError, match="AADSTS700027") as caught:
        connector.test_connection()
    assert "PRIVATE KEY" not in str(caught.value)
    connector.close()
