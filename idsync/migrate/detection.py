"""Finding the FIM Connector for Azure AD (the connector that stopped working in April 2024) in an export.

The rule is the one the assistant promises (rule D1): an Extensible2 agent whose subtype or list name is
"Windows Azure Active Directory (Microsoft)", or whose ECMA2 connector assembly is the Azure AD connector
(``Microsoft.Azure.ActiveDirectory.Connector.dll``). Which signals matched is kept, because an engineer checking
the result wants to see why an agent was picked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from idsync.migrate.connector_flows import AttributeFlowView, inbound_flows, outbound_flows
from idsync.migrate.model import ManagementAgent, ServerExport

AAD_CONNECTOR_NAME = "Windows Azure Active Directory (Microsoft)"
AAD_CONNECTOR_ASSEMBLY = "Microsoft.Azure.ActiveDirectory.Connector.dll"


@dataclass(slots=True)
class DeadConnector:
    ma: ManagementAgent
    signals: list[str]
    """Which of the detection signals matched: subtype, ma-listname, extension assembly."""
    object_types: list[str]
    anchors: dict[str, list[str]]
    inclusions: list[str]
    outbound: list[AttributeFlowView] = field(default_factory=list)
    inbound: list[AttributeFlowView] = field(default_factory=list)

    @property
    def flowed_object_types(self) -> list[str]:
        """Object types that something is actually exported to."""
        return sorted({f.cd_object_type for f in self.outbound})


def _basename(filename: str) -> str:
    return filename.replace("\\", "/").rsplit("/", 1)[-1]


def detection_signals(ma: ManagementAgent) -> list[str]:
    """The D1 signals this agent shows; empty when it is not the retired connector."""
    if ma.category.strip().lower() != "extensible2":
        return []
    signals = []
    if ma.subtype.strip().lower() == AAD_CONNECTOR_NAME.lower():
        signals.append(f"subtype is {AAD_CONNECTOR_NAME!r}")
    if ma.list_name.strip().lower() == AAD_CONNECTOR_NAME.lower():
        signals.append(f"ma-listname is {AAD_CONNECTOR_NAME!r}")
    if _basename(ma.extension_filename).lower() == AAD_CONNECTOR_ASSEMBLY.lower():
        signals.append(f"connector assembly is {AAD_CONNECTOR_ASSEMBLY}")
    return signals


def find_dead_connectors(export: ServerExport) -> list[DeadConnector]:
    found = []
    for ma in export.management_agents:
        signals = detection_signals(ma)
        if not signals:
            continue
        found.append(
            DeadConnector(
                ma=ma,
                signals=signals,
                object_types=ma.object_types,
                anchors=dict(ma.anchors),
                inclusions=list(ma.attribute_inclusion),
                outbound=outbound_flows(export, ma),
                inbound=inbound_flows(export, ma),
            )
        )
    return found
