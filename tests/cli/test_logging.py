"""The command line writes what the idsync loggers say to stderr, readable, and never a resolved secret: a
connector's warning quoting its bind password shows with the password replaced."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import quote_plus

import pytest
from click.testing import CliRunner

from idsync.cli.main import cli
from idsync.connectors import registry
from idsync.connectors.base import ConnectivityError, ConnectorContext, ConnectorError, ImportPage
from idsync.connectors.memory import MemoryConfig, MemoryConnector, MemoryDirectory
from idsync.model.redaction import REDACTED

SECRET = "Bind+pw/zx81-unique value"
"""A password with characters that URL encoding changes."""

log = logging.getLogger("idsync.connectors.leaky")


class LeakyConfig(MemoryConfig):
    type: Literal["leaky"] = "leaky"  # type: ignore[assignment]
    password: str = ""
    unbuildable: bool = False


class LeakyConnectorType:
    """A memory connector whose server refuses the bind quoting the request: it logs the refusal (a warning with the
    traceback, as a connector retrying would) and then fails the import with it."""

    name: ClassVar[str] = "leaky"
    config_model: ClassVar[type[LeakyConfig]] = LeakyConfig

    @staticmethod
    def create(name: str, config: Any, context: ConnectorContext) -> MemoryConnector:
        model = config if isinstance(config, LeakyConfig) else LeakyConfig.model_validate(dict(config))
        secret = context.secrets.resolve(model.password)
        refusal = f"bind refused: password={quote_plus(secret)} ({secret})"
        if model.unbuildable:
            raise ConnectorError(f"connector {name!r}: {refusal}")
        connector = MemoryConnector(name, model, {model.directory: MemoryDirectory()})
        log.info("connector %r: binding with the configured password", name)

        def full_import() -> Iterator[ImportPage]:
            try:
                raise RuntimeError(refusal)
            except RuntimeError:
                log.warning("connector %r: the server refused the bind; retrying", name, exc_info=True)
            raise ConnectivityError(refusal)

        def test_connection() -> None:
            raise ConnectivityError(refusal)

        connector.full_import = full_import  # type: ignore[method-assign]
        connector.test_connection = test_connection  # type: ignore[method-assign]
        return connector


connector_type = LeakyConnectorType()

CONFIG = """\
connectors:
  hr: {type: leaky, directory: hr, password: '${env:HR_BIND_PW}'}
metaverse:
  person: [employeeId]
inbound:
  - {name: hr-people, connector: hr, object_type: person, metaverse_type: person, project: true,
     join: [{employeeId: employeeId}], flows: {employeeId: '[employeeId]'}}
"""


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "idsync.yaml").write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("HR_BIND_PW", SECRET)
    monkeypatch.setitem(registry.BUILTIN, "leaky", __name__)
    return tmp_path


def test_a_connector_warning_quoting_its_password_shows_without_it(workspace: Path) -> None:
    done = CliRunner().invoke(cli, ["-C", str(workspace), "run", "hr:full-import"])
    assert done.exit_code == 2, done.output
    assert "WARNING idsync.connectors.leaky: connector 'hr': the server refused the bind; retrying" in done.stderr
    assert "Traceback" in done.stderr and f"bind refused: password={REDACTED} ({REDACTED})" in done.stderr
    assert "binding with the configured password" not in done.stderr  # info: only with -v
    _hidden(done.output)


@pytest.mark.parametrize(("flags", "info"), [([], False), (["-v"], True), (["-vv"], True)])
def test_verbose_adds_the_info_lines(workspace: Path, flags: list[str], info: bool) -> None:
    done = CliRunner().invoke(cli, [*flags, "-C", str(workspace), "run", "hr:full-import"])
    assert ("INFO idsync.connectors.leaky: connector 'hr': binding with the configured password" in done.stderr) is info
    assert "WARNING idsync.connectors.leaky" in done.stderr


def test_the_command_leaves_the_loggers_as_it_found_them(workspace: Path) -> None:
    logger = logging.getLogger("idsync")
    before = (logger.handlers[:], logger.level, logger.propagate)
    CliRunner().invoke(cli, ["-vv", "-C", str(workspace), "run", "hr:full-import"])
    assert (logger.handlers[:], logger.level, logger.propagate) == before


def _hidden(output: str) -> None:
    for form in (SECRET, quote_plus(SECRET), "zx81-unique"):
        assert form not in output, form


def test_a_failed_connection_test_shows_the_message_without_the_password(workspace: Path) -> None:
    done = CliRunner().invoke(cli, ["-C", str(workspace), "connector", "test", "hr"])
    assert done.exit_code == 2
    assert f"hr: cannot connect: bind refused: password={REDACTED} ({REDACTED})" in done.stderr
    _hidden(done.output)


def test_a_connector_failing_outside_a_step_stops_without_quoting_the_password(workspace: Path) -> None:
    config = workspace / "idsync.yaml"
    config.write_text(config.read_text().replace("password:", "unbuildable: true, password:"), encoding="utf-8")
    done = CliRunner().invoke(cli, ["-C", str(workspace), "connector", "list"])
    assert done.exit_code == 2
    assert f"stopped: connector 'hr': bind refused: password={REDACTED} ({REDACTED})" in done.stderr
    _hidden(done.output)
