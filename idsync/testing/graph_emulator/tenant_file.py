"""A tenant kept in a file has one writer at a time. Both writers - ``idsync emulator graph --tenant-file`` serving
it and the Graph connector's ``emulator:`` setting during a run - load the whole tenant, change it in memory and
write the whole of it back, so a second one would silently undo the first one's writes. Each therefore holds
``<file>.lock`` while it has the tenant loaded: an OS lock (``flock``) on that file, which the system drops when the
process ends however it ends, so a killed holder never leaves the file locked, plus a line saying who holds it so
the one refused can name the process.

:class:`AutoSaver` writes a served tenant back while it is served, not only when the server stops.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from idsync.testing.graph_emulator.tenant import GraphTenant


class TenantFileBusy(Exception):
    """Another process (or another session of this one) holds the tenant file."""


def lock_path(tenant_file: Path) -> Path:
    return tenant_file.with_name(f"{tenant_file.name}.lock")


class TenantFileLock:
    """Exclusive hold on a tenant file, for as long as the tenant is loaded. ``holder`` says who takes it, in words
    shown to whoever is refused: ``"idsync emulator graph (http://127.0.0.1:8765)"``."""

    def __init__(self, tenant_file: Path, holder: str) -> None:
        self.tenant_file = tenant_file
        self.path = lock_path(tenant_file)
        self.holder = holder
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`TenantFileBusy` naming the holder; never waits."""
        while self._handle is None:
            handle = self.path.open("a+", encoding="utf-8")
            try:
                if not _try_lock(handle):
                    handle.seek(0)
                    raise TenantFileBusy(_busy_message(self.tenant_file, handle.read()))
                if not _same_file(handle, self.path):
                    # the previous holder removed the lock file between our open and our lock: take the new one
                    handle.close()
                    continue
                self._describe(handle)
            except BaseException:
                handle.close()
                raise
            self._handle = handle

    def describe(self, holder: str) -> None:
        """Say more about the holder once it is known (the URL a server listens on)."""
        self.holder = holder
        if self._handle is not None:
            self._describe(self._handle)

    def _describe(self, handle: IO[str]) -> None:
        handle.seek(0)
        handle.truncate()
        record = {"pid": os.getpid(), "host": socket.gethostname(), "holder": self.holder, "since": time.time()}
        handle.write(json.dumps(record) + "\n")
        handle.flush()

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        try:
            if _same_file(handle, self.path):
                self.path.unlink(missing_ok=True)  # still locked by us, so nobody can have taken it meanwhile
        finally:
            handle.close()  # closing drops the OS lock

    @property
    def held(self) -> bool:
        return self._handle is not None

    def __enter__(self) -> TenantFileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _same_file(handle: IO[str], path: Path) -> bool:
    try:
        mine, there = os.fstat(handle.fileno()), path.stat()
    except FileNotFoundError:
        return False
    return (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)


def _busy_message(tenant_file: Path, text: str) -> str:
    try:
        record: Any = json.loads(text)
        who = f"{record['holder']} (process {int(record['pid'])} on {record['host']})"
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(record["since"])))
        who = f"{who}, since {since}"
    except (ValueError, KeyError, TypeError):
        who = "another process (it has not said which yet)"
    return (
        f"{tenant_file}: the emulated tenant is in use by {who}; only one process may have it loaded at a time "
        "(each writes the whole tenant back). Stop that one first"
    )


if sys.platform == "win32":  # pragma: no cover - the test suite runs on Linux
    import msvcrt

    def _try_lock(handle: IO[str]) -> bool:
        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock(handle: IO[str]) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


class AutoSaver:
    """Writes a served tenant back to its file at most every ``interval`` seconds, when something changed (a save
    of the quickstart's 1,200-user tenant takes about 20 ms, so a burst of writes costs one save, not one each).
    ``stop()`` ends the thread and writes what is left."""

    def __init__(self, tenant: GraphTenant, path: Path, interval: float) -> None:
        self.tenant = tenant
        self.path = path
        self.interval = interval
        self.saved = tenant.revision
        self.saves = 0
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.interval > 0:
            self._thread = threading.Thread(target=self._loop, name="graph-emulator-saver", daemon=True)
            self._thread.start()

    def save(self) -> bool:
        """Write the tenant if it changed since the last write; True when it wrote."""
        revision = self.tenant.revision
        if revision == self.saved:
            return False
        self.tenant.save(self.path)
        self.saved = revision
        self.saves += 1
        return True

    def stop(self) -> bool:
        """Stop saving in the background and write the last changes; True when that final write wrote."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        return self.save()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.save()
                self.error = None
            except OSError as exc:  # a full disk: keep serving, say so, try again at the next tick and on stop
                message = f"cannot write {self.path}: {exc.strerror or exc}"
                if message != self.error:
                    print(f"Graph emulator: {message}", file=sys.stderr, flush=True)
                self.error = message
