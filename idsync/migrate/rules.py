"""The decision rules the recommendation cites, each with its published source.

Every reason the assistant gives names one of these rules, so an engineer can check the claim against
Microsoft's own words. Rules marked ``inference`` are conclusions drawn from the cited material rather than
statements in it, and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Source:
    key: str
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    statement: str
    sources: tuple[str, ...]
    inference: bool = False


_LEARN = "https://learn.microsoft.com"

SOURCES: dict[str, Source] = {
    s.key: s
    for s in (
        Source(
            "MIG",
            "Migrate from the FIM Connector for Microsoft Entra ID",
            f"{_LEARN}/microsoft-identity-manager/migrate-from-the-fim-connector-for-azure-active-directory",
        ),
        Source(
            "GC",
            "MIM connector for Microsoft Graph",
            f"{_LEARN}/microsoft-identity-manager/microsoft-identity-manager-2016-connector-graph",
        ),
        Source(
            "VH",
            "MIM connector version history",
            f"{_LEARN}/microsoft-identity-manager/reference/microsoft-identity-manager-2016-connector-version-history",
        ),
        Source(
            "CSTOP",
            "Cloud sync supported topologies",
            f"{_LEARN}/entra/identity/hybrid/cloud-sync/plan-cloud-sync-topologies",
        ),
        Source(
            "CSDG",
            "Connect Sync to cloud sync decision guide",
            f"{_LEARN}/entra/identity/hybrid/cloud-sync/connect-to-cloud-sync-decision-guide",
        ),
        Source("CSWHAT", "What is cloud sync", f"{_LEARN}/entra/identity/hybrid/cloud-sync/what-is-cloud-sync"),
        Source("CSFAQ", "Cloud sync FAQ", f"{_LEARN}/entra/identity/hybrid/cloud-sync/reference-cloud-sync-faq"),
        Source(
            "CSMFAQ", "Cloud sync migration FAQ", f"{_LEARN}/entra/identity/hybrid/cloud-sync/cloud-sync-migration-faq"
        ),
        Source("CSPRQ", "Cloud sync prerequisites", f"{_LEARN}/entra/identity/hybrid/cloud-sync/how-to-prerequisites"),
        Source("CMN", "Hybrid identity common scenarios", f"{_LEARN}/entra/identity/hybrid/common-scenarios"),
        Source(
            "TOP",
            "Connect Sync supported topologies",
            f"{_LEARN}/entra/identity/hybrid/connect/plan-connect-topologies",
        ),
        Source(
            "DCON", "Connect design concepts", f"{_LEARN}/entra/identity/hybrid/connect/plan-connect-design-concepts"
        ),
        Source(
            "EXT",
            "Connect with an existing tenant (hard and soft matching)",
            f"{_LEARN}/entra/identity/hybrid/connect/how-to-connect-install-existing-tenant",
        ),
        Source(
            "FILTER",
            "Connect Sync: configure filtering",
            f"{_LEARN}/entra/identity/hybrid/connect/how-to-connect-sync-configure-filtering",
        ),
        Source(
            "CHANGE",
            "Connect Sync: make a change to the default configuration",
            f"{_LEARN}/entra/identity/hybrid/connect/how-to-connect-sync-change-the-configuration",
        ),
        Source(
            "CSPILOT",
            "Tutorial: migrate to cloud sync for a synced AD forest",
            f"{_LEARN}/entra/identity/hybrid/cloud-sync/tutorial-pilot-aadc-aadccp",
        ),
        Source(
            "SOA",
            "Source of authority overview",
            f"{_LEARN}/entra/identity/hybrid/concept-source-of-authority-overview",
        ),
        Source("GUSER", "Graph user resource", f"{_LEARN}/graph/api/resources/user?view=graph-rest-1.0"),
        Source("GGRP", "Graph group resource", f"{_LEARN}/graph/api/resources/group?view=graph-rest-1.0"),
        Source("GGPOST", "Graph: create group", f"{_LEARN}/graph/api/group-post-groups"),
        Source(
            "GEXT", "Graph onPremisesExtensionAttributes", f"{_LEARN}/graph/api/resources/onpremisesextensionattributes"
        ),
        Source("GSOA", "Graph onPremisesSyncBehavior", f"{_LEARN}/graph/api/resources/onpremisessyncbehavior"),
        Source("CSDL", "Microsoft Graph v1.0 metadata (CSDL)", "https://github.com/microsoftgraph/msgraph-metadata"),
        Source(
            "AADX",
            "Azure AD Connect export of the Windows Azure Active Directory connector",
            "https://github.com/microsoft/AADConnectConfigDocumenter",
        ),
    )
}

RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule(
            "D1",
            'The FIM Connector for Azure AD is the Extensible2 agent whose subtype or list name is "Windows Azure '
            'Active Directory (Microsoft)" or whose connector is Microsoft.Azure.ActiveDirectory.Connector.dll; '
            "it can no longer connect to Microsoft Entra ID as of April 2024.",
            ("MIG", "VH", "AADX"),
        ),
        Rule(
            "D1-CONNECT",
            "Azure AD Connect's own Azure AD connector is of the same family (the same subtype and assembly), but it "
            "is part of Connect Sync, one of the three replacements, and only Connect may talk to that back end: a "
            "Connect Sync server does not depend on the retired FIM connector.",
            ("MIG", "TOP", "AADX"),
        ),
        Rule(
            "R1",
            "If users and groups are not provisioned into any on-premises directory, MIM can use the connector for "
            "Microsoft Graph instead.",
            ("MIG",),
        ),
        Rule(
            "R2",
            "The Microsoft Graph connector serves Microsoft Entra ID P1 or P2 customers.",
            ("MIG", "GC"),
        ),
        Rule(
            "R3",
            "The Graph connector must not overlap Connect Sync or cloud sync: it is for users and groups that are "
            "not in their scope, and must not change objects Connect created.",
            ("GC", "MIG"),
        ),
        Rule(
            "R4",
            "Cloud sync (MIM provisions into AD, cloud sync carries AD to Entra) is recommended if you already have "
            "one or more Active Directory forests; a pilot with a subset of users is possible.",
            ("MIG",),
        ),
        Rule(
            "R5",
            "Connect Sync is recommended only if the directory topology is not one that cloud sync supports.",
            ("MIG",),
        ),
        Rule(
            "R6",
            "A non-AD LDAP directory can be a source for Connect Sync through the generic LDAP connector (advanced, "
            "limited support); cloud sync cannot connect to LDAP directories.",
            ("MIG", "CSWHAT"),
        ),
        Rule(
            "CS-XFOREST",
            "Matching across forests doesn't occur with cloud sync: users and groups must be uniquely identified "
            "across all forests. Connect consolidates users across forests (account-resource on "
            "ObjectSID/msExchMasterAccountSID).",
            ("CSTOP", "TOP", "CMN"),
        ),
        Rule(
            "CS-DEVICES",
            "Cloud sync does not synchronize device objects (no hybrid join, no device writeback); Connect Sync does.",
            ("CSDG", "CSWHAT"),
        ),
        Rule("CS-GUESTS", "Cloud sync does not synchronize guest user accounts.", ("CSFAQ",)),
        Rule(
            "CS-150K",
            "Cloud sync handles up to 150,000 objects per AD domain; Connect Sync has no such limit.",
            ("CSDG",),
        ),
        Rule(
            "CS-50K",
            "Cloud sync supports groups of up to 50,000 members (Connect Sync: 250,000).",
            ("CSDG", "CSPRQ"),
        ),
        Rule(
            "CS-SCOPES",
            "One cloud sync configuration syncs at most 59 separate OUs or security groups (newer text: about 50, "
            "within a 4 MB configuration); nested OUs are fine.",
            ("CSPRQ",),
        ),
        Rule(
            "CS-ANCHOR",
            "Cloud sync picks the source anchor itself: ms-DS-ConsistencyGuid when present, else objectGUID; it "
            "cannot be changed and ms-DS-ConsistencyGuid is not written back.",
            ("CSTOP", "CSFAQ"),
        ),
        Rule(
            "ONE-TOOL",
            "An object should be in scope of only one tool; Connect Sync and cloud sync side by side for the same "
            "objects isn't supported.",
            ("CSTOP", "CSMFAQ"),
        ),
        Rule(
            "TOP-SERVER",
            "Connect Sync: one active server per tenant, and every forest must be reachable from it.",
            ("TOP",),
        ),
        Rule(
            "CONNECT-KEEP",
            "A Connect Sync server is already on a supported path; a staging or rebuilt server must use the same "
            "sourceAnchor so that the objects in Entra stay linked.",
            ("MIG", "TOP", "DCON"),
        ),
        Rule(
            "CONNECT-CHANGE",
            "Change a Connect Sync server's filtering or rules with its scheduler disabled (Set-ADSyncScheduler "
            "-SyncCycleEnabled $false) or the server in staging mode, and verify a full synchronization before "
            "anything is exported; OU filtering is changed in the installation wizard, and an object filtered out "
            "after it was synchronized is deleted in Entra.",
            ("FILTER", "CHANGE"),
        ),
        Rule(
            "CS-FROM-CONNECT",
            "To pilot cloud sync in a forest Connect Sync already synchronizes, stop Connect's scheduler and add rules "
            "that stop it flowing the pilot objects (an inbound rule setting cloudNoFlow to True for the pilot OU, an "
            "outbound JoinNoFlow rule scoped on cloudNoFlow = True, for users, groups and contacts); moving them out "
            "of its scope deletes them in Entra (groups for good).",
            ("CSPILOT",),
        ),
        Rule(
            "DCON-ANCHOR",
            "Connect's sourceAnchor is chosen at installation; to link the objects already in Entra it must yield "
            "the same immutableId the old connector exported.",
            ("DCON",),
        ),
        Rule(
            "MIG-REMOVE",
            "Once moved, the FIM Connector for Microsoft Entra ID should be removed from the FIM or MIM sync engine.",
            ("MIG",),
        ),
        Rule(
            "MATCH",
            "An incoming object is hard-matched on sourceAnchor = onPremisesImmutableId first, then soft-matched on "
            "userPrincipalName or the primary SMTP proxy address; otherwise a new object is created.",
            ("EXT",),
        ),
        Rule(
            "SYNCED",
            "Objects the old connector exported carry onPremisesImmutableId and are managed on-premises "
            "(onPremisesSyncEnabled): Graph refuses on-premises-mastered attributes until their source of "
            "authority is switched (onPremisesSyncBehavior isCloudManaged).",
            ("GUSER", "GEXT", "GSOA", "SOA"),
            inference=True,
        ),
        Rule(
            "MAIL-GROUPS",
            "Distribution lists and mail-enabled security groups cannot be managed through Microsoft Graph; Graph "
            "creates only Microsoft 365 and security groups.",
            ("SOA", "GGPOST"),
        ),
        Rule(
            "PROXY",
            "proxyAddresses is read-only in Microsoft Graph (users and groups).",
            ("GUSER", "GGRP"),
        ),
        Rule(
            "GRAPH-TYPES",
            "The Graph connector's documented v1.0 object types are user and group; contacts, devices and public "
            "folders have no replacement there.",
            ("GC",),
            inference=True,
        ),
        Rule(
            "I1",
            "idsync carries declarative flows (direct, constant, dn-part, sync-rule expressions); a flow, join, "
            "projection or provisioning step written in .NET (a rules extension) must be rewritten as an expression "
            "before idsync can replace MIM, while MIM with the Graph connector keeps the extension.",
            ("MIG",),
            inference=True,
        ),
    )
}


def cite(rule_id: str) -> str:
    """ "R4 (MIG)" — the short citation used in reasons."""
    rule = RULES[rule_id]
    return f"{rule.id} ({', '.join(rule.sources)})"
