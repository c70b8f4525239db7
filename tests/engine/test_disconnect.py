"""An operator's disconnection (MIM's "Disconnect", normal or explicit, and "Convert to normal disconnector"): the
sync's own consequences at once, in the run history, under the run lock."""

from __future__ import annotations

import os
import socket

import pytest
from lab import HR_TO_DIR, Lab, ok, person, step

from idsync.engine.disconnection import Disconnection, DisconnectRefused, disconnect, make_normal
from idsync.engine.run_profiles import RUN_LOCK, RunLocked, Runner
from idsync.model import CSObject, LinkState, RunStatus

TWO_SOURCES = """
connectors:
  hr: {type: memory, directory: hr, anchor_from_identifier: true}
  ad: {type: memory, directory: ad}
metaverse:
  person:
    attributes:
      employeeId: string
      displayName: string
      telephone: string
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
      telephone: phone
  - name: ad-accounts
    connector: ad
    object_type: user
    metaverse_type: person
    precedence: 20
    join: [{employeeId: employeeID}]
    flows:
      employeeId: employeeID
      displayName: displayName
      telephone: telephoneNumber
"""

BOTH = (("hr", "full-import"), ("ad", "full-import"), ("hr", "full-sync"), ("ad", "full-sync"))


def two_sources(lab: Lab) -> None:
    lab.directory("hr").add("person", "1", {"employeeId": "1", "displayName": "Ann HR", "phone": "+1 555"}, anchor="1")
    lab.directory("ad").add("user", "cn=ann", {"employeeID": "1", "displayName": "Ann AD", "telephoneNumber": "+1 9"})
    lab.configure(TWO_SOURCES)
    ok(lab.run(*BOTH))


def only(lab: Lab, connector: str) -> CSObject:
    (found,) = lab.cs_objects(connector)
    return found


def act(lab: Lab, cs_id: int, *, explicit: bool = False) -> Disconnection:
    with lab.open() as ws:
        done = disconnect(Runner(ws), cs_id, explicit=explicit)
    assert done is not None
    return done


def test_a_disconnection_hands_each_value_to_the_next_contributor_and_the_next_sync_joins_again(lab: Lab) -> None:
    two_sources(lab)
    hr = only(lab, "hr")
    mv = lab.mv_by("employeeId", "1")
    assert (mv.attributes["displayName"], mv.provenance["displayName"].connector) == ("Ann HR", "hr")
    done = act(lab, hr.id)
    assert done.status is RunStatus.SUCCESS and done.disconnected and done.mv_id == mv.id and not done.mv_deleted
    after = lab.mv_by("employeeId", "1")
    # every value hr gave falls to ad, the next contributor by precedence
    assert after.attributes["displayName"] == "Ann AD" and after.attributes["telephone"] == "+1 9"
    assert {a: c.connector for a, c in after.provenance.items()} == dict.fromkeys(after.attributes, "ad")
    cs = only(lab, "hr")
    assert (cs.link_state, cs.mv_id, cs.link_rule) == (LinkState.DISCONNECTOR, None, None)
    # recorded in the run history, one sync step whose counters say what happened
    with lab.open() as ws:
        (run,) = [r for r in ws.store.runs(5) if r.profile == f"Disconnected hr {hr.identifier!r} (cs:{hr.id})"]
    assert run.status is RunStatus.SUCCESS and run.steps[0].counters.disconnections == 1
    assert "disconnected from mv:" in (run.steps[0].message or "")
    # a normal disconnector: the next sync (a delta one will do) runs the join rules again
    ok(lab.run(("hr", "delta-sync")))
    assert only(lab, "hr").mv_id == mv.id
    assert lab.mv_by("employeeId", "1").attributes["displayName"] == "Ann HR"


def test_an_explicit_disconnector_is_never_joined_or_projected_until_converted(lab: Lab) -> None:
    two_sources(lab)
    hr = only(lab, "hr")
    mv_id = hr.mv_id
    done = act(lab, hr.id, explicit=True)
    assert done.after is not None and done.after.link_state is LinkState.EXPLICIT
    lab.dirs["hr"].replace("1", {"employeeId": "1", "displayName": "Ann Changed", "phone": "+1 555"})
    ok(lab.run(("hr", "full-import"), ("hr", "full-sync"), ("hr", "delta-sync")))
    cs = only(lab, "hr")
    assert cs.link_state is LinkState.EXPLICIT and cs.mv_id is None
    assert len(lab.mv_objects()) == 1 and lab.mv_by("employeeId", "1").attributes["displayName"] == "Ann AD"
    with lab.open() as ws:
        assert disconnect(Runner(ws), hr.id, explicit=True) is None  # nothing to do
        normal = make_normal(Runner(ws), hr.id)
    assert normal.after is not None and normal.after.link_state is LinkState.DISCONNECTOR
    ok(lab.run(("hr", "delta-sync")))
    cs = only(lab, "hr")
    assert cs.mv_id == mv_id and cs.link_state is LinkState.CONNECTOR
    assert lab.mv_by("employeeId", "1").attributes["displayName"] == "Ann Changed"


