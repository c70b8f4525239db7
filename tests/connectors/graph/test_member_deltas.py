"""A delta import of a large group costs its change, not its size: ``members@delta`` becomes value additions and
removals the engine applies to the connector space, with no read of the group's members."""

from __future__ import annotations

from pathlib import Path

import pytest

from idsync.engine.run_profiles import Runner
from idsync.engine.workspace import Workspace
from idsync.model import RunStatus, StepKind
from idsync.testing.graph_emulator import AppRegistration, DeltaSettings, GraphTenant

from .conftest import DOMAINS, GRAPH, LOGIN, SECRET_VARIABLE, Counting

CONFIG = f"""
connectors:
  entra:
    type: graph
    tenant: contoso.com
    client_id: "{{client_id}}"
    client_secret: "${{{{env:{SECRET_VARIABLE}}}}}"
    login_endpoint: {LOGIN}
    graph_endpoint: {GRAPH}
"""


def test_a_large_groups_delta_costs_its_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = GraphTenant("contoso", domains=DOMAINS, seed=11, delta=DeltaSettings(member_page_size=500))
    app: AppRegistration = tenant.add_app("idsync")
    monkeypatch.setenv(SECRET_VARIABLE, app.client_secret)
    (tmp_path / "idsync.yaml").write_text(CONFIG.format(client_id=app.client_id), encoding="utf-8")
    users = tenant.seed_users(2000)
    everyone = tenant.add_group("Everyone")
    for user in users[:1500]:
        tenant.add_member(everyone, user)
    recording = Counting(tenant.transport())

    def members(ws: Workspace, group: str) -> set[str]:
        (cs,) = ws.store.cs_by_anchor("entra", [group]).values()
        return set(cs.hologram.get("members") or [])

    with Workspace.load(tmp_path, options={"graph_transport": recording}) as ws:
        runner = Runner(ws)
        assert runner.run_steps("full", [("entra", StepKind.FULL_IMPORT)]).status is RunStatus.SUCCESS
        assert members(ws, everyone) == set(users[:1500])

        joined, left = users[1500:1503], users[:2]
        for user in joined:
            tenant.add_member(everyone, user)
        for user in left:
            tenant.remove_member(everyone, user)
        latecomers = tenant.add_group("Latecomers")  # new since the last import: 1,200 members over 3 entries
        for user in users[800:]:
            tenant.add_member(latecomers, user)

        recording.requests.clear()
        watermark = ws.store.get_watermark("entra")
        run = runner.run_steps("delta", [("entra", StepKind.DELTA_IMPORT)])
        assert run.status is RunStatus.SUCCESS, run.steps[0].message
        reads = [p for p in recording.requests if "/oauth2/" not in p and "openid" not in p]
        assert not [p for p in reads if "/members" in p or "$batch" in p], reads
        assert len(reads) == 2, reads  # one page of user changes, one of group changes
        assert run.steps[0].counters.updates == 1 and run.steps[0].counters.adds == 1
        assert members(ws, everyone) == set(tenant.members(everyone)) == set(users[2:1503])
        assert members(ws, latecomers) == set(tenant.members(latecomers)) == set(users[800:])

        # the same changes read again (a replay after a crash) change nothing; nor does a full import
        with ws.store.transaction():
            ws.store.set_watermark("entra", watermark)
        for kind in (StepKind.DELTA_IMPORT, StepKind.FULL_IMPORT):
            again = runner.run_steps("again", [("entra", kind)]).steps[0].counters
            assert again.updates == again.adds == again.deletes == 0
        assert members(ws, everyone) == set(users[2:1503])
