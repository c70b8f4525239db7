"""End to end: an HR CSV file, through the metaverse, into a real OpenLDAP, driven by the ``idsync`` CLI.

People become inetOrgPerson entries under an OU named after their department, each department a groupOfNames
listing its people, managers DN references. Then HR changes — a name change (a modrdn), a department move (a
move to another OU and to another group), a new hire who becomes a manager and a group member in the same export
run, and a leaver — flow through delta import, delta sync, export and confirming import. The directory is read
back with the real ``ldapsearch`` and the expected DNs are written here in OpenLDAP's own form, so nothing the
test compares comes from idsync. A cycle after each round exports nothing.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from idsync.cli.main import cli
from idsync.connectors.ldap import LdapConnector
from idsync.engine.workspace import Workspace as WorkspaceApi
from idsync.testing.directories import SlapdServer

pytestmark = pytest.mark.ldap

HEADER = "kind,id,name,givenName,sn,department,title,managerId,members"
HR_BEFORE = [
    "person,E100,,Ada,Lovelace,Engineering,CTO,,",
    "person,E101,,Grace,Hopper,Engineering,Engineer,E100,",
    'person,E102,,Alan,Turing,"R&D, Europe",Researcher,E100,',
    'person,E103,,Zoë,"D\'Angelo, Jr","R&D, Europe",Researcher,E102,',
    "person,E104,,Ken,Thompson,Sales,Sales lead,E100,",
    "person,E105,,Dennis,Ritchie,Sales,Sales,E104,",
    "department,D-ENG,Engineering,,,,,,E100;E101",
    'department,D-RD,"R&D, Europe",,,,,,E102;E103',
    "department,D-SALES,Sales,,,,,,E104;E105",
]
HR_AFTER = [
    "person,E100,,Ada,Lovelace,Engineering,CTO,,",
    "person,E101,,Grace,Hopper-Murray,Engineering,Engineer,E100,",  # a name change: a new cn, so a modrdn
    'person,E102,,Alan,Turing,"R&D, Europe",Researcher,E106,',  # reports to the new hire
    'person,E103,,Zoë,"D\'Angelo, Jr",Engineering,Engineer,E100,',  # a department move: a new OU and group
    # E104 left; the person who reported to him now reports to Ada
    "person,E105,,Dennis,Ritchie,Sales,Sales,E100,",
    'person,E106,,Margaret,Hamilton,"R&D, Europe",Head of research,E100,',  # a new hire
    "department,D-ENG,Engineering,,,,,,E100;E101;E103",
    'department,D-RD,"R&D, Europe",,,,,,E102;E106',
    "department,D-SALES,Sales,,,,,,E105",
]

CONFIG = """
store: sqlite
connectors:
  hr:
    type: csv
    path: hr.csv
    object_type_column: kind
    object_types: [person, department]
    anchor: id
    columns: {{managerId: reference, members: "reference[]"}}
  dir:
    type: ldap
    url: {url}
    ca_file: {ca_file}
    bind_dn: {bind_dn}
    password: ${{file:{password_file}}}
    base_dn: {base}
    backend: {backend}
    delta: {delta}
    object_types:
      user: {{object_class: inetOrgPerson}}
      group: {{object_class: groupOfNames}}
    create_parents: true
    export_batch_size: {batch}
metaverse:
  person:
    attributes:
      employeeId: string
      givenName: string
      sn: string
      displayName: string
      department: string
      title: string
      manager: reference
    deletion: {{when: authoritative, authoritative: [hr]}}
  group:
    attributes:
      name: string
      members: reference[]
    deletion: {{when: authoritative, authoritative: [hr]}}
inbound:
  - name: hr-people
    connector: hr
    object_type: person
    metaverse_type: person
    join: [{{employeeId: id}}]
    project: true
    flows:
      employeeId: id
      givenName: givenName
      sn: sn
      displayName: 'Join(" ", [givenName], [sn])'
      department: department
      title: title
      manager: managerId
  - name: hr-departments
    connector: hr
    object_type: department
    metaverse_type: group
    join: [{{name: name}}]
    project: true
    flows:
      name: name
      members: members
