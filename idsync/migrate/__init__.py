"""The migration assistant: reads a FIM/MIM (or Azure AD Connect) configuration export, finds the retired FIM
Connector for Azure AD, analyzes the topology, recommends a path and reports it."""

from __future__ import annotations
