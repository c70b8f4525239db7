"""Validating the rules' expressions against the configuration: errors point at the offending token in the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from idsync.config import ConfigError, ConfigIssue, load_config_text
from idsync.connectors.registry import ConnectorRegistry
from idsync.engine.rules import compile_rules
from idsync.engine.workspace import connector_model_lookup, load_workspace_config
from idsync.expressions import ExpressionValidationError, compile_expression

CONFIG = """\
connectors:
  hr: {type: csv, path: hr.csv, object_type: person, anchor: employeeId}
metaverse:
  person: [employeeId, displayName, alias, note]
inbound:
  - name: hr-people
    connector: hr
    object_type: person
    metaverse_type: person
    flows:
      employeeId: employeeId
      displayName: {flow}
"""


def problems(text: str, workspace: Path = Path(".")) -> list[ConfigIssue]:
    loaded = load_config_text(text, "idsync.yaml", workspace, connector_model_lookup(ConnectorRegistry()))
    with pytest.raises(ConfigError) as info:
        compile_rules(loaded)
    return info.value.issues


def where(issue: ConfigIssue) -> tuple[int, int]:
    assert issue.position is not None
    return issue.position.line, issue.position.column


@pytest.mark.parametrize(
    ("flow", "line", "column"),
    [
        ("""'Jion(" ", [givenName], [sn])'""", 12, 21),
        ("""Jion(" ", [givenName], [sn])""", 12, 20),
        ('''"Join(\\" \\", [givenName], Jion([sn]))"''', 12, 46),
        ("""'Join("it''s", Jion([sn]))'""", 12, 35),
        (""">-\n        Join(" ",\n          [givenName],\n          Jion([sn]))""", 15, 11),
        ("""|\n        Join(" ",\n          Jion([sn]))""", 14, 11),
        ("""Join(" ",\n        [givenName], Jion([sn]))""", 13, 22),
        ("""{expression: 'Join(" ", Jion([sn]))', precedence: 5}""", 12, 44),
        ("""\n        expression: >-\n          Join(" ", Jion([sn]))""", 14, 21),
    ],
)
def test_expression_errors_point_at_the_token_inside_the_value(flow: str, line: int, column: int) -> None:
    (issue,) = problems(CONFIG.replace("{flow}", flow))
    assert "unknown function Jion; did you mean Join?" in issue.message
    assert where(issue) == (line, column)
    assert issue.position is not None and issue.position.file == "idsync.yaml"


def test_an_escape_before_the_token_falls_back_to_the_value_start() -> None:
    (issue,) = problems(CONFIG.replace("{flow}", '''"Join(\\"\\t\\", Jion([sn]))"'''))
    assert where(issue) == (12, 21)


def test_a_syntax_error_in_a_folded_value_points_at_its_line() -> None:
    (issue,) = problems(CONFIG.replace("{flow}", """>-\n        Join(" ",\n          [givenName] [sn])"""))
    assert where(issue) == (14, 23)


SCHEMAS = """\
connectors:
  hr: {type: csv, path: hr.csv, object_type: person, anchor: employeeId, columns: {hireDate: datetime}}
  entra: {type: graph, tenant: contoso.example, client_id: 9c6f1c52-0d7e-4a8e-9f3b-2b1d6f0e7a41, emulator: t.json}
  ldap: {type: ldap, url: 'ldaps://127.0.0.1:3899', base_dn: 'dc=example,dc=org',
         object_types: {person: {object_class: inetOrgPerson}}}
  out: {type: csv, path: out.csv, object_type: user, anchor: employeeId, missing_ok: true}
metaverse:
  person: [employeeId, displayName, title, hireDate, manager, note, enabled]
inbound:
  - name: hr-people
    connector: hr
    object_type: person
    metaverse_type: person
    scope: 'IsPresent([EmployeeID])'
    join: [{employeeId: employeeId}]
    flows:
      employeeId: employeeId
      displayName: 'Join(" ", [givenName], [sn])'
      title: title
      hireDate: hireDate
      note: 'DNComponent([dn], 1)'
  - name: ldap-people
    connector: ldap
    object_type: person
    metaverse_type: person
    flows: {note: 'Join(" ", [whatever], [dn])'}
