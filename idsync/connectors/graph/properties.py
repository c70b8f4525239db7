"""What Graph says about user and group properties: types from the CSDL-derived tables, plus what the CSDL does
not carry - which properties the service maintains (read-only) and which a create needs. The connector builds its
schema and refuses impossible writes from this module; the tenant emulator validates requests with the same facts,
so the two cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass

from idsync.connectors.graph import schema_tables


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
    """Every property of ``entity`` including those inherited from its base types (directoryObject, entity)."""
    return {row[0]: PropertySpec(*row) for row in _rows(entity)}


def complex_properties(type_name: str) -> dict[str, PropertySpec]:
    short = type_name.removeprefix("microsoft.graph.")
    return {row[0]: PropertySpec(*row) for row in schema_tables.COMPLEX_PROPERTIES.get(short, ())}


USER = entity_properties("user")
GROUP = entity_properties("group")

# Navigation properties to directory objects (manager, members, owners, ...).
USER_NAVIGATION = frozenset(row[0] for row in schema_tables.ENTITY_NAVIGATION["user"])
GROUP_NAVIGATION = frozenset(row[0] for row in schema_tables.ENTITY_NAVIGATION["group"])

# Maintained by the service: a write is refused ("Read-only" on the user and group resource pages).
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

USER_REQUIRED_ON_CREATE = ("accountEnabled", "displayName", "mailNickname", "passwordProfile", "userPrincipalName")
GROUP_REQUIRED_ON_CREATE = ("displayName", "mailEnabled", "mailNickname", "securityEnabled")

# The fifteen onPremisesExtensionAttributes are one complex property in Graph; the connector shows them as
# extensionAttribute1..15, the names MIM and Connect use for them.
EXTENSION_ATTRIBUTES = tuple(f"extensionAttribute{i}" for i in range(1, 16))
EXTENSION_ATTRIBUTES_PROPERTY = "onPremisesExtensionAttributes"


def properties_for(kind: str) -> dict[str, PropertySpec]:
    return USER if kind == "user" else GROUP


def read_only_for(kind: str) -> frozenset[str]:
    return USER_READ_ONLY if kind == "user" else GROUP_READ_ONLY


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
