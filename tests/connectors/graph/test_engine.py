"""The engine end to end: HR -> metaverse -> the emulated tenant over real HTTP. Users with managers, a group per
department, leavers disabled; then HR changes and a change made in Entra travel by delta; then nothing to do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from idsync.engine.run_profiles import Runner
from idsync.model import RunResult, RunStatus, StepKind
from idsync.testing.graph_emulator import AppRegistration, GraphTenant

from .conftest import SECRET_VARIABLE
from .hr_source import write_people
from .workspace import PEOPLE, open_workspace, write_workspace


def _cycle(root: Path) -> RunResult:
    with open_workspace(root) as ws:
        run = Runner(ws).cycle()
        errors = ws.store.errors(run.id)
    assert run.status is RunStatus.SUCCESS, (run.summary(), [e.describe() for e in errors])
    return run


def _step(run: RunResult, connector: str, kind: StepKind) -> dict[str, Any]:
    found = [s.summary() for s in run.steps if s.connector == connector and s.kind is kind]
    assert found, f"no {kind.value} step for {connector}"
    return found[0]


def _users(tenant: GraphTenant) -> dict[str, dict[str, Any]]:
    return {u["employeeId"]: u for u in tenant.users() if u.get("employeeId")}


def _groups(tenant: GraphTenant) -> dict[str, set[str]]:
    by_id = {u["id"]: u["employeeId"] for u in tenant.users()}
    return {g["mailNickname"]: {by_id[m] for m in tenant.members(g["id"])} for g in tenant.groups()}


def test_hr_to_entra_with_managers_groups_leavers_and_deltas(
    tenant: GraphTenant, app: AppRegistration, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_VARIABLE, app.client_secret)
    root = tmp_path / "ws"
    with tenant.serve() as base_url:
        write_workspace(root, app, base_url)
        first = _cycle(root)
        export = _step(first, "entra", StepKind.EXPORT)
        assert export["adds"] == 9 + 3 and export["errors"] == 0
        users = _users(tenant)
        assert sorted(users) == [f"E00{i}" for i in range(1, 10)]  # the leaver was never provisioned
        assert users["E002"]["userPrincipalName"] == "bo.dahl@contoso.com"
        assert users["E002"]["accountEnabled"] is True and users["E002"]["department"] == "Engineering"
        ids = {e: u["id"] for e, u in users.items()}
        assert tenant.manager_of(ids["E005"]) == ids["E004"] and tenant.manager_of(ids["E004"]) == ids["E001"]
        assert tenant.manager_of(ids["E001"]) is None
        assert _groups(tenant) == {
            "dept-engineering": {"E001", "E002", "E003"},
            "dept-sales": {"E004", "E005", "E006"},
            "dept-support": {"E007", "E008", "E009"},
        }
        assert tenant.get(ids["E001"])["displayName"] == "Ada Berg"

        quiet = _cycle(root)
        assert _step(quiet, "entra", StepKind.DELTA_IMPORT)["updates"] == 0
        nothing = _step(quiet, "entra", StepKind.EXPORT)
        assert (nothing["adds"], nothing["updates"], nothing["deletes"]) == (0, 0, 0)

        # HR: Eli moves to Support and reports to Gus, Fay leaves, Kai joins Engineering under Bo
        people = [list(p) for p in PEOPLE]
        people[4][3:5] = ["Support", "E007"]
        people[5][5] = "leaver"
        people.append(["E011", "Kai", "Moe", "Engineering", "E002", "active"])
        write_people(root / "hr.csv", [tuple(p) for p in people])
        # and in Entra, someone edits an attribute HR owns: the next cycle puts HR's value back
        tenant.update(ids["E003"], department="Rogue")

        changed = _cycle(root)
        assert _step(changed, "entra", StepKind.DELTA_IMPORT)["updates"] >= 1
        users = _users(tenant)
        assert users["E005"]["department"] == "Support" and tenant.manager_of(ids["E005"]) == ids["E007"]
        assert users["E006"]["accountEnabled"] is False
        assert users["E011"]["userPrincipalName"] == "kai.moe@contoso.com"
        assert tenant.manager_of(users["E011"]["id"]) == ids["E002"]
        assert users["E003"]["department"] == "Engineering"
        assert _groups(tenant) == {
            "dept-engineering": {"E001", "E002", "E003", "E011"},
            "dept-sales": {"E004"},
            "dept-support": {"E005", "E007", "E008", "E009"},
        }
        assert len(tenant.users()) == 10

        final = _cycle(root)
        nothing = _step(final, "entra", StepKind.EXPORT)
        assert (nothing["adds"], nothing["updates"], nothing["deletes"]) == (0, 0, 0)
        assert _step(final, "entra", StepKind.CONFIRMING_IMPORT)["updates"] == 0


def test_an_expired_watermark_makes_the_engine_run_a_full_import(
    tenant: GraphTenant, app: AppRegistration, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_VARIABLE, app.client_secret)
    root = tmp_path / "ws"
    write_workspace(root, app, None)
    options = {"graph_transport": tenant.transport()}
    with open_workspace(root, options) as ws:
        assert Runner(ws).cycle().status is RunStatus.SUCCESS
    tenant.force_resync()
    with open_workspace(root, options) as ws:
        run = Runner(ws).run_steps("delta", [("entra", StepKind.DELTA_IMPORT)])
    step = run.steps[0]
    assert step.status is RunStatus.SUCCESS
    assert "no longer valid" in (step.message or "") and "full import" in (step.message or "")
    assert step.counters.deletes == 0 and step.counters.adds == 0  # the full import found everything in place


def test_existing_cloud_users_are_adopted_by_a_join_rule_and_never_taken_over_without_one(
    tenant: GraphTenant, app: AppRegistration, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Users the old connector created are joined by employeeId and updated, not created again; a cloud user that
    merely holds the userPrincipalName a new person would get is someone else's, and is left alone."""
    monkeypatch.setenv(SECRET_VARIABLE, app.client_secret)
    old = tenant.add_user("b.dahl@contoso.com", employeeId="E002", displayName="B. Dahl", department="Old")
    stranger = tenant.add_user("cai.eng@contoso.com", displayName="Another Cai Eng")
    root = tmp_path / "ws"
    write_workspace(root, app, None)
    with open_workspace(root, {"graph_transport": tenant.transport()}) as ws:
        run = Runner(ws).cycle()
        errors = ws.store.errors(run.id)
    export = _step(run, "entra", StepKind.EXPORT)
    assert export["adds"] == 9 - 2 + 3 and export["renames"] == 1
    users = _users(tenant)
    # the same account, renamed to what the identifier flow says
    assert users["E002"]["id"] == old and users["E002"]["userPrincipalName"] == "bo.dahl@contoso.com"
    assert users["E002"]["displayName"] == "Bo Dahl" and users["E002"]["department"] == "Engineering"
    assert len(tenant.find_users(employeeId="E002")) == 1
    assert "E003" not in users and tenant.get(stranger)["displayName"] == "Another Cai Eng"
    (refusal,) = [e for e in errors if e.code == "already-exists"]
    assert "cai.eng@contoso.com" in refusal.describe()


