"""Killed mid-export to a real OpenLDAP (SIGKILL) and run again, a workspace reaches the directory an uninterrupted
run leaves: the same entries with the same values, none created twice, every group listing the right members.

The directory assigns the anchor (entryUUID), so an add whose result was lost with the process is only known by
looking it up: this is what the reconciliation of exports in flight is for. HR people become inetOrgPerson entries
under an OU per department, with their manager's DN; each department is a groupOfNames. A first cycle of a few
hundred people is killed after a random delay (most of that cycle is the export), then HR changes (renames, which
are modrdns, moves, leavers, hires) are killed the same way. The directory is read with ldap3, not through idsync.
"""

from __future__ import annotations

import csv
import os
import random
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest

from idsync.testing.crash import converge, kill_cycles
from idsync.testing.directories import SlapdServer
from idsync.testing.people import apply_changes, write_csv

pytestmark = [pytest.mark.ldap, pytest.mark.slow]

TRIALS = int(os.environ.get("IDSYNC_CRASH_TRIALS_LDAP", "3"))
PEOPLE = 800
CHANGES = 150

CONFIG = """
store: sqlite
connectors:
  hr:
    type: csv
    path: hr.csv
    object_type: person
    anchor: employeeId
    columns: {{managerId: reference}}
    groups:
      - {{column: department, object_type: department, where: {{status: [active]}}}}
  dir:
    type: ldap
    url: {url}
    ca_file: {ca_file}
    bind_dn: {bind_dn}
    password: ${{file:{password_file}}}
    base_dn: {base}
    backend: python-ldap
    object_types:
      user: {{object_class: inetOrgPerson}}
      group: {{object_class: groupOfNames}}
    create_parents: true
    export_batch_size: 20
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
      status: string
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
    join: [{{employeeId: employeeId}}]
    project: true
    flows:
      employeeId: employeeId
      givenName: givenName
      sn: sn
      displayName: displayName
      department: department
      title: title
      manager: managerId
      status: status
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
    scope: '[status] = "active"'
    provision: true
    dialect: connect
    identifier: >-
      EscapeDNComponent("cn=" & [displayName] & " " & [employeeId]) & "," & EscapeDNComponent("ou=" & [department])
      & ",ou=people,{base}"
    flows:
      uid: employeeId
      employeeNumber: employeeId
      cn: '[displayName] & " " & [employeeId]'
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
"""

ATTRIBUTES = ["cn", "uid", "employeeNumber", "displayName", "givenName", "sn", "departmentNumber", "title", "manager"]
Directory = dict[str, dict[str, list[str]]]
"""DN (relative to the trial's subtree, lower-case) -> attribute (lower-case) -> sorted values (DNs relative too)."""


class Counter:
    """Counts the entries under a base, over one connection kept open (it is asked every few milliseconds)."""

    def __init__(self, server: SlapdServer, base: str) -> None:
        self.base = base
        self.connection = connect(server)

    def __enter__(self) -> Counter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.connection.unbind()

    def entries(self) -> int:
        self.connection.search(self.base, "(objectClass=*)", attributes=["1.1"])
        return len(self.connection.entries)


def connect(server: SlapdServer) -> ldap3.Connection:
    return ldap3.Connection(
        ldap3.Server(server.url), server.admin_dn, server.admin_password, auto_bind=True, raise_exceptions=True
    )


def read_directory(server: SlapdServer, base: str) -> Directory:
    """Every user and group under ``base``, read straight from slapd; duplicates fail here."""
    suffix = "," + base.lower()

    def relative(dn: str) -> str:
        assert dn.lower().endswith(suffix), dn
        return dn[: -len(suffix)].lower()

    connection = connect(server)
    found: Directory = {}
    people: list[str] = []
    try:
        entries = connection.extend.standard.paged_search(
            base,
            "(|(objectClass=inetOrgPerson)(objectClass=groupOfNames))",
            attributes=[*ATTRIBUTES, "member"],
            paged_size=500,
            generator=True,
        )
        for entry in entries:
            if entry.get("type") != "searchResEntry":
                continue
            attributes: dict[str, list[str]] = {}
            for name, values in entry["attributes"].items():
                listed = values if isinstance(values, list) else [values]
                if name.lower() in ("manager", "member"):
                    listed = [relative(v) for v in listed]
                if listed:
                    attributes[name.lower()] = sorted(str(v) for v in listed)
            found[relative(entry["dn"])] = attributes
            if "uid" in attributes:
                people.extend(attributes["uid"])
    finally:
        connection.unbind()
    duplicated = sorted({uid for uid in people if people.count(uid) > 1})
    assert not duplicated, f"created twice in the directory: {duplicated}"
    return found


