"""``idsync serve`` refuses to start unsafely or with a broken configuration; the CLI stays light; htmx is vendored
as published."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from servicesite import IDSYNC_BIN, Site, free_port

from idsync.service.runtime import SERVICE_LOCK
from idsync.store import open_store


def _serve(site: Site, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [IDSYNC_BIN, "-C", str(site.root), "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_help_lists_the_service_commands_without_importing_the_web_stack() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from idsync.cli.main import cli\n"
        "out = CliRunner().invoke(cli, ['--help']).output\n"
        "heavy = [m for m in ('starlette', 'uvicorn', 'jinja2', 'prometheus_client') if m in sys.modules]\n"
        "print(heavy, all(c in out for c in ('serve', 'report', 'audit')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[] True"


def test_serve_needs_a_token_reference(site: Site) -> None:
    site.configure()
    text = (site.root / "idsync.yaml").read_text().replace("  token: ${file:token.txt}\n", "")
    (site.root / "idsync.yaml").write_text(text)
    result = _serve(site)
    assert result.returncode == 1 and "service.token is not set" in result.stderr


def test_serve_names_a_token_it_cannot_read(site: Site) -> None:
    site.configure()
    (site.root / "token.txt").unlink()
    result = _serve(site)
    assert result.returncode == 1 and "${file:token.txt}" in result.stderr and "cannot read" in result.stderr


def test_serve_refuses_a_short_token(site: Site) -> None:
    site.configure()
    (site.root / "token.txt").write_text("abc12")
    result = _serve(site)
    assert result.returncode == 1 and "too short (5 characters)" in result.stderr
    assert "abc12" not in result.stderr and "Traceback" not in result.stderr


def test_serve_refuses_a_short_token_from_the_environment_in_one_line(site: Site) -> None:
    site.configure()
    config = site.root / "idsync.yaml"
    config.write_text(config.read_text().replace("${file:token.txt}", "${env:IDSYNC_SERVICE_TOKEN}"))
    result = _serve(site, env={**os.environ, "IDSYNC_SERVICE_TOKEN": "short"})
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "service.token: the service token is too short (5 characters)" in result.stderr
    assert "short\n" not in result.stderr


def test_serve_names_a_missing_tls_file_before_it_says_it_serves(site: Site) -> None:
    site.configure()
    config = site.root / "idsync.yaml"
    config.write_text(config.read_text() + "  tls_cert: tls/idsync.pem\n  tls_key: tls/idsync.key\n")
    result = _serve(site, "--port", str(free_port()))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "service.tls_cert: cannot read" in result.stderr and "tls/idsync.pem" in result.stderr
    assert "serving" not in result.stderr and "active" not in result.stderr


def test_a_taken_port_fails_in_one_line_before_the_instance_claims_the_store(site: Site) -> None:
    site.configure(schedules="{cycle: {profile: cycle, every: 1s}}")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _serve(site, "--port", str(port))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    # it never became active: no lock taken, no schedule loaded, no run started
    assert "active" not in result.stderr and "schedule" not in result.stderr
    store = open_store(site.store_url, site.root)
    try:
        assert store.lock_holder(SERVICE_LOCK) is None
        assert store.runs(10) == []
    finally:
        store.close()


def test_serve_will_not_listen_beyond_loopback_in_clear(site: Site) -> None:
    site.configure()
    result = _serve(site, "--host", "0.0.0.0")
    assert result.returncode == 1 and "without TLS" in result.stderr and "tls_cert" in result.stderr


def test_a_schedule_naming_an_unknown_profile_fails_with_its_line(site: Site) -> None:
    site.configure(schedules="{nightly: {profile: nigthly-full, cron: '0 2 * * *'}}")
    result = _serve(site)
    assert result.returncode == 3
    assert "no run profile named 'nigthly-full'" in " ".join(result.stderr.split())
    lines = (site.root / "idsync.yaml").read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if "nigthly" in text)
    assert f"idsync.yaml:{line}:" in result.stderr


def test_htmx_is_vendored_unchanged_with_its_licence() -> None:
    text = (resources.files("idsync.service") / "static" / "htmx.min.js").read_bytes()
    header, _, body = text.partition(b" */\n")
    match = re.match(
        rb"/\*! htmx\.org (2\.\d+\.\d+) \(npm\), dist/htmx\.min\.js unchanged [^;]+; sha256 ([0-9a-f]{64})", header
    )
    assert match is not None, header[:200]
    assert hashlib.sha256(body).hexdigest() == match.group(2).decode()
    assert b"Zero-Clause BSD" in header and b"Permission to use, copy, modify" in header
    assert body.startswith(b"var htmx=function()")


def test_templates_load_nothing_from_elsewhere() -> None:
    folder = Path(str(resources.files("idsync.service") / "templates"))
    for template in folder.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r'(src|href)="(https?:)?//', text), template.name
        assert "<script>" not in text and not re.search(r"\son[a-z]+=", text), template.name


@pytest.mark.parametrize("name", ["app.css", "htmx.min.js"])
def test_static_files_are_packaged(name: str) -> None:
    assert (resources.files("idsync.service") / "static" / name).is_file()
