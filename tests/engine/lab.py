"""A workspace in a temp folder with in-memory connected systems, for engine tests."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from idsync.connectors.memory import OPTION, MemoryDirectory
from idsync.engine.run_profiles import Runner, RunOptions
from idsync.engine.workspace import Workspace
from idsync.model import CSObject, MVObject, RunResult, RunStatus, StepKind
from idsync.store import CSFilter


@dataclass
class Lab:
    root: Path
    dirs: dict[str, MemoryDirectory] = field(default_factory=dict)
    config: str = ""
    store: str | None = None
    """A store URL (PostgreSQL) instead of the workspace's own SQLite file."""

    def directory(self, name: str, **kwargs: Any) -> MemoryDirectory:
        self.dirs[name] = MemoryDirectory(**kwargs)
        return self.dirs[name]

    def configure(self, text: str) -> None:
        self.config = textwrap.dedent(text)
        if self.store is not None:
            self.config = f"store: {self.store!r}\n" + self.config
        (self.root / "idsync.yaml").write_text(self.config, encoding="utf-8")

    def open(self) -> Workspace:
        return Workspace.load(self.root, options={OPTION: self.dirs})

    def run(self, *steps: tuple[str, str], staging: bool | None = None, error_limit: int | None = None) -> RunResult:
        with self.open() as ws:
            runner = Runner(ws, RunOptions(staging=staging, error_limit=error_limit))
            return runner.run_steps("test", [(c, StepKind(k)) for c, k in steps])

    def cycle(self, staging: bool | None = None) -> RunResult:
        with self.open() as ws:
            return Runner(ws, RunOptions(staging=staging)).cycle()

    # reading state ------------------------------------------------------------------------------------------
    def mv_objects(self, object_type: str | None = None) -> list[MVObject]:
        with self.open() as ws:
            return ws.store.mv_page(object_type, 0, 100_000)

    def cs_objects(self, connector: str, **flt: Any) -> list[CSObject]:
        with self.open() as ws:
            return ws.store.cs_page(CSFilter(connector=connector, **flt), 0, 100_000)

    def mv_by(self, attribute: str, value: Any) -> MVObject:
        found = [m for m in self.mv_objects() if m.attributes.get(attribute) == value]
        assert len(found) == 1, f"{len(found)} MV objects with {attribute}={value!r}"
        return found[0]

    def errors(self, run: RunResult) -> list[Any]:
        with self.open() as ws:
            return ws.store.errors(run_id=run.id)


STORE_CHOSEN_BY_TEST = pytest.mark.parametrize("lab", ["sqlite"], indirect=True)
"""For a test of one store's own statements: the ``lab`` fixture runs every other test on both stores."""


def step(run: RunResult, connector: str, kind: str) -> Any:
    found = [s for s in run.steps if s.connector == connector and s.kind.value == kind]
    assert found, f"no {kind} step for {connector} in {[(s.connector, s.kind.value) for s in run.steps]}"
    return found[-1]


def ok(run: RunResult) -> RunResult:
    assert run.status is RunStatus.SUCCESS, [(s.connector, s.kind.value, s.status.value, s.message) for s in run.steps]
    return run


HR_TO_DIR = """
connectors:
  hr: {type: memory, directory: hr, anchor_from_identifier: true}
  dir: {type: memory, directory: dir}
metaverse:
  person:
    attributes:
      employeeId: string
      givenName: string
      sn: string
      displayName: string
      department: string
      manager: reference
      status: string
    deletion: {when: authoritative, authoritative: [hr]}
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
      givenName: givenName
      sn: sn
      displayName: 'Join(" ", [givenName], [sn])'
      department: department
      manager: managerId
      status: status
outbound:
  - name: dir-users
    connector: dir
    metaverse_type: person
    object_type: user
    scope: '[status] = "active"'
    provision: true
    identifier: 'Join("", "uid=", [employeeId], ",ou=people")'
    join: [{employeeId: employeeId}]
    flows:
      employeeId: employeeId
      displayName: displayName
      department: department
      manager: manager
      accountEnabled: 'True'
    deprovision: disable
    deprovision_flows:
      accountEnabled: 'False'
"""


def person(
    hr: MemoryDirectory,
    eid: str,
    given: str,
    sn: str,
    *,
    manager: str | None = None,
    department: str = "Sales",
    status: str = "active",
) -> str:
    attrs: dict[str, Any] = {
        "employeeId": eid,
        "givenName": given,
        "sn": sn,
        "department": department,
        "status": status,
    }
    if manager:
        attrs["managerId"] = manager
    existing = hr.find(eid)
    if existing is not None:
        hr.replace(existing.anchor, attrs)
        return existing.anchor
    return hr.add("person", eid, attrs, anchor=eid)
