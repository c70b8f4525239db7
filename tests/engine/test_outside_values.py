"""Reference values that name no object of the connector space: a group member an administrator added by hand from
outside the connector's containers. A flow that owns ``member`` removes it and says so; a ``manage: known-values``
flow keeps it, and still removes a leaver idsync deprovisions."""

from __future__ import annotations

import pytest
from lab import Lab, ok, step

from idsync.connectors.memory import MemoryDirectory
from idsync.model import AttributeSpec, AttributeType, ObjectTypeSchema, RunResult, Schema

MEMBERS = AttributeSpec("members", AttributeType.REFERENCE, multivalued=True)
MEMBER = AttributeSpec("member", AttributeType.REFERENCE, multivalued=True)
HR_SCHEMA = Schema({"group": ObjectTypeSchema("group", {"members": MEMBERS}), "person": ObjectTypeSchema("person")})
DIR_SCHEMA = Schema({"group": ObjectTypeSchema("group", {"member": MEMBER}), "user": ObjectTypeSchema("user")})

CONFIG = """
connectors:
  hr: {type: memory, directory: hr, anchor_from_identifier: true}
  dir: {type: memory, directory: dir, references_by: identifier}
metaverse:
  person:
    attributes: {employeeId: string, status: string}
    deletion: {when: authoritative, authoritative: [hr]}
  group:
    attributes: {name: string, members: "reference[]"}
    deletion: {when: authoritative, authoritative: [hr]}
inbound:
  - name: hr-people
    connector: hr
    object_type: person
    metaverse_type: person
    join: [{employeeId: employeeId}]
    project: true
    flows: {employeeId: employeeId, status: status}
  - name: hr-groups
    connector: hr
    object_type: group
    metaverse_type: group
    join: [{name: name}]
    project: true
    flows: {name: name, members: members}
outbound:
  - name: dir-users
    connector: dir
    metaverse_type: person
    object_type: user
    scope: '[status] = "active"'
    provision: true
    identifier: 'Join("", "uid=", [employeeId], ",ou=people")'
    flows: {employeeId: employeeId}
    deprovision: delete
  - name: dir-groups
    connector: dir
    metaverse_type: group
    object_type: group
    provision: true
    identifier: 'Join("", "cn=", [name], ",ou=groups")'
    flows:
      member: MEMBER_FLOW
    deprovision: delete
"""
OWNS = "members"
KNOWN = "{expression: members, manage: known-values}"
GROUP = "cn=staff,ou=groups"
OUTSIDE = "uid=contractor,ou=elsewhere"


def hire(hr: MemoryDirectory, eid: str, status: str = "active") -> None:
    found = hr.find(eid)
    if found is None:
        hr.add("person", eid, {"employeeId": eid, "status": status}, anchor=eid)
    else:
        hr.replace(found.anchor, {"status": status})


def start(lab: Lab, flow: str) -> tuple[MemoryDirectory, MemoryDirectory]:
    hr, target = lab.directory("hr", schema=HR_SCHEMA), lab.directory("dir", schema=DIR_SCHEMA)
    hire(hr, "1")
    hire(hr, "2")
    hr.add("group", "staff", {"name": "staff", "members": ["1", "2"]}, anchor="staff")
    lab.configure(CONFIG.replace("MEMBER_FLOW", flow))
    ok(lab.cycle())
    assert members(target) == {"uid=1,ou=people", "uid=2,ou=people"}
    # an administrator adds, in the directory itself, a member idsync's connector space does not hold
    group = target.find(GROUP)
    assert group is not None
    target.replace(group.anchor, {"member": [*group.attributes["member"], OUTSIDE]})
    return hr, target


def members(target: MemoryDirectory) -> set[str]:
    group = target.find(GROUP)
    assert group is not None
    return set(group.attributes.get("member") or [])


def sync_messages(run: RunResult) -> list[str]:
    return [s.message or "" for s in run.steps if s.connector == "dir" and s.kind.is_sync]


