"""Join and projection: scope, ordered join rules, ambiguity, one CS object per connector per MV object."""

from __future__ import annotations

from lab import HR_TO_DIR, Lab, ok, person, step

from idsync.model import LinkState, RunStatus

TWO_SOURCES = """
connectors:
  hr: {type: memory, directory: hr, anchor_from_identifier: true}
  ad: {type: memory, directory: ad}
metaverse:
  person:
    attributes: {employeeId: string, mail: string, displayName: string, department: string, status: string}
inbound:
  - name: hr-people
    connector: hr
    object_type: person
    metaverse_type: person
    scope: '[status] <> "deleted"'
    join: [{employeeId: employeeId}]
    project: true
    flows: {employeeId: employeeId, displayName: 'Join(" ", [givenName], [sn])', department: department, status: status}
  - name: ad-accounts
    connector: ad
    object_type: user
    metaverse_type: person
    join:
      - {employeeId: employeeID}
      - {displayName: 'Join(" ", [givenName], [sn])', department: department}
    flows: {mail: mail}
"""


def test_projection_then_join_by_first_matching_rule(lab: Lab) -> None:
    hr, ad = lab.directory("hr"), lab.directory("ad")
    person(hr, "1", "Ann", "Lee")
    person(hr, "2", "Bob", "Ray", department="Legal")
    ad.add("user", "cn=ann", {"employeeID": "1", "mail": "ann@x"})
    ad.add("user", "cn=bob", {"givenName": "Bob", "sn": "Ray", "department": "Legal", "mail": "bob@x"})
    ad.add("user", "cn=svc", {"mail": "svc@x"})
    lab.configure(TWO_SOURCES)
    run = ok(lab.run(("hr", "full-import"), ("ad", "full-import"), ("hr", "full-sync"), ("ad", "full-sync")))
    assert step(run, "hr", "full-sync").counters.projections == 2
    assert step(run, "ad", "full-sync").counters.joins == 2
    assert lab.mv_by("employeeId", "1").attributes["mail"] == "ann@x"
    assert lab.mv_by("employeeId", "2").attributes["mail"] == "bob@x"  # second join rule
    svc = next(c for c in lab.cs_objects("ad") if c.identifier == "cn=svc")
    assert svc.link_state is LinkState.DISCONNECTOR and svc.mv_id is None
    joined = {c.identifier: c.link_rule for c in lab.cs_objects("ad") if c.mv_id}
    assert joined == {"cn=ann": "joined:ad-accounts", "cn=bob": "joined:ad-accounts"}


def test_ambiguous_join_is_an_error_row_and_the_run_goes_on(lab: Lab) -> None:
    hr, ad = lab.directory("hr"), lab.directory("ad")
    person(hr, "1", "Ann", "Lee", department="Sales")
    person(hr, "2", "Ann", "Lee", department="Sales")
    person(hr, "3", "Cy", "Ng")
    ad.add("user", "cn=ann", {"givenName": "Ann", "sn": "Lee", "department": "Sales", "mail": "ann@x"})
    ad.add("user", "cn=cy", {"employeeID": "3", "mail": "cy@x"})
    lab.configure(TWO_SOURCES)
    run = lab.run(("hr", "full-import"), ("ad", "full-import"), ("hr", "full-sync"), ("ad", "full-sync"))
    assert run.status is RunStatus.COMPLETED_ERRORS
    sync = step(run, "ad", "full-sync")
    assert sync.status is RunStatus.COMPLETED_ERRORS and sync.counters.errors == 1 and sync.counters.joins == 1
    (error,) = lab.errors(run)
    assert error.code == "ambiguous-join" and error.identifier == "cn=ann"
    assert "matches 2 objects" in error.reason
    ann = next(c for c in lab.cs_objects("ad") if c.identifier == "cn=ann")
    assert ann.mv_id is None and ann.error is not None
    assert ann.pending_import is not None  # kept for the next sync, nothing staged is lost


def test_second_candidate_from_same_connector_is_refused(lab: Lab) -> None:
    hr, ad = lab.directory("hr"), lab.directory("ad")
    person(hr, "1", "Ann", "Lee")
    ad.add("user", "cn=ann1", {"employeeID": "1", "mail": "a1@x"})
    ad.add("user", "cn=ann2", {"employeeID": "1", "mail": "a2@x"})
    lab.configure(TWO_SOURCES)
    run = lab.run(("hr", "full-import"), ("ad", "full-import"), ("hr", "full-sync"), ("ad", "full-sync"))
    (error,) = lab.errors(run)
    assert error.code == "join-conflict" and "already joined" in error.reason
    assert sum(1 for c in lab.cs_objects("ad") if c.mv_id) == 1


def test_out_of_scope_object_becomes_filtered_and_unlinks(lab: Lab) -> None:
    hr = lab.directory("hr")
    lab.directory("ad")
    person(hr, "1", "Ann", "Lee")
    lab.configure(TWO_SOURCES)
    ok(lab.run(("hr", "full-import"), ("hr", "full-sync")))
    assert len(lab.mv_objects()) == 1
    person(hr, "1", "Ann", "Lee", status="deleted")
    run = ok(lab.run(("hr", "delta-import"), ("hr", "delta-sync")))
    assert step(run, "hr", "delta-sync").counters.disconnections == 1
    (cs,) = lab.cs_objects("hr")
    assert cs.link_state is LinkState.FILTERED and cs.mv_id is None
    assert lab.mv_objects() == []  # its last connector went: the MV object is deleted