outbound:
  - name: entra-users
    connector: entra
    metaverse_type: person
    object_type: user
    flows:
      employeeId: employeeId
      displayName: displayName
      jobTitle: title
      manager: manager
      accountEnabled: enabled
    deprovision: disable
    deprovision_flows: {accountEnabled: 'False'}
  - name: out-users
    connector: out
    metaverse_type: person
    object_type: user
    flows: {anyColumn: displayName, employeeId: employeeId}
"""


def workspace(tmp_path: Path, text: str, header: str = "employeeId,givenName,sn,title,hireDate\n") -> Path:
    (tmp_path / "hr.csv").write_text(header, encoding="utf-8")
    (tmp_path / "idsync.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def validate(root: Path) -> list[ConfigIssue]:
    try:
        load_workspace_config(root, ConnectorRegistry())
    except ConfigError as exc:
        return exc.issues
    return []


def test_inbound_names_are_checked_against_the_source_schema_in_any_case(tmp_path: Path) -> None:
    assert validate(workspace(tmp_path, SCHEMAS)) == []


def test_an_unknown_source_attribute_is_reported_with_a_suggestion(tmp_path: Path) -> None:
    text = SCHEMAS.replace("[givenName], [sn]", "[givenName], [snn]").replace("title: title", "title: titel")
    issues = validate(workspace(tmp_path, text))
    assert [(i.message.splitlines()[0], where(i)) for i in issues] == [
        ("unknown attribute [snn]; did you mean [sn]?", (18, 44)),
        ("unknown attribute [titel]; did you mean [title]?", (19, 14)),
    ]
    assert issues[0].path == ("inbound", 0, "flows", "displayName")


def test_scope_and_join_read_the_source_schema_too(tmp_path: Path) -> None:
    text = SCHEMAS.replace("IsPresent([EmployeeID])", "IsPresent([employeId])").replace(
        "join: [{employeeId: employeeId}]", "join: [{employeeId: employee}]"
    )
    messages = [i.message.splitlines()[0] for i in validate(workspace(tmp_path, text))]
    assert messages == [
        "unknown attribute [employeId]; did you mean [employeeId]?",
        "unknown attribute [employee]; did you mean [employeeId]?",
    ]


def test_columns_declared_but_not_in_the_file_are_known(tmp_path: Path) -> None:
    root = workspace(tmp_path, SCHEMAS, header="employeeId,givenName,sn,title\n")
    assert validate(root) == []


def test_a_source_with_no_file_yet_is_not_checked(tmp_path: Path) -> None:
    root = workspace(tmp_path, SCHEMAS.replace("title: title", "title: titel"))
    (root / "hr.csv").unlink()
    assert validate(root) == []


def test_a_graph_source_reads_only_the_attributes_it_selects(tmp_path: Path) -> None:
    text = SCHEMAS.replace(
        "outbound:",
        "  - {name: entra-in, connector: entra, object_type: user, metaverse_type: person, flows: {title: jobTitel}}\n"
        "outbound:",
    )
    (issue,) = validate(workspace(tmp_path, text))
    assert issue.message.startswith("unknown attribute [jobTitel]; did you mean [jobTitle]?")


def test_an_unknown_outbound_target_is_reported_at_its_key(tmp_path: Path) -> None:
    text = SCHEMAS.replace("manager: manager", "managr: manager").replace(
        "deprovision_flows: {accountEnabled: 'False'}", "deprovision_flows: {AccountEnabled: 'False'}"
    )
    issues = validate(workspace(tmp_path, text))
    assert [(i.message, where(i), i.path) for i in issues] == [
        (
            "flow target 'managr' is not an attribute of 'entra' user objects; did you mean 'manager'?",
            (36, 7),
            ("outbound", 0, "flows", "managr"),
        ),
        (
            "flow target 'AccountEnabled' is not an attribute of 'entra' user objects; did you mean 'accountEnabled'?",
            (39, 25),
            ("outbound", 0, "deprovision_flows", "AccountEnabled"),
        ),
    ]


def test_a_flow_to_a_property_graph_maintains_is_refused_with_the_reason(tmp_path: Path) -> None:
    created = "      jobTitle: title\n      createdDateTime: hireDate\n"
    text = SCHEMAS.replace("      jobTitle: title\n", created).replace(
        "deprovision_flows: {accountEnabled: 'False'}",
        "deprovision_flows: {accountEnabled: 'False', onPremisesSyncEnabled: 'False'}",
    )
    issues = validate(workspace(tmp_path, text))
    assert [(i.message, where(i), i.path) for i in issues] == [
        (
            "flow target 'createdDateTime' is read-only in 'entra' user objects: the connected system maintains it "
            "and refuses to have it written",
            (36, 7),
            ("outbound", 0, "flows", "createdDateTime"),
        ),
        (
            "flow target 'onPremisesSyncEnabled' is read-only in 'entra' user objects: the connected system "
            "maintains it and refuses to have it written",
            (40, 50),
            ("outbound", 0, "deprovision_flows", "onPremisesSyncEnabled"),
        ),
    ]


def test_an_outbound_join_names_attributes_the_target_objects_have(tmp_path: Path) -> None:
    # id is Graph's own (read-only, but there to join on); employeId is a typo that would never adopt anyone
    joins = "    join: [{id: employeeId}, {employeId: employeeId}]\n"
    text = SCHEMAS.replace("    deprovision: disable\n", joins + "    deprovision: disable\n")
    (issue,) = validate(workspace(tmp_path, text))
    assert (issue.message, where(issue), issue.path) == (
        "join attribute 'employeId' is not an attribute of 'entra' user objects; did you mean 'employeeId'?",
        (38, 31),
        ("outbound", 0, "join", 1, "employeId"),
    )


def test_a_csv_target_limits_its_columns_only_with_attributes(tmp_path: Path) -> None:
    text = SCHEMAS.replace("missing_ok: true}", "missing_ok: true, attributes: [employeeId, displayName]}")
    (issue,) = validate(workspace(tmp_path, text))
    assert issue.message == "flow target 'anyColumn' is not an attribute of 'out' user objects"


def test_an_object_type_the_connector_lacks_is_reported(tmp_path: Path) -> None:
    text = SCHEMAS.replace("    object_type: user\n    flows:", "    object_type: usr\n    flows:")
    (issue,) = validate(workspace(tmp_path, text))
    assert issue.message == "'entra' has no object type 'usr' (it has: user, group)"
    assert issue.path == ("outbound", 0, "object_type")


def test_names_checked_against_a_source_still_read_in_any_case() -> None:
    expression = compile_expression("[EmployeeID]", attributes=["employeeId"], spelled=False)
    assert expression.references == {"EmployeeID"} and expression.direct_attribute == "EmployeeID"
    assert expression.evaluate({"employeeid": "7"}) == "7"
    with pytest.raises(ExpressionValidationError, match=r"did you mean \[employeeId\]"):
        compile_expression("[employeId]", attributes=["employeeId"], spelled=False)


MANAGE = """\
connectors:
  hr: {type: csv, path: hr.csv, object_type: person, anchor: employeeId}
  dir: {type: csv, path: dir.csv, object_type: group, anchor: cn}
