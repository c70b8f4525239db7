"""No duplicates, ever: an engine stopped between "in flight" and the results, then run again, adopts what Graph
created instead of creating it twice; and lookup itself only adopts what agrees with what was sent."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from idsync.connectors.base import ConnectorContext, ConnectorError, ExportItem, ExportResult
from idsync.connectors.graph.config import GraphConfig
from idsync.connectors.graph.connector import GraphConnector, GraphConnectorType
from idsync.connectors.registry import ConnectorRegistry
from idsync.engine.run_profiles import Runner
from idsync.engine.workspace import Workspace
from idsync.model import RunStatus, StepKind
from idsync.testing.graph_emulator import AppRegistration, GraphTenant

from .conftest import SECRET_VARIABLE
from .hr_source import HrSourceType
from .workspace import write_workspace


class Killed(BaseException):
    """The process dies: nothing after this point runs, no handler records anything."""


class DiesAfterExport:
    """The real connector, except that the process dies right after Graph answered the first export batch (or,
    ``before=True``, right before sending it)."""

    def __init__(self, inner: GraphConnector, *, before: bool) -> None:
        self.inner = inner
        self.before = before

    def export(self, items: Sequence[ExportItem]) -> list[ExportResult]:
        if not self.before:
            self.inner.export(items)
        raise Killed

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _registry(*, dies: bool = False, before: bool = False) -> ConnectorRegistry:
    class Graph:
        name = "graph"
        config_model = GraphConfig

        @staticmethod
        def create(name: str, config: Any, context: ConnectorContext) -> Any:
            real = GraphConnectorType.create(name, config, context)
            return DiesAfterExport(real, before=before) if dies else real

    registry = ConnectorRegistry()
    registry.register("hr-test", HrSourceType)
    registry.register("graph", Graph)
    return registry


@pytest.mark.parametrize("before", [False, True], ids=["killed-after-graph-applied", "killed-before-sending"])
def test_a_run_killed_mid_export_is_reconciled_without_duplicates(
    before: bool, tenant: GraphTenant, app: AppRegistration, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_VARIABLE, app.client_secret)
    root = tmp_path / "ws"
    write_workspace(root, app, None)
    options = {"graph_transport": tenant.transport()}
    dying = Workspace.load(root, registry=_registry(dies=True, before=before), options=options)
    with dying as ws, pytest.raises(Killed):
        Runner(ws).cycle()
    assert len(tenant.users()) == (0 if before else 9)

    with Workspace.load(root, registry=_registry(), options=options) as ws:
        run = Runner(ws).cycle()
        errors = [e.describe() for e in ws.store.errors(run.id)]
    assert run.status is RunStatus.SUCCESS, (run.summary(), errors)
    settle = run.steps[0]
    assert settle.kind is StepKind.EXPORT and "reconciled exports left in flight" in (settle.message or "")
    assert ("12 settled" in (settle.message or "")) is not before
    users = Counter(u["userPrincipalName"] for u in tenant.users())
    assert len(users) == 9 and set(users.values()) == {1}
    assert sorted(g["mailNickname"] for g in tenant.groups()) == ["dept-engineering", "dept-sales", "dept-support"]
    by_upn = {u["userPrincipalName"]: u["id"] for u in tenant.users()}
    assert tenant.manager_of(by_upn["bo.dahl@contoso.com"]) == by_upn["ada.berg@contoso.com"]

    with Workspace.load(root, registry=_registry(), options=options) as ws:
        again = Runner(ws).cycle()
    export = next(s for s in again.steps if s.connector == "entra" and s.kind is StepKind.EXPORT)
    assert (export.counters.adds, export.counters.updates, export.counters.deletes) == (0, 0, 0)


def test_lookup_adopts_only_what_agrees_and_refuses_to_guess(
    tenant: GraphTenant, app: AppRegistration, tmp_path: Path
) -> None:
    from .conftest import connect

    connector = connect(tenant, app, tmp_path)
    ann = tenant.add_user("ann@contoso.com", department="Sales", employeeId="E1")
    found = connector.lookup("user", "ann@contoso.com", {"department": "sales", "employeeId": "E1"})
    assert found is not None and found.anchor == ann and found.attributes["department"] == "Sales"
    # same name, other values: somebody else's account, never taken over
    assert connector.lookup("user", "ann@contoso.com", {"employeeId": "E2"}) is None
    assert connector.lookup("user", "nobody@contoso.com", {}) is None
    assert connector.lookup("user", ann, {}) is not None  # by Graph id
    # a user's mailNickname is not unique in Graph: the lookup that also asks by it finds the right user
    sam, other_sam = tenant.add_user("sam@contoso.com"), tenant.add_user("sam.two@contoso.com", mailNickname="sam")
    for keys in ({"mailNickname": "sam", "userPrincipalName": "sam.two@contoso.com"}, {"mailNickname": "sam"}):
        again = connector.lookup("user", "sam.two@contoso.com", keys)
        assert again is not None and again.anchor == other_sam
    first_sam = connector.lookup("user", "sam@contoso.com", {"mailNickname": "sam"})
    assert first_sam is not None and first_sam.anchor == sam
    first, second = tenant.add_group("Twins"), tenant.add_group("Twins")
    with pytest.raises(ConnectorError, match="2 Graph objects match"):
        connector.lookup("group", "Twins", {})
    assert {first, second} <= {g["id"] for g in tenant.groups()}
    connector.close()
