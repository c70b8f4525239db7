"""A sync killed after its pages committed and before the work they left for its end (the objects that reference a
renamed or newly linked one are evaluated again after the rest of the sync): the next sync does that work.

Each page commits its objects with their pending imports cleared, so a re-run has nothing left to sync there; the
objects flagged for the end of the sync would otherwise never be evaluated again. Found by the crash trials into
OpenLDAP: a manager renamed (a modrdn) while the sync was killed kept every report's manager at the old DN."""

from __future__ import annotations

import pytest
from lab import HR_TO_DIR, Lab, ok, person

from idsync.engine.sync import Synchronizer

BY_NAME = HR_TO_DIR.replace(
    "dir: {type: memory, directory: dir}", "dir: {type: memory, directory: dir, references_by: identifier}"
).replace('Join("", "uid=", [employeeId], ",ou=people")', 'Join("", "cn=", [displayName], ",ou=people")')


def _killed_before_the_end_of_the_sync(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the HR delta import and sync, the sync dying (the process is gone) once its pages committed."""

    def die(self: Synchronizer) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(Synchronizer, "retry_references", die)
        with pytest.raises(KeyboardInterrupt):
            lab.run(("hr", "delta-import"), ("hr", "delta-sync"))


def test_references_to_an_object_renamed_by_a_killed_sync_follow_it(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    person(hr, "2", "Bob", "Ray", manager="1")
    lab.configure(BY_NAME)
    ok(lab.cycle())
    assert target.find("cn=Bob Ray,ou=people").attributes["manager"] == "cn=Ann Lee,ou=people"  # type: ignore[union-attr]

    person(hr, "1", "Ann", "Smith")  # a new name: a new DN, which Bob's manager must follow
    _killed_before_the_end_of_the_sync(lab, monkeypatch)
    ok(lab.cycle())
    ok(lab.cycle())
    assert target.find("cn=Ann Smith,ou=people") is not None
    bob = target.find("cn=Bob Ray,ou=people")
    assert bob is not None and bob.attributes["manager"] == "cn=Ann Smith,ou=people"


def test_a_reference_to_an_object_linked_by_a_killed_sync_resolves(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    lab.configure(BY_NAME)
    ok(lab.cycle())

    # the report comes before the manager: her reference waits for him, until the end of the sync
    person(hr, "3", "Cy", "Fox", manager="4")
    person(hr, "4", "Dan", "Ode")
    _killed_before_the_end_of_the_sync(lab, monkeypatch)
    ok(lab.cycle())
    ok(lab.cycle())
    cy = target.find("cn=Cy Fox,ou=people")
    assert cy is not None and cy.attributes.get("manager") == "cn=Dan Ode,ou=people"