outbound:
  - name: dir-users
    connector: dir
    metaverse_type: person
    object_type: user
    provision: true
    dialect: connect
    identifier: >-
      EscapeDNComponent("cn=" & [displayName]) & "," & EscapeDNComponent("ou=" & [department]) & ",ou=people,{base}"
    flows:
      uid: employeeId
      employeeNumber: employeeId
      cn: displayName
      displayName: displayName
      givenName: givenName
      sn: sn
      departmentNumber: department
      title: title
      manager: manager
    deprovision: delete
  - name: dir-groups
    connector: dir
    metaverse_type: group
    object_type: group
    provision: true
    dialect: connect
    identifier: 'EscapeDNComponent("cn=" & [name]) & ",ou=groups,{base}"'
    flows:
      cn: name
      member: members
    deprovision: delete
profiles:
  initial:
    - hr: full-import
    - dir: full-import
    - hr: full-sync
    - dir: full-sync
    - dir: export
    - dir: confirming-import
  delta:
    - hr: delta-import
    - hr: delta-sync
    - dir: export
    - dir: confirming-import
    - dir: delta-sync
"""


def parse_ldif(text: str) -> dict[str, dict[str, list[str]]]:
    """ldapsearch -LLL output (unwrapped) -> DN -> attribute (lower-case) -> values, base64 values decoded."""
    entries: dict[str, dict[str, list[str]]] = {}
    for block in text.strip().split("\n\n"):
        dn = ""
        attributes: dict[str, list[str]] = {}
        for line in block.splitlines():
            name, _, value = line.partition(":")
            value = base64.b64decode(value[1:]).decode("utf-8") if value.startswith(":") else value.strip()
            if name == "dn":
                dn = value
            else:
                attributes.setdefault(name.lower(), []).append(value)
        if dn:
            entries[dn] = attributes
    return entries


class Workspace:
    def __init__(self, folder: Path, server: SlapdServer, base: str) -> None:
        self.folder = folder
        self.server = server
        self.base = base

    def write_hr(self, rows: list[str]) -> None:
        (self.folder / "hr.csv").write_text("\r\n".join([HEADER, *rows]) + "\r\n", encoding="utf-8")

    def run(self, profile: str) -> dict[str, Any]:
        args = ["-C", str(self.folder), *(["cycle"] if profile == "cycle" else ["run", profile]), "--json"]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, self._explain(result.stdout + result.stderr)
        run: dict[str, Any] = json.loads(result.stdout)
        return run

    def _explain(self, output: str) -> str:
        match = re.search(r'"run_id": (\d+)', output)
        if match is None:
            return output
        errors = CliRunner().invoke(cli, ["-C", str(self.folder), "history", match.group(1), "--errors"])
        return output + "\n" + errors.stdout

    def directory(self) -> dict[str, dict[str, list[str]]]:
        """Every user and group under the test's base, as the real ldapsearch reads it."""
        text = self.server.tools.search(
            self.base,
            "(|(objectClass=inetOrgPerson)(objectClass=groupOfNames))",
            "cn",
            "uid",
            "sn",
            "displayName",
            "departmentNumber",
            "title",
            "manager",
            "member",
        )
        return parse_ldif(text)


def step(run: dict[str, Any], connector: str, kind: str) -> dict[str, Any]:
    found = [s for s in run["steps"] if s["connector"] == connector and s["step"] == kind]
    assert len(found) == 1, run
    return found[0]


def exported(run: dict[str, Any]) -> dict[str, int]:
    export = step(run, "dir", "export")
    return {k: export[k] for k in ("adds", "updates", "renames", "deletes", "errors")}


MakeWorkspace = Callable[..., Workspace]


@pytest.fixture
def make_workspace(tmp_path: Path, slapd_server: SlapdServer, slapd_subtree: str) -> MakeWorkspace:
    def make(backend: str = "python-ldap", delta: str = "accesslog", batch: int = 3) -> Workspace:
        assert slapd_server.ldaps_url is not None and slapd_server.ca_file is not None
        settings = {
            "url": slapd_server.ldaps_url,
            "ca_file": slapd_server.ca_file,
            "bind_dn": slapd_server.admin_dn,
            "password_file": slapd_server.password_file,
            "base": slapd_subtree,
            "backend": backend,
            "delta": delta,
            "batch": batch,
        }
        (tmp_path / "idsync.yaml").write_text(CONFIG.format(**settings), encoding="utf-8")
        return Workspace(tmp_path, slapd_server, slapd_subtree)

    return make


