"""A sync's statements grow with its pages, not its objects: what the objects of a page look up one by one is read
in a batch per page (join candidates, the target objects holding the identifiers provisioning would give,
referenced objects and their links), and their writes go out in batches."""

from __future__ import annotations

from collections import Counter

from lab import HR_TO_DIR, Lab, ok, person

from idsync.engine.run_profiles import Runner
from idsync.model import StepKind

# the identifier is the employee id itself, so the page can tell every identifier before it is computed (and no
# outbound join rule: its candidates are looked up one object at a time)
CONFIG = HR_TO_DIR.replace("""identifier: 'Join("", "uid=", [employeeId], ",ou=people")'""", "identifier: employeeId")
CONFIG = CONFIG.replace(
    "    join: [{employeeId: employeeId}]\n    flows:\n      employeeId: employeeId\n      displayName",
    "    flows:\n      employeeId: employeeId\n      displayName",
)


def _sync_statements(lab: Lab) -> Counter[str]:
    """The statements of a full sync of ``hr`` by kind; each row an ``executemany`` sends counts as one."""
    seen: Counter[str] = Counter()
    with lab.open() as ws:
        raw = ws.store._raw  # the SQLite store's connection
        raw.set_trace_callback(lambda sql: seen.update([sql.split()[0].upper()]))
        run = Runner(ws).run_steps("test", [("hr", StepKind.FULL_SYNC)])
        raw.set_trace_callback(None)
    ok(run)
    return seen


def test_initial_sync_statements_do_not_grow_with_objects(lab: Lab) -> None:
    assert (
        "identifier: employeeId" in CONFIG
        and "join: [{employeeId: employeeId}]\n    flows:\n      employeeId: employeeId\n      displayName"
        not in CONFIG
    )
    lab.configure(CONFIG)
    hr = lab.directory("hr")
    lab.directory("dir")
    people = 400
    for n in range(people):
        person(hr, f"E{n:04}", f"Given{n}", f"Sn{n}", manager=f"E{n // 10:04}" if n else None)
    ok(lab.run(("hr", "full-import")))
    seen = _sync_statements(lab)
    # a lookup per manager (40 of them, each linked in this run) is expected; one per person is not
    assert seen["SELECT"] < people // 4, seen
    provisioned = lab.cs_objects("dir")
    assert len(provisioned) == people
    managers = {c.identifier: c.pending_export for c in provisioned}
    assert managers["E0011"] is not None
    assert any(ch.name == "manager" for ch in managers["E0011"].changes)
