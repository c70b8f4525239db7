from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from idsync.config import ConfigError, SecretError, SecretRef, SecretResolver, load_config_text
from idsync.config.secrets import resolve_url_password
from idsync.store import StoreError, open_store


class FakeConnectorModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    path: str = "x.csv"
    password: SecretRef | None = None


def lookup(type_name: str) -> type[BaseModel]:
    if type_name != "csv":
        raise LookupError(f"unknown connector type {type_name!r}")
    return FakeConnectorModel


GOOD = """\
connectors:
  hr: {type: csv, path: data/hr.csv}
metaverse:
  person: [employeeId, displayName]
inbound:
  - name: hr-in
    connector: hr
    object_type: person
    metaverse_type: person
    join: [{employeeId: employeeId}]
    project: true
    flows:
      displayName: 'Join(" ", [givenName], [sn])'
"""


def load(text: str) -> object:
    return load_config_text(text, "idsync.yaml", Path("."), lookup)


def test_valid_config_loads_with_shorthands() -> None:
    loaded = load_config_text(GOOD, "idsync.yaml", Path("."), lookup)
    rule = loaded.config.inbound[0]
    assert rule.join == [{"employeeId": "[employeeId]"}]
    assert rule.flows["displayName"].expression.startswith("Join(")
    assert set(loaded.config.metaverse["person"].attributes) == {"employeeId", "displayName"}
    assert loaded.connectors["hr"].path == "data/hr.csv"  # type: ignore[attr-defined]


def test_unknown_setting_reports_file_line_and_column() -> None:
    text = GOOD.replace("    project: true\n", "    project: true\n    projct: false\n")
    with pytest.raises(ConfigError) as info:
        load(text)
    issue = info.value.issues[0]
    assert "unknown setting 'projct'" in issue.message
    assert issue.position is not None
    assert (issue.position.file, issue.position.line, issue.position.column) == ("idsync.yaml", 12, 5)


def test_every_problem_is_reported_at_once() -> None:
    text = GOOD.replace("connector: hr", "connector: payroll").replace("metaverse_type: person", "metaverse_type: user")
    with pytest.raises(ConfigError) as info:
        load(text)
    messages = " | ".join(i.message for i in info.value.issues)
    assert "unknown connector 'payroll'" in messages
    assert "unknown metaverse type 'user'" in messages
    lines = sorted(i.position.line for i in info.value.issues if i.position)
    assert lines == [7, 9]


def test_flow_target_must_be_a_metaverse_attribute() -> None:
    text = GOOD.replace("      displayName: 'Join", "      fullName: 'Join")
    with pytest.raises(ConfigError) as info:
        load(text)
    (issue,) = info.value.issues
    assert "flow target 'fullName'" in issue.message
    assert issue.position is not None and issue.position.line == 13


def test_connector_block_is_validated_by_its_own_model() -> None:
    text = GOOD.replace("{type: csv, path: data/hr.csv}", "{type: csv, pth: data/hr.csv}")
    with pytest.raises(ConfigError) as info:
        load(text)
    (issue,) = info.value.issues
    assert "unknown setting 'pth'" in issue.message
    assert issue.path == ("connectors", "hr", "pth")
    assert issue.position is not None and issue.position.line == 2


def test_unknown_connector_type_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        load(GOOD.replace("type: csv", "type: sap"))
    assert "unknown connector type 'sap'" in str(info.value)


def test_yaml_syntax_error_has_a_position() -> None:
    with pytest.raises(ConfigError) as info:
        load("connectors:\n  hr: {type: csv\nmetaverse: {}\n")
    issue = info.value.issues[0]
    assert issue.message.startswith("YAML:")
    assert issue.position is not None and issue.position.line >= 2


def test_literal_secret_is_refused_and_not_echoed() -> None:
    text = GOOD.replace("path: data/hr.csv}", "path: data/hr.csv, password: hunter2-Secret}")
    with pytest.raises(ConfigError) as info:
        load(text)
    assert "secrets must be references" in str(info.value)
    assert "hunter2-Secret" not in str(info.value)


def test_secret_reference_is_accepted_and_resolved(tmp_path: Path) -> None:
    text = GOOD.replace("path: data/hr.csv}", "path: data/hr.csv, password: '${env:HR_PW}'}")
    loaded = load_config_text(text, "idsync.yaml", tmp_path, lookup)
    reference = loaded.connectors["hr"].password  # type: ignore[attr-defined]
    assert reference == "${env:HR_PW}"
    resolver = SecretResolver(tmp_path, environ={"HR_PW": "s3cret"})
    assert resolver.resolve(reference) == "s3cret"
    (tmp_path / "pw.txt").write_text("from-file\n")
    assert resolver.resolve("${file:pw.txt}") == "from-file"
    with pytest.raises(SecretError) as info:
        SecretResolver(tmp_path, environ={}).resolve(reference)
    assert "HR_PW" in str(info.value) and "s3cret" not in str(info.value)


def test_profiles_step_shorthand() -> None:
    text = GOOD + "profiles:\n  nightly:\n    - hr: full-import\n    - {connector: hr, step: delta-sync}\n"
    loaded = load_config_text(text, "idsync.yaml", Path("."), lookup)
    steps = loaded.config.profiles["nightly"]
    assert [(s.connector, s.step) for s in steps] == [("hr", "full-import"), ("hr", "delta-sync")]


