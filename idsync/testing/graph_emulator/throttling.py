"""Graph's identity-and-access throttling model, scaled for tests by a time factor.

Limits and costs from "Microsoft Graph service-specific throttling limits", section "Identity and access service
limits": per application+tenant pair, resource units per 10 s (S 3,500 / M 5,000 / L 8,000 by tenant size: under
50 users, 50-500, above 500) and 3,000 writes per 2 min 30 s; per application 150,000 RU per 20 s and 35,000 writes
per 5 min; per tenant 18,000 writes per 5 min. Base costs: ``GET users`` 2, ``GET groups/{id}/members`` 3,
``GET groups/{id}/transitiveMembers`` 5, ``GET applications`` 2, other GET 1; POST/PATCH/PUT/DELETE 1 RU plus 1
write; ``$select`` -1, ``$expand`` +1, ``$top`` below 20 -1, never below 1. A throttled response is 429 with
``Retry-After``, ``x-ms-throttle-scope`` (``<Scope>/<Limit>/<ApplicationId>/<TenantId>``) and
``x-ms-throttle-information``; successful ones carry ``x-ms-resource-unit`` and, above 80% of a limit,
``x-ms-throttle-limit-percentage``.

Windows are sliding. ``time_factor`` multiplies every window (0.01 turns 150 s into 1.5 s) and the wait. Because
``Retry-After`` is whole seconds in HTTP, the exact wait is also sent as ``x-ms-retry-after-ms`` (an Azure
header name; not sent by Graph) so a client of a scaled emulator can wait the right time.
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass, field

from idsync.testing.graph_emulator.clock import Clock
from idsync.testing.graph_emulator.errors import GraphError


@dataclass
class ThrottleConfig:
    enabled: bool = True
    time_factor: float = 1.0
    # None: chosen from the tenant's user count (S/M/L).
    resource_units_per_10s: int | None = None
    writes_per_150s: int = 3000
    app_resource_units_per_20s: int = 150_000
    app_writes_per_300s: int = 35_000
    tenant_writes_per_300s: int = 18_000
    # Graph says throttled requests also "accrue against your usage limits"; off by default so tests stay simple.
    charge_throttled: bool = False


@dataclass
class ThrottleStats:
    requests: int = 0
    writes: int = 0
    resource_units: int = 0
    throttled: int = 0
    throttled_by_scope: dict[str, int] = field(default_factory=dict)


class _Window:
    """Sliding window of (time, cost) with a running total."""

    def __init__(self) -> None:
        self.events: deque[tuple[float, int]] = deque()
        self.total = 0

    def _trim(self, now: float, length: float) -> None:
        while self.events and self.events[0][0] <= now - length:
            self.total -= self.events.popleft()[1]

    def usage(self, now: float, length: float) -> int:
        self._trim(now, length)
        return self.total

    def wait_for(self, now: float, length: float, limit: int, cost: int) -> float:
        """Seconds until ``cost`` more fits under ``limit``; 0 if it fits now."""
        self._trim(now, length)
        excess = self.total + cost - limit
        if excess <= 0:
            return 0.0
        freed = 0
        for at, amount in self.events:
            freed += amount
            if freed >= excess:
                return max(at + length - now, 0.001)
        return length

    def add(self, now: float, cost: int) -> None:
        if cost:
            self.events.append((now, cost))
            self.total += cost


_RU_COSTS: tuple[tuple[str, re.Pattern[str], int], ...] = (
    ("GET", re.compile(r"^users$"), 2),
    ("GET", re.compile(r"^groups/[^/]+/members(/\$ref)?$"), 3),
    ("GET", re.compile(r"^groups/[^/]+/transitiveMembers$"), 5),
    ("GET", re.compile(r"^applications$"), 2),
    ("GET", re.compile(r"^applications/[^/]+/extensionProperties$"), 2),
    ("POST", re.compile(r"^directoryObjects/getByIds$"), 5),
)


def request_cost(method: str, path: str, query: dict[str, str]) -> tuple[int, int]:
    """(resource units, writes) of one request; ``path`` is relative to the version root, without a slash."""
    write = method in ("POST", "PATCH", "PUT", "DELETE") and path != "directoryObjects/getByIds"
    base = 1
    for verb, pattern, cost in _RU_COSTS:
        if verb == method and pattern.match(path):
            base = cost
            break
    if "$select" in query:
        base -= 1
    if "$expand" in query:
        base += 1
    top = query.get("$top")
    if top is not None and top.isdecimal() and int(top) < 20:
        base -= 1
    return max(base, 1), 1 if write else 0


class ThrottleModel:
    """Accounting for one tenant: app+tenant pairs, apps, and the tenant's write quota."""

    def __init__(self, clock: Clock, tenant_id: str, config: ThrottleConfig | None = None) -> None:
        self.clock = clock
        self.tenant_id = tenant_id
        self.config = config or ThrottleConfig()
        self.stats = ThrottleStats()
        self._pair_ru: dict[str, _Window] = {}
        self._pair_writes: dict[str, _Window] = {}
        self._app_ru: dict[str, _Window] = {}
        self._app_writes: dict[str, _Window] = {}
        self._tenant_writes = _Window()

    def configure(self, **changes: object) -> None:
        for key, value in changes.items():
            if not hasattr(self.config, key):
                raise TypeError(f"unknown throttling setting {key!r}")
            setattr(self.config, key, value)

    def reset(self) -> None:
        self._pair_ru.clear()
        self._pair_writes.clear()
        self._app_ru.clear()
        self._app_writes.clear()
        self._tenant_writes = _Window()
        self.stats = ThrottleStats()

    def ru_limit(self, user_count: int) -> int:
        if self.config.resource_units_per_10s is not None:
            return self.config.resource_units_per_10s
        if user_count < 50:
            return 3500
        return 5000 if user_count <= 500 else 8000

    def admit(self, app_id: str, method: str, path: str, query: dict[str, str], user_count: int) -> dict[str, str]:
        """Charge one request or raise the 429. Returns the headers of an admitted response."""
        ru, writes = request_cost(method, path, query)
        self.stats.requests += 1
        if not self.config.enabled:
            self._charge(app_id, ru, writes)
            return {"x-ms-resource-unit": str(ru)}
        factor = self.config.time_factor
        now = self.clock.monotonic()
        checks = (
            ("Tenant_Application", "Read", self._pair_ru, app_id, 10.0, self.ru_limit(user_count), ru, "ResourceUnit"),
            (
                "Tenant_Application",
                "Write",
                self._pair_writes,
                app_id,
                150.0,
                self.config.writes_per_150s,
                writes,
                "Write",
            ),
            (
                "Application",
                "Read",
                self._app_ru,
                app_id,
                20.0,
                self.config.app_resource_units_per_20s,
                ru,
                "ResourceUnit",
            ),
            ("Application", "Write", self._app_writes, app_id, 300.0, self.config.app_writes_per_300s, writes, "Write"),
        )
        worst: tuple[float, str, str, str] | None = None
        percentage = 0.0
        for scope, limit_kind, windows, key, seconds, limit, cost, reason in checks:
            if cost == 0:
                continue
            window = windows.setdefault(key, _Window())
            wait = window.wait_for(now, seconds * factor, limit, cost)
            percentage = max(percentage, (window.usage(now, seconds * factor) + cost) / limit)
            if wait > 0 and (worst is None or wait > worst[0]):
                worst = (wait, scope, limit_kind, reason)
        if writes:
            wait = self._tenant_writes.wait_for(now, 300.0 * factor, self.config.tenant_writes_per_300s, writes)
            if wait > 0 and (worst is None or wait > worst[0]):
                worst = (wait, "Tenant", "Write", "Write")
        if worst is not None:
            wait, scope, limit_kind, reason = worst
            self.stats.throttled += 1
            label = f"{scope}/{limit_kind}"
            self.stats.throttled_by_scope[label] = self.stats.throttled_by_scope.get(label, 0) + 1
            if self.config.charge_throttled:
                self._charge(app_id, ru, writes)
            raise GraphError(
                429,
                "TooManyRequests",
                "Too many requests.",
                headers={
                    "Retry-After": str(max(1, math.ceil(wait))),
                    "x-ms-retry-after-ms": str(max(1, math.ceil(wait * 1000))),
                    "x-ms-throttle-scope": f"{scope}/{limit_kind}/{app_id}/{self.tenant_id}",
                    "x-ms-throttle-information": f"{reason}LimitExceeded",
                },
            )
        self._charge(app_id, ru, writes)
        headers = {"x-ms-resource-unit": str(ru)}
        if percentage > 0.8:
            headers["x-ms-throttle-limit-percentage"] = f"{min(percentage, 1.8):.1f}"
        return headers

    def _charge(self, app_id: str, ru: int, writes: int) -> None:
        now = self.clock.monotonic()
        self._pair_ru.setdefault(app_id, _Window()).add(now, ru)
        self._app_ru.setdefault(app_id, _Window()).add(now, ru)
        if writes:
            self._pair_writes.setdefault(app_id, _Window()).add(now, writes)
            self._app_writes.setdefault(app_id, _Window()).add(now, writes)
            self._tenant_writes.add(now, writes)
        self.stats.writes += writes
        self.stats.resource_units += ru