def test_the_last_connector_gone_deletes_the_metaverse_object(lab: Lab) -> None:
    two_sources(lab)
    act(lab, only(lab, "hr").id, explicit=True)
    done = act(lab, only(lab, "ad").id)
    assert done.mv_deleted and lab.mv_objects() == []
    assert step(done.run, "ad", "delta-sync").counters.mv_deletes == 1


def test_an_authoritative_source_disconnected_deletes_the_person_and_deprovisions_the_target(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    lab.configure(HR_TO_DIR)
    ok(lab.cycle())
    account = target.find("uid=1,ou=people")
    assert account is not None and account.attributes["accountEnabled"] == "True"
    done = act(lab, only(lab, "hr").id, explicit=True)
    assert done.mv_deleted and lab.mv_objects() == []
    # the target's deprovision action (disable) is staged, as when HR deletes the person
    ok(lab.run(("dir", "export")))
    assert account.attributes["accountEnabled"] == "False"
    assert only(lab, "dir").mv_id is None


def test_a_target_made_explicit_is_not_adopted_again_and_provisioning_creates_no_second_object(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    lab.configure(HR_TO_DIR)
    ok(lab.cycle())
    account = only(lab, "dir")
    done = act(lab, account.id, explicit=True)
    # the link is gone; provisioning meets the explicit disconnector's identifier: an error row, not a second add
    assert done.disconnected and done.status is RunStatus.COMPLETED_ERRORS
    assert [e.code for e in done.errors] == ["already-exists"] and "explicit disconnector" in done.errors[0].reason
    assert only(lab, "dir").link_state is LinkState.EXPLICIT
    run = lab.cycle()
    assert step(run, "dir", "export").counters.adds == 0 and len(target.objects()) == 1
    assert only(lab, "dir").mv_id is None


def test_a_normal_disconnection_of_a_target_is_adopted_again_by_the_outbound_join(lab: Lab) -> None:
    person(lab.directory("hr"), "1", "Ann", "Lee")
    lab.directory("dir")
    lab.configure(HR_TO_DIR)
    ok(lab.cycle())
    account = only(lab, "dir")
    done = act(lab, account.id)
    assert done.status is RunStatus.SUCCESS and done.after is not None
    assert done.after.mv_id == account.mv_id and done.after.link_rule == "joined-out:dir-users"
    assert "joined again at once" in (done.run.steps[0].message or "")


def test_refusals_name_the_object_and_change_nothing(lab: Lab) -> None:
    hr = lab.directory("hr")
    lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    lab.configure(HR_TO_DIR)
    ok(lab.run(("hr", "full-import"), ("hr", "full-sync")))  # the target's add is staged, not exported
    account = only(lab, "dir")
    with lab.open() as ws:
        runs = len(ws.store.runs(50))
        with pytest.raises(DisconnectRefused, match="no connector-space object cs:999"):
            disconnect(Runner(ws), 999, explicit=False)
        with pytest.raises(DisconnectRefused, match=r"dir 'uid=1,ou=people' \(cs:\d+\) is an add not exported yet"):
            disconnect(Runner(ws), account.id, explicit=True)
        with pytest.raises(DisconnectRefused, match="is not an explicit disconnector"):
            make_normal(Runner(ws), account.id)
        assert len(ws.store.runs(50)) == runs
    ok(lab.run(("dir", "export")))
    source = only(lab, "hr")
    act(lab, source.id, explicit=True)
    with lab.open() as ws:
        make_normal(Runner(ws), source.id)
        with pytest.raises(DisconnectRefused, match=r"hr '1' \(cs:\d+\) is not joined to a metaverse object"):
            disconnect(Runner(ws), source.id, explicit=False)


def test_a_run_in_progress_refuses_the_disconnection(lab: Lab) -> None:
    two_sources(lab)
    hr = only(lab, "hr")
    holder = f"{socket.gethostname()}:{os.getpid()}:42"
    with lab.open() as ws:
        assert ws.store.acquire_lock(RUN_LOCK, holder, 3600)
        with pytest.raises(RunLocked, match=holder):
            disconnect(Runner(ws), hr.id, explicit=True)
        ws.store.release_lock(RUN_LOCK, holder)
    assert only(lab, "hr").mv_id is not None
