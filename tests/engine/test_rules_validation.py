"""Validating the rules' expressions against the configuration: errors point at the offending token in the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from idsync.config import ConfigError, ConfigIssue, load_config_text
from idsync.connectors.registry import ConnectorRegistry
from idsync.engine.rules import compile_rules
from idsync.engine.workspace import connector_model_lookup

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
