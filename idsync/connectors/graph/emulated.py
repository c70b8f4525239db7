"""The ``emulator:`` setting: an emulated tenant kept in a file of the workspace, for demos and tests.

The connector loads the tenant (``idsync.testing.graph_emulator``, imported here and only when the setting is
used), talks to it in-process through the emulator's httpx transport - every request goes through the same
client, MSAL, batching and throttling code as against Entra - and writes it back after each export call, at the
end of each import and on close. No server process has to stay alive between runs, and the state lives where the
workspace does. While a session has the tenant loaded it holds ``<file>.lock``, so a second writer (the tenant
served by ``idsync emulator graph --tenant-file``, another run) is refused, naming the holder, instead of undoing
its writes. Nothing here is meant for a real tenant.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from idsync.connectors.base import ConnectivityError, ConnectorError

log = logging.getLogger(__name__)

_GUID = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")


class EmulatedTenant:
    """One session's hold on the tenant file: the in-process transport and the throwaway client secret the
    tenant gave the connector's app registration when it was loaded (secrets are never written to the file)."""

    def __init__(self, path: Path, tenant: str, client_id: str, holder: str) -> None:
        from idsync.testing.graph_emulator import GraphTenant
        from idsync.testing.graph_emulator.tenant_file import TenantFileBusy, TenantFileLock

        self.path = path
        if not path.parent.is_dir():
            raise ConnectivityError(f"emulated tenant {path}: the folder {path.parent} does not exist")
        # one writer at a time: a served tenant (``idsync emulator graph --tenant-file``) or another run would
        # write its own copy back over ours
        self.lock: Any = TenantFileLock(path, holder)
        try:
            self.lock.acquire()
        except TenantFileBusy as exc:
            raise ConnectivityError(str(exc)) from None
        except OSError as exc:
            raise ConnectivityError(f"emulated tenant {path}: cannot lock it ({exc.strerror or exc})") from None
        try:
            self._open(GraphTenant, path, tenant, client_id)
        except BaseException:
            self.lock.release()
            raise

    def _open(self, factory: Any, path: Path, tenant: str, client_id: str) -> None:
        if path.exists():
            try:
                self.tenant: Any = factory.load(path)
            except (OSError, ValueError) as exc:
                raise ConnectivityError(str(exc)) from None
        else:
            self.tenant = new_tenant(factory, tenant)
            log.info("emulated tenant %s: a new, empty tenant with the verified domains %s", path, self.tenant.domains)
        app = self.tenant.authority.apps.get(client_id)
        if app is None:
            app = self.tenant.add_app("idsync", client_id=client_id)
        self.secret: str = app.client_secret
        self.transport: Any = self.tenant.transport()
        self.saved: Any = self.tenant.revision if path.exists() else None

    def save(self) -> None:
        """Write the tenant back, unless nothing changed since it was loaded or last written."""
        revision = self.tenant.revision
        if revision == self.saved:
            return
        try:
            self.tenant.save(self.path)
            self.saved = revision
        except OSError as exc:
            raise ConnectorError(f"emulated tenant {self.path}: cannot write it ({exc.strerror or exc})") from None

    def close(self) -> None:
        """Write what is left and let go of the file."""
        try:
            self.save()
        finally:
            self.lock.release()


def new_tenant(factory: Any, tenant: str) -> Any:
    """A tenant that answers to ``tenant``: its id, or a verified domain (with the initial onmicrosoft.com one)."""
    if _GUID.match(tenant):
        return factory("contoso", tenant_id=tenant.lower())
    name = tenant.split(".", 1)[0].lower() or "contoso"
    initial = f"{name}.onmicrosoft.com"
    domains = (initial,) if tenant.lower() == initial else (initial, tenant)
    return factory(name, domains=domains)
