"""The LDAP connector passes the connector contract against the real slapd, with both backends. The harness
writes the directory with the real ldap-utils tools."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ldapkit import TYPES

from idsync.config import SecretResolver
from idsync.connectors.base import Connector, ConnectorContext
from idsync.connectors.ldap import connector_type
from idsync.model import Attributes
from idsync.testing.contract import ConnectorContract, ContractHarness
from idsync.testing.directories import SlapdServer
from idsync.testing.directories.process import free_port

pytestmark = pytest.mark.ldap


class LdapHarness(ContractHarness):
    delta = "changes"

    def __init__(self, server: SlapdServer, subtree: str, backend: str, folder: Path) -> None:
        self.server = server
        self.subtree = subtree
        self.backend = backend
        self.secrets = SecretResolver(folder, environ={"LDAP_PW": server.admin_password})

    def _connector(self, url: str) -> Connector:
        config: dict[str, Any] = {
            "type": "ldap",
            "url": url,
            "ca_file": str(self.server.ca_file),
            "bind_dn": self.server.admin_dn,
            "password": "${env:LDAP_PW}",
            "base_dn": self.server.base_dn,
            "containers": [self.subtree],
            "object_types": TYPES,
            "backend": self.backend,
            "delta": "accesslog",
            "reconnect_seconds": 1,
            "unique_attributes": ["displayName"],  # unique in the test data, so lookup may use it
        }
        validated = connector_type.config_model.model_validate(config)
        return connector_type.create("dir", validated, ConnectorContext(".", self.secrets))

    def connect(self) -> Connector:
        assert self.server.ldaps_url is not None
        return self._connector(self.server.ldaps_url)

    def connect_unreachable(self) -> Connector:
        return self._connector(f"ldaps://127.0.0.1:{free_port()}")

    def identifier(self, key: str) -> str:
        return f"uid={key},{self.subtree}"

    def attributes(self, key: str) -> Attributes:
        return {**super().attributes(key), "sn": "Contract", "cn": [key]}

    def _values(self, attributes: Attributes) -> list[tuple[str, str]]:
        pairs = []
        for name, value in attributes.items():
            pairs += [(name, v) for v in (value if isinstance(value, list) else [value])]
        return pairs

    def seed(self, key: str, attributes: Attributes) -> None:
        lines = [f"dn: {self.identifier(key)}", "objectClass: inetOrgPerson", f"uid: {key}"]
        lines += [f"{name}: {value}" for name, value in self._values(attributes)]
        self.server.tools.add("\n".join(lines) + "\n")

    def seed_update(self, key: str, attributes: Attributes) -> None:
        lines = [f"dn: {self.identifier(key)}", "changetype: modify"]
        for name, value in attributes.items():
            if value is None:
                lines += [f"delete: {name}", "-"]
            else:
                lines += [f"replace: {name}", *(f"{n}: {v}" for n, v in self._values({name: value})), "-"]
        self.server.tools.modify("\n".join(lines) + "\n")

    def seed_delete(self, key: str) -> None:
        self.server.tools.modify(f"dn: {self.identifier(key)}\nchangetype: delete\n")


class TestLdapContract(ConnectorContract):
    @pytest.fixture(params=["python-ldap", "ldap3"])
    def harness(
        self, request: pytest.FixtureRequest, slapd_server: SlapdServer, slapd_subtree: str, tmp_path: Path
    ) -> ContractHarness:
        return LdapHarness(slapd_server, slapd_subtree, str(request.param), tmp_path)
