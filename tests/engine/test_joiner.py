"""An operator's join (MIM's Joiner): what the join rules cannot settle, an operator settles, and the link stays."""

from __future__ import annotations

import pytest
from lab import HR_TO_DIR, Lab, ok, person, step

from idsync.engine.disconnection import disconnect
from idsync.engine.joiner import MANUAL, MANUAL_PROJECTION, JoinRefused, ManualJoin, join, project
from idsync.engine.run_profiles import Runner
from idsync.model import CSObject, LinkState, RunStatus

# AD accounts carry no employee number: they join on the display name, which two people share
BY_NAME = """
connectors:
  hr: {type: memory, directory: hr, anchor_from_identifier: true}
  ad: {type: memory, directory: ad}
metaverse:
  person:
    attributes:
      employeeId: string
      displayName: string
      mail: string
  room:
    attributes:
      name: string
inbound:
  - name: hr-people
    connector: hr
    object_type: person
    metaverse_type: person
    join: [{employeeId: employeeId}]
    project: true
    precedence: 10
    flows:
      employeeId: employeeId
      displayName: displayName
  - name: ad-accounts
    connector: ad
    object_type: user
    metaverse_type: person
    scope: '[employeeType] = "staff"'
    precedence: 20
    join: [{displayName: displayName}]
    flows:
      mail: mail
"""

SYNC_ALL = (("hr", "full-import"), ("ad", "full-import"), ("hr", "full-sync"), ("ad", "full-sync"))


def two_anns(lab: Lab, employee_type: str = "staff") -> None:
    hr = lab.directory("hr")
    for eid in ("1", "2"):
        hr.add("person", eid, {"employeeId": eid, "displayName": "Ann Lee"}, anchor=eid)
    lab.directory("ad").add(
        "user", "cn=ann2", {"displayName": "Ann Lee", "mail": "ann2@example.org", "employeeType": employee_type}
    )
    lab.configure(BY_NAME)


def only(lab: Lab, connector: str) -> CSObject:
    (found,) = lab.cs_objects(connector)
    return found


def act(lab: Lab, cs_id: int, mv_id: int) -> ManualJoin:
    with lab.open() as ws:
        return join(Runner(ws), cs_id, mv_id)


def test_an_ambiguous_join_settled_by_the_operator_flows_and_stays(lab: Lab) -> None:
    two_anns(lab)
    run = lab.run(*SYNC_ALL)
    account = only(lab, "ad")
    assert run.status is RunStatus.COMPLETED_ERRORS and [e.code for e in lab.errors(run)] == ["ambiguous-join"]
    assert account.mv_id is None and account.error
    first, second = lab.mv_by("employeeId", "1"), lab.mv_by("employeeId", "2")
    # the error names the candidates as the command takes them, and the command
    assert f"(mv:{first.id}, mv:{second.id})" in account.error and "idsync join OBJECT --to mv:ID" in account.error

    done = act(lab, account.id, second.id)

    assert done.status is RunStatus.SUCCESS and done.joined and done.errors == []
    after = only(lab, "ad")
    assert (after.link_state, after.mv_id, after.link_rule) == (LinkState.CONNECTOR, second.id, MANUAL)
    assert after.error is None
    joined = lab.mv_by("employeeId", "2")
    assert joined.attributes["mail"] == "ann2@example.org" and joined.provenance["mail"].connector == "ad"
    assert "mail" not in lab.mv_by("employeeId", "1").attributes
    assert step(done.run, "ad", "delta-sync").counters.joins == 1
    assert done.run.profile == f"Joined ad 'cn=ann2' (cs:{account.id}) to mv:{second.id}"
    assert "explicit connector" in (done.run.steps[0].message or "")

    # the join rule would find two people again; the operator's link is not put to it, and values still flow
    changed = {"displayName": "Ann Lee", "mail": "ann.lee2@example.org", "employeeType": "staff"}
    lab.dirs["ad"].replace(account.anchor, changed)
    ok(lab.run(*SYNC_ALL))
    assert only(lab, "ad").mv_id == second.id
    assert lab.mv_by("employeeId", "2").attributes["mail"] == "ann.lee2@example.org"


