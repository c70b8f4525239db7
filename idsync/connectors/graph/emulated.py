"""The ``emulator:`` setting: an emulated tenant kept in a file of the workspace, for demos and tests.

The connector loads the tenant (``idsync.testing.graph_emulator``, imported here and only when the setting is
used), talks to it in-process through the emulator's httpx transport - every request goes through the same
client, MSAL, batching and throttling code as against Entra - and writes it back after each export call, at the
end of each import and on close. No server process has to stay alive between runs, and the state lives where the
workspace does. Nothing here is meant for a real tenant.
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

    def __init__(self, path: Path, tenant: str, client_id: str) -> None:
        from idsync.testing.graph_emulator import GraphTenant

        self.path = path
        if path.exists():
            try:
                self.tenant: Any = GraphTenant.load(path)
            except (OSError, ValueError) as exc:
                raise ConnectivityError(str(exc)) from None
        elif not path.parent.is_dir():
            raise ConnectivityError(f"emulated tenant {path}: the folder {path.parent} does not exist")
        else:
            self.tenant = new_tenant(GraphTenant, tenant)
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


def new_tenant(factory: Any, tenant: str) -> Any:
    """A tenant that answers to ``tenant``: its id, or a verified domain (with the initial onmicrosoft.com one)."""
    if _GUID.match(tenant):
        return factory("contoso", tenant_id=tenant.lower())
    name = tenant.split(".", 1)[0].lower() or "contoso"
    initial = f"{name}.onmicrosoft.com"
    domains = (initial,) if tenant.lower() == initial else (initial, tenant)
    return factory(name, domains=domains)
