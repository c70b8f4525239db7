"""Property specifications of the emulated entity types. Types, read-only and required properties come from the
Graph connector's ``properties`` module (CSDL-derived tables shared with the connector); this module adds the
behaviour only a server needs (defaults returned without ``$select``, attributes mastered on-premises), from the
"user resource type" and "group resource type" pages."""

from __future__ import annotations

from idsync.connectors.graph.properties import (
    GROUP,
    GROUP_NAVIGATION,
    GROUP_READ_ONLY,
    GROUP_REQUIRED_ON_CREATE,
    USER,
    USER_NAVIGATION,
    USER_READ_ONLY,
    USER_REQUIRED_ON_CREATE,
    PropertySpec,
    complex_properties,
    entity_properties,
    properties_for,
)

__all__ = [
    "APPLICATION",
    "EXTENSION_PROPERTY",
    "GROUP",
    "GROUP_NAVIGATION",
    "GROUP_READ_ONLY",
    "GROUP_REQUIRED_ON_CREATE",
    "USER",
    "USER_NAVIGATION",
    "USER_READ_ONLY",
    "USER_REQUIRED_ON_CREATE",
    "PropertySpec",
    "complex_properties",
    "default_select",
    "entity_properties",
    "properties_for",
]

APPLICATION = entity_properties("application")
EXTENSION_PROPERTY = entity_properties("extensionProperty")

# "Returned by default" on the user resource page; everything else only on $select.
USER_DEFAULT_SELECT = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)

_GROUP_DEFAULT = (
    "id",
    "deletedDateTime",
    "classification",
    "createdDateTime",
    "description",
    "displayName",
    "expirationDateTime",
    "groupTypes",
    "isAssignableToRole",
    "mail",
    "mailEnabled",
    "mailNickname",
    "membershipRule",
    "membershipRuleProcessingState",
    "onPremisesDomainName",
    "onPremisesLastSyncDateTime",
    "onPremisesNetBiosName",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled",
    "preferredDataLocation",
    "preferredLanguage",
    "proxyAddresses",
    "renewedDateTime",
    "resourceBehaviorOptions",
    "resourceProvisioningOptions",
    "securityEnabled",
    "securityIdentifier",
    "theme",
    "visibility",
    "onPremisesProvisioningErrors",
)
GROUP_DEFAULT_SELECT = tuple(name for name in _GROUP_DEFAULT if name in GROUP)


# Directory extension values: "string 256 characters, binary 256 bytes" (Entra service limits).
EXTENSION_DATA_TYPES = ("Binary", "Boolean", "DateTime", "Integer", "LargeInteger", "String")
EXTENSION_MAX_STRING = 256


def default_select(kind: str) -> tuple[str, ...]:
    return USER_DEFAULT_SELECT if kind == "user" else GROUP_DEFAULT_SELECT