def test_join_on_values_changed_elsewhere_flags_waiting_disconnectors(lab: Lab) -> None:
    """A disconnector that could not join is looked at again when an MV object gains its join value."""
    hr, ad = lab.directory("hr"), lab.directory("ad")
    ad.add("user", "cn=late", {"employeeID": "9", "mail": "late@x"})
    lab.configure(TWO_SOURCES)
    ok(lab.run(("ad", "full-import"), ("ad", "full-sync")))
    assert lab.cs_objects("ad")[0].mv_id is None
    person(hr, "9", "Lat", "E")
    ok(lab.run(("hr", "full-import"), ("hr", "delta-sync"), ("ad", "delta-sync")))
    assert lab.cs_objects("ad")[0].mv_id == lab.mv_by("employeeId", "9").id


def test_outbound_join_adopts_existing_target_object_instead_of_creating(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    person(hr, "2", "Bob", "Ray")
    existing = target.add("user", "uid=old-ann", {"employeeId": "1", "displayName": "Ann (old)"})
    lab.configure(HR_TO_DIR)
    run = ok(lab.cycle())
    assert step(run, "dir", "export").counters.adds == 1
    ann = target.get(existing)
    assert ann is not None and ann.attributes["displayName"] == "Ann Lee"
    assert len(target) == 2
    assert ("add", "uid=old-ann") not in target.exported


def test_an_ambiguous_outbound_join_is_an_error_row_and_adopts_nothing(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    person(hr, "2", "Bob", "Ray")
    target.add("user", "uid=a", {"employeeId": "1"})
    target.add("user", "uid=b", {"employeeId": "1"})
    lab.configure(HR_TO_DIR)
    run = lab.cycle()
    assert run.status is RunStatus.COMPLETED_ERRORS
    (error,) = lab.errors(run)
    assert error.code == "ambiguous-join" and "matches 2 objects" in error.reason
    assert step(run, "dir", "export").counters.adds == 1  # Bob: the run went on
    linked = {c.identifier: c.mv_id is not None for c in lab.cs_objects("dir")}
    assert linked == {"uid=a": False, "uid=b": False, "uid=2,ou=people": True}
    assert len(target) == 3 and ("add", "uid=1,ou=people") not in target.exported


def test_provisioning_refuses_to_take_over_an_unjoined_object_with_the_same_identifier(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    target.add("user", "uid=1,ou=people", {"displayName": "someone else"})
    without_outbound_join = "    join: [{employeeId: employeeId}]\n    flows:\n      employeeId"
    lab.configure(HR_TO_DIR.replace(without_outbound_join, "    flows:\n      employeeId"))
    run = lab.cycle()
    assert run.status is RunStatus.COMPLETED_ERRORS
    (error,) = lab.errors(run)
    assert error.code == "already-exists" and "uid=1,ou=people" in error.reason
    assert target.find("uid=1,ou=people").attributes == {"displayName": "someone else"}  # type: ignore[union-attr]


DN_FLOWS = """
connectors:
  ad: {type: memory, directory: ad}
metaverse:
  person:
    attributes: {employeeId: string, department: string, cn: string}
inbound:
  - name: ad-accounts
    connector: ad
    object_type: user
    metaverse_type: person
    dialect: connect
    scope: 'InStr([dn], "OU=Staff") > 0'
    project: true
    flows:
      employeeId: employeeID
      department: 'DNComponent(CRef([dn]), 2)'
      cn: 'Replace(DNComponent(CRef([dn]), 1), "CN=", "")'
"""


def test_inbound_expressions_read_the_objects_dn(lab: Lab) -> None:
    """``[dn]`` is the object's identifier, as MIM's dn-part flows and Connect's rules read it: in scope and flows."""
    ad = lab.directory("ad")
    ad.add("user", "CN=Ann Lee,OU=Sales,OU=Staff,DC=x", {"employeeID": "1"})
    ad.add("user", "CN=svc-backup,OU=Service,DC=x", {"employeeID": "2"})
    lab.configure(DN_FLOWS)
    ok(lab.run(("ad", "full-import"), ("ad", "full-sync")))
    (ann,) = lab.mv_objects("person")
    assert ann.attributes == {"employeeId": "1", "department": "Sales", "cn": "Ann Lee"}


def test_an_attribute_named_dn_is_read_as_it_is(lab: Lab) -> None:
    ad = lab.directory("ad")
    ad.add("user", "CN=Ann Lee,OU=Sales,OU=Staff,DC=x", {"employeeID": "1", "dn": "CN=Ann,OU=Legal,OU=Staff,DC=y"})
    lab.configure(DN_FLOWS)
    ok(lab.run(("ad", "full-import"), ("ad", "full-sync")))
    (ann,) = lab.mv_objects("person")
    assert ann.attributes["department"] == "Legal"


def test_a_move_to_another_ou_reaches_a_dn_part_flow_in_a_delta_sync(lab: Lab) -> None:
    ad = lab.directory("ad")
    anchor = ad.add("user", "CN=Ann Lee,OU=Sales,OU=Staff,DC=x", {"employeeID": "1"})
    lab.configure(DN_FLOWS)
    ok(lab.run(("ad", "full-import"), ("ad", "full-sync")))
    ad.rename(anchor, "CN=Ann Lee,OU=Legal,OU=Staff,DC=x")
    ok(lab.run(("ad", "delta-import"), ("ad", "delta-sync")))
    (ann,) = lab.mv_objects("person")
    assert ann.attributes["department"] == "Legal"
