"""Writing to Entra through idsync's Graph connector in place of the retired connector: which of the old
connector's attributes become which Graph properties, which are left out (and by which rule), and how existing
tenant objects are found again instead of duplicated.

The attribute table is :mod:`idsync.migrate.graph_mapping` (shared with ``migrate analyze``); this module decides,
per flow, whether the generated configuration carries it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from idsync.migrate.graph_mapping import graph_property

GRAPH_OBJECT_TYPES = ("user", "group")
"""The object types the Graph path covers (GRAPH-TYPES): contacts, devices and public folders have no home there."""

REQUIRED_ON_CREATE = {
    "user": ("accountEnabled", "displayName", "mailNickname", "userPrincipalName"),
    "group": ("displayName", "mailNickname", "mailEnabled", "securityEnabled"),
}
"""What Graph refuses a create without (the initial password is the connector's business)."""

GROUP_CREATE_DEFAULTS = {"mailEnabled": "False", "securityEnabled": "True"}
"""Graph creates security groups and Microsoft 365 groups only (MAIL-GROUPS); a group the old connector made is
created here as a security group unless a flow says otherwise."""

EXTENSION_ATTRIBUTE = re.compile(r"^extensionAttribute(?:[1-9]|1[0-5])$")
_IGNORED = {"dn", "cloudanchor", "export_password"}
_NOT_PROPERTIES = {"photo": "the photo is a separate resource (profilePhoto), not a property the connector writes"}
"""The old connector's DN and anchor (Graph keys objects by id) and its password carrier (the Graph connector
sets the initial password itself)."""


@dataclass(frozen=True, slots=True)
class GraphDecision:
    """What happens to one flow into the retired connector."""

    carry: bool
    graph_property: str
    reason: str
    rule: str
    note: str = ""


def decide(object_type: str, aad_attribute: str) -> GraphDecision:
    """Whether a flow into ``aad_attribute`` of the retired connector's ``object_type`` is carried to Graph."""
    kind = object_type.lower()
    if aad_attribute.lower() in _IGNORED:
        return GraphDecision(False, "", "not an attribute of the Graph object (the connector keys objects by id)", "")
    if kind not in GRAPH_OBJECT_TYPES:
        return GraphDecision(False, "", f"the Graph path has no {object_type} object type", "GRAPH-TYPES")
    if EXTENSION_ATTRIBUTE.match(aad_attribute):
        # the connector shows onPremisesExtensionAttributes as extensionAttribute1..15, MIM's own names
        return GraphDecision(
            True,
            aad_attribute,
            "",
            "",
            "read-only for synced objects and for cloud objects that were once synced; writable for cloud-only ones",
        )
    prop = graph_property(kind, aad_attribute)
    if prop is None or not prop.graph_property:
        why = prop.note if prop is not None and prop.note else f"no such property on the Graph v1.0 {kind}"
        return GraphDecision(False, "", why, "")
    if prop.graph_property in _NOT_PROPERTIES:
        return GraphDecision(False, prop.graph_property, _NOT_PROPERTIES[prop.graph_property], "")
    if prop.writable in ("no", "none"):
        rule = "PROXY" if aad_attribute.lower() == "proxyaddresses" else ""
        why = f"{prop.graph_property} is read-only in Microsoft Graph ({prop.note})" if prop.note else "read-only"
        return GraphDecision(False, prop.graph_property, why, rule)
    if "closest property" in prop.note:
        return GraphDecision(False, prop.graph_property, f"only a close match: {prop.note}", "")
    if "." in prop.graph_property:
        # onPremisesExtensionAttributes.extensionAttributeN, passwordProfile.password: nested properties
        return GraphDecision(
            False,
            prop.graph_property,
            f"{prop.graph_property} is a nested property: {prop.note}",
            "SYNCED",
        )
    note = prop.note if prop.writable == "conditional" else ""
    return GraphDecision(True, prop.graph_property, "", "", note)


def inbound_property(object_type: str, aad_attribute: str) -> str | None:
    """The Graph property an import flow from the retired connector reads instead (cloudAnchor -> id); None when
    there is no faithful one."""
    prop = graph_property(object_type.lower(), aad_attribute)
    if prop is None or not prop.graph_property or "closest" in prop.note or "." in prop.graph_property:
        return None
    return prop.graph_property
