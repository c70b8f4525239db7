"""The ``type: graph`` block: what it accepts, what it refuses (naming the setting), and what it derives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from idsync.config import ConfigError, SecretResolver, load_config_text
from idsync.connectors.base import ConnectivityError, ConnectorContext
from idsync.connectors.graph.auth import certificate_thumbprint
from idsync.connectors.graph.config import DEFAULT_USER_ATTRIBUTES, GraphConfig
from idsync.connectors.graph.connector import GraphConnector
from idsync.connectors.registry import ConnectorRegistry
from idsync.engine.workspace import connector_model_lookup
from idsync.testing.graph_emulator.assertions import load_certificate, self_signed_certificate

BASE: dict[str, Any] = {
    "type": "graph",
    "tenant": "contoso.onmicrosoft.com",
    "client_id": "11111111-2222-3333-4444-555555555555",
    "client_secret": "${env:GRAPH_SECRET}",
}


def _config(**changes: Any) -> GraphConfig:
    block = {**BASE, **changes}
    return GraphConfig.model_validate({k: v for k, v in block.items() if v is not None})


def _refused(fragment: str, **changes: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        _config(**changes)
    assert fragment in str(caught.value), str(caught.value)


def test_defaults_are_the_global_cloud_v1_and_both_object_types() -> None:
    config = _config()
    assert config.login == "https://login.microsoftonline.com"
    assert config.graph == "https://graph.microsoft.com"
    assert config.token_scope == "https://graph.microsoft.com/.default"
    assert config.api_version == "v1.0" and config.kinds == ["user", "group"]
    assert config.attributes("user") == list(DEFAULT_USER_ATTRIBUTES)
    assert "members" in config.attributes("group")
    assert config.known_cloud


def test_national_clouds_and_overrides() -> None:
    usgov = _config(cloud="usgov")
    assert (usgov.login, usgov.graph) == ("https://login.microsoftonline.us", "https://graph.microsoft.us")
    china = _config(cloud="china", api_version="beta")
    assert china.graph == "https://microsoftgraph.chinacloudapi.cn" and china.api_version == "beta"
    custom = _config(login_endpoint="https://login.example.net/", graph_endpoint="https://graph.example.net")
    assert custom.login == "https://login.example.net" and not custom.known_cloud
    assert custom.token_scope == "https://graph.example.net/.default"


def test_secrets_must_be_references() -> None:
    _refused("secrets must be references", client_secret="s3cr3t-value")
    _refused("exactly one credential", client_secret=None)
    _refused(
        "exactly one credential",
        certificate={"private_key": "${file:key.pem}", "thumbprint": "AB" * 20},
    )
    _refused("secrets must be references", client_secret=None, certificate={"private_key": "-----BEGIN", "path": "c"})


def test_cleartext_endpoints_need_an_explicit_opt_in() -> None:
    _refused("insecure_http", login_endpoint="http://127.0.0.1:8765")
    allowed = _config(
        login_endpoint="http://127.0.0.1:8765", graph_endpoint="http://127.0.0.1:8765", insecure_http=True
    )
    assert allowed.graph == "http://127.0.0.1:8765"
    _refused(
        "certificate credentials need an https",
        client_secret=None,
        certificate={"private_key": "${file:k}", "thumbprint": "AB" * 20},
        login_endpoint="http://127.0.0.1:1",
        insecure_http=True,
    )


def test_limits_and_attribute_names_are_checked() -> None:
    _refused("less than or equal to 20", batch_size=21)
    _refused("less than or equal to 999", page_size=1000)
    _refused("a multiple of 20", export_batch_size=30)
    assert _config(export_batch_size=200).export_batch_size == 200
    _refused("'jobtitle' is not an attribute of a Graph user", object_types={"user": {"attributes": ["jobtitle"]}})
    _refused("'members' is not an attribute of a Graph user", object_types={"user": {"attributes": ["members"]}})
    _refused("not a property of a Graph user", restore_match=["employeeNumber"])
    _refused("the short name", extension_attributes={"extension_abc_costCenter": {}})
    only_users = _config(object_types={"user": {"attributes": ["displayName", "manager", "extensionAttribute4"]}})
    assert only_users.kinds == ["user"] and only_users.attributes("group") == []


def test_extension_attributes_get_graphs_full_names() -> None:
    config = _config(extension_attributes={"costCenter": {"type": "string", "targets": ["user", "group"]}})
    name = "extension_11111111222233334444555555555555_costCenter"
    assert config.extension_name("costCenter") == name
    assert name in config.attributes("user") and name in config.attributes("group")
    other = _config(extension_attributes={"badge": {}}, extension_app_id="aaaaaaaa-0000-0000-0000-000000000000")
    assert other.extensions_for("user") and other.extension_name("badge").startswith("extension_aaaaaaaa0000")


def test_certificate_credentials_resolve_the_key_and_check_the_thumbprint(tmp_path: Path) -> None:
    pem, key_pem = self_signed_certificate()
    thumbprint = load_certificate(pem).sha1
    assert certificate_thumbprint(pem) == thumbprint
    (tmp_path / "idsync.crt").write_text(pem)
    (tmp_path / "idsync.key").write_text(key_pem)
    context = ConnectorContext(str(tmp_path), SecretResolver(tmp_path))
    by_file = _config(client_secret=None, certificate={"path": "idsync.crt", "private_key": "${file:idsync.key}"})
    credential = GraphConnector("entra", by_file, context)._credential()
    assert credential == {"private_key": key_pem.rstrip("\n"), "public_certificate": pem}
    assert key_pem not in repr(by_file) and "idsync.key" in repr(by_file)
    legacy = _config(client_secret=None, certificate={"private_key": "${file:idsync.key}", "thumbprint": thumbprint})
    assert GraphConnector("entra", legacy, context)._credential()["thumbprint"] == thumbprint
    wrong = _config(
        client_secret=None,
        certificate={"path": "idsync.crt", "private_key": "${file:idsync.key}", "thumbprint": "AB" * 20},
    )
    with pytest.raises(ConnectivityError, match="not the configured"):
        GraphConnector("entra", wrong, context)._credential()
    spaced = _config(client_secret=None, certificate={"private_key": "${env:K}", "thumbprint": "ab:" * 19 + "ab"})
    assert spaced.certificate is not None and spaced.certificate.thumbprint == "AB" * 20
    _refused("40 hexadecimal digits", client_secret=None, certificate={"private_key": "${env:K}", "thumbprint": "x"})
    _refused("give 'path'", client_secret=None, certificate={"private_key": "${env:K}"})


def test_a_workspace_file_reports_graph_mistakes_with_their_line() -> None:
    text = """
connectors:
  entra:
    type: graph
    tenant: contoso.onmicrosoft.com
    client_id: 11111111-2222-3333-4444-555555555555
    client_secret: plain-text-secret
    batch_size: 50
"""
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, "idsync.yaml", Path("."), connector_model_lookup(ConnectorRegistry()))
    message = str(caught.value)
    assert "secrets must be references" in message and "batch_size" in message
    assert "plain-text-secret" not in message
    assert "idsync.yaml:7" in message or "line 7" in message
