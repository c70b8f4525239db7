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


# ---- values Graph accepts for user properties that hold a code or a choice ("user resource type") ----------------

# ISO 3166-1 alpha-2, the officially assigned codes: usageLocation is "A two-letter country code (ISO standard 3166)",
# and Graph refuses a code that is not one, such as UK for the United Kingdom (GB) - a refusal users of other
# provisioning tools report as "Property usageLocation is invalid."
_COUNTRY_CODES = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR
    GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO
    JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR
    MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO
    RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV
    TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
COUNTRY_CODES = frozenset(_COUNTRY_CODES.split())

# The documented values of the user properties that take one of a few words. The pages spell them in two cases
# (the values table says ``Minor`` and ``Granted``, the example next to it ``minor`` and ``granted``), so they are
# compared without regard to case.
USER_CHOICES: dict[str, tuple[str, ...]] = {
    "ageGroup": ("Minor", "NotAdult", "Adult"),
    "consentProvidedForMinor": ("Granted", "Denied", "NotRequired"),
    "userType": ("Member", "Guest"),
}
# "DisableStrongPassword ... DisablePasswordExpiration can also be specified. The two might be specified together;
# for example: DisablePasswordExpiration, DisableStrongPassword"; ``None`` clears them (Microsoft 365's "Set an
# individual user's password to never expire" sets ``-PasswordPolicies None`` to make a password expire again).
PASSWORD_POLICIES = ("DisableStrongPassword", "DisablePasswordExpiration")


def value_problem(kind: str, name: str, value: object) -> str | None:
    """Why Graph refuses ``value`` for property ``name`` of a ``kind``, or None when it takes it. Null (clearing)
    is left to the property's own rules. The connector asks before sending, the tenant emulator when it receives."""
    if kind != "user" or not isinstance(value, str):
        return None
    if name == "usageLocation":
        if value.upper() in COUNTRY_CODES:
            return None
        return f"usageLocation {value!r} is not a two-letter ISO 3166 country code (for example US, JP or GB)"
    if name == "passwordPolicies":
        if value.strip().lower() == "none":
            return None
        allowed = {p.lower() for p in PASSWORD_POLICIES}
        if all(part.strip().lower() in allowed for part in value.split(",")):
            return None
        return f"passwordPolicies {value!r} is not {' or '.join(PASSWORD_POLICIES)} (comma separated), or None"
    choices = USER_CHOICES.get(name)
    if choices is None or value.lower() in {c.lower() for c in choices}:
        return None
    return f"{name} {value!r} is not one of {', '.join(choices)}"
