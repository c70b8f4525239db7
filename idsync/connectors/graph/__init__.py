"""The Microsoft Graph connector: Entra ID users and groups over Graph, the way the FIM Connector for Azure AD
did it before it stopped working - full and delta import, batched and throttle-aware export, lookup by unique key.

Importing this package is cheap: the HTTP and MSAL stacks load only when ``connector_type`` is first used, so the
tenant emulator can share the schema tables without pulling them in.
"""

from __future__ import annotations

from typing import Any

__all__ = ["connector_type"]


def __getattr__(name: str) -> Any:
    if name == "connector_type":
        from idsync.connectors.graph.connector import GraphConnectorType

        return GraphConnectorType
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
