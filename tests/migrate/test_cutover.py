"""``idsync migrate cutover`` against the Graph tenant emulator, seeded as the retired connector left a tenant: users
it created (synced from on-premises, their onPremisesImmutableId the HR employee number the old connector
exported as sourceAnchor), a cloud user with the same userPrincipalName, leftovers nothing manages, look-alikes,
a distribution list and a mail-enabled security group. The workspace is the one ``migrate generate`` writes for
the hr-sql-aad export, pointed at the emulator as an engineer would point it at the tenant."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from idsync.cli.main import cli
from idsync.cli.migrate import migrate
from idsync.migrate.cutover import NoGraphConnector, dry_run
from idsync.migrate.cutover.findings import mail_group_flag, proxy_flag, tenant_object
from idsync.migrate.cutover.render import markdown, text
from idsync.migrate.generate import GenerationPath, generate, write_workspace
from idsync.model import CSObject, MVObject
from idsync.testing.graph_emulator import AppRegistration, GraphTenant

from .conftest import EXPORTS

SECRET = "IDSYNC_ENTRA_CLIENT_SECRET"
LOGIN = "https://login.emulator.test"
GRAPH = "https://graph.emulator.test"

HR = """EmployeeID,FirstName,LastName,PreferredName,Department,JobTitle,Office,City,ManagerID,Status
E1001,Ann,Lee,,Marketing,Director,HQ,Berlin,,Active
E1002,Bob,Stone,Bobby,Sales,Rep,HQ,Berlin,E1001,Active
E1003,Cara,Diaz,,Sales,Rep,HQ,Munich,E1001,Active
E1004,Dan,Park,,Sales,Rep,HQ,Munich,E1001,Active
E1005,Fay,Ng,,Support,Agent,HQ,Hamburg,E1001,Active
E1006,Gus,Old,,Support,Agent,HQ,Hamburg,,Withdrawn
"""


@pytest.fixture
def tenant() -> GraphTenant:
    t = GraphTenant("contoso", domains=("contoso.onmicrosoft.com", "contoso.com"), seed=7)
    old = {"usageLocation": "US"}
    ann = t.add_user("ann.lee@contoso.com", displayName="Ann Lee", givenName="Ann", surname="Lee", **old)
    t.update(ann, department="Sales", jobTitle="Director")
    t.mark_synced(ann, immutable_id="E1001")
    bob = t.add_user("bobby.stone@contoso.com", displayName="Bob Stone", department="Sales", **old)
    t.mark_synced(bob, immutable_id="E1002")
    t.add_user("cara.diaz@contoso.com", displayName="Cara Diaz", department="Sales")  # a cloud user: soft match
    t.add_user("dpark@contoso.com", displayName="D. Park", mailNickname="dpark")  # Dan's look-alike
    t.add_user("fng@contoso.com", displayName="Fay Ng")
    t.add_user("fay.n@contoso.com", displayName="Fay Ng")
    eve = t.add_user("eve.old@contoso.com", displayName="Eve Old")
    t.mark_synced(eve, immutable_id="E0999")  # left behind by the old connector, no longer in HR
    t.add_group("Staff")
    dl = t.add_group("All Staff")
    t.directory.set_trusted(dl, {"mailEnabled": True, "securityEnabled": False, "mail": "allstaff@contoso.com"})
    secure = t.add_group("Finance Secure")
    t.directory.set_trusted(secure, {"mailEnabled": True, "securityEnabled": True, "mail": "finsec@contoso.com"})
    return t


@pytest.fixture
def app(tenant: GraphTenant) -> AppRegistration:
    return tenant.add_app("idsync")


def workspace(tmp_path: Path, app: AppRegistration, monkeypatch: pytest.MonkeyPatch, **entra: Any) -> Path:
    """The generated workspace, pointed at the emulator, with an HR file and one join an engineer added."""
    ws = tmp_path / "ws"
    result = generate(EXPORTS / "hr-sql-aad", GenerationPath.GRAPH)
    assert result.valid, result.problems
    write_workspace(result, ws)
    config = yaml.safe_load((ws / "idsync.yaml").read_text())
    block = config["connectors"]["entra"]
    block.update({"client_id": app.client_id, "login_endpoint": LOGIN, "graph_endpoint": GRAPH, **entra})
    block.update({"retry_base_seconds": 0.01, "retry_max_seconds": 0.05})
    users = next(r for r in config["outbound"] if r["connector"] == "entra" and r["object_type"] == "user")
    users["join"].append({"displayName": "[displayName]"})
    (ws / "idsync.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (ws / "data" / "hr.csv").write_text(HR)
    monkeypatch.setenv(SECRET, app.client_secret)
    return ws


def _by_identifier(items: list[Any]) -> dict[str, Any]:
    return {i.obj.identifier if hasattr(i, "obj") else i.identifier: i for i in items}


def test_dry_run_reports_without_writing(
    tenant: GraphTenant, app: AppRegistration, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workspace(tmp_path, app, monkeypatch)
    before = {u["id"]: dict(u) for u in tenant.users()}
    writes = tenant.stats()["writes"]
    report = dry_run(ws / "idsync.yaml", options={"graph_transport": tenant.transport()})

    assert tenant.stats()["writes"] == writes, "a dry run must not write to the tenant"
    assert {u["id"]: dict(u) for u in tenant.users()} == before
    assert not (ws / ".idsync").exists(), "the workspace's own state must not be touched"
    assert report.status == "completed-errors"  # the ambiguous match is an object error

    joined = _by_identifier(report.joined)
    assert set(joined) == {"ann.lee@contoso.com", "bobby.stone@contoso.com", "cara.diaz@contoso.com"}
    assert joined["ann.lee@contoso.com"].matched_on == ["onPremisesImmutableId"]  # hard match on the old anchor
    assert joined["bobby.stone@contoso.com"].matched_on == ["onPremisesImmutableId"]
    assert joined["cara.diaz@contoso.com"].matched_on == ["userPrincipalName"]  # soft match

    created = _by_identifier(report.would_create)
    assert set(created) == {"dan.park@contoso.com"}  # Gus is withdrawn (out of scope), Fay is ambiguous
    (candidate,) = created["dan.park@contoso.com"].possible_duplicates
    assert (candidate.obj.identifier, candidate.reason) == ("dpark@contoso.com", "same mailNickname")

    (ambiguous,) = report.ambiguous
    assert "ambiguous join" in ambiguous.reason and "displayName" in ambiguous.reason

    changes = {(j.obj.identifier, c.attribute): c for j, c in report.changes}
    dept = changes[("ann.lee@contoso.com", "department")]
    assert (dept.current, dept.proposed) == ("Sales", "Marketing")
    assert changes[("cara.diaz@contoso.com", "city")].proposed == "Munich"
    # Bob's manager (Ann, E1001 in HR) is shown by her userPrincipalName rather than her Graph id
    assert changes[("bobby.stone@contoso.com", "manager")].proposed == "ann.lee@contoso.com"
    assert ("ann.lee@contoso.com", "userPrincipalName") not in changes  # initial-only: never changes a joined user

    unmanaged = {o.identifier: o for o in report.unmanaged}
    assert {"dpark@contoso.com", "fng@contoso.com", "fay.n@contoso.com", "eve.old@contoso.com"} <= set(unmanaged)
    assert unmanaged["eve.old@contoso.com"].synced and not unmanaged["dpark@contoso.com"].synced
    assert {"Staff", "AllStaff", "FinanceSecure"} <= set(unmanaged)  # groups: identified by mailNickname

    synced = _by_identifier(report.synced)
    assert set(synced) == {"ann.lee@contoso.com", "bobby.stone@contoso.com"}
    assert "department" in synced["ann.lee@contoso.com"].refused
    assert "manager" in synced["bobby.stone@contoso.com"].refused  # the manager of a synced user is mastered too
    ann_id = tenant.find_users(userPrincipalName="ann.lee@contoso.com")[0]["id"]
    assert synced["ann.lee@contoso.com"].request == (
        f'PATCH /v1.0/users/{ann_id}/onPremisesSyncBehavior {{"isCloudManaged": true}}'
    )

    cannot = {(c.obj.identifier, c.what): c for c in report.cannot}
    assert cannot[("AllStaff", "distribution list")].rule == "MAIL-GROUPS"
    assert cannot[("FinanceSecure", "mail-enabled security group")].rule == "MAIL-GROUPS"
    assert ("Staff", "distribution list") not in cannot
    assert cannot[("ann.lee@contoso.com", "read-only while synced")].rule == "SYNCED"
    assert not any(c.obj.identifier == "cara.diaz@contoso.com" for c in report.cannot)

    shown = text(report)
    assert "Would be created: 1" in shown and "Switching the source of authority" in shown
    assert "idsync search" not in shown  # the dry run's store is gone: the report is where to look
    assert "onPremisesSyncBehavior" in markdown(report)


def test_cli_cutover_over_http(
    tenant: GraphTenant, app: AppRegistration, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tenant.serve() as base_url:
        ws = workspace(tmp_path, app, monkeypatch, login_endpoint=base_url, graph_endpoint=base_url, insecure_http=True)
        out = tmp_path / "cutover.md"
        result = CliRunner().invoke(
            migrate, ["cutover", "--config", str(ws / "idsync.yaml"), "--json", "--report", str(out)]
        )
    assert result.exit_code == 1, result.output  # completed with an object error: the ambiguous match
    doc = json.loads(result.output)
    assert doc["counts"]["joined"] == 3 and doc["counts"]["would_create"] == 1 and doc["counts"]["ambiguous"] == 1
    assert doc["counts"]["possible_duplicates"] == 1 and doc["staging"] is True
    assert doc["soa_steps"] and all(s["request"].startswith("PATCH /v1.0/users/") for s in doc["synced"])
    assert {c["what"] for c in doc["cannot"]} >= {"distribution list", "mail-enabled security group"}
    assert "# Cutover dry run" in out.read_text()
    assert app.client_secret not in result.output + out.read_text()


def test_cli_cutover_never_logs_the_workspace_secrets(
    tenant: GraphTenant, app: AppRegistration, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dry run opens a workspace of its own: the command line's log handler learns its secrets all the same."""
    import logging

    import idsync.migrate.cutover.run as cutover_run

    collect = cutover_run.collect

    def collect_and_warn(*args: Any) -> Any:
        logging.getLogger("idsync.migrate").warning("the tenant said no to client_secret=%s", app.client_secret)
        return collect(*args)

    monkeypatch.setattr(cutover_run, "collect", collect_and_warn)
    with tenant.serve() as base_url:
        ws = workspace(tmp_path, app, monkeypatch, login_endpoint=base_url, graph_endpoint=base_url, insecure_http=True)
        result = CliRunner().invoke(cli, ["migrate", "cutover", "--config", str(ws / "idsync.yaml"), "--json"])
    assert result.exit_code == 1, result.output
    assert "the tenant said no to client_secret=[redacted]" in result.stderr
    assert app.client_secret not in result.output + result.stderr


