"""A Microsoft Graph tenant emulator: the v1.0 subset idsync's Graph connector uses (users, groups, members,
managers, deleted items, delta, $batch, throttling, client-credentials tokens), for tests and the demo.

    tenant = GraphTenant("contoso")
    app = tenant.add_app()
    with tenant.serve() as base_url:
        ...  # POST {base_url}/contoso.onmicrosoft.com/oauth2/v2.0/token, then {base_url}/v1.0/users

See docs/graph-emulator.md for what is emulated and the knobs.
"""

from __future__ import annotations

from idsync.testing.graph_emulator.auth import AppRegistration
from idsync.testing.graph_emulator.delta import DeltaSettings
from idsync.testing.graph_emulator.errors import GraphError
from idsync.testing.graph_emulator.faults import FaultConfig
from idsync.testing.graph_emulator.odata import quote_literal
from idsync.testing.graph_emulator.tenant import GraphTenant
from idsync.testing.graph_emulator.throttling import ThrottleConfig

__all__ = [
    "AppRegistration",
    "DeltaSettings",
    "FaultConfig",
    "GraphError",
    "GraphTenant",
    "ThrottleConfig",
    "quote_literal",
]
