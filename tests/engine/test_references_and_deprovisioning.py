"""References through links both ways, deprovisioning actions and the MV deletion rule."""

from __future__ import annotations

import pytest
from lab import HR_TO_DIR, Lab, ok, person, step

from idsync.model import AttributeSpec, AttributeType, LinkState, ObjectTypeSchema, Schema
from idsync.store.sqlite.store import SQLiteStore

DIR_SCHEMA = Schema(
    {"user": ObjectTypeSchema("user", {"accountEnabled": AttributeSpec("accountEnabled", AttributeType.BOOLEAN)})}
)


def test_manager_references_resolve_in_and_out_including_same_run_provisioning(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    # the employee sorts before the manager: the manager is provisioned after the employee in the same sync
    person(hr, "1", "Emp", "Loyee", manager="9")
    person(hr, "9", "Man", "Ager")
    lab.configure(HR_TO_DIR)
    run = ok(lab.cycle())
    mv_emp, mv_man = lab.mv_by("employeeId", "1"), lab.mv_by("employeeId", "9")
    assert mv_emp.attributes["manager"] == str(mv_man.id)
    emp = target.find("uid=1,ou=people")
    man = target.find("uid=9,ou=people")
    assert emp is not None and man is not None
    assert emp.attributes["manager"] == man.anchor  # the target's own key for the manager, known only after its add
    assert step(run, "dir", "export").counters.adds == 2
    again = ok(lab.cycle())
    assert step(again, "dir", "export").counters.updates == 0


def test_unresolved_reference_waits_and_resolves_at_a_later_sync(lab: Lab) -> None:
    hr = lab.directory("hr")
    lab.directory("dir")
    person(hr, "1", "Emp", "Loyee", manager="9")
    lab.configure(HR_TO_DIR)
    ok(lab.cycle())
    assert "manager" not in lab.mv_by("employeeId", "1").attributes
    with lab.open() as ws:
        waiting = ws.store.unresolved_for_mv([lab.mv_by("employeeId", "1").id])
    assert [(u.direction, u.attribute, u.ref) for u in waiting] == [("in", "manager", "9")]
    person(hr, "9", "Man", "Ager")
    ok(lab.cycle())
    assert lab.mv_by("employeeId", "1").attributes["manager"] == str(lab.mv_by("employeeId", "9").id)
    target = lab.dirs["dir"]
    emp, man = target.find("uid=1,ou=people"), target.find("uid=9,ou=people")
    assert emp is not None and man is not None and emp.attributes["manager"] == man.anchor


def test_rename_through_the_identifier_flow(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee", department="Sales")
    by_department = 'Join("", "uid=", [employeeId], ",ou=", [department])'
    lab.configure(HR_TO_DIR.replace('Join("", "uid=", [employeeId], ",ou=people")', by_department))
    ok(lab.cycle())
    anchor = target.find("uid=1,ou=Sales").anchor  # type: ignore[union-attr]
    person(hr, "1", "Ann", "Lee", department="Legal")
    run = ok(lab.cycle())
    assert step(run, "dir", "export").counters.renames == 1
    moved = target.get(anchor)
    assert moved is not None and moved.identifier == "uid=1,ou=Legal" and moved.attributes["department"] == "Legal"
    assert ("add", "uid=1,ou=Legal") not in target.exported


@pytest.mark.parametrize("action", ["delete", "disable", "disconnect", "keep"])
def test_deprovisioning_actions_when_an_object_leaves_scope(lab: Lab, action: str) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir", schema=DIR_SCHEMA)
    person(hr, "1", "Ann", "Lee")
    person(hr, "2", "Bob", "Ray")
    lab.configure(HR_TO_DIR.replace("deprovision: disable", f"deprovision: {action}"))
    ok(lab.cycle())
    anchor = target.find("uid=1,ou=people").anchor  # type: ignore[union-attr]
    person(hr, "1", "Ann", "Lee", status="leaver", department="Gone")
    run = ok(lab.cycle())
    obj = target.get(anchor)
    cs = next(c for c in lab.cs_objects("dir") if c.anchor == anchor) if action != "delete" else None
    if action == "delete":
        assert obj is None and step(run, "dir", "export").counters.deletes == 1
        assert not any(c.anchor == anchor for c in lab.cs_objects("dir"))
    elif action == "disable":
        assert obj is not None and obj.attributes["accountEnabled"] is False
        assert obj.attributes["department"] == "Sales"  # disabled objects stop flowing
        assert cs is not None and cs.mv_id is not None
    elif action == "disconnect":
        assert obj is not None and obj.attributes["accountEnabled"] is True
        assert cs is not None and cs.mv_id is None and cs.link_state is LinkState.DISCONNECTOR
    else:
        assert obj is not None and obj.attributes["accountEnabled"] is True and obj.attributes["department"] == "Sales"
        assert cs is not None and cs.mv_id is not None
    assert target.find("uid=2,ou=people") is not None
    second = ok(lab.cycle())
    assert step(second, "dir", "export").counters.updates == 0


def test_authoritative_source_delete_deletes_mv_and_deprovisions(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    lab.configure(HR_TO_DIR.replace("deprovision: disable", "deprovision: delete"))
    ok(lab.cycle())
    assert len(target) == 1
    hr.delete("1")
    run = ok(lab.cycle())
    assert step(run, "hr", "delta-sync").counters.mv_deletes == 1
    assert lab.mv_objects() == [] and len(target) == 0 and lab.cs_objects("dir") == []


def test_last_connector_rule_keeps_the_mv_object_while_a_target_is_linked(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    last = "deletion: {when: last-connector}"
    lab.configure(HR_TO_DIR.replace("deletion: {when: authoritative, authoritative: [hr]}", last))
    ok(lab.cycle())
    hr.delete("1")
    ok(lab.cycle())
    (mv,) = lab.mv_objects()
    assert mv.attributes == {}  # every value it had came from HR
    assert len(target) == 1 and lab.cs_objects("dir")[0].mv_id == mv.id


def test_deleting_a_referenced_object_clears_the_reference_without_a_full_sync(lab: Lab) -> None:
    hr = lab.directory("hr")
    lab.directory("dir")
    person(hr, "1", "Emp", "Loyee", manager="9")
    person(hr, "9", "Man", "Ager")
    lab.configure(HR_TO_DIR)
    ok(lab.cycle())
    hr.delete("9")
    ok(lab.cycle())
    assert "manager" not in lab.mv_by("employeeId", "1").attributes
    emp = lab.dirs["dir"].find("uid=1,ou=people")
    assert emp is not None and "manager" not in emp.attributes


AD_JOINED = """
connectors:
  hr: {type: memory, directory: hr, anchor_from_identifier: true}
  ad: {type: memory, directory: ad}
metaverse:
  person:
    attributes: {employeeId: string, displayName: string, status: string, mail: string}
    deletion: {when: authoritative, authoritative: [hr]}
inbound:
  - name: hr-people
    connector: hr
    object_type: person
    metaverse_type: person
    join: [{employeeId: employeeId}]
    project: true
    flows: {employeeId: employeeId, displayName: 'Join(" ", [givenName], [sn])', status: status}
  - name: ad-accounts
    connector: ad
    object_type: user
    metaverse_type: person
    join: [{employeeId: employeeID}]
    flows: {mail: mail}
outbound:
  - name: ad-users
    connector: ad
    metaverse_type: person
    object_type: user
    scope: '[status] = "active"'
    flows: {displayName: displayName, accountEnabled: 'True'}
    deprovision: disable
    deprovision_flows: {accountEnabled: 'False'}
"""


@pytest.mark.parametrize("how", ["leaves-scope", "deleted-from-hr"])
def test_an_account_an_inbound_rule_joined_is_deprovisioned_like_a_provisioned_one(lab: Lab, how: str) -> None:
    hr, ad = lab.directory("hr"), lab.directory("ad")
    person(hr, "1", "Ann", "Lee")
    account = ad.add("user", "cn=ann", {"employeeID": "1", "mail": "ann@example.org", "accountEnabled": "True"})
    lab.configure(AD_JOINED)
    ok(lab.cycle())
    assert lab.mv_by("employeeId", "1").attributes["mail"] == "ann@example.org"  # joined by the inbound rule
    if how == "leaves-scope":
        person(hr, "1", "Ann", "Lee", status="left")
    else:
        hr.delete(hr.find("1").anchor)  # the authoritative source deletes: the MV object goes
    run = ok(lab.cycle())
    assert step(run, "hr", "delta-sync").counters.deprovisioned == 1
    assert ad.get(account).attributes["accountEnabled"] == "False"
    assert (lab.mv_objects() == []) is (how == "deleted-from-hr")


def test_a_target_object_deleted_outside_is_provisioned_again_by_a_delta_cycle(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    person(hr, "2", "Bob", "Ray")
    lab.configure(HR_TO_DIR)
    ok(lab.cycle())
    target.delete(target.find("uid=1,ou=people").anchor)  # an administrator deletes Ann's account
    run = ok(lab.cycle())  # the delta import stages the delete; its sync provisions her again, as a full sync would
    assert step(run, "dir", "export").counters.adds == 1
    assert sorted(o.identifier for o in target.objects()) == ["uid=1,ou=people", "uid=2,ou=people"]
    again = ok(lab.cycle())
    assert step(again, "dir", "export").counters.adds == 0


@pytest.mark.parametrize("how", ["back-in-scope", "back-in-hr"])
def test_a_pending_delete_is_withdrawn_when_the_person_comes_back_before_the_export(lab: Lab, how: str) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    person(hr, "2", "Bob", "Ray")
    lab.configure(HR_TO_DIR.replace("deprovision: disable", "deprovision: delete"))
    ok(lab.cycle())
    if how == "back-in-scope":
        person(hr, "1", "Ann", "Lee", status="left")
    else:
        hr.delete("1")  # the MV object goes; the account waits for its delete, unlinked
    lab.run(("hr", "delta-import"), ("hr", "delta-sync"))
    ann = next(c for c in lab.cs_objects("dir") if c.identifier == "uid=1,ou=people")
    assert ann.pending_export is not None and ann.pending_export.op.value == "delete"
    person(hr, "1", "Ann", "Lee")  # back before any export ran: the same account is hers again (outbound join)
    run = ok(lab.cycle())
    ann = next(c for c in lab.cs_objects("dir") if c.identifier == "uid=1,ou=people")
    assert ann.mv_id is not None and ann.pending_export is None
    assert step(run, "dir", "export").counters.deletes == 0
    assert sorted(o.identifier for o in target.objects()) == ["uid=1,ou=people", "uid=2,ou=people"]


def test_a_delta_sync_does_not_read_every_unresolved_reference(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    hr = lab.directory("hr")
    lab.directory("dir")
    for i in range(45):
        person(hr, f"{i:02}", f"G{i}", f"S{i}", manager="99")  # a manager HR does not have yet: 45 unresolved
    lab.configure(HR_TO_DIR)
    ok(lab.cycle())
    with lab.open() as ws:
        assert ws.store.unresolved_count() >= 45

    def read_whole(self: object) -> list[object]:
        raise AssertionError("a delta sync of one change read every unresolved reference")

    monkeypatch.setattr(SQLiteStore, "unresolved_all", read_whole)
    person(hr, "99", "Man", "Ager")  # the manager arrives: one change, and everyone waiting for it resolves
    ok(lab.cycle())
    manager = lab.mv_by("employeeId", "99")
    assert all(lab.mv_by("employeeId", f"{i:02}").attributes["manager"] == str(manager.id) for i in range(45))
    with lab.open() as ws:
        assert ws.store.unresolved_count() == 0
    again = ok(lab.cycle())
    assert step(again, "dir", "export").counters.updates == 0


def test_the_reports_of_a_deleted_manager_stop_naming_him_before_his_delete_is_sent(lab: Lab) -> None:
    """The manager leaves HR while his report's row still names him: the report's manager is cleared in the same
    sync, and the export sends that update before the delete (a directory that checks references may refuse
    a change naming an entry it deleted), whatever order the connector space holds them in."""
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Man", "Ager")
    person(hr, "2", "Emp", "Loyee", manager="1")
    lab.configure(HR_TO_DIR.replace("deprovision: disable", "deprovision: delete"))
    ok(lab.cycle())
    hr.delete("1")
    run = ok(lab.cycle())
    assert target.find("uid=1,ou=people") is None
    emp = target.find("uid=2,ou=people")
    assert emp is not None and "manager" not in emp.attributes
    with lab.open() as ws:
        rows = list(ws.store.audit_search(run_id=run.id, connector="dir", limit=100))
    assert [(r["op"], r["identifier"]) for r in reversed(rows)] == [
        ("update", "uid=2,ou=people"),
        ("delete", "uid=1,ou=people"),
    ]
