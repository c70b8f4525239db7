"""Fixtures for the Graph connector tests: an emulated tenant, an app registration, and connectors wired to it
in-process (through the emulator's httpx transport, MSAL included) or over real HTTP (``tenant.serve()``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from idsync.config import SecretResolver
from idsync.connectors.base import ConnectorContext, ExportItem
from idsync.connectors.graph.config import GraphConfig
from idsync.connectors.graph.connector import GraphConnector
from idsync.model import AttributeChange, ExportOp, ValueOp
from idsync.testing.graph_emulator import AppRegistration, GraphTenant

DOMAINS = ("contoso.onmicrosoft.com", "contoso.com")
SECRET_VARIABLE = "IDSYNC_TEST_GRAPH_SECRET"
LOGIN = "https://login.emulator.test"
GRAPH = "https://graph.emulator.test"


class Counting(httpx.BaseTransport):
    """The emulator's transport, recording what goes through it."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.requests: list[str] = []
        self.batches: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.method} {request.url.path}")
        if request.url.path.endswith("/$batch"):
            self.batches.append(json.loads(request.read()))
        return self.inner.handle_request(request)

    def batched(self) -> list[dict[str, Any]]:
        """Every request that went in a ``$batch``."""
        return [r for batch in self.batches for r in batch["requests"]]


@pytest.fixture
def tenant() -> GraphTenant:
    return GraphTenant("contoso", domains=DOMAINS, seed=5)


@pytest.fixture
def app(tenant: GraphTenant) -> AppRegistration:
    return tenant.add_app("idsync")


def graph_config(app: AppRegistration, **overrides: Any) -> GraphConfig:
    block: dict[str, Any] = {
        "type": "graph",
        "tenant": "contoso.com",
        "client_id": app.client_id,
        "client_secret": "${env:" + SECRET_VARIABLE + "}",
        "login_endpoint": LOGIN,
        "graph_endpoint": GRAPH,
        "retry_base_seconds": 0.01,
        "retry_max_seconds": 0.05,
    }
    block.update(overrides)
    return GraphConfig.model_validate(block)


def connect(
    tenant: GraphTenant,
    app: AppRegistration,
    workspace: Path,
    *,
    options: dict[str, Any] | None = None,
    in_process: bool = True,
    **overrides: Any,
) -> GraphConnector:
    """A connector to ``tenant``: in-process through its transport (MSAL included), or as configured."""
    secrets = SecretResolver(workspace, {SECRET_VARIABLE: app.client_secret})
    opts = {"graph_transport": tenant.transport()} if in_process else {}
    opts.update(options or {})
    return GraphConnector("entra", graph_config(app, **overrides), ConnectorContext(str(workspace), secrets, opts))


@pytest.fixture
def connector(tenant: GraphTenant, app: AppRegistration, tmp_path: Path) -> Iterator[GraphConnector]:
    made = connect(tenant, app, tmp_path)
    yield made
    made.close()


def put(name: str, *values: Any) -> AttributeChange:
    return AttributeChange(name, ValueOp.REPLACE, list(values))


def add(name: str, *values: Any) -> AttributeChange:
    return AttributeChange(name, ValueOp.ADD, list(values))


def remove(name: str, *values: Any) -> AttributeChange:
    return AttributeChange(name, ValueOp.REMOVE, list(values))


def new_user(cs_id: int, alias: str, *changes: AttributeChange, domain: str = "contoso.com") -> ExportItem:
    """An add with the properties Graph requires, plus ``changes``."""
    base = [put("displayName", alias.title()), put("mailNickname", alias), put("accountEnabled", True)]
    names = {c.name for c in changes}
    kept = [c for c in base if c.name not in names]
    return ExportItem(cs_id, "user", ExportOp.ADD, f"{alias}@{domain}", changes=kept + list(changes))


def new_group(cs_id: int, nickname: str, *changes: AttributeChange) -> ExportItem:
    base = [put("displayName", nickname.title()), put("mailEnabled", False), put("securityEnabled", True)]
    names = {c.name for c in changes}
    return ExportItem(
        cs_id, "group", ExportOp.ADD, nickname, changes=[c for c in base if c.name not in names] + list(changes)
    )


def update(cs_id: int, kind: str, anchor: str, *changes: AttributeChange, **extra: Any) -> ExportItem:
    return ExportItem(cs_id, kind, ExportOp.UPDATE, extra.pop("identifier", anchor), anchor, list(changes), **extra)


def delete(cs_id: int, kind: str, anchor: str) -> ExportItem:
    return ExportItem(cs_id, kind, ExportOp.DELETE, anchor, anchor)