@pytest.fixture(params=[("python-ldap", "accesslog"), ("ldap3", "syncrepl")], ids=lambda p: f"{p[0]}-{p[1]}")
def workspace(request: pytest.FixtureRequest, make_workspace: MakeWorkspace) -> Workspace:
    backend, delta = request.param
    return make_workspace(backend, delta)


def names(base: str) -> dict[str, str]:
    """The DNs the test expects, spelled as OpenLDAP reports them (a comma in a value is \\2C)."""
    people, groups = f"ou=people,{base}", f"ou=groups,{base}"
    rd = "ou=R&D\\2C Europe"
    return {
        "ada": f"cn=Ada Lovelace,ou=Engineering,{people}",
        "grace": f"cn=Grace Hopper,ou=Engineering,{people}",
        "grace2": f"cn=Grace Hopper-Murray,ou=Engineering,{people}",
        "alan": f"cn=Alan Turing,{rd},{people}",
        "zoe": f"cn=Zoë D'Angelo\\2C Jr,{rd},{people}",
        "zoe2": f"cn=Zoë D'Angelo\\2C Jr,ou=Engineering,{people}",
        "ken": f"cn=Ken Thompson,ou=Sales,{people}",
        "dennis": f"cn=Dennis Ritchie,ou=Sales,{people}",
        "margaret": f"cn=Margaret Hamilton,{rd},{people}",
        "eng": f"cn=Engineering,{groups}",
        "rd": f"cn=R&D\\2C Europe,{groups}",
        "sales": f"cn=Sales,{groups}",
    }


def check_round_one(directory: dict[str, dict[str, list[str]]], n: dict[str, str]) -> None:
    assert set(directory) == {n[k] for k in ("ada", "grace", "alan", "zoe", "ken", "dennis", "eng", "rd", "sales")}
    assert "manager" not in directory[n["ada"]]
    managers = {"grace": "ada", "alan": "ada", "zoe": "alan", "ken": "ada", "dennis": "ken"}
    assert {n[p]: directory[n[p]].get("manager") for p in managers} == {n[p]: [n[m]] for p, m in managers.items()}
    assert sorted(directory[n["eng"]]["member"]) == sorted([n["ada"], n["grace"]])
    assert sorted(directory[n["rd"]]["member"]) == sorted([n["alan"], n["zoe"]])
    assert sorted(directory[n["sales"]]["member"]) == sorted([n["ken"], n["dennis"]])
    assert directory[n["zoe"]]["sn"] == ["D'Angelo, Jr"] and directory[n["zoe"]]["uid"] == ["E103"]
    assert directory[n["alan"]]["departmentnumber"] == ["R&D, Europe"]


NOTHING = {"adds": 0, "updates": 0, "renames": 0, "deletes": 0, "errors": 0}


def test_hr_changes_reach_openldap_and_a_second_cycle_exports_nothing(workspace: Workspace) -> None:
    n = names(workspace.base)

    # round 1: everything is new; groups name users and users name managers created in the same export run
    workspace.write_hr(HR_BEFORE)
    first = workspace.run("initial")
    changes = exported(first)
    assert (changes["adds"], changes["renames"], changes["deletes"], changes["errors"]) == (9, 0, 0, 0)
    # references to entries added in the same batch wait for a second pass: they are the only updates
    assert 0 < changes["updates"] <= 6, first
    confirming = step(first, "dir", "confirming-import")
    assert (confirming["renames"], confirming["errors"]) == (0, 0)
    check_round_one(workspace.directory(), n)
    assert exported(workspace.run("delta")) == NOTHING

    # round 2: a name change, a department move, a new hire who is a manager and a member, a leaver
    workspace.write_hr(HR_AFTER)
    second = workspace.run("delta")
    hr_import = step(second, "hr", "delta-import")
    assert (hr_import["adds"], hr_import["deletes"]) == (1, 1)
    changes = exported(second)
    assert changes["adds"] == 1 and changes["deletes"] == 1 and changes["errors"] == 0
    assert changes["renames"] == 2  # Grace's modrdn and Zoë's move
    directory = workspace.directory()
    people = ("ada", "grace2", "alan", "zoe2", "dennis", "margaret")
    assert set(directory) == {n[k] for k in (*people, "eng", "rd", "sales")}
    assert directory[n["grace2"]]["cn"] == ["Grace Hopper-Murray"] and directory[n["grace2"]]["sn"] == ["Hopper-Murray"]
    managers = {"grace2": "ada", "alan": "margaret", "zoe2": "ada", "dennis": "ada", "margaret": "ada"}
    assert {n[p]: directory[n[p]].get("manager") for p in managers} == {n[p]: [n[m]] for p, m in managers.items()}
    assert sorted(directory[n["eng"]]["member"]) == sorted([n["ada"], n["grace2"], n["zoe2"]])
    assert sorted(directory[n["rd"]]["member"]) == sorted([n["alan"], n["margaret"]])
    assert directory[n["sales"]]["member"] == [n["dennis"]]
    assert directory[n["zoe2"]]["departmentnumber"] == ["Engineering"]

    # the confirming import saw every change it was sent; nothing is left to export
    again = workspace.run("delta")
    assert exported(again) == NOTHING
    assert step(again, "dir", "confirming-import")["errors"] == 0
    assert exported(workspace.run("cycle")) == NOTHING
    assert workspace.directory() == directory


