"""Run a tenant under uvicorn on a loopback port, in a background thread, for tests and the demo."""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import uvicorn

from idsync.testing.graph_emulator.app import ConnectionDropped

if TYPE_CHECKING:
    from idsync.testing.graph_emulator.tenant import GraphTenant


class _QuietDrops(logging.Filter):
    """Injected connection drops are intended; keep them out of the server's error log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped) and not (
            exc is not None and isinstance(exc.__context__, ConnectionDropped)
        )


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def make_server(tenant: GraphTenant, *, log_level: str = "warning") -> uvicorn.Server:
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    config = uvicorn.Config(tenant.asgi_app(), log_level=log_level, access_log=False, lifespan="off")
    return uvicorn.Server(config)


def run_until_stopped(server: uvicorn.Server, sock: socket.socket) -> None:
    """Serve in this (the main) thread until SIGINT or SIGTERM, then return instead of dying, so the caller can
    write the tenant back. uvicorn shuts down gracefully on either signal and then raises it again with the handlers
    it found installed; ours only ask the server to stop, so that second delivery is harmless (and a signal that
    comes before uvicorn has installed its own stops the server before it starts)."""

    def stop(signum: int, frame: object) -> None:
        server.should_exit = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def serve(tenant: GraphTenant, *, host: str = "127.0.0.1", port: int = 0, timeout: float = 10.0) -> Iterator[str]:
    sock = bind(host, port)
    actual = sock.getsockname()[1]
    server = make_server(tenant)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="graph-emulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the Graph emulator did not start on {host}:{actual}")
        time.sleep(0.01)
    shown = f"[{host}]" if ":" in host else host
    try:
        yield f"http://{shown}:{actual}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