metaverse:
  group:
    attributes: {name: string, members: "reference[]", owner: reference, aliases: "string[]"}
inbound:
  - name: hr-groups
    connector: hr
    object_type: person
    metaverse_type: group
    flows:
      members: {inbound}
outbound:
  - name: dir-groups
    connector: dir
    metaverse_type: group
    object_type: group
    flows:
      member: {outbound}
"""


@pytest.mark.parametrize(
    ("inbound", "outbound", "line", "column", "reason"),
    [
        ("members", "{expression: owner, manage: known-values}", 20, 35, "MV attribute 'owner' is single-valued"),
        ("members", "{expression: aliases, manage: known-values}", 20, 37, "'aliases' is not a reference (string)"),
        ("members", "{expression: 'Split([name], \";\")', manage: known-values}", 20, 50, "is not an MV attribute"),
        ("{expression: members, manage: known-values}", "members", 13, 38, "outbound flows only, not to an inbound"),
    ],
)
def test_manage_known_values_is_refused_where_it_means_nothing(
    inbound: str, outbound: str, line: int, column: int, reason: str
) -> None:
    (issue,) = problems(MANAGE.replace("{inbound}", inbound).replace("{outbound}", outbound))
    assert "manage: known-values" in issue.message and reason in issue.message, issue.message
    assert where(issue) == (line, column)


def test_manage_known_values_on_a_multi_valued_reference_flow_compiles() -> None:
    text = MANAGE.replace("{inbound}", "members").replace("{outbound}", "{expression: members, manage: known-values}")
    loaded = load_config_text(text, "idsync.yaml", Path("."), connector_model_lookup(ConnectorRegistry()))
    (rule,) = compile_rules(loaded).outbound
    assert [(f.target, f.known_values) for f in rule.flows] == [("member", True)]
    assert rule.reference_targets == {"member"}


def test_an_unknown_manage_value_names_the_choices() -> None:
    text = MANAGE.replace("{inbound}", "members").replace("{outbound}", "{expression: members, manage: merge}")
    with pytest.raises(ConfigError) as info:
        load_config_text(text, "idsync.yaml", Path("."), connector_model_lookup(ConnectorRegistry()))
    (issue,) = info.value.issues
    assert "'attribute' or 'known-values'" in issue.message and where(issue) == (20, 37), issue.message


def test_manage_known_values_is_refused_on_a_deprovision_flow() -> None:
    text = MANAGE.replace("{inbound}", "members").replace("{outbound}", "members")
    text += "    deprovision: disable\n    deprovision_flows:\n"
    text += "      member: {expression: members, manage: known-values}\n"
    (issue,) = problems(text)
    assert "outbound flows only, not to a deprovision flow" in issue.message and where(issue) == (23, 37)


def test_connect_contains_matches_a_reference_attribute_whole() -> None:
    # Connect: "For reference attributes, the searched string must exactly match the value"; strings: substrings
    text = """\
