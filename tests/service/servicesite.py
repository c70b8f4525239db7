"""Service tests' helpers: a workspace of in-memory connected systems (HR people provisioned into a directory
with an initial password), served for real by uvicorn on a loopback port, on SQLite and on PostgreSQL."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import httpx
import pytest

pytest.importorskip("starlette")
pytest.importorskip("prometheus_client")

import uvicorn

from idsync.connectors.base import ConnectorContext, ExportItem, ExportResult, ImportPage, telemetry
from idsync.connectors.memory import OPTION, MemoryConfig, MemoryConnector, MemoryDirectory
from idsync.connectors.memory.directory import directories
from idsync.connectors.registry import ConnectorRegistry
from idsync.service.app import create_app
from idsync.service.auth import Access
from idsync.service.runtime import Service

TOKEN = "test-token-0123456789abcdef"
IDSYNC_BIN = str(Path(sys.executable).parent / "idsync")


def password_of(eid: str) -> str:
    """The initial password the outbound rule computes for a person (what must never show up anywhere)."""
    return f"Init-{eid}-Pw!"


CONFIG = """
store: {store}
safety: {{deletion_threshold: 3}}
connectors:
  hr: {{type: {hr_type}, directory: hr, anchor_from_identifier: true, page_size: {page_size}}}
  dir: {{type: {dir_type}, directory: dir, page_size: {page_size}}}
metaverse:
  person:
    attributes:
      employeeId: string
      givenName: string
      sn: string
      displayName: string
      department: string
      status: string
    deletion: {{when: authoritative, authoritative: [hr]}}
inbound:
  - name: hr-people
    connector: hr
    object_type: person
    metaverse_type: person
    join: [{{employeeId: employeeId}}]
    project: true
    flows:
      employeeId: employeeId
      givenName: givenName
      sn: sn
      displayName: 'Join(" ", [givenName], [sn])'
      department: department
      status: status
outbound:
  - name: dir-users
    connector: dir
    metaverse_type: person
    object_type: user
    provision: true
    identifier: 'Join("", "uid=", [employeeId], ",ou=people")'
    join: [{{employeeId: employeeId}}]
    flows:
      employeeId: employeeId
      displayName: displayName
      department: department
      userPassword: {{expression: 'Join("", "Init-", [employeeId], "-Pw!")', initial_only: true}}
    deprovision: delete
profiles:
  hr-import: [{{hr: full-import}}]
  dir-import: [{{dir: full-import}}]
  sync: [{{hr: full-import}}, {{hr: full-sync}}]
  export: [{{dir: export}}, {{dir: confirming-import}}]
  full:
    - hr: full-import
    - dir: full-import
    - hr: full-sync
    - dir: export
    - dir: confirming-import
service:
  token: ${{file:token.txt}}
  allow_short_intervals: true
  schedules: {schedules}
"""


class SlowConfig(MemoryConfig):
    type: Literal["slow-memory"] = "slow-memory"  # type: ignore[assignment]
    delay: float = 0.05


class SlowConnector:
    """A memory connector that takes ``delay`` seconds per import page and export batch, and reports each page as
    a throttled request: long enough steps to watch them run in parallel, be stopped, and be counted."""

    def __init__(self, inner: MemoryConnector, delay: float, context: ConnectorContext) -> None:
        self.inner = inner
        self.name = inner.name
        self.capabilities = inner.capabilities
        self.delay = delay
        self.telemetry = telemetry(context)

    def _page(self) -> None:
        time.sleep(self.delay)
        if self.telemetry is not None:
            self.telemetry.count(self.name, "throttled")

    def full_import(self) -> Iterator[ImportPage]:
        for page in self.inner.full_import():
            self._page()
            yield page

    def delta_import(self, watermark: str | None) -> Iterator[ImportPage]:
        for page in self.inner.delta_import(watermark):
            self._page()
            yield page

    def export(self, items: Sequence[ExportItem]) -> list[ExportResult]:
        self._page()
        return self.inner.export(items)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class SlowConnectorType:
    name: ClassVar[str] = "slow-memory"
    config_model: ClassVar[type[SlowConfig]] = SlowConfig

    @staticmethod
    def create(name: str, config: Any, context: ConnectorContext) -> SlowConnector:
        model = config if isinstance(config, SlowConfig) else SlowConfig.model_validate(dict(config))
        return SlowConnector(MemoryConnector(name, model, directories(context.options)), model.delay, context)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Site:
    """A workspace with its memory systems, and (once ``serve``d) the service and its base URL."""

    root: Path
    store_url: str = "sqlite"
    hr: MemoryDirectory = field(default_factory=MemoryDirectory)
    dir: MemoryDirectory = field(default_factory=MemoryDirectory)
    service: Service | None = None
    url: str = ""

    def configure(
        self, *, slow: bool = False, page_size: int = 100, schedules: str = "{}", delay: float = 0.05
    ) -> None:
        kind = "slow-memory" if slow else "memory"
        text = CONFIG.format(
            store=self.store_url, hr_type=kind, dir_type=kind, page_size=page_size, schedules=schedules
        )
        if slow:
            text = text.replace("page_size:", f"delay: {delay}, page_size:")
        (self.root / "idsync.yaml").write_text(text, encoding="utf-8")
        (self.root / "token.txt").write_text(TOKEN + "\n", encoding="utf-8")

    def people(self, count: int, start: int = 0, department: str = "Sales") -> None:
        for i in range(start, start + count):
            eid = f"E{i:04}"
            self.hr.add(
                "person",
                eid,
                {"employeeId": eid, "givenName": "Ann", "sn": f"Lee{i}", "department": department, "status": "active"},
                anchor=eid,
            )

    @property
    def options(self) -> dict[str, Any]:
        return {OPTION: {"hr": self.hr, "dir": self.dir}}

    def registry(self) -> ConnectorRegistry:
        registry = ConnectorRegistry()
        registry.register("slow-memory", SlowConnectorType)
        return registry

    def make_service(self, **kw: Any) -> Service:
        return Service(self.root, registry=self.registry(), options=self.options, **kw)

    def client(self, token: str | None = TOKEN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def run(self, profile: str = "full") -> dict[str, Any]:
        """Start a profile through the API and wait for it to end."""
        assert self.service is not None
        with self.client() as c:
            started = c.post("/api/runs", json={"profile": profile})
            assert started.status_code == 202, started.text
            run_id = started.json()["run_id"]
            assert self.service.wait_idle(60)
            detail = c.get(f"/api/runs/{run_id}")
            assert detail.status_code == 200
            data: dict[str, Any] = detail.json()
            return data


@contextmanager
def served(site: Site, **service_kw: Any) -> Iterator[Site]:
    """Serve the site's workspace with uvicorn in a thread (the real server, the real lifespan)."""
    service = site.make_service(**service_kw)
    app = create_app(service, Access(TOKEN))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.02)
    site.service = service
    site.url = f"http://127.0.0.1:{port}"
    try:
        yield site
    finally:
        server.should_exit = True
        thread.join(60)
        site.service = None