def test_cutover_needs_a_graph_connector(tmp_path: Path) -> None:
    result = generate(EXPORTS / "ad-forest-aad", GenerationPath.CLOUD_SYNC)
    write_workspace(result, tmp_path)
    with pytest.raises(NoGraphConnector):
        dry_run(tmp_path / "idsync.yaml")
    cli = CliRunner().invoke(migrate, ["cutover", "--config", str(tmp_path)])
    assert cli.exit_code == 3 and "graph" in cli.output


def test_proxy_addresses_and_group_kinds_are_flagged_per_object() -> None:
    user = CSObject(1, "entra", "user", "ann@contoso.com", anchor="u-1")
    user.hologram = {"proxyAddresses": ["SMTP:ann@contoso.com"], "displayName": "Ann"}
    mv = MVObject(1, "person", {"proxyAddresses": ["SMTP:ann@contoso.com", "smtp:ann.lee@contoso.com"]})
    flag = proxy_flag(user, tenant_object(user), mv)
    assert flag is not None and flag.rule == "PROXY" and "2 address(es)" in flag.detail
    same = MVObject(2, "person", {"ProxyAddresses": ["smtp:ANN@contoso.com"]})  # compared without case
    assert proxy_flag(user, tenant_object(user), same) is None
    new = CSObject(2, "entra", "user", "bo@contoso.com")  # would be created: no anchor yet
    created = proxy_flag(new, tenant_object(new), mv)
    assert created is not None and "created without its proxyAddresses" in created.detail
    groups = {
        "m365": {"mailEnabled": True, "securityEnabled": False, "groupTypes": ["Unified"]},
        "dl": {"mailEnabled": True, "securityEnabled": False, "groupTypes": []},
        "mesg": {"mailEnabled": True, "securityEnabled": True, "groupTypes": []},
        "sec": {"mailEnabled": False, "securityEnabled": True, "groupTypes": []},
    }
    found = {}
    for name, values in groups.items():
        cs = CSObject(3, "entra", "group", name, anchor=f"g-{name}", hologram=values)
        flag = mail_group_flag(cs, tenant_object(cs))
        found[name] = flag.what if flag else None
    assert found == {"m365": None, "dl": "distribution list", "mesg": "mail-enabled security group", "sec": None}
