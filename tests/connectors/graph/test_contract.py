"""The Connector protocol as the engine relies on it. (The shared contract suite, ``idsync.testing.contract``, is
written on another branch; when it lands, the Graph connector should run it too. These are the same promises,
checked against the emulated tenant.)"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from idsync.connectors.base import ConnectivityError, Connector
from idsync.connectors.graph import connector_type
from idsync.connectors.graph.connector import GraphConnector
from idsync.model import AttributeType, Compare, coerce
from idsync.testing.graph_emulator import AppRegistration, GraphTenant

from .conftest import add, connect, new_group, new_user, put, remove, update


class Counting(httpx.BaseTransport):
    """The emulator's transport, counting what goes through it."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.requests: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.method} {request.url.path}")
        return self.inner.handle_request(request)


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


def test_imported_values_fit_the_schema_the_connector_declares(connector: GraphConnector, tenant: GraphTenant) -> None:
    boss = tenant.add_user("boss@contoso.com", businessPhones=["+1 555 0100"], employeeHireDate="2024-05-01T00:00:00Z")
    worker = tenant.add_user("worker@contoso.com")
    tenant.set_manager(worker, boss)
    group = tenant.add_group("All")
    tenant.add_member(group, worker)
    schema = connector.schema()
    connector_records = [r for page in connector.full_import() for r in page.records]
    assert connector_records
    for record in connector_records:
        specs = schema.object_type(record.object_type)
        for name, value in record.attributes.items():
            assert name in specs.attributes, name
            coerce(specs.spec(name), value)  # raises if a value does not fit its declared type


def test_adding_what_is_there_and_removing_what_is_not_are_successes(
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
    assert all(r.ok for r in twice)
    gone = connector.export([update(6, "group", crew, remove("members", pat))] * 2)
    assert all(r.ok for r in gone) and tenant.members(crew) == []


def test_an_unreachable_system_is_a_connectivity_error(
    tenant: GraphTenant, app: AppRegistration, tmp_path: Path
) -> None:
    connector = connect(
        tenant,
        app,
        tmp_path,
        in_process=False,
        login_endpoint="http://127.0.0.1:9",
        graph_endpoint="http://127.0.0.1:9",
        insecure_http=True,
    )
    with pytest.raises(ConnectivityError, match="cannot reach the token endpoint"):
        connector.test_connection()
    connector.close()