def test_one_batch_creates_each_group_after_its_new_members(make_workspace: MakeWorkspace) -> None:
    """groupOfNames requires a member: a group add waits for the adds of its members in the same batch."""
    workspace = make_workspace(batch=100)
    workspace.write_hr(HR_BEFORE)
    first = workspace.run("initial")
    changes = exported(first)
    assert (changes["adds"], changes["errors"]) == (9, 0), first
    check_round_one(workspace.directory(), names(workspace.base))
    assert exported(workspace.run("delta")) == NOTHING


def test_references_follow_a_manager_moved_in_the_same_export(make_workspace: MakeWorkspace) -> None:
    """The DN references to a moved entry are written with its new DN, in the export that moves it."""
    workspace = make_workspace(batch=100)
    workspace.write_hr(HR_BEFORE)
    workspace.run("initial")
    moved = [row.replace("Lovelace,Engineering", "Lovelace,Sales") for row in HR_BEFORE]
    moved = [row.replace("E100;E101", "E101").replace("E104;E105", "E100;E104;E105") for row in moved]
    workspace.write_hr(moved)
    changes = exported(workspace.run("delta"))
    assert (changes["renames"], changes["errors"]) == (1, 0)
    n = names(workspace.base)
    ada = n["ada"].replace("ou=Engineering", "ou=Sales")
    directory = workspace.directory()
    assert {p: directory[n[p]]["manager"] for p in ("grace", "alan", "ken")} == {
        p: [ada] for p in ("grace", "alan", "ken")
    }
    assert directory[n["eng"]]["member"] == [n["grace"]]
    assert sorted(directory[n["sales"]]["member"]) == sorted([ada, n["ken"], n["dennis"]])
    assert exported(workspace.run("delta")) == NOTHING


def test_syncrepl_deletes_of_entries_never_imported_are_ignored(make_workspace: MakeWorkspace) -> None:
    """syncprov cannot tell whether a deleted entry matched the search, so a delta may name anchors the connector
    space never held; the engine counts and reports nothing for them."""
    workspace = make_workspace("python-ldap", "syncrepl")
    workspace.write_hr(HR_BEFORE)
    workspace.run("initial")
    other = f"cn=printer,{workspace.base}"
    tools = workspace.server.tools
    tools.add(f"dn: {other}\nobjectClass: device\ncn: printer\n")
    tools.modify(f"dn: {other}\nchangetype: delete\n")
    with WorkspaceApi.load(workspace.folder) as ws:
        watermark = ws.store.get_watermark("dir")
        records = [r for page in ws.connector("dir").delta_import(watermark) for r in page.records]
        assert [r.delete for r in records] == [True]
        assert ws.store.cs_by_anchor("dir", [records[0].anchor]) == {}
    run = workspace.run("delta")
    confirming = step(run, "dir", "confirming-import")
    assert (confirming["deletes"], confirming["errors"], confirming["status"]) == (0, 0, "success")
    check_round_one(workspace.directory(), names(workspace.base))


