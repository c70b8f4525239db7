"""Property specifications of the emulated entity types, built from the CSDL-derived tables in ``schema_tables``,
plus the behavioural sets the CSDL does not carry (defaults returned without ``$select``, server-managed properties,
attributes mastered on-premises). Those sets come from the "user resource type" and "group resource type" pages."""

from __future__ import annotations

from dataclasses import dataclass

from idsync.testing.graph_emulator import schema_tables


@dataclass(frozen=True)
class PropertySpec:
    name: str
    edm_type: str
    collection: bool
    nullable: bool
    max_length: int | None

    @property
    def is_primitive(self) -> bool:
        return self.edm_type.startswith("Edm.")


def _rows(entity: str) -> list[schema_tables.PropertyRow]:
    chain: list[str] = []
    current: str | None = entity
    while current is not None:
        chain.append(current)
        current = schema_tables.ENTITY_BASE[current]
    rows: list[schema_tables.PropertyRow] = []
    for name in reversed(chain):
        rows.extend(schema_tables.ENTITY_PROPERTIES[name])
    return rows


def entity_properties(entity: str) -> dict[str, PropertySpec]:
    return {row[0]: PropertySpec(*row) for row in _rows(entity)}


def complex_properties(type_name: str) -> dict[str, PropertySpec]:
    short = type_name.removeprefix("microsoft.graph.")
    return {row[0]: PropertySpec(*row) for row in schema_tables.COMPLEX_PROPERTIES.get(short, ())}


USER = entity_properties("user")
GROUP = entity_properties("group")
APPLICATION = entity_properties("application")
EXTENSION_PROPERTY = entity_properties("extensionProperty")

# Navigation properties to directory objects that the emulator serves ($select=manager / members in delta).
USER_NAVIGATION = {row[0] for row in schema_tables.ENTITY_NAVIGATION["user"]}
GROUP_NAVIGATION = {row[0] for row in schema_tables.ENTITY_NAVIGATION["group"]}

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

# Maintained by the service: a write is refused ("read-only" on the resource pages).
USER_READ_ONLY = frozenset(
    {
        "id",
        "deletedDateTime",
        "createdDateTime",
        "creationType",
        "assignedPlans",
        "provisionedPlans",
        "imAddresses",
        "proxyAddresses",
        "securityIdentifier",
        "signInActivity",
        "signInSessionsValidFromDateTime",
        "lastPasswordChangeDateTime",
        "legalAgeGroupClassification",
        "licenseAssignmentStates",
        "onPremisesSyncEnabled",
        "onPremisesLastSyncDateTime",
        "onPremisesDistinguishedName",
        "onPremisesDomainName",
        "onPremisesSamAccountName",
        "onPremisesSecurityIdentifier",
        "onPremisesUserPrincipalName",
        "onPremisesProvisioningErrors",
        "serviceProvisioningErrors",
        "externalUserStateChangeDateTime",
    }
)
GROUP_READ_ONLY = frozenset(
    {
        "id",
        "deletedDateTime",
        "createdDateTime",
        "mail",
        "proxyAddresses",
        "securityIdentifier",
        "renewedDateTime",
        "expirationDateTime",
        "onPremisesSyncEnabled",
        "onPremisesLastSyncDateTime",
        "onPremisesDomainName",
        "onPremisesNetBiosName",
        "onPremisesSamAccountName",
        "onPremisesSecurityIdentifier",
        "onPremisesProvisioningErrors",
        "serviceProvisioningErrors",
        "hasMembersWithLicenseErrors",
    }
)

# Attributes whose source of authority is on-premises AD while onPremisesSyncEnabled is true: Graph refuses to
# write them ("Read-only for users synced from on-premises directory"; onPremisesExtensionAttributes "the source of
# authority ... is the on-premises and is read-only").
USER_ON_PREMISES_MASTERED = frozenset(
    {
        "accountEnabled",
        "businessPhones",
        "city",
        "companyName",
        "country",
        "department",
        "displayName",
        "employeeId",
        "employeeHireDate",
        "employeeType",
        "faxNumber",
        "givenName",
        "jobTitle",
        "mail",
        "mailNickname",
        "mobilePhone",
        "officeLocation",
        "onPremisesExtensionAttributes",
        "onPremisesImmutableId",
        "otherMails",
        "passwordProfile",
        "postalCode",
        "state",
        "streetAddress",
        "surname",
        "userPrincipalName",
        "manager",
    }
)
GROUP_ON_PREMISES_MASTERED = frozenset(
    {
        "description",
        "displayName",
        "groupTypes",
        "mailEnabled",
        "mailNickname",
        "securityEnabled",
        "onPremisesExtensionAttributes",
        "members",
    }
)

USER_REQUIRED_ON_CREATE = ("accountEnabled", "displayName", "mailNickname", "passwordProfile", "userPrincipalName")
GROUP_REQUIRED_ON_CREATE = ("displayName", "mailEnabled", "mailNickname", "securityEnabled")

# Directory extension values: "string 256 characters, binary 256 bytes" (Entra service limits).
EXTENSION_DATA_TYPES = ("Binary", "Boolean", "DateTime", "Integer", "LargeInteger", "String")
EXTENSION_MAX_STRING = 256


def properties_for(kind: str) -> dict[str, PropertySpec]:
    return USER if kind == "user" else GROUP


def default_select(kind: str) -> tuple[str, ...]:
    return USER_DEFAULT_SELECT if kind == "user" else GROUP_DEFAULT_SELECT
