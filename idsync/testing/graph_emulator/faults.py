"""Fault injection: server errors, latency and dropped connections, drawn from a seeded generator so a failing
run can be replayed. A drop ``before`` loses the request (nothing happened); a drop ``after`` loses only the
response (the write happened) - the ambiguous failure a client must reconcile before retrying a create."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from idsync.testing.graph_emulator.errors import GraphError

_SERVER_ERRORS: dict[int, tuple[str, str]] = {
    500: ("generalException", "An internal server error occurred."),
    502: ("BadGateway", "The server, while acting as a gateway or proxy, received an invalid response."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable. Please try again later."),
    504: ("GatewayTimeout", "The gateway did not receive a timely response."),
}


@dataclass
class FaultConfig:
    seed: int = 0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503, 504)
    latency_seconds: tuple[float, float] = (0.0, 0.0)
    drop_rate: float = 0.0
    drop_phase: str = "random"  # "before", "after" or "random"
    # Faults also hit the individual requests of a $batch (errors only: a drop needs a connection).
    in_batch: bool = True


@dataclass
class FaultDecision:
    delay: float = 0.0
    error: GraphError | None = None
    drop: str | None = None


@dataclass
class FaultStats:
    errors: int = 0
    drops: int = 0
    delayed: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


class FaultInjector:
    def __init__(self, config: FaultConfig | None = None) -> None:
        self.config = config or FaultConfig()
        self.stats = FaultStats()
        self._rng = random.Random(self.config.seed)

    def configure(self, **changes: object) -> None:
        for key, value in changes.items():
            if not hasattr(self.config, key):
                raise TypeError(f"unknown fault setting {key!r}")
            setattr(self.config, key, value)
        if "seed" in changes:
            self._rng = random.Random(self.config.seed)

    def clear(self) -> None:
        seed = self.config.seed
        self.config = FaultConfig(seed=seed)
        self._rng = random.Random(seed)

    def server_error(self) -> GraphError | None:
        cfg = self.config
        if cfg.error_rate <= 0 or self._rng.random() >= cfg.error_rate:
            return None
        status = self._rng.choice(cfg.error_statuses)
        code, message = _SERVER_ERRORS.get(status, ("generalException", "An error occurred."))
        self.stats.errors += 1
        self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
        headers = {"Retry-After": "1"} if status == 503 else {}
        return GraphError(status, code, message, headers=headers)

    def decide(self) -> FaultDecision:
        cfg = self.config
        decision = FaultDecision()
        low, high = cfg.latency_seconds
        if high > 0:
            decision.delay = self._rng.uniform(low, high)
            self.stats.delayed += 1
        if cfg.drop_rate > 0 and self._rng.random() < cfg.drop_rate:
            phase = cfg.drop_phase
            if phase == "random":
                phase = self._rng.choice(("before", "after"))
            decision.drop = phase
            self.stats.drops += 1
            return decision
        decision.error = self.server_error()
        return decision
