"""Starting, waiting for and stopping a server process: what slapd and Samba have in common.

Servers run in their own session (process group), so stopping one reaches its children too and never anything
else: TERM first, KILL after a grace period.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, ClassVar

INSTALL_HINT = "run `make test` (it installs the Debian packages the tests use) or `sh scripts/install-test-deps.sh`"


class DirectoryServerUnavailable(RuntimeError):
    """A server the tests need cannot run here; the message says what is missing and how to get it."""


def require_binary(name: str, package: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/bin")
    if found is None:
        raise DirectoryServerUnavailable(f"{name} is not installed (Debian package {package}); {INSTALL_HINT}")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def ldap_answers(url: str, timeout: int = 1) -> bool:
    """True once the server answers a rootDSE read: listening is not enough, the backends must be open."""
    from ldap3 import BASE, NONE, Connection, Server

    # ldap3 packs receive_timeout into a socket option as an integer: a float fails every time

    try:
        conn = Connection(Server(url, get_info=NONE, connect_timeout=timeout), receive_timeout=timeout)
        conn.open()
        try:
            return bool(conn.search("", "(objectClass=*)", BASE, attributes=["namingContexts"]))
        finally:
            conn.unbind()
    except Exception:
        return False


@dataclass
class ServerProcess:
    """One running server, started in its own process group, with its output in a log file."""

    argv: Sequence[str]
    log_file: Path
    env: dict[str, str] | None = None
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _log: IO[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if self.running():
            return
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_file.open("ab")
        self._proc = subprocess.Popen(
            list(self.argv),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=self.env,
        )

    def wait_ready(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                code = None if self._proc is None else self._proc.returncode
                raise DirectoryServerUnavailable(f"{what} exited during start (code {code}): {self.log_tail()}")
            if check():
                return
            time.sleep(0.05)
        self.stop()
        raise DirectoryServerUnavailable(f"{what} did not answer within {timeout:.0f} s: {self.log_tail()}")

    def stop(self, grace: float = 15.0) -> None:
        """TERM the server's process group, wait, then KILL what is left; idempotent."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc is not None:
            # children of a forking server may outlive the leader for a moment
            _wait_group_gone(proc.pid, grace)
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """An abrupt crash: KILL with no chance to flush, as a power cut or OOM kill would."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
            _wait_group_gone(proc.pid, 5.0)

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:]) or "(empty log)"


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _wait_group_gone(pgid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    _signal_group(pgid, signal.SIGKILL)


def run_tool(argv: Sequence[str], what: str, input_text: str | None = None, env: dict[str, str] | None = None) -> str:
    """Run a command-line tool; a failure raises with the tool's own words (never the arguments: they may hold
    paths to secrets, never secrets themselves)."""
    done = subprocess.run(list(argv), input=input_text, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise DirectoryServerUnavailable(
            f"{what} failed (exit {done.returncode}): {(done.stderr or done.stdout).strip()[-2000:]}"
        )
    return done.stdout


def write_secret(path: Path, data: str | bytes) -> None:
    """A file readable by its owner only (keys, password files for ``-y``: no trailing newline added).
    Samba refuses a TLS key anyone else can read, and so should everyone."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)


class ManagedServer:
    """Start / stop / kill / restart for a server described by a subclass (argv, log, readiness URL)."""

    server_name: ClassVar[str]
    _process: ServerProcess | None = None

    def _argv(self) -> list[str]:
        raise NotImplementedError

    def _log_path(self) -> Path:
        raise NotImplementedError

    def _ready_url(self) -> str:
        raise NotImplementedError

    def _start_timeout(self) -> float:
        return 30.0

    def _before_start(self) -> None:
        """A chance to refuse with a clear reason before anything is spawned."""

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        self._before_start()
        if self._process is None:
            self._process = ServerProcess(argv=self._argv(), log_file=self._log_path())
        self._process.start()
        url = self._ready_url()
        self._process.wait_ready(lambda: ldap_answers(url), self._start_timeout(), self.server_name)

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()

    def kill(self) -> None:
        """Crash the server (SIGKILL, no chance to flush); the data must survive the next start."""
        if self._process is not None:
            self._process.kill()

    def restart(self) -> None:
        self.stop()
        self.start()

    def running(self) -> bool:
        return self._process is not None and self._process.running()
