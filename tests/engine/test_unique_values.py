"""SelectUniqueValue in flows and identifier flows: a generated value never collides in the target connector space,
among values staged in the same run, with a value another MV object holds, or with another object's identifier."""

from __future__ import annotations

import shutil
from contextlib import nullcontext
from pathlib import Path

from lab import Lab, ok

from idsync.engine.run_profiles import Runner
from idsync.engine.workspace import Workspace
from idsync.model import StepKind
from idsync.store import CSFilter

CONFIG = """
connectors:
  hr: {type: memory, directory: hr, anchor_from_identifier: true}
  dir: {type: memory, directory: dir}
metaverse:
  person:
    attributes:
      employeeId: string
      givenName: string
      sn: string
      mail: string
      status: string
inbound:
  - name: hr-people
    connector: hr
    object_type: person
    metaverse_type: person
    join: [{employeeId: employeeId}]
    project: true
    flows:
      employeeId: employeeId
      givenName: givenName
      sn: sn
      mail: {expression: mail, skip_null: true}
      status: status
outbound:
  - name: dir-users
    connector: dir
    metaverse_type: person
    object_type: user
    scope: '[status] = "active"'
    provision: true
    identifier: >-
      SelectUniqueValue(Join("", "uid=", ToLower([givenName]), ",ou=people"),
                        Join("", "uid=", ToLower([givenName]), "2,ou=people"),
                        Join("", "uid=", ToLower([givenName]), "3,ou=people"))
    flows:
      employeeId: employeeId
      mail: >-
        SelectUniqueValue(Join("", ToLower([givenName]), ".", ToLower([sn]), "@example.org"),
                          Join("", ToLower([givenName]), ".", ToLower([sn]), "2@example.org"),
                          Join("", ToLower([givenName]), ".", ToLower([sn]), "3@example.org"))
"""


def hire(lab: Lab, eid: str, given: str, sn: str, *, status: str = "active", mail: str | None = None) -> None:
    attrs = {"employeeId": eid, "givenName": given, "sn": sn, "status": status}
    if mail is not None:
        attrs["mail"] = mail
    lab.dirs["hr"].add("person", eid, attrs, anchor=eid)


def sync_and_export(lab: Lab) -> None:
    ok(lab.run(("hr", "full-import"), ("hr", "full-sync"), ("dir", "export"), ("dir", "full-import")))


def exported(lab: Lab) -> dict[str, tuple[str, str]]:
    """employeeId -> (identifier, mail) of what the target holds."""
    return {o.attributes["employeeId"]: (o.identifier, o.attributes["mail"]) for o in lab.dirs["dir"].objects("user")}


def test_namesakes_provisioned_in_one_run_get_distinct_identifiers_and_values(lab: Lab) -> None:
    lab.directory("hr"), lab.directory("dir")
    lab.configure(CONFIG)
    for eid in ("1", "2", "3"):
        hire(lab, eid, "Ann", "Lee")
    sync_and_export(lab)
    held = exported(lab)
    assert len(held) == 3
    assert sorted(i for i, _ in held.values()) == ["uid=ann,ou=people", "uid=ann2,ou=people", "uid=ann3,ou=people"]
    mails = sorted(m for _, m in held.values())
    assert mails == ["ann.lee2@example.org", "ann.lee3@example.org", "ann.lee@example.org"]
    # the same data synced again keeps every object where it is: an object's own value is not a collision
    ok(lab.run(("hr", "full-sync")))
    assert not lab.cs_objects("dir", pending_export=True)
    assert exported(lab) == held


def test_a_value_another_person_holds_in_the_metaverse_is_not_given_out(lab: Lab) -> None:
    lab.directory("hr"), lab.directory("dir")
    lab.configure(CONFIG)
    # Ann (inactive, so never provisioned) already owns ann.lee@ in the metaverse; her namesake must not take it
    hire(lab, "1", "Ann", "Lee", status="inactive", mail="ann.lee@example.org")
    hire(lab, "2", "Ann", "Lee")
    sync_and_export(lab)
    assert exported(lab) == {"2": ("uid=ann,ou=people", "ann.lee2@example.org")}


def test_an_identifier_held_by_an_object_idsync_did_not_create_is_skipped(lab: Lab) -> None:
    lab.directory("hr")
    lab.directory("dir").add("user", "uid=ann,ou=people", {"employeeId": "x", "mail": "someone@example.org"})
    lab.configure(CONFIG)
    ok(lab.run(("dir", "full-import")))
    hire(lab, "1", "Ann", "Lee")
    sync_and_export(lab)
    held = exported(lab)
    assert held["1"] == ("uid=ann2,ou=people", "ann.lee@example.org")
    assert held["x"][0] == "uid=ann,ou=people"


def test_key_filters_give_the_values_lookups_give(tmp_path: Path) -> None:
    """The key filters (and the holders they remember) answer SelectUniqueValue exactly as the database would: a
    first sync of 900 generated people, whose names collide often, gives every person the same userPrincipalName
    with them as without them (``idsync.store.presence``)."""
    from idsync.cli.quickstart import write_workspace

    root = tmp_path / "ws"
    write_workspace(root, people=900, target="csv")
    with Workspace.load(root) as ws:
        ok(Runner(ws).run_steps("import", [("hr", StepKind.FULL_IMPORT)]))
    without = tmp_path / "without"
    shutil.copytree(root, without)

    def names(folder: Path, *, filters: bool) -> dict[str, str]:
        with Workspace.load(folder) as ws:
            if not filters:
                ws.store.key_filters = nullcontext  # type: ignore[method-assign]
            ok(Runner(ws).run_steps("sync", [("hr", StepKind.FULL_SYNC)]))
            found = {}
            for cs in ws.store.cs_page(CSFilter(connector="directory"), 0, 10_000):
                assert cs.pending_export is not None
                (upn,) = [c.values[0] for c in cs.pending_export.changes if c.name == "userPrincipalName"]
                found[cs.identifier] = upn
            return found

    with_filters, without_filters = names(root, filters=True), names(without, filters=False)
    assert len(with_filters) > 800
    assert with_filters == without_filters
    assert len(set(with_filters.values())) == len(with_filters)  # unique, as SelectUniqueValue promises
    assert sum(1 for upn in with_filters.values() if upn.count(".") > 1) > 100  # many took the second candidate