def write_workspace(folder: Path, server: SlapdServer, base: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    assert server.ldaps_url is not None and server.ca_file is not None
    text = CONFIG.format(
        url=server.ldaps_url,
        ca_file=server.ca_file,
        bind_dn=server.admin_dn,
        password_file=server.password_file,
        base=base,
    )
    (folder / "idsync.yaml").write_text(text, encoding="utf-8")
    write_csv(folder / "hr.csv", PEOPLE, seed=21, mobile=False)


def compare(got: Directory, expected: Directory) -> None:
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    differ = {dn: (got[dn], expected[dn]) for dn in set(got) & set(expected) if got[dn] != expected[dn]}
    assert not (missing or extra or differ), (
        f"{len(missing)} entries missing, for example {missing[:3]}; {len(extra)} extra, for example {extra[:3]}; "
        f"{len(differ)} differ (got, expected), for example {list(differ.items())[:2]}"
    )


@pytest.fixture(scope="module")
def subtrees(slapd_server: SlapdServer) -> Iterator[list[str]]:
    """OUs of the session slapd this module's trials write into, each its own; deleted at the end."""
    made: list[str] = []
    yield made
    if slapd_server.running():
        for dn in made:
            slapd_server.tools.delete_subtree(dn)


def fresh_subtree(server: SlapdServer, subtrees: list[str], name: str) -> str:
    dn = f"ou=crash-{name}-{os.getpid()}-{len(subtrees)},{server.base_dn}"
    server.tools.reset_ou(dn)
    subtrees.append(dn)
    return dn


@pytest.fixture(scope="module")
def expected(
    slapd_server: SlapdServer, subtrees: list[str], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Directory, Directory]:
    """The directory after an uninterrupted first cycle, and after the HR changes that follow it."""
    base = fresh_subtree(slapd_server, subtrees, "reference")
    folder = tmp_path_factory.mktemp("crash-ldap") / "reference"
    write_workspace(folder, slapd_server, base)
    converge(folder)
    first = read_directory(slapd_server, base)
    with (folder / "hr.csv").open(encoding="utf-8", newline="") as handle:
        active = {row["employeeId"] for row in csv.DictReader(handle) if row["status"] == "active"}
    assert {uid for entry in first.values() for uid in entry.get("uid", [])} == active  # what a trial must reach
    apply_changes(folder / "hr.csv", CHANGES, seed=5)
    converge(folder)
    return first, read_directory(slapd_server, base)


@pytest.mark.parametrize("trial", range(TRIALS))
def test_sigkill_mid_export_to_openldap_then_rerun_converges(
    trial: int,
    slapd_server: SlapdServer,
    subtrees: list[str],
    expected: tuple[Directory, Directory],
    tmp_path: Path,
) -> None:
    rnd = random.Random(3000 + trial)
    base = fresh_subtree(slapd_server, subtrees, f"trial{trial}")
    write_workspace(tmp_path, slapd_server, base)

    # even trials: killed after a random delay, anywhere in a cycle; odd ones: in the middle of the export, once
    # the directory holds a random number of new entries
    with Counter(slapd_server, base) as counter:
        progress = None if trial % 2 == 0 else counter.entries
        kill_cycles(tmp_path, rnd, kills=(1, 2), delay=(1.0, 3.0), progress=progress, writes=(1, PEOPLE))
    converge(tmp_path)
    compare(read_directory(slapd_server, base), expected[0])

    apply_changes(tmp_path / "hr.csv", CHANGES, seed=5)
    kill_cycles(tmp_path, rnd, kills=(1, 2), delay=(0.8, 2.0))
    converge(tmp_path)
    compare(read_directory(slapd_server, base), expected[1])
