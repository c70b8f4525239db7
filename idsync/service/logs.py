"""Structured logs: one JSON object per line, carrying the run, step and object ids the line is about.

A step runs in its own thread; the ids are set once for that thread (``log_context``) and every line logged
inside — by the service, the engine or a connector — carries them, so ``jq 'select(.run_id == 42)'`` finds all of
a run. Secrets never reach a log line: only references are configured, object values are not logged, and the
resolved values of the connectors' secret references are replaced in every line by the handler ``configure``
installs (the service tells it them, ``SecretHidingHandler.hide``), should a connected system's error quote one.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from idsync.model.redaction import SecretHidingHandler

FIELDS = ("run_id", "step_id", "connector", "step", "profile", "schedule", "cs_id", "mv_id", "identifier", "code")
_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("idsync_log_context", default=None)

log = logging.getLogger("idsync.service")


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Ids added to every line logged in this context (this thread, this task)."""
    current = dict(_context.get() or {})
    current.update({k: v for k, v in fields.items() if v is not None})
    token = _context.set(current)
    try:
        yield
    finally:
        _context.reset(token)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(_context.get() or {})
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                data[name] = value
        extra = record.__dict__.get("data")
        if isinstance(extra, dict):
            data.update(extra)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def configure(level: str = "info", stream: Any = None) -> SecretHidingHandler:
    """JSON lines on stderr for the idsync loggers and the web server's; the service tells the handler returned the
    secret values to hide."""
    handler = SecretHidingHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("idsync", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
    return handler
