"""Secret attributes: an initial password flows into a new object when it is sent and is never stored."""

from __future__ import annotations

import sqlite3

import pytest
from lab import HR_TO_DIR, Lab, ok, person, step

from idsync.model import ExportOp

SECRET_DIR = "dir: {type: memory, directory: dir, secret_attributes: [initialPassword]}"
PASSWORD_FLOW = "      initialPassword: 'RandomString(16, 2, 2, 2, 2)'\n"
"""Not marked initial_only: a flow to a secret attribute is initial-only whatever it says."""


def configure(lab: Lab, flow: str = PASSWORD_FLOW, *, enabled_flow: bool = True) -> None:
    config = HR_TO_DIR.replace("dir: {type: memory, directory: dir}", SECRET_DIR)
    enabled = "      accountEnabled: 'True'\n"
    lab.configure(config.replace(enabled, (enabled if enabled_flow else "") + flow, 1))


def stored_text(lab: Lab) -> str:
    """Every value of every table of the workspace's store, as text (checked to hold the provisioned objects: a dump
    that read nothing would prove nothing)."""
    if lab.store is not None:
        import psycopg  # the PostgreSQL runs only

        with psycopg.connect(lab.store) as pg:
            tables = [r[0] for r in pg.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
            text = "\n".join(repr(row) for t in tables for row in pg.execute(f'SELECT * FROM "{t}"'))
    else:
        db = sqlite3.connect(lab.root / ".idsync" / "state.db")
        try:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            text = "\n".join(repr(row) for t in tables for row in db.execute(f'SELECT * FROM "{t}"'))
        finally:
            db.close()
    assert ",ou=people" in text
    return text


def passwords(lab: Lab) -> dict[str, str]:
    return {
        o.identifier: o.attributes["initialPassword"]
        for o in lab.dirs["dir"].objects()
        if "initialPassword" in o.attributes
    }


def test_an_initial_password_is_computed_when_sent_and_never_stored(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    person(hr, "2", "Bob", "Ray")
    target.add("user", "uid=3,ou=people", {"employeeId": "3"})  # an existing account, adopted by the join
    person(hr, "3", "Cy", "Dee")
    configure(lab)
    ok(lab.run(("hr", "full-import"), ("hr", "full-sync"), ("dir", "full-import"), ("dir", "full-sync")))
    staged = {c.identifier: c.pending_export for c in lab.cs_objects("dir", pending_export=True)}
    for new in ("uid=1,ou=people", "uid=2,ou=people"):
        add = staged[new]
        assert add is not None and add.op is ExportOp.ADD
        (password,) = [c for c in add.changes if c.name == "initialPassword"]
        assert len(password.values) == 1 and len(str(password.values[0])) != 16, "a marker, not a password"
    adopted = staged["uid=3,ou=people"]
    assert adopted is not None and "initialPassword" not in {c.name for c in adopted.changes}

    run = ok(lab.run(("dir", "export"), ("dir", "full-import"), ("dir", "full-sync")))
    assert step(run, "dir", "export").counters.adds == 2
    sent = passwords(lab)
    assert sorted(sent) == ["uid=1,ou=people", "uid=2,ou=people"], "the adopted account gets no password"
    assert all(len(p) == 16 for p in sent.values()) and len(set(sent.values())) == 2
    for cs in lab.cs_objects("dir"):
        assert "initialPassword" not in cs.hologram, "the directory returns it; the import drops it"
        assert "initialPassword" not in cs.unconfirmed
    stored = stored_text(lab)
    assert not any(p in stored for p in sent.values()), "not in export memory, holograms or the audit trail"

    # initial only: later cycles send nothing, and the passwords stay as they were
    person(hr, "1", "Ann", "Lee-Smith")
    again = ok(lab.cycle())
    assert step(again, "dir", "export").counters.updates == 1
    assert passwords(lab) == sent
    assert step(ok(lab.cycle()), "dir", "export").counters.updates == 0


def test_a_secret_is_evaluated_from_the_rule_as_it_is_when_sent(lab: Lab) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    person(hr, "1", "Ann", "Lee")
    person(hr, "2", "Bob", "Ray")
    configure(lab)
    ok(lab.run(("hr", "full-import"), ("hr", "full-sync")))
    # between sync and export the flow changes: it now gives a value for Bob only
    configure(lab, '      initialPassword: \'IIF([employeeId] = "2", "Pw-" & [sn] & "-2024", Null)\'\n')
    run = lab.run(("dir", "export"))
    export = step(run, "dir", "export")
    assert export.counters.adds == 1 and export.counters.errors == 1
    (error,) = [e for e in lab.errors(run) if e.connector == "dir"]
    assert error.identifier == "uid=1,ou=people" and error.attribute == "initialPassword"
    assert "gave no value when the export was sent" in error.reason
    assert passwords(lab) == {"uid=2,ou=people": "Pw-Ray-2024"}
    assert target.find("uid=1,ou=people") is None
    # the next sync stages Ann's add again without a password, and it goes
    ok(lab.run(("hr", "full-sync"), ("dir", "export")))
    ann = target.find("uid=1,ou=people")
    assert ann is not None and "initialPassword" not in ann.attributes
    assert "Pw-Ray-2024" not in stored_text(lab)


@pytest.mark.parametrize("crash_after", [0, 1])
def test_an_add_in_flight_when_the_process_died_is_settled_without_storing_its_secret(
    lab: Lab, crash_after: int
) -> None:
    hr, target = lab.directory("hr"), lab.directory("dir")
    # the memory directory's lookup takes any one value it is given as a key: every value differs between the two
    person(hr, "1", "Ann", "Lee", department="Sales")
    person(hr, "2", "Bob", "Ray", department="Legal")
    configure(lab, enabled_flow=False)
    ok(lab.run(("hr", "full-import"), ("hr", "full-sync")))
    target.crash_after(crash_after, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        lab.run(("dir", "export"))
    target.clear_failures()
    ok(lab.run(("dir", "export")))
    sent = passwords(lab)
    assert sorted(sent) == ["uid=1,ou=people", "uid=2,ou=people"] and len(target.exported) == 2
    assert all("initialPassword" not in cs.unconfirmed for cs in lab.cs_objects("dir"))
    assert not any(p in stored_text(lab) for p in sent.values())
