"""Inbound attribute flow with precedence: lower wins, null is a value, skip_null, sentinels, initial-only."""

from __future__ import annotations

from lab import Lab, ok, person

CONFIG = """
connectors:
  hr: {type: memory, directory: hr, anchor_from_identifier: true}
  ad: {type: memory, directory: ad}
metaverse:
  person:
    attributes:
      employeeId: string
      displayName: string
      telephone: string
      mobile: string
      title: string
      created: string
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
      mobile: {expression: mobile, skip_null: true}
      title: {expression: 'IIF(IsPresent([title]), [title], IgnoreThisFlow)', dialect: connect}
      created: {expression: 'Join("-", "hr", [employeeId])', initial_only: true}
  - name: ad-accounts
    connector: ad
    object_type: user
    metaverse_type: person
    precedence: 20
    join: [{employeeId: employeeID}]
    flows:
      displayName: displayName
      telephone: telephoneNumber
      mobile: mobile
      title: title
      created: {expression: '"ad"', initial_only: true}
"""


def setup(lab: Lab) -> None:
    hr, ad = lab.directory("hr"), lab.directory("ad")
    hr.add("person", "1", {"employeeId": "1", "displayName": "Ann HR", "phone": "+1 555", "title": "Boss"}, anchor="1")
    ad.add(
        "user",
        "cn=ann",
        {"employeeID": "1", "displayName": "Ann AD", "telephoneNumber": "+1 999", "mobile": "+1 777", "title": "CEO"},
    )
    lab.configure(CONFIG)
    ok(lab.run(("hr", "full-import"), ("ad", "full-import"), ("hr", "full-sync"), ("ad", "full-sync")))


def test_lower_precedence_number_wins_and_lineage_names_it(lab: Lab) -> None:
    setup(lab)
    mv = lab.mv_by("employeeId", "1")
    assert mv.attributes["displayName"] == "Ann HR"
    assert mv.provenance["displayName"].connector == "hr" and mv.provenance["displayName"].rule == "hr-people"
    assert mv.attributes["title"] == "Boss"


def test_null_is_a_value_unless_skip_null(lab: Lab) -> None:
    setup(lab)
    hr = lab.dirs["hr"]
    hr.replace("1", {"phone": None, "mobile": None})  # phone and mobile gone
    ok(lab.run(("hr", "delta-import"), ("hr", "delta-sync")))
    mv = lab.mv_by("employeeId", "1")
    assert "telephone" not in mv.attributes  # HR wins with null: null is a value
    assert mv.provenance["telephone"].connector == "hr"  # lineage says who decided the null
    assert mv.attributes["mobile"] == "+1 777"  # skip_null: AD's value takes over
    assert mv.provenance["mobile"].connector == "ad"


def test_ignore_this_flow_hands_over_and_comes_back(lab: Lab) -> None:
    setup(lab)
    hr = lab.dirs["hr"]
    hr.replace("1", {"title": None})
    ok(lab.run(("hr", "delta-import"), ("hr", "delta-sync")))
    assert lab.mv_by("employeeId", "1").attributes["title"] == "CEO"
    hr.replace("1", {"title": "Chair"})
    ok(lab.run(("hr", "delta-import"), ("hr", "delta-sync")))
    assert lab.mv_by("employeeId", "1").attributes["title"] == "Chair"


def test_withdrawing_a_contributor_falls_back_to_the_next(lab: Lab) -> None:
    setup(lab)
    lab.dirs["hr"].replace("1", {"displayName": None})
    ok(lab.run(("hr", "delta-import"), ("hr", "delta-sync")))
    assert "displayName" not in lab.mv_by("employeeId", "1").attributes  # HR says null
    lab.dirs["ad"].delete(lab.dirs["ad"].find("cn=ann").anchor)  # type: ignore[union-attr]
    ok(lab.run(("ad", "delta-import"), ("ad", "delta-sync")))
    mv = lab.mv_by("employeeId", "1")
    assert "mobile" not in mv.attributes and mv.provenance.get("mobile") is None


def test_initial_only_flow_applies_at_projection_and_is_kept(lab: Lab) -> None:
    setup(lab)
    mv = lab.mv_by("employeeId", "1")
    assert mv.attributes["created"] == "hr-1"
    assert mv.provenance["created"].rule == "hr-people"
    ok(lab.run(("hr", "full-sync"), ("ad", "full-sync")))
    assert lab.mv_by("employeeId", "1").attributes["created"] == "hr-1"  # never re-evaluated, never lost


def test_authoritative_null_beats_lower_precedence(lab: Lab) -> None:
    hr, ad = lab.directory("hr"), lab.directory("ad")
    hr.add("person", "1", {"employeeId": "1", "title": "hidden"}, anchor="1")
    ad.add("user", "cn=ann", {"employeeID": "1", "title": "CEO"})
    lab.configure(
        CONFIG.replace(
            "      title: {expression: 'IIF(IsPresent([title]), [title], IgnoreThisFlow)', dialect: connect}",
            "      title: {expression: 'IIF([title] = \"hidden\", AuthoritativeNull, [title])', dialect: connect}",
        )
    )
    ok(lab.run(("hr", "full-import"), ("ad", "full-import"), ("hr", "full-sync"), ("ad", "full-sync")))
    mv = lab.mv_by("employeeId", "1")
    assert "title" not in mv.attributes
    assert mv.provenance["title"].connector == "hr"


def test_only_the_attributes_a_change_touches_are_recomputed(lab: Lab) -> None:
    """A delta that changes phone must not re-evaluate displayName (observable: an AD-only change to the winning
    source's value stays as long as the HR object does not change displayName)."""
    setup(lab)
    lab.dirs["hr"].replace("1", {"phone": "+1 000"})
    run = ok(lab.run(("hr", "delta-import"), ("hr", "delta-sync")))
    mv = lab.mv_by("employeeId", "1")
    assert mv.attributes["telephone"] == "+1 000"
    (sync,) = [s for s in run.steps if s.kind.value == "delta-sync"]
    assert sync.counters.updates == 1


def test_person_helper_is_used(lab: Lab) -> None:
    hr = lab.directory("hr")
    anchor = person(hr, "7", "Zoë", "Ñúñez")
    assert hr.get(anchor) is not None
