"""End to end against a real OpenLDAP: an administrator adds to a group idsync manages a member from an OU outside
the connector's containers. A ``member`` flow that owns the attribute removes it at the next export, and the sync
that stages the removal says so; a ``manage: known-values`` flow keeps it through every cycle, and still takes out
a leaver idsync deletes. The directory is read back with the real ``ldapsearch``."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from test_hr_to_openldap import CONFIG, NOTHING, Workspace, exported, step

from idsync.cli.main import cli
from idsync.testing.directories import SlapdServer

pytestmark = pytest.mark.ldap

HR = [
    "person,E100,,Ada,Lovelace,Engineering,CTO,,",
    "person,E101,,Grace,Hopper,Engineering,Engineer,E100,",
    "department,D-ENG,Engineering,,,,,,E100;E101",
]
KNOWN_VALUES = "member: {{expression: members, manage: known-values}}"


def make(folder: Path, server: SlapdServer, base: str, *, known_values: bool) -> Workspace:
    """The HR-to-OpenLDAP workspace, importing only ou=people and ou=groups, with ou=partners beside them."""
    for ou in ("people", "groups", "partners"):
        server.tools.add(f"dn: ou={ou},{base}\nobjectClass: organizationalUnit\nou: {ou}\n")
    text = CONFIG.replace(
        "    base_dn: {base}\n", '    base_dn: {base}\n    containers: ["ou=people,{base}", "ou=groups,{base}"]\n'
    )
    if known_values:
        text = text.replace("member: members", KNOWN_VALUES)
    assert server.ldaps_url is not None and server.ca_file is not None
    settings = {
        "url": server.ldaps_url,
        "ca_file": server.ca_file,
        "bind_dn": server.admin_dn,
        "password_file": server.password_file,
        "base": base,
        "backend": "python-ldap",
        "delta": "accesslog",
        "batch": 100,
    }
    (folder / "idsync.yaml").write_text(text.format(**settings), encoding="utf-8")
    return Workspace(folder, server, base)


def members(workspace: Workspace, group: str) -> set[str]:
    return set(workspace.directory()[group].get("member", []))


@pytest.mark.parametrize("known_values", [False, True], ids=["owns-member", "known-values"])
def test_a_member_from_outside_the_containers(
    tmp_path: Path, slapd_server: SlapdServer, slapd_subtree: str, known_values: bool
) -> None:
    workspace = make(tmp_path, slapd_server, slapd_subtree, known_values=known_values)
    ada, grace = (f"cn={n},ou=Engineering,ou=people,{slapd_subtree}" for n in ("Ada Lovelace", "Grace Hopper"))
    group = f"cn=Engineering,ou=groups,{slapd_subtree}"
    contractor = f"cn=Contractor,ou=partners,{slapd_subtree}"
    workspace.write_hr(HR)
    workspace.run("initial")
    assert members(workspace, group) == {ada, grace}

    # an administrator adds, in the directory itself, someone idsync's connector space does not hold
    tools = slapd_server.tools
    tools.add(f"dn: {contractor}\nobjectClass: inetOrgPerson\ncn: Contractor\nsn: Contractor\n")
    tools.modify(f"dn: {group}\nchangetype: modify\nadd: member\nmember: {contractor}\n")
    seen = workspace.run("delta")  # its confirming import reads the new member; its last sync decides about it
    message = step(seen, "dir", "delta-sync").get("message", "")
    shown = CliRunner().invoke(cli, ["-C", str(tmp_path), "show", f"dir:{group}"]).stdout
    after = workspace.run("delta")
    if known_values:
        assert "warning" not in message and "warning" not in shown
        assert exported(after) == NOTHING
        assert members(workspace, group) == {ada, grace, contractor}
    else:
        for part in (group, "removes 1 member value", contractor, "manage: known-values"):
            assert part in message, message
        assert "warning:" in shown and "Contractor" in shown, shown
        assert exported(after)["updates"] == 1  # a warning, not an error: the export goes on
        assert members(workspace, group) == {ada, grace}
    assert exported(workspace.run("cycle")) == NOTHING

    # a leaver: idsync deletes her account, and she leaves the group whatever the flow manages
    workspace.write_hr([HR[0], HR[2].replace("E100;E101", "E100")])
    left = workspace.run("delta")
    assert exported(left)["deletes"] == 1 and exported(left)["errors"] == 0
    assert grace not in workspace.directory()
    assert members(workspace, group) == ({ada, contractor} if known_values else {ada})
    assert exported(workspace.run("cycle")) == NOTHING