connectors:
  out: {type: csv, path: out.csv, object_type: group, anchor: name, missing_ok: true}
metaverse:
  group:
    attributes: {name: string, members: "reference[]", aliases: "string[]"}
outbound:
  - name: groups-out
    connector: out
    object_type: group
    metaverse_type: group
    dialect: connect
    flows:
      name: name
      inMembers: 'Contains([members], "CN=Ann Lee,OU=Staff,DC=corp,DC=example")'
      partOfMember: 'Contains([members], "CN=Ann Lee")'
      partOfAlias: 'Contains([aliases], "CN=Ann Lee")'
"""
    loaded = load_config_text(text, "idsync.yaml", Path("."), connector_model_lookup(ConnectorRegistry()))
    flows = {f.target: f.expression for f in compile_rules(loaded).outbound[0].flows}
    values = {
        "members": ["CN=Bo Ek,OU=Staff,DC=corp,DC=example", "CN=Ann Lee,OU=Staff,DC=corp,DC=example"],
        "aliases": ["CN=Ann Lee (old)", "x"],
    }
    assert flows["inMembers"].evaluate(values) == 2
    assert flows["partOfMember"].evaluate(values) == 0
    assert flows["partOfAlias"].evaluate(values) == 1
    with pytest.raises(ConfigError, match="takes no case type"):
        compile_rules(
            load_config_text(
                text.replace('DC=example")', 'DC=example", CaseInsensitive)'),
                "idsync.yaml",
                Path("."),
                connector_model_lookup(ConnectorRegistry()),
            )
        )