def test_a_flow_that_owns_member_removes_a_value_outside_the_connector_space_and_says_so(lab: Lab) -> None:
    _, target = start(lab, OWNS)
    lab.run(("dir", "delta-import"), ("dir", "delta-sync"))
    (group,) = [c for c in lab.cs_objects("dir") if c.identifier == GROUP]
    assert group.pending_export is not None
    assert [(c.op.value, c.values) for c in group.pending_export.change("member")] == [("remove", [OUTSIDE])]
    (warning,) = group.pending_export.warnings
    for part in (GROUP, "removes 1 member value", OUTSIDE, "'dir-groups'", "manage: known-values"):
        assert part in warning
    run = ok(lab.cycle())  # a warning, not an error: the export goes on, and its step says what it removed
    export = step(run, "dir", "export")
    assert export.counters.updates == 1 and export.message == f"warning: {warning}"
    assert members(target) == {"uid=1,ou=people", "uid=2,ou=people"}
    # the audit trail, where the step's message points, keeps the warning with the export it was about
    with lab.open() as ws:
        audited = {r["identifier"]: r["warnings"] for r in ws.store.audit_search(run_id=run.id, connector="dir")}
    assert audited == {GROUP: [warning]}
    again = ok(lab.cycle())
    assert step(again, "dir", "export").counters.updates == 0
    assert not any("warning" in m for m in sync_messages(again))


def test_the_run_summary_of_the_sync_and_of_a_staging_export_carries_the_warning(lab: Lab) -> None:
    _, target = start(lab, OWNS)
    run = ok(lab.cycle(staging=True))
    warned = [m for m in sync_messages(run) if m.startswith("warning:")]
    assert len(warned) == 1 and GROUP in warned[0] and OUTSIDE in warned[0], sync_messages(run)
    staged = step(run, "dir", "export").message
    assert staged.startswith("staging mode:") and warned[0] in staged
    assert OUTSIDE in members(target)


def test_a_known_values_flow_keeps_a_member_from_outside_the_connector_space(lab: Lab) -> None:
    hr, target = start(lab, KNOWN)
    run = ok(lab.cycle())
    assert step(run, "dir", "export").counters.updates == 0
    assert not any("warning" in m for m in sync_messages(run))
    assert members(target) == {"uid=1,ou=people", "uid=2,ou=people", OUTSIDE}
    # the flow still adds what it wants, and a full sync changes nothing about the outside member
    hire(hr, "3")
    staff = hr.find("staff")
    assert staff is not None
    hr.replace(staff.anchor, {"members": ["1", "2", "3"]})
    ok(lab.cycle())
    ok(lab.run(("hr", "full-sync"), ("dir", "full-sync"), ("dir", "export")))
    assert members(target) == {"uid=1,ou=people", "uid=2,ou=people", "uid=3,ou=people", OUTSIDE}
    assert step(ok(lab.cycle()), "dir", "export").counters.updates == 0


@pytest.mark.parametrize("how", ["leaves-scope", "leaves-hr"])
def test_a_leaver_idsync_deprovisions_leaves_the_group_under_known_values(lab: Lab, how: str) -> None:
    hr, target = start(lab, KNOWN)
    if how == "leaves-scope":
        hire(hr, "2", status="leaver")  # HR still lists the leaver in the group: the account goes, and its membership
    else:
        hr.delete("2")  # the authoritative source deletes the person
    run = ok(lab.cycle())
    assert step(run, "dir", "export").counters.deletes == 1
    assert target.find("uid=2,ou=people") is None
    assert members(target) == {"uid=1,ou=people", OUTSIDE}
    again = ok(lab.cycle())
    assert step(again, "dir", "export").counters.updates == 0
    assert members(target) == {"uid=1,ou=people", OUTSIDE}


def test_a_leaver_whose_delete_is_withdrawn_is_a_member_again(lab: Lab) -> None:
    hr, target = start(lab, KNOWN)
    hire(hr, "2", status="leaver")
    lab.run(("hr", "delta-import"), ("hr", "delta-sync"))
    (group,) = [c for c in lab.cs_objects("dir") if c.identifier == GROUP]
    assert group.pending_export is not None and group.pending_export.change("member")[0].values == ["uid=2,ou=people"]
    hire(hr, "2")  # back before any export: the account stays, and so does its membership, without a flap
    lab.run(("hr", "delta-import"), ("hr", "delta-sync"))
    (group,) = [c for c in lab.cs_objects("dir") if c.identifier == GROUP]
    assert group.pending_export is None
    run = ok(lab.cycle())
    assert step(run, "dir", "export").counters.updates == 0
    assert target.find("uid=2,ou=people") is not None
    assert members(target) == {"uid=1,ou=people", "uid=2,ou=people", OUTSIDE}
