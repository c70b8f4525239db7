"""Staying under Graph's throttling budget: one governor per connector, shared by every request it sends.

Graph answers 429 with ``Retry-After`` when an app+tenant pair exceeds its identity limits (writes per 150 s,
resource units per 10 s). The governor makes every request wait out the longest ``Retry-After`` it has seen
(honouring it globally, not only for the request that got it), halves the number of requests in flight when
throttled and grows it back by one after a window of successes (additive increase, multiplicative decrease), so
the connector settles just under the budget instead of bouncing off it. 5xx answers and timeouts get exponential
backoff with jitter, so a fleet of retries does not arrive at once.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

Clock = Callable[[], float]
Sleep = Callable[[float], None]


def retry_after_seconds(headers: Mapping[str, str], default: float | None = None) -> float | None:
    """The wait a throttled response asks for. ``x-ms-retry-after-ms`` (milliseconds) is preferred when present:
    ``Retry-After`` has whole seconds only."""
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("x-ms-retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - time.time())


def backoff(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: between half and all of ``min(cap, base * 2**attempt)``."""
    ceiling = min(cap, base * (2 ** max(0, attempt)))
    return ceiling * rng.uniform(0.5, 1.0)


@dataclass
class GovernorStats:
    throttled: int = 0
    waited_seconds: float = 0.0
    lowest_concurrency: int = 0


@dataclass
class RateGovernor:
    max_concurrency: int
    clock: Clock = time.monotonic
    sleep: Sleep = time.sleep
    stats: GovernorStats = field(default_factory=GovernorStats)
    limit: int = 0
    _active: int = 0
    _pause_until: float = 0.0
    _successes: int = 0
    _last_cut: float = float("-inf")
    _cond: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def __post_init__(self) -> None:
        self.limit = self.limit or self.max_concurrency
        self.stats.lowest_concurrency = self.limit

    def wait_pause(self) -> None:
        """Block until no global throttling pause is in force."""
        while True:
            with self._cond:
                remaining = self._pause_until - self.clock()
            if remaining <= 0:
                return
            self.stats.waited_seconds += remaining
            self.sleep(remaining)

    def acquire(self) -> None:
        """Take a slot for one request: waits for the pause to end and for the in-flight count to drop."""
        while True:
            self.wait_pause()
            with self._cond:
                if self._active < self.limit and self.clock() >= self._pause_until:
                    self._active += 1
                    return
                self._cond.wait(timeout=0.05)

    def release(self) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify_all()

    def succeeded(self) -> None:
        with self._cond:
            self._successes += 1
            if self._successes >= self.limit * 4 and self.limit < self.max_concurrency:
                self.limit += 1
                self._successes = 0
                self._cond.notify_all()

    def throttled(self, retry_after: float) -> None:
        """A 429: everyone waits ``retry_after``; fewer requests go out at once for a while."""
        with self._cond:
            now = self.clock()
            self.stats.throttled += 1
            self._pause_until = max(self._pause_until, now + retry_after)
            if now - self._last_cut >= max(retry_after, 0.05):
                self.limit = max(1, self.limit // 2)
                self._last_cut = now
                self._successes = 0
                self.stats.lowest_concurrency = min(self.stats.lowest_concurrency, self.limit)
            self._cond.notify_all()