def test_a_manual_link_survives_the_inbound_scope_a_rule_made_link_would_not(lab: Lab) -> None:
    two_anns(lab, employee_type="contractor")
    ok(lab.run(*SYNC_ALL))
    account = only(lab, "ad")
    assert account.link_state is LinkState.FILTERED
    second = lab.mv_by("employeeId", "2")
    assert act(lab, account.id, second.id).joined
    ok(lab.run(("ad", "full-sync")))
    kept = only(lab, "ad")
    assert (kept.link_state, kept.mv_id) == (LinkState.CONNECTOR, second.id)
    # its values flow only through a rule in scope: out of scope, it gives none
    assert "mail" not in lab.mv_by("employeeId", "2").attributes
    # an operator's disconnect still undoes it
    with lab.open() as ws:
        assert disconnect(Runner(ws), kept.id, explicit=False) is not None
    assert only(lab, "ad").mv_id is None


def test_joining_an_account_to_a_person_stages_the_outbound_flows(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    target.add("user", "uid=alee,ou=legacy", {"displayName": "A. Lee"})  # no employee number: no outbound join
    lab.configure(HR_TO_DIR.replace("    provision: true\n", ""))
    ok(lab.cycle())
    account = only(lab, "dir")
    assert account.mv_id is None
    mv = lab.mv_by("employeeId", "1")

    done = act(lab, account.id, mv.id)

    assert done.status is RunStatus.SUCCESS
    staged = only(lab, "dir").pending_export
    assert staged is not None and {c.name for c in staged.changes} >= {"employeeId", "displayName", "accountEnabled"}
    assert staged.new_identifier == "uid=1,ou=people"  # the rule's identifier flow names the account too
    ok(lab.run(("dir", "export")))
    adopted = target.find("uid=1,ou=people")
    assert adopted is not None and adopted.anchor == account.anchor and target.find("uid=alee,ou=legacy") is None
    assert (adopted.attributes["displayName"], adopted.attributes["employeeId"]) == ("Ann Lee", "1")
    assert len(target.objects()) == 1


def test_refusals_name_the_objects_and_change_nothing(lab: Lab) -> None:
    two_anns(lab)
    lab.run(*SYNC_ALL)
    hr_one = next(c for c in lab.cs_objects("hr") if c.anchor == "1")
    account = only(lab, "ad")
    first, second = lab.mv_by("employeeId", "1"), lab.mv_by("employeeId", "2")
    with lab.open() as ws:
        runs = len(ws.store.runs(50))
        runner = Runner(ws)
        with pytest.raises(JoinRefused, match="no connector-space object cs:999"):
            join(runner, 999, first.id)
        with pytest.raises(JoinRefused, match="no metaverse object mv:999"):
            join(runner, account.id, 999)
        with pytest.raises(JoinRefused, match=rf"hr '1' \(cs:{hr_one.id}\) is joined to mv:{first.id} already"):
            join(runner, hr_one.id, second.id)
        assert len(ws.store.runs(50)) == runs
    assert act(lab, account.id, second.id).joined
    lab.directory("ad").add("user", "cn=ann2b", {"displayName": "Ann Lee", "employeeType": "staff"})
    lab.run(("ad", "full-import"))
    other = next(c for c in lab.cs_objects("ad") if c.identifier == "cn=ann2b")
    with lab.open() as ws:
        runs = len(ws.store.runs(50))
        with pytest.raises(JoinRefused, match=rf"mv:{second.id} is joined to ad 'cn=ann2' \(cs:{account.id}\) already"):
            join(Runner(ws), other.id, second.id)
        assert len(ws.store.runs(50)) == runs
    # a delete an import staged is the sync's to process
    lab.dirs["ad"].delete(other.anchor)
    lab.run(("ad", "full-import"))
    with lab.open() as ws, pytest.raises(JoinRefused, match="an import staged its delete"):
        join(Runner(ws), other.id, first.id)


def test_no_rule_between_the_types_is_refused(lab: Lab) -> None:
    two_anns(lab)
    lab.configure(
        BY_NAME
        + """
  - name: hr-rooms
    connector: hr
    object_type: room
    metaverse_type: room
    project: true
    flows:
      name: name
"""
    )
    lab.directory("hr").add("room", "r1", {"name": "Blue"}, anchor="r1")
    lab.run(*SYNC_ALL)
    (room,) = lab.mv_objects("room")
    account = only(lab, "ad")
    refused = "no inbound or outbound rule pairs ad 'user' objects with 'room'"
    with lab.open() as ws, pytest.raises(JoinRefused, match=refused):
        join(Runner(ws), account.id, room.id)


def test_an_account_no_rule_projects_is_projected_by_hand_and_stays(lab: Lab) -> None:
    lab.directory("hr")
    lab.directory("ad").add(
        "user", "cn=visitor", {"displayName": "Vic Tor", "mail": "vic@example.org", "employeeType": "staff"}
    )
    lab.configure(BY_NAME)
    ok(lab.run(*SYNC_ALL))
    account = only(lab, "ad")
    assert account.link_state is LinkState.DISCONNECTOR and lab.mv_objects() == []

    with lab.open() as ws:
        done = project(Runner(ws), account.id)  # the one type its inbound rules flow into

    assert done.status is RunStatus.SUCCESS and done.joined and done.mv_id is not None
    (mv,) = lab.mv_objects("person")
    assert mv.id == done.mv_id and mv.attributes == {"mail": "vic@example.org"}
    after = only(lab, "ad")
    assert (after.link_state, after.mv_id, after.link_rule) == (LinkState.CONNECTOR, mv.id, MANUAL_PROJECTION)
    counters = step(done.run, "ad", "delta-sync").counters
    assert (counters.projections, counters.adds) == (1, 1)
    assert done.run.profile == f"Projected ad 'cn=visitor' (cs:{account.id}) into a new person"
    # no join or scope rule undoes it: out of scope now, it stays linked
    lab.dirs["ad"].replace(account.anchor, {"displayName": "Vic Tor", "employeeType": "visitor"})
    ok(lab.run(("ad", "full-import"), ("ad", "full-sync")))
    assert only(lab, "ad").mv_id == mv.id and len(lab.mv_objects()) == 1


def test_a_projection_needs_a_type_the_object_flows_into(lab: Lab) -> None:
    two_anns(lab)
    lab.configure(
        BY_NAME
        + """
  - name: ad-rooms
    connector: ad
    object_type: user
    metaverse_type: room
    flows:
      name: displayName
"""
    )
    lab.run(*SYNC_ALL)
    account = only(lab, "ad")
    with lab.open() as ws:
        runs = len(ws.store.runs(50))
        with pytest.raises(JoinRefused, match=r"could be projected into person, room: say which type"):
            project(Runner(ws), account.id)
        with pytest.raises(JoinRefused, match="no inbound rule flows ad 'user' objects into 'group'"):
            project(Runner(ws), account.id, "group")
        assert len(ws.store.runs(50)) == runs
        done = project(Runner(ws), account.id, "room")
    assert done.joined
    (room,) = lab.mv_objects("room")
    assert room.attributes == {"name": "Ann Lee"}
    hr_one = next(c for c in lab.cs_objects("hr") if c.anchor == "1")
    with lab.open() as ws, pytest.raises(JoinRefused, match=r"is joined to mv:\d+ already \(by projected:hr-people\)"):
        project(Runner(ws), hr_one.id)


def test_an_account_that_predates_the_rules_is_joined_in_place_of_the_add_never_sent(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    target.add("user", "uid=alee,ou=legacy", {"displayName": "A. Lee"})  # no employee number: no outbound join
    lab.configure(HR_TO_DIR)
    ok(lab.run(("hr", "full-import"), ("dir", "full-import"), ("hr", "full-sync")))
    staged = next(c for c in lab.cs_objects("dir") if c.anchor is None)  # provisioning's add, not exported
    legacy = next(c for c in lab.cs_objects("dir") if c.anchor is not None)
    mv = lab.mv_by("employeeId", "1")

    done = act(lab, legacy.id, mv.id)

    assert done.status is RunStatus.SUCCESS and done.dropped == f"dir 'uid=1,ou=people' (cs:{staged.id})"
    assert "never sent, was dropped" in (done.run.steps[0].message or "")
    (account,) = lab.cs_objects("dir")
    assert account.id == legacy.id and account.mv_id == mv.id
    ok(lab.run(("dir", "export")))
    (only_one,) = target.objects()
    assert only_one.anchor == legacy.anchor and only_one.identifier == "uid=1,ou=people"


def test_an_add_in_flight_is_not_replaced(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    target.add("user", "uid=alee,ou=legacy", {"displayName": "A. Lee"})
    lab.configure(HR_TO_DIR)
    ok(lab.run(("hr", "full-import"), ("dir", "full-import"), ("hr", "full-sync")))
    staged = next(c for c in lab.cs_objects("dir") if c.anchor is None)
    legacy = next(c for c in lab.cs_objects("dir") if c.anchor is not None)
    with lab.open() as ws:
        assert staged.pending_export is not None
        staged.pending_export.in_flight = True  # an export was sending it when the process stopped
        ws.store.cs_save([staged])
        with pytest.raises(JoinRefused, match=rf"mv:{staged.mv_id} is joined to dir 'uid=1,ou=people'"):
            join(Runner(ws), legacy.id, staged.mv_id or 0)
