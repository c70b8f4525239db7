"""Initial passwords are exported, and never seen again: not in the audit table, the API, the dashboard, the CLI or
the run report."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import quote_plus

import httpx
import pytest
from click.testing import CliRunner
from servicesite import TOKEN, Site, password_of, served

from idsync.cli.main import cli
from idsync.connectors.base import ConnectivityError, ConnectorContext, ImportPage
from idsync.connectors.memory import MemoryConfig, MemoryConnector
from idsync.connectors.memory.directory import directories
from idsync.connectors.registry import ConnectorRegistry
from idsync.model.redaction import REDACTED
from idsync.service.logs import configure
from idsync.store import open_store

MARK = "Init-E0"
"""Every initial password starts so (``Init-<employeeId>-Pw!``)."""


def _cli(site: Site, *args: str) -> str:
    result = CliRunner().invoke(cli, ["-C", str(site.root), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_initial_passwords_are_sent_and_never_shown(populated: Site, tmp_path: Path) -> None:
    target = populated.dir.find("uid=E0001,ou=people")
    assert target is not None and target.attributes["userPassword"] == password_of("E0001")

    store = open_store(populated.store_url, populated.root)
    try:
        rows = list(store.audit_search(limit=1000))
        assert len(rows) == 30 and MARK not in json.dumps(rows)
        sent = [c for r in rows for c in r["changes"] if c[0] == "userPassword"]
        assert len(sent) == 30 and all(c[2] == [REDACTED] for c in sent)
    finally:
        store.close()

    with populated.client() as c:
        dir_object = c.get("/api/objects/dir:uid=E0001,ou=people").json()
        cs = dir_object["cs"]
        # the confirming import read the value back and kept none of it: no hologram holds a secret
        assert target.attributes["userPassword"] and "userPassword" not in cs["attributes"]
        for path in (
            "/api/audit?limit=1000",
            "/api/objects/dir:uid=E0001,ou=people",
            f"/api/objects/mv:{cs['mv_id']}",
            "/api/cs?connector=dir&limit=1000",
            "/api/runs/1",
        ):
            assert MARK not in c.get(path).text, path

    with httpx.Client(base_url=populated.url) as browser:
        browser.post("/login", data={"token": TOKEN, "next": "/"})
        for path in ("/audit", f"/objects/cs:{cs['id']}", f"/objects/mv:{cs['mv_id']}", "/runs/1", "/exports"):
            page = browser.get(path)
            assert page.status_code == 200 and MARK not in page.text, path
        assert REDACTED in browser.get("/audit").text

    # a person added now: the pending export holds the password until it is sent, and shows it to no one
    populated.people(1, start=100)
    assert populated.run("sync")["status"] == "success"
    with populated.client() as c:
        (pending,) = c.get("/api/pending-exports").json()["objects"]
        changes = {name: values for name, _op, values, _rule in pending["pending_export"]["changes"]}
        assert changes["userPassword"] == [REDACTED] and changes["employeeId"] == ["E0100"]

    # the audit trail and the pending export say a value is there; the object's own view has none to show
    for args, says_sent in (
        (("audit", "--json", "--limit", "1000"), True),
        (("audit", "--connector", "dir"), True),
        (("show", "--json", "dir:uid=E0001,ou=people"), True),
        (("show", "dir:uid=E0001,ou=people"), False),
        (("search", "cs", "--json", "--pending-export"), True),
    ):
        output = _cli(populated, *args)
        assert MARK not in output and (REDACTED in output) is says_sent, args

    report = tmp_path / "report.html"
    _cli(populated, "report", "1", "-o", str(report))
    html = report.read_text(encoding="utf-8")
    assert MARK not in html and REDACTED in html


def test_the_audit_command_filters(populated: Site) -> None:
    populated.hr.replace("E0002", {"department": "Legal"})
    second = populated.run("full")
    rows = json.loads(_cli(populated, "audit", "--json", "--run", str(second["run_id"])))["rows"]
    assert [(r["identifier"], r["op"]) for r in rows] == [("uid=E0002,ou=people", "update")]
    mine = json.loads(_cli(populated, "audit", "--json", "--object", "dir:uid=E0002,ou=people"))["rows"]
    assert [r["op"] for r in mine] == ["update", "add"]
    adds = json.loads(_cli(populated, "audit", "--json", "--op", "add", "--limit", "1000"))["rows"]
    assert len(adds) == 30
    assert json.loads(_cli(populated, "audit", "--json", "--failed"))["rows"] == []
    assert json.loads(_cli(populated, "audit", "--json", "--since", "2999-01-01"))["rows"] == []
    table = _cli(populated, "audit", "--run", str(second["run_id"]))
    assert "uid=E0002,ou=people" in table and "replace department = Legal" in table
    bad = CliRunner().invoke(cli, ["-C", str(populated.root), "audit", "--since", "last tuesday"])
    assert bad.exit_code != 0 and "--since" in bad.output
    wrong = CliRunner().invoke(cli, ["-C", str(populated.root), "audit", "--object", "mv:1"])
    assert wrong.exit_code != 0 and "connector-space object" in wrong.output


def test_the_run_report_is_one_self_contained_file(populated: Site, tmp_path: Path) -> None:
    populated.hr.replace("E0004", {"department": "xxx"})
    populated.dir.refuse_value("department", "xxx")
    failing = populated.run("full")
    target = tmp_path / "run.html"
    _cli(populated, "report", str(failing["run_id"]), "-o", str(target))
    html = target.read_text(encoding="utf-8")
    assert f"idsync run {failing['run_id']}" in html and "completed-errors" in html
    assert "<svg" in html and "objects per second" in html
    assert "uid=E0004,ou=people" in html and "the directory refuses this value" in html
    # nothing to fetch: no scripts, no external stylesheets or images, no links out
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<link" not in html
    missing = CliRunner().invoke(cli, ["-C", str(populated.root), "report", "999"])
    assert missing.exit_code != 0 and "no run 999" in missing.output


SECRET = "GRAPH+secret/zx81-unique value"
"""A client secret with characters that URL encoding changes."""


class LeakyConfig(MemoryConfig):
    type: Literal["leaky-memory"] = "leaky-memory"  # type: ignore[assignment]
    client_secret: str = ""
    unexpected: bool = False


class LeakyConnectorType:
    """A memory connector whose "token endpoint" answers with the request it was sent, client secret and all."""

    name: ClassVar[str] = "leaky-memory"
    config_model: ClassVar[type[LeakyConfig]] = LeakyConfig

    @staticmethod
    def create(name: str, config: Any, context: ConnectorContext) -> MemoryConnector:
        model = config if isinstance(config, LeakyConfig) else LeakyConfig.model_validate(dict(config))
        secret = context.secrets.resolve(model.client_secret)
        body = f"grant_type=client_credentials&client_secret={quote_plus(secret)}"
        connector = MemoryConnector(name, model, directories(context.options))

        def full_import() -> Iterator[ImportPage]:
            logging.getLogger("idsync.connectors.leaky").warning("token endpoint refused %s; giving up", body)
            if model.unexpected:
                raise RuntimeError(f"cannot parse the token answer to {body!r} (secret {secret})")
            raise ConnectivityError(f'token endpoint: 401 {{"error_description": "bad client in {body}"}}')

        connector.full_import = full_import  # type: ignore[method-assign]
        return connector


@pytest.mark.parametrize("unexpected", [False, True])
def test_a_connector_error_quoting_its_secret_is_recorded_and_logged_without_it(
    site: Site, monkeypatch: pytest.MonkeyPatch, unexpected: bool
) -> None:
    site.configure()
    config = site.root / "idsync.yaml"
    leaky = f"hr: {{type: leaky-memory, client_secret: '${{env:HR_SECRET}}', unexpected: {str(unexpected).lower()},"
    config.write_text(config.read_text().replace("hr: {type: memory,", leaky))
    monkeypatch.setenv("HR_SECRET", SECRET)
    plain = site.registry

    def registry() -> ConnectorRegistry:
        found = plain()
        found.register("leaky-memory", LeakyConnectorType)
        return found

    monkeypatch.setattr(site, "registry", registry)
    site.people(3)
    lines = io.StringIO()
    loggers = {n: logging.getLogger(n) for n in ("idsync", "uvicorn", "uvicorn.error", "uvicorn.access")}
    saved = {n: (g.handlers[:], g.level, g.propagate) for n, g in loggers.items()}
    handler = configure("info", lines)
    try:
        with served(site, log_handler=handler) as s, s.client() as c:
            run = s.run("hr-import")
            history = c.get("/api/runs").text + c.get(f"/api/runs/{run['run_id']}").text
    finally:
        for n, (handlers, level, propagate) in saved.items():
            loggers[n].handlers[:], loggers[n].level, loggers[n].propagate = handlers, level, propagate
    (step,) = run["steps"]
    assert step["status"] == ("stopped-server" if unexpected else "stopped-connectivity")
    assert f"client_secret={REDACTED}" in step["message"]
    logged = lines.getvalue()
    assert "client_secret=" in logged and REDACTED in logged
    warning = next(json.loads(line) for line in logged.splitlines() if "token endpoint refused" in line)
    assert (warning["level"], warning["logger"]) == ("warning", "idsync.connectors.leaky")
    sent = f"grant_type=client_credentials&client_secret={REDACTED}"
    assert warning["message"] == f"token endpoint refused {sent}; giving up"
    for form in (SECRET, quote_plus(SECRET), "zx81-unique"):
        assert form not in history and form not in logged, form
