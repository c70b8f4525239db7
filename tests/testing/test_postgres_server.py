"""The throwaway PostgreSQL server the tests run against: where it listens, whom it runs as, what it leaves."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from idsync.testing.postgres import PostgresServer, find_bindir, running_postgres


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_the_session_server(postgres_server: PostgresServer) -> None:
    assert listening(postgres_server.port)
    assert (postgres_server.socket_dir / f".s.PGSQL.{postgres_server.port}").is_socket()
    owner = postgres_server.data_dir.stat().st_uid
    if os.geteuid() == 0:
        assert owner != 0  # initdb and postgres refuse root: it runs unprivileged
    else:
        assert owner == os.geteuid()
    assert postgres_server.url("x").startswith(f"postgresql://{postgres_server.superuser}@127.0.0.1:")


def test_a_server_is_gone_with_its_folder_after_stopping(postgres_server: PostgresServer) -> None:
    with running_postgres(postgres_server.bindir) as server:
        folder, port = server.base, server.port
        assert port != postgres_server.port and listening(port)
        url = server.create_database("scratch")
        assert url.endswith(f":{port}/scratch")
    assert not folder.exists()
    assert not listening(port)


def test_the_newest_installed_server_is_used(postgres_server: PostgresServer) -> None:
    bindir = find_bindir()
    assert (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file()
    installed = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: tuple(int(x) for x in p.parts[-3].split("."))
    )
    if installed:
        assert bindir == installed[-1].parent
    else:
        pytest.skip("server binaries come from PATH here")
