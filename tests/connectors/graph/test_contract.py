"""The Graph connector passes the connector contract (``idsync.testing.contract``) against the emulated tenant,
for users and for groups; and the promises of the Connector protocol the contract does not state in general."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from idsync.connectors.base import Connector
from idsync.connectors.graph import connector_type
from idsync.connectors.graph.config import DEFAULT_GROUP_ATTRIBUTES, DEFAULT_USER_ATTRIBUTES
from idsync.connectors.graph.connector import GraphConnector
from idsync.model import Attributes, AttributeType, Compare, coerce
from idsync.testing.contract import ConnectorContract, ContractHarness
from idsync.testing.graph_emulator import AppRegistration, GraphTenant

from .conftest import Counting, add, connect, new_group, new_user, put, remove, update

DOMAIN = "contoso.com"


class GraphHarness(ContractHarness):
    """Seeds through the emulator's administrator API, connects in-process through its transport."""

    delta = "changes"
    lookup_by_single = False
    """Graph finds objects by their keys (userPrincipalName, mailNickname, onPremisesImmutableId)."""

    def __init__(self, tenant: GraphTenant, app: AppRegistration, workspace: Path) -> None:
        self.tenant = tenant
        self.app = app
        self.workspace = workspace
        self.ids: dict[str, str] = {}

    def settings(self) -> dict[str, Any]:
        return {}

    def connect(self) -> Connector:
        return connect(self.tenant, self.app, self.workspace, **self.settings())

    def connect_unreachable(self) -> Connector:
        closed = "http://127.0.0.1:9"
        return connect(
            self.tenant,
            self.app,
            self.workspace,
            in_process=False,
            login_endpoint=closed,
            graph_endpoint=closed,
            insecure_http=True,
            max_retries=1,
            **self.settings(),
        )

    def seed_update(self, key: str, attributes: Attributes) -> None:
        self.tenant.update(self.ids[key], **attributes)

    def seed_delete(self, key: str) -> None:
        self.tenant.delete(self.ids[key])


class UserHarness(GraphHarness):
    object_type = "user"
    single = "jobTitle"
    """displayName would do, but Graph refuses to clear it; jobTitle may be cleared."""
    multi = "otherMails"

    def settings(self) -> dict[str, Any]:
        return {"object_types": {"user": {"attributes": [*DEFAULT_USER_ATTRIBUTES, "otherMails"]}}}

    def identifier(self, key: str) -> str:
        return f"{key}@{DOMAIN}"

    def attributes(self, key: str) -> Attributes:
        out = super().attributes(key)
        out.update(displayName=f"Zoë {key}", mailNickname=key, accountEnabled=True)
        return out

    def seed(self, key: str, attributes: Attributes) -> None:
        self.ids[key] = self.tenant.add_user(self.identifier(key), **attributes)


class GroupHarness(GraphHarness):
    object_type = "group"
    single = "description"
    multi = None
    """Graph groups have no writable multi-valued text: members are references (see below), groupTypes is set once."""

    def settings(self) -> dict[str, Any]:
        return {"object_types": {"group": {"attributes": list(DEFAULT_GROUP_ATTRIBUTES)}}}

    def attributes(self, key: str) -> Attributes:
        out = super().attributes(key)
        out.update(displayName=f"Crew {key}", mailNickname=key, mailEnabled=False, securityEnabled=True)
        return out

    def seed(self, key: str, attributes: Attributes) -> None:
        props = dict(attributes)
        self.ids[key] = self.tenant.add_group(str(props.pop("displayName")), **props)


class TestUserContract(ConnectorContract):
    @pytest.fixture
    def harness(self, tenant: GraphTenant, app: AppRegistration, tmp_path: Path) -> ContractHarness:
        return UserHarness(tenant, app, tmp_path)


class TestGroupContract(ConnectorContract):
    @pytest.fixture
    def harness(self, tenant: GraphTenant, app: AppRegistration, tmp_path: Path) -> ContractHarness:
        return GroupHarness(tenant, app, tmp_path)


# -- beyond the contract ------------------------------------------------------------------------------------------


def test_the_registry_type_builds_a_protocol_connector_without_contacting_graph(
    tenant: GraphTenant, app: AppRegistration, tmp_path: Path
) -> None:
    assert connector_type.name == "graph"
    counting = Counting(tenant.transport())
    connector = connect(tenant, app, tmp_path, options={"graph_transport": counting})
    assert isinstance(connector, Connector)
    caps = connector.capabilities
    assert caps.references_by == "anchor" and caps.delta_import and caps.export and caps.rename
    assert caps.export_batch_size % 20 == 0 and caps.case_insensitive_identifiers
    connector.schema()
    assert counting.requests == []  # sync builds connectors to read capabilities: nothing may be sent
    assert connector.export([]) == []
    connector.test_connection()
    assert counting.requests[0].endswith("/openid-configuration") and any("/v1.0/users" in r for r in counting.requests)
    connector.close()
    connector.close()


def test_schema_types_follow_graph(connector: GraphConnector) -> None:
    user = connector.schema().object_type("user")
    group = connector.schema().object_type("group")
    assert user.spec("userPrincipalName").compare is Compare.IGNORE_CASE
    assert user.spec("accountEnabled").type is AttributeType.BOOLEAN
    assert user.spec("businessPhones").multivalued
    assert user.spec("employeeHireDate").type is AttributeType.DATETIME
    assert user.spec("manager").type is AttributeType.REFERENCE and not user.spec("manager").multivalued
    assert user.spec("extensionAttribute7").type is AttributeType.STRING
    members = group.spec("members")
    assert members.type is AttributeType.REFERENCE and members.multivalued
    assert group.spec("groupTypes").multivalued and "passwordProfile" not in user.attributes


def test_imported_links_and_typed_values_fit_the_declared_schema(
    connector: GraphConnector, tenant: GraphTenant
) -> None:
    boss = tenant.add_user("boss@contoso.com", businessPhones=["+1 555 0100"], employeeHireDate="2024-05-01T00:00:00Z")
    worker = tenant.add_user("worker@contoso.com")
    tenant.set_manager(worker, boss)
    group = tenant.add_group("All")
    tenant.add_member(group, worker)
    schema = connector.schema()
    records = {r.anchor: r for page in connector.full_import() for r in page.records}
    assert records[worker].attributes["manager"] == boss and records[group].attributes["members"] == [worker]
    for record in records.values():
        specs = schema.object_type(record.object_type)
        for name, value in record.attributes.items():
            assert coerce(specs.spec(name), value) == value, f"{record.identifier}: {name}={value!r}"


def test_adding_a_member_twice_and_removing_one_twice_are_successes(
    connector: GraphConnector, tenant: GraphTenant
) -> None:
    created = connector.export([new_user(1, "pat"), new_group(2, "crew")])
    pat, crew = (r.anchor or "" for r in created)
    twice = connector.export(
        [
            update(3, "group", crew, add("members", pat)),
            update(4, "group", crew, add("members", pat)),
            update(5, "user", pat, put("jobTitle", "Lead")),
        ]
    )
    assert all(r.ok for r in twice) and tenant.members(crew) == [pat]
    gone = connector.export([update(6, "group", crew, remove("members", pat))] * 2)
    assert all(r.ok for r in gone) and tenant.members(crew) == []
