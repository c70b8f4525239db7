"""A sync's statements grow with its pages, not its objects: what the objects of a page look up one by one is read
in a batch per page (join candidates, the target objects holding the identifiers provisioning would give,
referenced objects and their links), and their writes go out in batches."""

from __future__ import annotations

import sqlite3
import tempfile
from collections import Counter
from typing import Any

import pytest
from lab import HR_TO_DIR, STORE_CHOSEN_BY_TEST, Lab, ok, person

from idsync.engine.run_profiles import Runner
from idsync.model import StepKind

# the identifier is the employee id itself, so the page can tell every identifier before it is computed (and no
# outbound join rule: its candidates are looked up one object at a time)
CONFIG = HR_TO_DIR.replace("""identifier: 'Join("", "uid=", [employeeId], ",ou=people")'""", "identifier: employeeId")
CONFIG = CONFIG.replace(
    "    join: [{employeeId: employeeId}]\n    flows:\n      employeeId: employeeId\n      displayName",
    "    flows:\n      employeeId: employeeId\n      displayName",
)


def _sync_statements(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """The statements of a full sync of ``hr`` by kind, on the store's connection and on the one its pages read
    on while the page before is written (``Store.write_behind``); each row an ``executemany`` sends counts as one."""
    seen: Counter[str] = Counter()

    def count(sql: str) -> None:
        seen.update([sql.split()[0].upper()])

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection = opened(*args, **kwargs)
        connection.set_trace_callback(count)
        return connection

    opened = sqlite3.connect
    with lab.open() as ws:
        raw = ws.store._raw  # the SQLite store's connection
        raw.set_trace_callback(count)
        with monkeypatch.context() as m:
            m.setattr(sqlite3, "connect", connect)
            run = Runner(ws).run_steps("test", [("hr", StepKind.FULL_SYNC)])
        raw.set_trace_callback(None)
    ok(run)
    return seen


def _round_trips(lab: Lab) -> int:
    """The client/server round trips of a full sync of ``hr`` on the PostgreSQL store: the server's replies that
    end a statement or a batch of them (ReadyForQuery), from the connection's protocol trace."""
    with lab.open() as ws, tempfile.TemporaryFile() as trace:
        pgconn = ws.store._raw.pgconn  # the PostgreSQL store's connection
        pgconn.trace(trace.fileno())
        run = Runner(ws).run_steps("test", [("hr", StepKind.FULL_SYNC)])
        pgconn.untrace()
        trace.seek(0)
        replies = sum(1 for line in trace if b"\tReadyForQuery" in line)
    ok(run)
    return replies


def _imported(lab: Lab, people: int, store: str = "sqlite") -> None:
    lab.configure(f"store: {store}\n{CONFIG}")
    hr = lab.directory("hr")
    lab.directory("dir")
    for n in range(people):
        person(hr, f"E{n:04}", f"Given{n}", f"Sn{n}", manager=f"E{n // 10:04}" if n else None)
    ok(lab.run(("hr", "full-import")))


def _provisioned_as_expected(lab: Lab, people: int) -> None:
    provisioned = lab.cs_objects("dir")
    assert len(provisioned) == people
    managers = {c.identifier: c.pending_export for c in provisioned}
    assert managers["E0011"] is not None
    assert any(ch.name == "manager" for ch in managers["E0011"].changes)


@STORE_CHOSEN_BY_TEST
def test_initial_sync_statements_do_not_grow_with_objects(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    assert (
        "identifier: employeeId" in CONFIG
        and "join: [{employeeId: employeeId}]\n    flows:\n      employeeId: employeeId\n      displayName"
        not in CONFIG
    )
    people = 400
    _imported(lab, people)
    seen = _sync_statements(lab, monkeypatch)
    # not one per person, nor one per manager (40 of them, each linked in this run: the links of an MV object made
    # in the transaction are known without asking)
    assert seen["SELECT"] < 20, seen
    _provisioned_as_expected(lab, people)


@STORE_CHOSEN_BY_TEST
def test_initial_sync_round_trips_on_postgres_do_not_grow_with_objects(lab: Lab, postgres_url: str) -> None:
    """A server store sends a page's new objects, key rows and links in batches, and its object scopes take no
    savepoint when they send nothing: no round trip per object."""
    people = 400
    _imported(lab, people, postgres_url)
    replies = _round_trips(lab)
    assert replies < 50, replies  # a few per page, none per person or per manager
    _provisioned_as_expected(lab, people)
