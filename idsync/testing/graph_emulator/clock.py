"""The emulator's clock: real time plus an offset tests can advance, so token and delta-link expiry can be
exercised without waiting seven days."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class Clock:
    """Wall time for timestamps and expiry; monotonic time for throttling windows. Both move with ``advance``."""

    def __init__(self, offset: float = 0.0) -> None:
        self._offset = offset
        self._lock = threading.Lock()

    @property
    def offset(self) -> float:
        """Seconds the clock was advanced by."""
        return self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def monotonic(self) -> float:
        return time.monotonic() + self._offset

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self._offset)

    def iso_now(self) -> str:
        """A timestamp shaped like Graph's: UTC, seconds precision, trailing Z."""
        return self.now().strftime("%Y-%m-%dT%H:%M:%SZ")