def test_a_name_changed_only_in_case_renames_the_entry_once(make_workspace: MakeWorkspace) -> None:
    """slapd takes a modrdn to the same name in another case and keeps the case written (in the DN and in cn), so a
    corrected name reaches the directory, and the group that lists the entry names it as it is now; the confirming
    import confirms it and the next cycle has nothing left to do."""
    workspace = make_workspace()
    typo = [row.replace("Dennis,Ritchie", "Dennis,RITCHIE") for row in HR_BEFORE]
    workspace.write_hr(typo)
    workspace.run("initial")
    n = names(workspace.base)
    shouting = n["dennis"].replace("Ritchie", "RITCHIE")
    assert workspace.directory()[shouting]["cn"] == ["Dennis RITCHIE"]
    workspace.write_hr(HR_BEFORE)
    fixed = workspace.run("delta")
    changes = exported(fixed)
    assert (changes["adds"], changes["renames"], changes["deletes"], changes["errors"]) == (0, 1, 0, 0), fixed
    confirming = step(fixed, "dir", "confirming-import")
    assert (confirming["renames"], confirming["errors"]) == (0, 0)
    directory = workspace.directory()
    assert shouting not in directory and directory[n["dennis"]]["cn"] == ["Dennis Ritchie"]
    assert sorted(directory[n["sales"]]["member"]) == sorted([n["ken"], n["dennis"]]), "the group names the new DN"
    again = workspace.run("delta")
    assert exported(again) == NOTHING and step(again, "dir", "confirming-import")["errors"] == 0


def test_a_value_corrected_only_in_case_reaches_the_directory_once(make_workspace: MakeWorkspace) -> None:
    """displayName (single-valued) and title (multi-valued) compare ignoring case in slapd's schema
    (caseIgnoreMatch), yet slapd keeps the case written: a correction of case in HR is a change the directory must
    get (title's as one replace: an add of "Sales lead" beside "SALES LEAD" would be refused as a value it holds),
    confirmed only as written, and the next cycle has nothing to send."""
    workspace = make_workspace()
    workspace.write_hr(
        [row.replace("Ken,Thompson,Sales,Sales lead", "ken,Thompson,Sales,SALES LEAD") for row in HR_BEFORE]
    )
    workspace.run("initial")
    n = names(workspace.base)
    lower = n["ken"].replace("cn=Ken Thompson", "cn=ken Thompson")
    entry = workspace.directory()[lower]
    assert (entry["displayname"], entry["title"]) == (["ken Thompson"], ["SALES LEAD"])
    workspace.write_hr(HR_BEFORE)
    fixed = workspace.run("delta")
    assert exported(fixed)["errors"] == 0 and step(fixed, "dir", "confirming-import")["errors"] == 0, fixed
    entry = workspace.directory()[n["ken"]]
    assert (entry["cn"], entry["displayname"], entry["title"]) == (["Ken Thompson"], ["Ken Thompson"], ["Sales lead"])
    again = workspace.run("delta")
    assert exported(again) == NOTHING and step(again, "dir", "confirming-import")["errors"] == 0


def test_parents_spelled_in_another_case_than_the_identifier_flow_are_no_rename(make_workspace: MakeWorkspace) -> None:
    """slapd names an entry with its parents' names as they are stored (ou=PEOPLE where the flow says ou=people) and
    its RDN's attribute type as the schema spells it: neither is the entry's own name, so no rename is staged."""
    workspace = make_workspace(batch=100)
    workspace.server.tools.add(f"dn: ou=PEOPLE,{workspace.base}\nobjectClass: organizationalUnit\nou: PEOPLE\n")
    workspace.write_hr(HR_BEFORE)
    first = workspace.run("initial")
    assert exported(first)["errors"] == 0
    assert all(",ou=PEOPLE," in dn for dn in workspace.directory() if dn.startswith("cn=") and "ou=groups" not in dn)
    for _ in range(2):
        again = workspace.run("delta")
        assert exported(again) == NOTHING
        assert step(again, "dir", "confirming-import")["renames"] == 0


