"""The Active Directory connector passes the connector contract against the session's Samba DC. The harness
writes to the directory with ldap-utils, behind the connector's back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from idsync.connectors.base import Connector
from idsync.connectors.ldap.escaping import escape_dn_value
from idsync.model import Attributes
from idsync.testing.contract import ConnectorContract, ContractHarness
from idsync.testing.directories import SambaDC

from .adlab import make_connector, user_ldif

pytestmark = pytest.mark.samba


class AdHarness(ContractHarness):
    object_type = "user"
    single = "displayName"
    multi = "otherMailbox"
    lookup_by_single = False  # AD does not keep displayName unique; lookup uses sAMAccountName, UPN, GUIDs
    delta = "changes"

    def __init__(self, dc: SambaDC, ou: str, backend: str) -> None:
        self.dc = dc
        self.ou = ou
        self.backend = backend

    def connect(self) -> Connector:
        return make_connector(self.dc, [self.ou], backend=self.backend)

    def connect_unreachable(self) -> Connector:
        return make_connector(self.dc, [self.ou], url="ldaps://127.0.0.1:1", reconnect_seconds=0)

    def identifier(self, key: str) -> str:
        return f"CN={escape_dn_value(key)},{self.ou}"

    def seed(self, key: str, attributes: Attributes) -> None:
        self.dc.tools.add(user_ldif(self.ou, key, sAMAccountName=key[:20], **attributes))

    def seed_update(self, key: str, attributes: Attributes) -> None:
        parts = []
        for name, value in attributes.items():
            if value is None:
                parts.append(f"delete: {name}\n")
            else:
                values: list[Any] = value if isinstance(value, list) else [value]
                parts.append(f"replace: {name}\n" + "".join(f"{name}: {v}\n" for v in values))
        self.dc.tools.modify(f"dn: {self.identifier(key)}\nchangetype: modify\n" + "-\n".join(parts))

    def seed_delete(self, key: str) -> None:
        self.dc.tools.modify(f"dn: {self.identifier(key)}\nchangetype: delete\n")


@pytest.fixture(scope="module", params=["python-ldap", "ldap3"])
def contract_ou(request: pytest.FixtureRequest, samba_dc: SambaDC) -> Iterator[tuple[str, str]]:
    ou = samba_dc.tools.reset_ou(f"OU=contract-{request.param},{samba_dc.base_dn}")
    yield ou, str(request.param)
    samba_dc.tools.delete_subtree(ou)


class TestAdContract(ConnectorContract):
    @pytest.fixture
    def harness(self, samba_dc: SambaDC, contract_ou: tuple[str, str]) -> ContractHarness:
        ou, backend = contract_ou
        return AdHarness(samba_dc, ou, backend)
