"""End to end: an HR CSV through the metaverse into a real Samba AD domain, driven by the engine's cycle.

Users get initial passwords (read from per-user secret files at export, so no password enters the store), are
enabled or disabled from their HR status, live in the OU of their department, belong to their department's
group and point at their manager. A leaver is disabled, moved to the leavers OU and taken out of the group. A
telephone number changed in AD by another LDAP client comes back through DirSync and reaches the metaverse,
where AD is authoritative.
"""

from __future__ import annotations

import csv
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import pytest

from idsync.engine.run_profiles import Runner
from idsync.engine.workspace import Workspace
from idsync.model import RunResult, RunStatus, StepKind
from idsync.testing.directories import SambaDC

from .adlab import PASSWORD_ENV, ad_block, bind_result, read, search, strong_password

pytestmark = pytest.mark.samba

HR_COLUMNS = ["employeeId", "firstName", "lastName", "department", "managerId", "status"]
PEOPLE = [
    ("E100", "Ines", "Lambert", "Board", "", "active"),
    ("E200", "Søren", "Kierkegaard", "Sales", "E100", "active"),
    ("E201", "Chiara", "D'Angelo", "Sales", "E200", "active"),
    ("E202", "Tomás", "Ruiz", "Sales", "E200", "suspended"),
    ("E300", "Aoife", "O'Brien", "R&D, Labs", "E100", "active"),
    ("E301", "Łukasz", "Nowak", "R&D, Labs", "E300", "active"),
]
DEPARTMENTS = [("BRD", "Board"), ("SAL", "Sales"), ("RND", "R&D, Labs")]

CONFIG = """
connectors:
  departments: {{type: csv, path: departments.csv, object_type: department, anchor: code}}
  hr: {{type: csv, path: hr.csv, object_type: person, anchor: employeeId, columns: {{managerId: reference}}}}
  corp: {corp}
metaverse:
  department:
    attributes: {{code: string, name: string}}
  person:
    attributes:
      employeeId: string
      givenName: string
      sn: string
      displayName: string
      department: string
      manager: reference
      status: string
      telephoneNumber: string
      sourceAnchor: string
inbound:
  - name: hr-departments
    connector: departments
    object_type: department
    metaverse_type: department
    join: [{{code: code}}]
    project: true
    flows: {{code: code, name: name}}
  - name: hr-people
    connector: hr
    object_type: person
    metaverse_type: person
    join: [{{employeeId: employeeId}}]
    project: true
    flows:
      employeeId: employeeId
      givenName: firstName
      sn: lastName
      displayName: 'Join(" ", [firstName], [lastName])'
      department: department
      manager: managerId
      status: status
  - name: ad-people
    connector: corp
    object_type: user
    metaverse_type: person
    join: [{{employeeId: employeeID}}]
    flows:
      telephoneNumber: telephoneNumber
      sourceAnchor: sourceAnchor
outbound:
  - name: ad-groups
    connector: corp
    metaverse_type: department
    object_type: group
    dialect: connect
    provision: true
    identifier: 'EscapeDNComponent("CN=Staff " & [name]) & ",OU=Groups,{ou}"'
    flows:
      sAMAccountName: '"staff-" & LCase([code])'
      description: name
      groupScope: '"universal"'
      securityEnabled: 'True'
  - name: ad-users
    connector: corp
    metaverse_type: person
    object_type: user
    dialect: connect
    scope: '[status] <> "leaver"'
    provision: true
    identifier: 'EscapeDNComponent("CN=" & [displayName]) & "," & EscapeDNComponent("OU=" & [department]) & ",{ou}"'
    flows:
      sAMAccountName:
        expression: 'Left(ToLower(NormalizeDiacritics(Join("", Left([givenName], 1), [sn]))), 20)'
        dialect: entra
      userPrincipalName:
        expression: 'Join("@", ToLower(NormalizeDiacritics(Join(".", [givenName], [sn]))), "example.test")'
        dialect: entra
      employeeID: employeeId
      cn: displayName
      givenName: givenName
      sn: sn
      displayName: displayName
      department: department
      manager: manager
      accountEnabled: '[status] = "active"'
      memberOf: 'EscapeDNComponent("CN=Staff " & [department]) & ",OU=Groups,{ou}"'
      unicodePwd: {{expression: '"${{file:secrets/" & [employeeId] & ".pw}}"', initial_only: true}}
      mustChangePassword: {{expression: 'True', initial_only: true}}
    deprovision: disable
    deprovision_flows:
      accountEnabled: 'False'
      container: '"OU=Leavers,{ou}"'
      memberOf: AuthoritativeNull
"""