def test_a_new_hire_provisioned_on_demand_is_in_the_directory_and_nothing_else_moved(
    make_workspace: MakeWorkspace,
) -> None:
    """``idsync on-demand``: the new hire's entry, with its manager's DN, is in slapd at once; Grace's name change,
    in the same HR file, waits for the next run, which then sends it and nothing for Margaret."""
    workspace = make_workspace()
    workspace.write_hr(HR_BEFORE)
    workspace.run("initial")
    n = names(workspace.base)
    hire = 'person,E106,,Margaret,Hamilton,"R&D, Europe",Head of research,E100,'
    workspace.write_hr([row.replace("Grace,Hopper,", "Grace,Hopper-Murray,") for row in HR_BEFORE] + [hire])

    result = CliRunner().invoke(cli, ["-C", str(workspace.folder), "on-demand", "hr:E106", "--json"])

    assert result.exit_code == 0, result.stdout + result.stderr
    done = json.loads(result.stdout)
    assert [(t["connector"], t["staged"], t["sent"]) for t in done["targets"]] == [("dir", "add", True)]
    directory = workspace.directory()
    assert directory[n["margaret"]]["manager"] == [n["ada"]]
    assert n["grace"] in directory and n["grace2"] not in directory
    later = workspace.run("delta")
    assert (exported(later)["adds"], exported(later)["renames"]) == (0, 1), later
    audit = CliRunner().invoke(cli, ["-C", str(workspace.folder), "audit", "--run", str(later["run_id"]), "--json"])
    touched = {row["identifier"] for row in json.loads(audit.stdout)["rows"]}
    assert touched == {n["grace"], n["eng"]}  # Grace (renamed) and the group naming her; Margaret went on demand
    assert n["grace2"] in workspace.directory()


def test_a_leaving_manager_is_cleared_from_the_reports_in_the_export_that_deletes_him(
    make_workspace: MakeWorkspace,
) -> None:
    """Ken leaves HR while Dennis's row still names him as manager: the reference has nothing left to resolve to,
    so Dennis's manager is cleared in the same run and Ken leaves the Sales group, both sent before Ken's delete (slapd
    without refint would keep a dangling DN for good; Active Directory may refuse a change naming an entry it
    deleted)."""
    workspace = make_workspace(batch=100)
    workspace.write_hr(HR_BEFORE)
    workspace.run("initial")
    n = names(workspace.base)
    workspace.write_hr([row for row in HR_BEFORE if not row.startswith("person,E104,")])
    run = workspace.run("delta")
    changes = exported(run)
    assert (changes["deletes"], changes["errors"]) == (1, 0), run
    directory = workspace.directory()
    assert n["ken"] not in directory
    assert "manager" not in directory[n["dennis"]]
    assert directory[n["sales"]]["member"] == [n["dennis"]]
    with WorkspaceApi.load(workspace.folder) as ws:
        rows = list(ws.store.audit_search(run_id=run["run_id"], connector="dir", limit=1000))
    sent = [(row["op"], row["identifier"]) for row in reversed(rows) if row["result"] == "success"]
    delete = sent.index(("delete", n["ken"]))
    assert {("update", n["dennis"]), ("update", n["sales"])} <= set(sent[:delete]), sent
    assert exported(workspace.run("delta")) == NOTHING


@pytest.mark.parametrize("batch", [1, 100])
def test_a_renamed_member_is_never_missing_from_its_group(
    make_workspace: MakeWorkspace, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    """slapd has no referential integrity here: a member's rename leaves its old DN in the group, and the export
    changes the group's value. The new DN can only be written once the rename is sent, in a later pass; the old DN
    goes out with it, not before, so the group read after each batch the connector sends always lists her."""
    workspace = make_workspace(batch=batch)
    workspace.write_hr(HR_BEFORE)
    workspace.run("initial")
    n = names(workspace.base)
    seen: list[list[str]] = []
    export = LdapConnector.export

    def export_then_read(self: LdapConnector, items: Any) -> Any:
        results = export(self, items)
        group = workspace.server.tools.search(n["eng"], "(objectClass=*)", "member", scope="base")
        seen.append(sorted(parse_ldif(group)[n["eng"]].get("member", [])))
        return results

    monkeypatch.setattr(LdapConnector, "export", export_then_read)
    workspace.write_hr([row.replace("Grace,Hopper,", "Grace,Hopper-Murray,") for row in HR_BEFORE])
    changes = exported(workspace.run("delta"))
    assert (changes["renames"], changes["errors"]) == (1, 0)
    assert seen and all(n["grace"] in members or n["grace2"] in members for members in seen), seen
    assert seen[-1] == sorted([n["ada"], n["grace2"]])
    assert sorted(workspace.directory()[n["eng"]]["member"]) == sorted([n["ada"], n["grace2"]])