def test_graph_refusals_become_error_rows_and_the_run_goes_on(
    tenant: GraphTenant, app: AppRegistration, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """contoso.com is federated: Graph refuses every user created there without an onPremisesImmutableId. Each
    refusal is an error row naming the user, the property and Graph's message; the groups are still exported."""
    monkeypatch.setenv(SECRET_VARIABLE, app.client_secret)
    tenant.add_domain("contoso.com", federated=True)
    root = tmp_path / "ws"
    write_workspace(root, app, None)
    with open_workspace(root, {"graph_transport": tenant.transport()}) as ws:
        run = Runner(ws).cycle()
        errors = [e for e in ws.store.errors(run.id) if e.connector == "entra"]
    assert run.status is RunStatus.COMPLETED_ERRORS
    export = _step(run, "entra", StepKind.EXPORT)
    assert export["errors"] == 9 and export["adds"] == 3
    assert tenant.users() == [] and len(tenant.groups()) == 3
    refused = {e.identifier: e for e in errors if e.attribute == "onPremisesImmutableId"}
    assert "bo.dahl@contoso.com" in refused and len(refused) == 9
    row = refused["bo.dahl@contoso.com"]
    assert "A value is required for property 'onPremisesImmutableId' of resource 'User'." in row.reason
    assert row.code == "Request_BadRequest" and "bo.dahl@contoso.com" in row.describe()
