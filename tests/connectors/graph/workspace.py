"""A workspace for the engine tests: HR people and departments -> metaverse -> users and groups in Entra."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from idsync.connectors.registry import ConnectorRegistry
from idsync.engine.workspace import Workspace
from idsync.testing.graph_emulator import AppRegistration

from .conftest import SECRET_VARIABLE
from .hr_source import HrSourceType, write_people

UPN = 'Join("@", ToLower(Join(".", [givenName], [sn])), "contoso.com")'
GROUP_NICKNAME = 'ToLower(Append("dept-", [name]))'

CONFIG = """
connectors:
  hr: {{type: hr-test, path: hr.csv}}
  entra:
    type: graph
    tenant: contoso.com
    client_id: "{client_id}"
    client_secret: "${{env:{secret}}}"
    login_endpoint: "{login}"
    graph_endpoint: "{graph}"
    insecure_http: {insecure}
    retry_base_seconds: 0.01
    retry_max_seconds: 0.05
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
    deletion: {{when: authoritative, authoritative: [hr]}}
  group:
    attributes: {{name: string, members: "reference[]"}}
inbound:
  - name: hr-people
    connector: hr
    object_type: person
    metaverse_type: person
    join: [{{employeeId: employeeId}}]
    project: true
    flows:
      employeeId: employeeId
      givenName: givenName
      sn: sn
      displayName: 'Join(" ", [givenName], [sn])'
      department: department
      manager: managerId
      status: status
  - name: hr-departments
    connector: hr
    object_type: department
    metaverse_type: group
    join: [{{name: name}}]
    project: true
    flows: {{name: name, members: members}}
outbound:
  - name: entra-users
    connector: entra
    metaverse_type: person
    object_type: user
    scope: '[status] = "active"'
    provision: true
    identifier: '{upn}'
    join: [{{employeeId: employeeId}}]
    flows:
      userPrincipalName: {{expression: '{upn}', initial_only: true}}
      mailNickname: {{expression: 'ToLower(Join(".", [givenName], [sn]))', initial_only: true}}
      displayName: displayName
      givenName: givenName
      surname: sn
      department: department
      employeeId: employeeId
      manager: manager
      accountEnabled: 'True'
    deprovision: disable
    deprovision_flows: {{accountEnabled: 'False'}}
  - name: entra-groups
    connector: entra
    metaverse_type: group
    object_type: group
    provision: true
    identifier: '{group}'
    flows:
      mailNickname: {{expression: '{group}', initial_only: true}}
      displayName: 'Join(" ", [name], "team")'
      mailEnabled: 'False'
      securityEnabled: 'True'
      members: members
    deprovision: delete
"""

PEOPLE: list[tuple[str, ...]] = [
    ("E001", "Ada", "Berg", "Engineering", "", "active"),
    ("E002", "Bo", "Dahl", "Engineering", "E001", "active"),
    ("E003", "Cai", "Eng", "Engineering", "E001", "active"),
    ("E004", "Dina", "Falk", "Sales", "E001", "active"),
    ("E005", "Eli", "Gran", "Sales", "E004", "active"),
    ("E006", "Fay", "Holm", "Sales", "E004", "active"),
    ("E007", "Gus", "Isak", "Support", "E001", "active"),
    ("E008", "Hal", "Jung", "Support", "E007", "active"),
    ("E009", "Ivy", "Kron", "Support", "E007", "active"),
    ("E010", "Jon", "Lind", "Sales", "E004", "leaver"),
]


def write_workspace(root: Path, app: AppRegistration, base_url: str | None) -> None:
    """``base_url``: the emulator served over HTTP; None: reached in-process (the test passes the transport)."""
    root.mkdir(parents=True, exist_ok=True)
    login = base_url or "https://login.emulator.test"
    graph = base_url or "https://graph.emulator.test"
    text = CONFIG.format(
        client_id=app.client_id,
        secret=SECRET_VARIABLE,
        login=login,
        graph=graph,
        insecure="true" if base_url else "false",
        upn=UPN,
        group=GROUP_NICKNAME,
    )
    (root / "idsync.yaml").write_text(text, encoding="utf-8")
    write_people(root / "hr.csv", PEOPLE)


def open_workspace(root: Path, options: dict[str, Any] | None = None) -> Workspace:
    registry = ConnectorRegistry()
    registry.register("hr-test", HrSourceType)
    return Workspace.load(root, registry=registry, options=options)
