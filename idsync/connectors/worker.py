"""Reading in a worker process: a connector's full import is read and decoded by a child process while this one
stages the pages it already has.

A thread cannot do this for a connector whose decoding is Python work (or C work holding the interpreter lock,
as python-ldap's is): the two sides would take turns on one lock. A forked child has its own interpreter, so on
a machine with two cores reading and staging proceed at once.

What keeps it safe:
- the child only reads: it runs the page generator it was given and writes each page to a pipe; it never touches
  the store (nor anything else the parent holds: it ends with ``os._exit``, so no finalizer or ``atexit`` hook of
  the parent's objects runs in it);
- whatever the generator needs (a connection, a password) it opens or reads in the child: the caller drops its own
  connection before forking, so no socket or TLS session is used by two processes, and secrets stay in memory,
  never on disk;
- an exception in the child reaches the parent, raised there as it was (or, if it cannot be pickled, as a
  ``ConnectorError`` with its text); a child that dies without a word is reported as such;
- the parent that stops early (an error limit, a stop request, Ctrl-C) kills and reaps the child before going on.

Pages travel as ``marshal`` data (built-in types only, much cheaper to load than pickle), or pickled when a value
is of another type (a ``ValueDelta``, a ``datetime``).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import marshal
import os
import pickle
import signal
import sys
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection, Pipe
from typing import Any

from idsync.connectors.base import ConnectorError, ImportIssue, ImportPage, ImportRecord

_PAGE, _PICKLED, _END, _FAILED = b"m", b"p", b"e", b"f"
_PIPE_BYTES = 1 << 20
"""Pipe buffer asked for (Linux): room for a page or two of read-ahead while the parent stages."""
_CHILD_GC_THRESHOLD = 100_000
"""The child's first-generation threshold: its pages are freed by reference counting, not by the collector."""


def forking_available() -> bool:
    """Whether reading in a forked worker is possible here (Linux; macOS and Windows spawn, which this avoids)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def encode_page(page: ImportPage) -> bytes:
    body = (
        [(r.anchor, r.identifier, r.object_type, r.attributes, r.delete, r.partial) for r in page.records],
        [(i.identifier, i.reason, i.attribute, i.anchor) for i in page.issues],
        page.watermark,
        page.snapshot,
        page.storage_form,
    )
    try:
        return _PAGE + marshal.dumps(body)
    except ValueError:  # a value of a type marshal does not know
        return _PICKLED + pickle.dumps(page, protocol=pickle.HIGHEST_PROTOCOL)


def decode_page(data: bytes) -> ImportPage:
    kind, body = data[:1], data[1:]
    if kind == _PICKLED:
        page: ImportPage = pickle.loads(body)  # noqa: S301 - written by our own child process
        return page
    records, issues, watermark, snapshot, storage_form = marshal.loads(body)  # noqa: S302 - our own child's
    return ImportPage(
        [ImportRecord(*r) for r in records], watermark, snapshot, [ImportIssue(*i) for i in issues], storage_form
    )


def read_in_worker(produce: Callable[[], Iterator[ImportPage]], *, name: str) -> Iterator[ImportPage]:
    """Yield the pages ``produce()`` yields, produced in a forked child process (``name`` names it in errors).

    The caller must hold no connection the child could share (see the module's docstring)."""
    reader, writer = Pipe(duplex=False)
    _widen(writer)
    _flush_logs()  # the child starts with empty buffers, so what it flushes is its own
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; its coverage is not collected
        reader.close()
        _child(produce, writer)
    writer.close()
    finished = False
    try:
        while True:
            try:
                data = reader.recv_bytes()
            except EOFError:
                raise ConnectorError(f"{name}: the read worker process ended unexpectedly{_exit_text(pid)}") from None
            kind = data[:1]
            if kind == _END:
                finished = True
                return
            if kind == _FAILED:
                finished = True
                raise _failure(data[1:])
            yield decode_page(data)
    finally:
        reader.close()
        if not finished:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _child(produce: Callable[[], Iterator[ImportPage]], writer: Connection) -> None:  # pragma: no cover
    code = 0
    try:
        gc.freeze()  # what the parent held is never collected here (nor copied on write by a collection)
        gc.set_threshold(_CHILD_GC_THRESHOLD)
        with contextlib.suppress(ValueError):  # Ctrl-C is the parent's to handle: it ends this process
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        for page in produce():
            writer.send_bytes(encode_page(page))
        writer.send_bytes(_END)
    except BrokenPipeError:
        code = 1  # the parent stopped reading
    except BaseException as exc:  # handed to the parent, which raises it
        code = 1
        with contextlib.suppress(BaseException):
            writer.send_bytes(_FAILED + _pickled_error(exc))
    finally:
        _flush_logs()
        os._exit(code)


def _flush_logs() -> None:
    """Written out what is buffered: before the fork (so the child does not inherit it, and write it twice), and
    in the child before it ends (what it logged, such as a reconnect: ``os._exit`` flushes nothing)."""
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


def _pickled_error(exc: BaseException) -> bytes:
    try:
        data = pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.loads(data)  # noqa: S301 - our own bytes: some exceptions pickle but cannot be rebuilt
        return data
    except Exception:
        return pickle.dumps(ConnectorError(f"{type(exc).__name__}: {exc}"), protocol=pickle.HIGHEST_PROTOCOL)


def _failure(data: bytes) -> BaseException:
    error: Any = pickle.loads(data)  # noqa: S301 - written by our own child process
    return error if isinstance(error, BaseException) else ConnectorError(str(error))


def _widen(writer: Connection) -> None:
    """A larger pipe buffer where the system allows it (Linux ``F_SETPIPE_SZ``); the default works too."""
    try:
        import fcntl

        fcntl.fcntl(writer.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), _PIPE_BYTES)
    except (ImportError, OSError):
        pass


def _exit_text(pid: int) -> str:
    try:
        done, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return ""
    if done and os.WIFSIGNALED(status):
        return f" (killed by signal {os.WTERMSIG(status)})"
    if done and os.WIFEXITED(status):
        return f" (exit code {os.WEXITSTATUS(status)})"
    return ""
