"""The ``type: ad`` configuration block: one Active Directory domain, reached through LDAP.

It is the LDAP connector's block with Active Directory's answers filled in: the anchor is objectGUID, the
password attribute is unicodePwd (which only an encrypted session may carry), delta import uses DirSync or the
USN fallback, and the object types default to users and groups.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from idsync.connectors.ldap.config import DEFAULT_REFERENCES, LdapConfig, ObjectTypeConfig


def _default_types() -> dict[str, ObjectTypeConfig]:
    return {
        "user": ObjectTypeConfig(object_class="user", object_classes=["top", "person", "organizationalPerson", "user"]),
        "group": ObjectTypeConfig(object_class="group", object_classes=["top", "group"]),
    }


class AdConfig(LdapConfig):
    # The fields below narrow the LDAP block's choices to what Active Directory has.
    type: Literal["ad"] = "ad"  # type: ignore[assignment]
    object_types: dict[str, ObjectTypeConfig] = Field(default_factory=_default_types)
    """Each type's ``object_class`` is the entry's most specific (structural) class: ``user``, ``group``,
    ``contact``, ``inetOrgPerson``, ``computer``. A ``user`` type does not include computers."""
    anchor: Literal["objectGUID"] = "objectGUID"
    delta: Literal["dirsync", "usn"] | None = "dirsync"  # type: ignore[assignment]
    """``dirsync``: the DirSync control (needs "Replicating Directory Changes", or ``dirsync_object_security``);
    ``usn``: uSNChanged against the domain controller's highestCommittedUSN (no special right)."""
    dirsync_object_security: bool = False
    """Ask DirSync to check read access object by object (LDAP_DIRSYNC_OBJECT_SECURITY): an account without
    "Replicating Directory Changes" may then use it, and sees only what it can read."""
    dirsync_max_bytes: int = Field(default=1_048_576, ge=1024)
    """How much one DirSync round may return; more rounds follow until the server has no more."""
    password_attribute: Literal["unicodePwd"] = "unicodePwd"  # noqa: S105 - an attribute name
    password_hashing: Literal["server"] = "server"  # noqa: S105 - the server hashes it
    references: list[str] = Field(default_factory=lambda: [*DEFAULT_REFERENCES, "managedBy", "memberOf"])
    range_size: int = Field(default=1500, ge=1, le=100_000)
    """Values of a large multi-valued attribute (a group's members) read per request: Active Directory's
    MaxValRange (1,500 by default)."""
    include_system_objects: bool = False
    """Import objects marked isCriticalSystemObject (Administrator, krbtgt, the built-in groups)."""
    consistency_guid: bool = False
    """Write each user's objectGUID into mS-DS-ConsistencyGuid when it is empty (on add and on any export that
    touches the user), as Connect Sync does, so cloud sync and Connect Sync take it as the source anchor."""
    upn_suffixes: list[str] = Field(default_factory=list)
    """UPN suffixes allowed besides the domain's DNS name and the forest's uPNSuffixes."""
    check_upn_suffix: bool = True
    """Refuse a userPrincipalName whose suffix is not one of the forest's (Entra cannot sign in with it)."""
    entra_upn_rules: bool = True
    """Also hold the part before the @ to Entra's rules (letters, digits and ' . - _ ! # ^ ~; no leading or
    trailing period; 64 characters), so cloud sync or Connect Sync do not refuse the user later."""
    membership_chunk: int = Field(default=1000, ge=1)

    @field_validator("upn_suffixes")
    @classmethod
    def _suffixes(cls, value: list[str]) -> list[str]:
        return [v.strip().lstrip("@").lower() for v in value if v.strip()]
