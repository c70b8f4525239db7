"""The retired connector's attribute names, the Microsoft Graph v1.0 property each one becomes, and whether Graph
lets a writer set it; plus the AD attribute that feeds it in Connect's default rules (what the AD side must carry
when cloud sync or Connect takes over).

"Writable" means writable through Graph for a cloud-managed object. Values: ``yes``; ``no`` (read-only or set
by the service); ``conditional`` (writable for some objects only, see the note); ``none`` (no Graph property).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GraphProperty:
    aad_attribute: str
    graph_property: str
    writable: str
    note: str
    sources: tuple[str, ...]


def _p(aad: str, graph: str, writable: str, note: str, *sources: str) -> GraphProperty:
    return GraphProperty(aad, graph, writable, note, sources or ("GUSER",))


_USER = [
    _p("cloudAnchor", "id", "no", "key, read-only; the old connector's anchor and DN", "AADX", "GUSER"),
    _p(
        "sourceAnchor",
        "onPremisesImmutableId",
        "yes",
        "the hard-match key; required on create for a federated UPN domain; no $ or _",
        "GUSER",
        "EXT",
    ),
    _p("accountEnabled", "accountEnabled", "yes", "required on create"),
    _p("userPrincipalName", "userPrincipalName", "yes", "required on create; verified domain only"),
    _p("onPremisesUserPrincipalName", "onPremisesUserPrincipalName", "no", "read-only"),
    _p("alias", "mailNickname", "yes", "required on create; at most 64 characters"),
    _p("displayName", "displayName", "yes", "required on create; cannot be cleared"),
    _p("givenName", "givenName", "yes", ""),
    _p("surname", "surname", "yes", ""),
    _p("mail", "mail", "yes", "also updates proxyAddresses"),
    _p("proxyAddresses", "proxyAddresses", "no", "read-only in Graph; Microsoft 365 admin center only"),
    _p("telephoneNumber", "businessPhones", "conditional", "one number; read-only for users synced from on-premises"),
    _p("mobile", "mobilePhone", "conditional", "read-only for users synced from on-premises"),
    _p("facsimileTelephoneNumber", "faxNumber", "yes", ""),
    _p("physicalDeliveryOfficeName", "officeLocation", "yes", ""),
    _p("streetAddress", "streetAddress", "yes", ""),
    _p("city", "city", "yes", ""),
    _p("state", "state", "yes", ""),
    _p("postalCode", "postalCode", "yes", ""),
    _p("country", "country", "yes", ""),
    _p("countryLetterCode", "", "none", "no separate property (closest: country or usageLocation)", "CSDL"),
    _p("countryCode", "", "none", "no numeric country property", "CSDL"),
    _p("usageLocation", "usageLocation", "yes", "two-letter ISO 3166 code; required for licensing"),
    _p("title", "jobTitle", "yes", ""),
    _p("department", "department", "yes", ""),
    _p("company", "companyName", "yes", ""),
    _p("manager", "manager", "yes", "a reference: PUT /users/{id}/manager/$ref", "CSDL"),
    _p("preferredLanguage", "preferredLanguage", "yes", "ISO 639-1"),
    _p("onPremiseSecurityIdentifier", "onPremisesSecurityIdentifier", "no", "read-only"),
    _p("onPremisesSamAccountName", "onPremisesSamAccountName", "no", "read-only"),
    _p("dnsDomainName", "onPremisesDomainName", "no", "read-only"),
    _p("netBiosName", "", "none", "no property on user", "CSDL"),
    _p("lastPasswordChangeTimestamp", "lastPasswordChangeDateTime", "no", "set by the service"),
    _p(
        "export_password",
        "passwordProfile.password",
        "yes",
        "passwordProfile is required on create",
        "GUSER",
        "CSDL",
    ),
    _p("cloudMastered", "onPremisesSyncEnabled", "no", "closest property, read-only (inference)"),
    _p("thumbnailPhoto", "photo", "conditional", "a separate profilePhoto resource; not verified", "CSDL"),
]

for _n in range(1, 16):
    _USER.append(
        _p(
            f"extensionAttribute{_n}",
            f"onPremisesExtensionAttributes.extensionAttribute{_n}",
            "conditional",
            "read-only for synced users and for cloud users that were once synced; writable for cloud-only users",
            "GUSER",
            "GEXT",
        )
    )

_GROUP = [
    _p("cloudAnchor", "id", "no", "key, read-only", "GGRP"),
    _p("sourceAnchor", "", "none", "groups have no immutableId: no hard match for groups", "CSDL", "EXT"),
    _p("alias", "mailNickname", "yes", "required on create", "GGPOST"),
    _p("displayName", "displayName", "yes", "required on create", "GGPOST"),
    _p("description", "description", "yes", "", "GGRP"),
    _p("securityEnabled", "securityEnabled", "yes", "required on create", "GGPOST"),
    _p("mail", "mail", "no", "read-only", "GGRP"),
    _p("proxyAddresses", "proxyAddresses", "no", "read-only", "GGRP"),
    _p("member", "members", "yes", "POST /groups/{id}/members/$ref; at most 20 per PATCH", "GGRP"),
    _p("managedBy", "owners", "yes", "closest property (inference); at most 100 owners", "GGRP"),
    _p("onPremiseSecurityIdentifier", "onPremisesSecurityIdentifier", "no", "read-only", "GGRP"),
    _p(
        "msExchHideFromAddressLists",
        "hideFromAddressLists",
        "conditional",
        "closest property (inference); only in a PATCH after creation",
        "GGPOST",
    ),
    _p("cloudMastered", "onPremisesSyncEnabled", "no", "closest property, read-only (inference)", "GGRP"),
]

GRAPH_PROPERTIES: dict[str, dict[str, GraphProperty]] = {
    "user": {p.aad_attribute.lower(): p for p in _USER},
    "group": {p.aad_attribute.lower(): p for p in _GROUP},
}

# In Connect's default rules these AAD-connector attributes are fed from AD attributes of another name.
AD_SOURCE_ATTRIBUTE: dict[str, str] = {
    "accountEnabled": "userAccountControl",
    "securityEnabled": "groupType",
    "usageLocation": "msExchUsageLocation",
    "alias": "mailNickname",
    "city": "l",
    "commonName": "cn",
    "country": "co",
    "countryLetterCode": "c",
    "state": "st",
    "surname": "sn",
    "onPremisesSamAccountName": "sAMAccountName",
    "onPremiseSecurityIdentifier": "objectSid",
    "lastPasswordChangeTimestamp": "pwdLastSet",
    "msDsHabSeniorityIndex": "msDS-HABSeniorityIndex",
    "msDsPhoneticDisplayName": "msDS-PhoneticDisplayName",
    "sourceAnchor": "ms-DS-ConsistencyGuid (else objectGUID)",
    "cloudAnchor": "",
    "dnsDomainName": "",
    "netBiosName": "",
}


def graph_property(object_type: str, aad_attribute: str) -> GraphProperty | None:
    """The Graph property for an attribute of the retired connector; contacts map as users where Graph has one."""
    table = GRAPH_PROPERTIES.get(object_type.lower())
    if table is None:
        return None
    return table.get(aad_attribute.lower())


def ad_attribute(aad_attribute: str) -> str:
    """The AD attribute cloud sync or Connect reads to produce this connector attribute (same name unless listed)."""
    if aad_attribute in AD_SOURCE_ATTRIBUTE:
        return AD_SOURCE_ATTRIBUTE[aad_attribute]
    if aad_attribute.startswith("msRtcSip"):
        return "msRTCSIP-" + aad_attribute[len("msRtcSip") :]
    return aad_attribute
