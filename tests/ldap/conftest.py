"""Fixtures of the LDAP connector tests: a connector over the session slapd, once per backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ldapkit import BACKENDS, TYPES, MakeConnector

from idsync.config import SecretResolver
from idsync.connectors.base import ConnectorContext
from idsync.connectors.ldap import LdapConnector, connector_type
from idsync.testing.directories import SlapdServer


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make(slapd_server: SlapdServer, slapd_subtree: str, backend: str, tmp_path: Path) -> Iterator[MakeConnector]:
    """A connector over the session slapd (or ``server``), importing from the test's own subtree."""
    made: list[LdapConnector] = []

    def build(server: SlapdServer | None = None, **overrides: Any) -> LdapConnector:
        srv = server or slapd_server
        config: dict[str, Any] = {
            "type": "ldap",
            "url": srv.ldaps_url,
            "ca_file": str(srv.ca_file),
            "bind_dn": srv.admin_dn,
            "password": "${env:LDAP_PW}",
            "base_dn": srv.base_dn,
            "containers": [slapd_subtree] if server is None else [],
            "object_types": TYPES,
            "backend": backend,
            "page_size": 50,
            "reconnect_seconds": 5,
        }
        config.update(overrides)
        secrets = SecretResolver(tmp_path, environ={"LDAP_PW": srv.admin_password})
        conn = connector_type.create(
            "dir", connector_type.config_model.model_validate(config), ConnectorContext(str(tmp_path), secrets)
        )
        made.append(conn)
        return conn

    yield build
    for conn in made:
        conn.close()
