"""The ``emulator`` setting: the connector keeps an emulated tenant in a file of the workspace and reaches it
in-process, so what one run wrote - objects and delta links - is there for the next, with no server running."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from idsync.connectors.base import ConnectivityError, ConnectorContext
from idsync.connectors.graph.config import GraphConfig
from idsync.connectors.graph.connector import GraphConnector
from idsync.testing.graph_emulator import GraphTenant

from .conftest import add, new_group, new_user, put, update

CLIENT_ID = "5f0c6d7e-1111-4222-8333-944455556666"


def emulated(workspace: Path, **overrides: Any) -> GraphConnector:
    block: dict[str, Any] = {"type": "graph", "tenant": "contoso.com", "client_id": CLIENT_ID, "emulator": "t.json"}
    block.update(overrides)
    return GraphConnector("entra", GraphConfig.model_validate(block), ConnectorContext(str(workspace)))


def test_the_setting_needs_no_credential_and_takes_none() -> None:
    base = {"type": "graph", "tenant": "contoso.com", "client_id": CLIENT_ID}
    assert GraphConfig.model_validate({**base, "emulator": "data/tenant.json"}).graph.endswith(".invalid")
    with pytest.raises(ValidationError, match="remove client_secret, graph_endpoint"):
        GraphConfig.model_validate(
            {**base, "emulator": "t.json", "client_secret": "${env:X}", "graph_endpoint": "https://graph.example"}
        )
    with pytest.raises(ValidationError, match="exactly one credential"):
        GraphConfig.model_validate(base)


def test_what_one_session_writes_the_next_one_reads(tmp_path: Path) -> None:
    first = emulated(tmp_path)
    first.test_connection()
    assert not (tmp_path / "t.json").exists()  # created by the first write, not by reading
    full = list(first.full_import())
    watermark = full[-1].watermark
    assert [r for p in full for r in p.records] == [] and watermark is not None
    boss, crew = first.export([new_user(1, "boss"), new_group(2, "crew")])
    (ann,) = first.export([new_user(3, "ann", put("manager", boss.anchor))])
    first.export([update(4, "group", str(crew.anchor), add("members", ann.anchor))])
    first.close()  # nothing else to write: what was exported is in the file already

    tenant = GraphTenant.load(tmp_path / "t.json")
    assert {u["userPrincipalName"] for u in tenant.users()} == {"boss@contoso.com", "ann@contoso.com"}
    assert tenant.manager_of(ann.anchor) == boss.anchor and tenant.members(crew.anchor) == [ann.anchor]
    assert tenant.domains == ["contoso.onmicrosoft.com", "contoso.com"]
    assert CLIENT_ID in tenant.authority.apps

    second = emulated(tmp_path)  # another process, later: the delta link of the first is still good
    changes = [r for p in second.delta_import(watermark) for r in p.records]
    second.close()
    assert {r.identifier for r in changes} == {"boss@contoso.com", "ann@contoso.com", "crew"}
    third = emulated(tmp_path)
    ids = {r.identifier: r.anchor for p in third.full_import() for r in p.records}
    third.close()
    assert ids["ann@contoso.com"] == ann.anchor


def test_a_missing_folder_or_a_foreign_file_is_a_connectivity_error(tmp_path: Path) -> None:
    nowhere = emulated(tmp_path, emulator="missing/t.json")
    with pytest.raises(ConnectivityError, match="does not exist"):
        nowhere.test_connection()
    (tmp_path / "t.json").write_text("{}", encoding="utf-8")
    foreign = emulated(tmp_path)
    with pytest.raises(ConnectivityError, match=r"t\.json: cannot load the emulated tenant"):
        foreign.test_connection()
