"""What a step touches, and the locks that keep two steps from touching the same thing at once.

An import, an export or a confirming import writes only its own connector space. A sync writes the metaverse,
its own connector space, the pending exports of every connector that has outbound rules (provisioning, and
referrers re-evaluated when an object goes away), and the links of every connector that joins the same metaverse
types (a deleted metaverse object disconnects them). Steps whose footprints do not overlap run in parallel —
two imports from different systems, an export to AD while HR is imported — and MIM's rule that only one sync runs
at a time falls out of every sync holding the metaverse.

Locks are granted first come, first served among overlapping requests, so a sync that needs everything is not
starved by a stream of small imports.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count

from idsync.config import WorkspaceConfig
from idsync.model import StepKind

METAVERSE = "metaverse"


def connector_space(name: str) -> str:
    return f"cs:{name}"


def step_resources(config: WorkspaceConfig, connector: str, kind: StepKind) -> frozenset[str]:
    if not kind.is_sync:
        return frozenset({connector_space(connector)})
    types = {r.metaverse_type for r in config.inbound if r.connector == connector}
    types |= {r.metaverse_type for r in config.outbound if r.connector == connector}
    touched = {connector}
    touched |= {r.connector for r in config.outbound}
    touched |= {r.connector for r in config.inbound if r.metaverse_type in types}
    return frozenset({METAVERSE} | {connector_space(c) for c in touched})


@dataclass(eq=False)
class _Request:
    number: int
    resources: frozenset[str]
    holder: str


@dataclass
class ResourceLocks:
    """Grants sets of resources atomically (no step ever holds some and waits for more, so no deadlock), to at
    most ``capacity`` holders at once."""

    capacity: int = 4
    _held: dict[str, str] = field(default_factory=dict)
    _holders: int = 0
    _waiting: list[_Request] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _numbers: count[int] = field(default_factory=count)

    def _grantable(self, request: _Request) -> bool:
        if self._holders >= self.capacity or any(r in self._held for r in request.resources):
            return False
        # an earlier request that overlaps goes first
        return not any(w.number < request.number and w.resources & request.resources for w in self._waiting)

    def acquire(self, resources: frozenset[str], holder: str, cancelled: Callable[[], bool]) -> bool:
        """Wait until every resource is free; False when ``cancelled`` turned true first."""
        with self._cond:
            request = _Request(next(self._numbers), resources, holder)
            self._waiting.append(request)
            try:
                while not self._grantable(request):
                    if cancelled():
                        return False
                    self._cond.wait(0.25)
                for r in resources:
                    self._held[r] = holder
                self._holders += 1
                return True
            finally:
                self._waiting.remove(request)
                self._cond.notify_all()

    def release(self, resources: frozenset[str]) -> None:
        with self._cond:
            for r in resources:
                self._held.pop(r, None)
            self._holders -= 1
            self._cond.notify_all()

    def held(self) -> dict[str, str]:
        with self._cond:
            return dict(self._held)