def write_csv(path: Path, header: list[str], rows: list[tuple[str, ...]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def cycle(root: Path) -> RunResult:
    with Workspace.load(root) as ws:
        return Runner(ws).cycle()


def steps(run: RunResult, connector: str, kind: StepKind) -> Any:
    found = [s for s in run.steps if s.connector == connector and s.kind is kind]
    assert found, [(s.connector, s.kind.value) for s in run.steps]
    return found[-1]


def succeeded(run: RunResult) -> RunResult:
    problems = [
        (s.connector, s.kind.value, s.status.value, s.message) for s in run.steps if s.status is not RunStatus.SUCCESS
    ]
    assert run.status is RunStatus.SUCCESS, problems
    return run


def user(dc: SambaDC, ou: str, employee: str) -> tuple[str, dict[str, list[Any]]]:
    found = search(
        dc,
        ou,
        f"(employeeID={employee})",
        "userAccountControl",
        "manager",
        "memberOf",
        "sAMAccountName",
        "userPrincipalName",
        "pwdLastSet",
        "mS-DS-ConsistencyGuid",
        "objectGUID",
        "department",
    )
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def workspace(tmp_path: Path, samba_dc: SambaDC, samba_ou: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(PASSWORD_ENV, samba_dc.admin_password)
    corp = ad_block(samba_dc, [samba_ou], create_parents=True, consistency_guid=True)
    config = CONFIG.format(corp=corp, ou=samba_ou)
    (tmp_path / "idsync.yaml").write_text(textwrap.dedent(config), encoding="utf-8")
    write_csv(tmp_path / "hr.csv", HR_COLUMNS, PEOPLE)
    write_csv(tmp_path / "departments.csv", ["code", "name"], DEPARTMENTS)
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    for employee, *_ in [*PEOPLE, ("E400",)]:
        (secrets / f"{employee}.pw").write_text(strong_password(), encoding="utf-8")
    return tmp_path


def stored_text(root: Path) -> str:
    """Every value of every table of the workspace's store, as text."""
    db = sqlite3.connect(root / ".idsync" / "state.db")
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(repr(row) for t in tables for row in db.execute(f'SELECT * FROM "{t}"'))
    finally:
        db.close()


def test_hr_to_active_directory(workspace: Path, samba_dc: SambaDC, samba_ou: str) -> None:
    first = succeeded(cycle(workspace))
    assert steps(first, "corp", StepKind.EXPORT).counters.adds == len(PEOPLE) + len(DEPARTMENTS)
    sales, board = (f"OU={d},{samba_ou}" for d in ("Sales", "Board"))
    rnd = f"OU=R&D\\, Labs,{samba_ou}"
    groups = f"OU=Groups,{samba_ou}"

    dn, head = user(samba_dc, samba_ou, "E200")
    assert dn == f"CN=Søren Kierkegaard,{sales}"
    assert head["sAMAccountName"] == ["skierkegaard"] and head["userPrincipalName"] == [
        "soeren.kierkegaard@example.test"
    ]
    assert head["manager"] == [f"CN=Ines Lambert,{board}"]
    assert head["memberOf"] == [f"CN=Staff Sales,{groups}"]
    assert int(str(head["userAccountControl"][0])) & 0x2 == 0
    assert head["pwdLastSet"] == ["0"]
    assert head["mS-DS-ConsistencyGuid"] == head["objectGUID"]
    password = (workspace / "secrets" / "E200.pw").read_text()
    assert bind_result(samba_dc, "soeren.kierkegaard@example.test", password) == "must-change"
    assert bind_result(samba_dc, "soeren.kierkegaard@example.test", password + "!") == "refused"
    dn, suspended = user(samba_dc, samba_ou, "E202")
    assert int(str(suspended["userAccountControl"][0])) & 0x2, "suspended in HR: disabled in AD"
    dn, apostrophe = user(samba_dc, samba_ou, "E301")
    assert dn == f"CN=Łukasz Nowak,{rnd}" and apostrophe["memberOf"] == [f"CN=Staff R&D\\, Labs,{groups}"]
    group = read(samba_dc, f"CN=Staff R&D\\, Labs,{groups}", "member", "groupType")
    assert sorted(map(str, group["member"])) == sorted([f"CN=Aoife O'Brien,{rnd}", f"CN=Łukasz Nowak,{rnd}"])
    assert group["groupType"] == [str(-2147483640)]

    # nothing is left to send, and no password was ever stored
    second = succeeded(cycle(workspace))
    export = steps(second, "corp", StepKind.EXPORT).counters
    assert (export.adds, export.updates, export.renames, export.deletes) == (0, 0, 0, 0)
    assert steps(second, "corp", StepKind.CONFIRMING_IMPORT).counters.errors == 0
    stored = stored_text(workspace)
    for employee, *_ in PEOPLE:
        assert (workspace / "secrets" / f"{employee}.pw").read_text() not in stored
    assert "${file:secrets/E200.pw}" not in stored, "the reference left export memory and the audit trail too"

    # HR changes: a leaver, a move to another department, a surname change, a new hire; AD: a phone number
    people = [list(p) for p in PEOPLE]
    people[2][5] = "leaver"  # Chiara leaves
    people[5][3] = "Sales"  # Łukasz moves from R&D to Sales
    people[3][2] = "Ruiz-Pérez"  # Tomás' surname changes
    people.append(["E400", "Zoë", "Vandenberg", "Sales", "E200", "active"])
    write_csv(workspace / "hr.csv", HR_COLUMNS, [tuple(p) for p in people])
    mover_dn, _ = user(samba_dc, samba_ou, "E301")
    samba_dc.tools.modify(
        f"dn: CN=Aoife O'Brien,{rnd}\nchangetype: modify\nreplace: telephoneNumber\ntelephoneNumber: +353 1 555 0100\n"
    )
    third = succeeded(cycle(workspace))
    assert steps(third, "corp", StepKind.DELTA_IMPORT).counters.updates >= 1, "DirSync saw the phone number"
    leaver_dn, leaver = user(samba_dc, samba_ou, "E201")
    assert leaver_dn == f"CN=Chiara D'Angelo,OU=Leavers,{samba_ou}"
    assert int(str(leaver["userAccountControl"][0])) & 0x2
    assert "memberOf" not in leaver, "a leaver leaves the department's group"
    moved_dn, moved = user(samba_dc, samba_ou, "E301")
    assert moved_dn == f"CN=Łukasz Nowak,{sales}" and moved["memberOf"] == [f"CN=Staff Sales,{groups}"]
    assert moved["department"] == ["Sales"]
    renamed_dn, _ = user(samba_dc, samba_ou, "E202")
    assert renamed_dn == f"CN=Tomás Ruiz-Pérez,{sales}"
    hire_dn, hire = user(samba_dc, samba_ou, "E400")
    assert hire_dn == f"CN=Zoë Vandenberg,{sales}" and hire["manager"] == [f"CN=Søren Kierkegaard,{sales}"]
    assert hire["userPrincipalName"] == ["zoe.vandenberg@example.test"]
    staff = read(samba_dc, f"CN=Staff Sales,{groups}", "member")["member"]
    assert sorted(map(str, staff)) == sorted(
        [f"CN=Søren Kierkegaard,{sales}", f"CN=Tomás Ruiz-Pérez,{sales}", f"CN=Łukasz Nowak,{sales}", hire_dn]
    )
    with Workspace.load(workspace) as ws:
        aoife = [m for m in ws.store.mv_page("person", 0, 100) if m.attributes.get("employeeId") == "E300"]
        assert aoife[0].attributes["telephoneNumber"] == "+353 1 555 0100"
        assert aoife[0].attributes["sourceAnchor"]

    fourth = succeeded(cycle(workspace))
    export = steps(fourth, "corp", StepKind.EXPORT).counters
    assert (export.adds, export.updates, export.renames, export.deletes) == (0, 0, 0, 0)
    assert mover_dn != moved_dn


def test_bad_input_fails_one_object_with_ads_reason_and_the_rest_goes_on(
    workspace: Path, samba_dc: SambaDC, samba_ou: str
) -> None:
    # AD already has an skierkegaard (Søren's logon name); Chiara's initial password breaks the domain's policy;
    # Tomás' department makes a UPN-breaking name impossible, so his surname does: "Ruiz Díaz" has a space
    samba_dc.tools.add(f"dn: CN=Someone Else,{samba_ou}\nobjectClass: user\nsAMAccountName: skierkegaard\n\n")
    # too weak for AD; "Qz7" cannot turn up in the test OU's random hexadecimal suffix, as "abc" did
    (workspace / "secrets" / "E201.pw").write_text("Qz7", encoding="utf-8")
    people = [list(p) for p in PEOPLE]
    people[3][2] = "Ruiz Díaz"
    write_csv(workspace / "hr.csv", HR_COLUMNS, [tuple(p) for p in people])
    run = cycle(workspace)
    assert run.status is RunStatus.COMPLETED_ERRORS
    export = steps(run, "corp", StepKind.EXPORT)
    assert export.counters.adds == len(PEOPLE) - 3 + len(DEPARTMENTS)
    with Workspace.load(workspace) as ws:
        errors = {e.identifier: e for e in ws.store.errors(run_id=run.id) if e.connector == "corp"}
    assert len(errors) == 3, "three objects failed, each with its own error row"
    assert all(e.identifier and e.identifier in e.reason for e in errors.values())
    sales = f"OU=Sales,{samba_ou}"
    duplicate = errors[f"CN=Søren Kierkegaard,{sales}"]
    assert "samAccountName 'skierkegaard' already in use" in duplicate.reason
    weak = errors[f"CN=Chiara D'Angelo,{sales}"]
    assert "check_password_restrictions" in weak.reason and "Qz7" not in weak.reason
    upn = errors[f"CN=Tomás Ruiz Díaz,{sales}"]
    assert upn.attribute == "userPrincipalName" and "spaces" in upn.reason
    assert len(search(samba_dc, samba_ou, "(employeeID=*)", "cn")) == len(PEOPLE) - 3


def test_a_name_changed_only_in_case_renames_the_user_once(workspace: Path, samba_dc: SambaDC, samba_ou: str) -> None:
    """The DC refuses any modify of cn but takes a rename to the same name in another case, and keeps the case
    written in the DN, cn and name: a corrected surname reaches AD, the confirming import confirms the cn flow,
    and the next cycle sends nothing."""
    people = [list(p) for p in PEOPLE]
    people[4][2] = "O'BRIEN"
    write_csv(workspace / "hr.csv", HR_COLUMNS, [tuple(p) for p in people])
    succeeded(cycle(workspace))
    rnd = f"OU=R&D\\, Labs,{samba_ou}"
    assert user(samba_dc, samba_ou, "E300")[0] == f"CN=Aoife O'BRIEN,{rnd}"
    write_csv(workspace / "hr.csv", HR_COLUMNS, PEOPLE)
    fixed = succeeded(cycle(workspace))
    export = steps(fixed, "corp", StepKind.EXPORT).counters
    assert (export.adds, export.renames, export.deletes, export.errors) == (0, 1, 0, 0)
    assert steps(fixed, "corp", StepKind.CONFIRMING_IMPORT).counters.errors == 0
    dn, _ = user(samba_dc, samba_ou, "E300")
    assert dn == f"CN=Aoife O'Brien,{rnd}"
    assert read(samba_dc, dn, "cn", "name", "sn") == {
        "cn": ["Aoife O'Brien"],
        "name": ["Aoife O'Brien"],
        "sn": ["O'Brien"],
    }
    again = succeeded(cycle(workspace))
    export = steps(again, "corp", StepKind.EXPORT).counters
    assert (export.adds, export.updates, export.renames, export.deletes) == (0, 0, 0, 0)
    assert steps(again, "corp", StepKind.CONFIRMING_IMPORT).counters.errors == 0
