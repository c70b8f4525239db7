"""A private, throwaway PostgreSQL server for tests and benchmarks.

It runs the distribution's server binaries (Debian keeps them in ``/usr/lib/postgresql/<version>/bin``, outside
``PATH``) on a cluster created in a temporary folder, listening on a free loopback port and on a Unix socket in
that folder, with trust authentication for a single throwaway superuser. Nothing of the machine's own PostgreSQL
service is used or touched.

``initdb`` and ``postgres`` refuse to run as root, so when the caller is root the server runs as an unprivileged
account (``nobody`` unless told otherwise) and the folder is handed to it; otherwise it runs as the caller.
Durability is switched off (``fsync``, ``synchronous_commit``, ``full_page_writes``): the cluster is thrown away.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

BIN_GLOB = "/usr/lib/postgresql/*/bin"
"""Where Debian and Ubuntu install the server binaries, one folder per major version."""

SUPERUSER = "idsync_test"
DEFAULT_RUN_AS = "nobody"

SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "40",
    "shared_buffers": "64MB",
    "max_parallel_workers_per_gather": "0",
    "unix_socket_permissions": "0777",
    "log_min_messages": "warning",
    "logging_collector": "off",
}


class PostgresUnavailable(RuntimeError):
    """The server binaries are not installed here."""


class PostgresStartError(RuntimeError):
    """The throwaway server could not be created or started; the message carries the end of its log."""


def _version_key(bindir: Path) -> tuple[int, ...]:
    numbers = re.findall(r"\d+", bindir.parent.name)
    return tuple(int(n) for n in numbers) or (0,)


def find_bindir() -> Path:
    """The newest installed server's binary folder; ``PATH`` is the fallback for other layouts."""
    candidates = [p for p in Path("/").glob(BIN_GLOB.lstrip("/")) if (p / "initdb").is_file()]
    if candidates:
        return max(candidates, key=_version_key)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    raise PostgresUnavailable(
        f"PostgreSQL server binaries not found (looked in {BIN_GLOB} and PATH): install the 'postgresql' package"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """One throwaway cluster. ``start()`` creates and starts it; ``stop()`` stops it and deletes its folder."""

    bindir: Path
    run_as: str | None = None
    """Account the server runs as; ``None``: the current user, or ``nobody`` when the current user is root."""
    superuser: str = SUPERUSER
    base: Path = field(init=False)
    port: int = field(init=False, default=0)
    _ids: tuple[int, int] | None = field(init=False, default=None)
    _databases: int = field(init=False, default=0)
    _schemas: int = field(init=False, default=0)
    _admin: Any = field(init=False, default=None)

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base

    @property
    def log_file(self) -> Path:
        return self.base / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.superuser}@127.0.0.1:{self.port}/{database}"

    # lifecycle -----------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._ids = self._server_ids()
        self.base = Path(tempfile.mkdtemp(prefix="idsync-pg-"))
        if self._ids is not None:
            os.chown(self.base, *self._ids)
        initdb = [str(self.bindir / "initdb"), "-D", str(self.data_dir), "-U", self.superuser, "--auth=trust"]
        try:
            self._run([*initdb, "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"], "initdb")
        except PostgresStartError:
            self._cleanup()
            raise
        last_error: PostgresStartError | None = None
        for _ in range(3):  # a port picked as free may be taken before the server binds it
            self.port = free_port()
            self._write_settings()
            try:
                self._run([*self._pg_ctl(), "-l", str(self.log_file), "-w", "-t", "60", "start"], "pg_ctl start")
                return
            except PostgresStartError as exc:
                last_error = exc
        self._cleanup()
        assert last_error is not None
        raise last_error

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if self.data_dir.exists():
            self._spawn([*self._pg_ctl(), "-m", "immediate", "-w", "stop"])
        self._cleanup()

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL. Names are generated when not given."""
        self._databases += 1
        name = name or f"db{self._databases}"
        self._run(self._client("createdb", "-T", "template0", name), "createdb", log=False)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self._run(self._client("dropdb", "--force", "--if-exists", name), "dropdb", log=False)

    def create_schema(self, database: str = "postgres") -> str:
        """A new empty schema, first on the search path of the URL returned: a clean slate for one test, made in
        milliseconds where a new database takes a few hundred."""
        self._schemas += 1
        name = f"t{self._schemas}"
        self._admin_connection(database).execute(f'CREATE SCHEMA "{name}"')
        return f"{self.url(database)}?options=-csearch_path%3D{name}"

    def drop_schema(self, url: str) -> None:
        query = parse_qs(urlsplit(url).query)
        name = query["options"][0].partition("search_path=")[2]
        database = urlsplit(url).path.lstrip("/")
        self._admin_connection(database).execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')

    # helpers -------------------------------------------------------------------------------------------------
    def _admin_connection(self, database: str) -> Any:
        import psycopg  # the 'postgres' extra; only schema fixtures need it

        if self._admin is None or self._admin.info.dbname != database:
            if self._admin is not None:
                self._admin.close()
            self._admin = psycopg.connect(self.url(database), autocommit=True)
        return self._admin

    def _server_ids(self) -> tuple[int, int] | None:
        """(uid, gid) to run the server as, or None for the current user."""
        name = self.run_as or (DEFAULT_RUN_AS if os.geteuid() == 0 else None)
        if name is None:
            return None
        entry = pwd.getpwnam(name)
        if entry.pw_uid == 0:
            raise PostgresStartError(f"cannot run PostgreSQL as {name!r}: the server refuses to run as root")
        return entry.pw_uid, entry.pw_gid

    def _pg_ctl(self) -> list[str]:
        return [str(self.bindir / "pg_ctl"), "-D", str(self.data_dir)]

    def _client(self, tool: str, *args: str) -> list[str]:
        """A client tool's command line, connecting over the Unix socket as the superuser."""
        where = ["-h", str(self.socket_dir), "-p", str(self.port), "-U", self.superuser]
        return [str(self.bindir / tool), *where, *args]

    def _spawn(self, cmd: list[str]) -> subprocess.CompletedProcess[str]:
        """Run a server binary as the server's account, with a clean environment."""
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.base), "LC_ALL": "C.UTF-8"}
        uid, gid = self._ids if self._ids is not None else (None, None)
        return subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            env=env,
            user=uid,
            group=gid,
            extra_groups=[] if self._ids is not None else None,
        )

    def _write_settings(self) -> None:
        settings = {**SETTINGS, "port": str(self.port), "unix_socket_directories": f"'{self.socket_dir}'"}
        conf = self.data_dir / "postgresql.auto.conf"
        conf.write_text("".join(f"{k} = {v}\n" for k, v in settings.items()), encoding="utf-8")
        if self._ids is not None:
            os.chown(conf, *self._ids)

    def _run(self, cmd: list[str], what: str, *, log: bool = True) -> None:
        done = self._spawn(cmd)
        if done.returncode != 0:
            tail = ""
            if log and self.log_file.exists():
                tail = "\n".join(self.log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-20:])
            raise PostgresStartError(
                f"{what} failed (exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}"
                + (f"\nserver log:\n{tail}" if tail else "")
            )

    def _cleanup(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


@contextmanager
def running_postgres(bindir: Path | None = None, *, run_as: str | None = None) -> Iterator[PostgresServer]:
    """A started throwaway server, stopped and deleted on exit."""
    server = PostgresServer(bindir or find_bindir(), run_as=run_as)
    server.start()
    try:
        yield server
    finally:
        server.stop()
