"""pytest fixtures for the real directory servers.

Load with ``pytest_plugins = ["idsync.testing.directories.pytest_plugin"]``. A server that cannot run here
fails the tests that need it with the reason and the command that installs what is missing; it never skips,
so a green run always means the tests ran against real servers.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from idsync.testing.directories.ds389 import DS389Server
from idsync.testing.directories.process import DirectoryServerUnavailable
from idsync.testing.directories.samba import SambaDC
from idsync.testing.directories.slapd import SlapdServer, SlapdSettings

S = TypeVar("S", SlapdServer, SambaDC, DS389Server)


def _unique_rdn(request: pytest.FixtureRequest) -> str:
    """An OU name from the test's name: readable in a server log, unique."""
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40]
    return f"{name}-{secrets.token_hex(3)}"


def _fail(exc: DirectoryServerUnavailable) -> None:
    pytest.fail(str(exc), pytrace=False)


def _serve(create: Callable[[], S]) -> Iterator[S]:
    """Create and start a server, hand it out, and stop it whatever happens."""
    server: S | None = None
    try:
        server = create()
        server.start()
    except DirectoryServerUnavailable as exc:
        if server is not None:
            server.stop()
        _fail(exc)
    assert server is not None
    try:
        yield server
    finally:
        server.stop()


def _fresh_ou(server: SlapdServer | SambaDC | DS389Server, dn: str) -> Iterator[str]:
    server.tools.reset_ou(dn)
    yield dn
    if server.running():
        server.tools.delete_subtree(dn)


@pytest.fixture(scope="session")
def slapd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlapdServer]:
    """One private slapd for the session (ldap:// and ldaps://, accesslog, syncprov), stopped at the end."""
    yield from _serve(lambda: SlapdServer.create(tmp_path_factory.mktemp("slapd")))


@pytest.fixture
def slapd_factory(tmp_path: Path) -> Iterator[Callable[..., SlapdServer]]:
    """Start private slapd instances of one's own (to stop, kill or restart without disturbing others)."""
    started: list[SlapdServer] = []

    def make(settings: SlapdSettings | None = None, folder_name: str = "slapd") -> SlapdServer:
        try:
            server = SlapdServer.create(tmp_path / f"{folder_name}-{len(started)}", settings)
            started.append(server)
            server.start()
        except DirectoryServerUnavailable as exc:
            _fail(exc)
        return server

    try:
        yield make
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def slapd_subtree(slapd_server: SlapdServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty OU under the session slapd's base for one test; deleted afterwards."""
    yield from _fresh_ou(slapd_server, f"ou={_unique_rdn(request)},{slapd_server.base_dn}")


@pytest.fixture(scope="session")
def samba_dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SambaDC]:
    """A Samba AD DC for the session, restored from the golden copy (provisioned once per machine)."""
    yield from _serve(lambda: SambaDC.restore(tmp_path_factory.mktemp("samba") / "dc"))


@pytest.fixture
def samba_ou(samba_dc: SambaDC, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty OU in the Samba domain for one test; deleted afterwards."""
    yield from _fresh_ou(samba_dc, f"OU={_unique_rdn(request)},{samba_dc.base_dn}")


@pytest.fixture(scope="session")
def ds389_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DS389Server]:
    """A private 389 Directory Server for the session (retro changelog on), stopped at the end."""
    yield from _serve(lambda: DS389Server.create(tmp_path_factory.mktemp("ds389") / "ds"))


@pytest.fixture
def ds389_subtree(ds389_server: DS389Server, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty OU under the 389 DS suffix for one test; deleted afterwards."""
    yield from _fresh_ou(ds389_server, f"ou={_unique_rdn(request)},{ds389_server.base_dn}")