def test_bad_step_name_is_reported() -> None:
    text = GOOD + "profiles:\n  nightly:\n    - hr: full-imprt\n"
    with pytest.raises(ConfigError) as info:
        load(text)
    assert any(i.position and i.position.line == 16 for i in info.value.issues)


def test_a_key_given_twice_is_an_error_with_both_positions() -> None:
    text = GOOD.replace("{type: csv, path: data/hr.csv}", "{type: csv, path: data/hr.csv, path: data/other.csv}")
    with pytest.raises(ConfigError) as info:
        load(text)
    (issue,) = info.value.issues
    assert "'path' is given twice" in issue.message and "first at idsync.yaml:2:19" in issue.message
    assert issue.position is not None and (issue.position.line, issue.position.column) == (2, 38)


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "---\n"])
def test_an_empty_configuration_is_an_error(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(text)
    (issue,) = info.value.issues
    assert issue.message.startswith("empty configuration")
    assert issue.position is not None and issue.position.line == 1


def test_yaml_syntax_errors_are_explained_at_the_parser_position() -> None:
    text = "connectors:\n  hr: {type: csv, path: x.csv}\n metaverse: {}\n"
    with pytest.raises(ConfigError) as info:
        load(text)
    (issue,) = info.value.issues
    assert "indentation" in issue.message and "<block" not in issue.message
    assert issue.position is not None and (issue.position.line, issue.position.column) == (3, 2)
    with pytest.raises(ConfigError) as info:
        load("connectors:\n\thr: {type: csv}\n")
    assert "YAML indents with spaces only" in info.value.issues[0].message


def test_a_value_its_tag_cannot_hold_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        load("version: !!int one\n")
    assert info.value.issues[0].message.startswith("YAML:")


def test_unknown_settings_suggest_the_setting_meant() -> None:
    for typo, message in [
        (("    project: true\n", "    projct: true\n"), "unknown setting 'projct'; did you mean 'project'?"),
        (("type: csv, path:", "type: csv, pth:"), "unknown setting 'pth'; did you mean 'path'?"),
        (("connectors:", "stor: sqlite\nconnectors:"), "unknown setting 'stor'; did you mean 'store'?"),
        (("project: true", "project: true\n    flows2: {}"), "unknown setting 'flows2'; did you mean 'flows'?"),
        (("project: true", "project: true\n    zzz: {}"), "unknown setting 'zzz'"),
    ]:
        with pytest.raises(ConfigError) as info:
            load(GOOD.replace(*typo))
        assert [i.message for i in info.value.issues] == [message]


@pytest.mark.parametrize("typed", ["${env:HR_PW", "${envv:HR_PW}", "${env:}", "{env:HR_PW}", "${ENV:HR_PW}"])
def test_a_malformed_secret_reference_is_named_as_such(typed: str) -> None:
    text = GOOD.replace("path: data/hr.csv}", f"path: data/hr.csv, password: '{typed}'}}")
    with pytest.raises(ConfigError) as info:
        load(text)
    (issue,) = info.value.issues
    assert issue.message.startswith("this looks like a malformed secret reference")
    assert "${env:NAME} or ${file:PATH}" in issue.message and "HR_PW" not in issue.message
    assert issue.path == ("connectors", "hr", "password")
    assert issue.position is not None and issue.position.line == 2


def test_a_literal_password_in_the_store_url_is_refused_at_store_without_echo() -> None:
    with pytest.raises(ConfigError) as info:
        load("store: postgresql://idsync:hunter2-Secret@db.example/idsync\n" + GOOD)
    (issue,) = info.value.issues
    assert "the password in the URL: secrets must be references" in issue.message
    assert "hunter2-Secret" not in str(info.value)
    assert issue.path == ("store",)
    assert issue.position is not None and (issue.position.line, issue.position.column) == (1, 1)
    with pytest.raises(ConfigError) as info:
        load("store: postgresql://idsync:${env:PG_PW@db.example/idsync\n" + GOOD)
    assert "malformed secret reference" in info.value.issues[0].message


def test_a_store_url_password_reference_is_resolved_when_the_store_opens(tmp_path: Path) -> None:
    url = "postgresql://idsync:${env:PG_PW}@db.example:5432/idsync"
    loaded = load_config_text(f"store: '{url}'\n" + GOOD, "idsync.yaml", tmp_path, lookup)
    assert loaded.config.store == url
    for plain in ("sqlite", "postgresql://idsync@db.example/idsync"):
        assert load_config_text(f"store: '{plain}'\n" + GOOD, "idsync.yaml", tmp_path, lookup).config.store == plain
    resolver = SecretResolver(tmp_path, environ={"PG_PW": "p@ss:w/rd"})
    assert resolve_url_password(url, resolver) == "postgresql://idsync:p%40ss%3Aw%2Frd@db.example:5432/idsync"
    (tmp_path / "db.pw").write_text("from-file\n")
    assert resolve_url_password(url.replace("env:PG_PW", "file:db.pw"), resolver).startswith(
        "postgresql://idsync:from-file@"
    )
    with pytest.raises(StoreError, match=r"\$\{env:IDSYNC_TEST_UNSET_PW\}"):
        open_store(url.replace("PG_PW", "IDSYNC_TEST_UNSET_PW"), tmp_path)
