"""Account rules: userAccountControl flags, group types, logon names and passwords.

Flags are offered one by one as boolean attributes (``accountEnabled``, ``passwordNeverExpires`` …) computed
from userAccountControl on import and folded back into it on export, so a flow that disables an account does not
clear a flag an administrator set by hand. The same holds for groupType (``groupScope``, ``securityEnabled``).
Names are checked here, before anything is sent, because Samba accepts a 25-character sAMAccountName and a UPN
without an ``@`` that Windows or Entra would refuse later, far from the flow that produced them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

ACCOUNTDISABLE = 0x2
PASSWD_NOTREQD = 0x20
NORMAL_ACCOUNT = 0x200
DONT_EXPIRE_PASSWORD = 0x10000
SMARTCARD_REQUIRED = 0x40000
NOT_DELEGATED = 0x100000


@dataclass(frozen=True, slots=True)
class Flag:
    bit: int
    inverted: bool = False
    """The attribute is true when the bit is clear (``accountEnabled`` and ACCOUNTDISABLE)."""


ACCOUNT_FLAGS: dict[str, Flag] = {
    "accountEnabled": Flag(ACCOUNTDISABLE, inverted=True),
    "passwordNeverExpires": Flag(DONT_EXPIRE_PASSWORD),
    "passwordNotRequired": Flag(PASSWD_NOTREQD),
    "smartcardRequired": Flag(SMARTCARD_REQUIRED),
    "accountNotDelegated": Flag(NOT_DELEGATED),
}
"""Boolean attributes over userAccountControl bits."""

MUST_CHANGE_PASSWORD = "mustChangePassword"  # noqa: S105 - an attribute name
"""Boolean over pwdLastSet: true is pwdLastSet = 0 (change at next logon); false sets it to now (-1)."""

GROUP_SCOPES = {"global": 0x2, "domainLocal": 0x4, "universal": 0x8}
SECURITY_ENABLED = 0x80000000
GROUP_SCOPE = "groupScope"
GROUP_SECURITY = "securityEnabled"
DEFAULT_GROUP_TYPE = SECURITY_ENABLED | GROUP_SCOPES["global"]
"""What Active Directory creates when no type is given: a global security group."""


def as_int32(value: int) -> int:
    """groupType and userAccountControl are signed 32-bit integers on the wire."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def flags_from_uac(uac: int) -> dict[str, bool]:
    return {name: bool(uac & f.bit) != f.inverted for name, f in ACCOUNT_FLAGS.items()}


def apply_flags(uac: int, wanted: dict[str, bool]) -> int:
    for name, on in wanted.items():
        flag = ACCOUNT_FLAGS[name]
        if on != flag.inverted:
            uac |= flag.bit
        else:
            uac &= ~flag.bit
    return uac


def group_attributes(group_type: int) -> dict[str, object]:
    bits = group_type & 0xFFFFFFFF
    scope = next((name for name, bit in GROUP_SCOPES.items() if bits & bit), None)
    return {GROUP_SCOPE: scope, GROUP_SECURITY: bool(bits & SECURITY_ENABLED)}


def apply_group_attributes(group_type: int, scope: str | None, security: bool | None) -> int:
    """Fold a scope name and a security flag into a groupType value. Raises ValueError naming the scope."""
    bits = group_type & 0xFFFFFFFF
    if scope is not None:
        found = next((bit for name, bit in GROUP_SCOPES.items() if name.lower() == scope.strip().lower()), None)
        if found is None:
            raise ValueError(f"{scope!r} is not a group scope (one of {', '.join(GROUP_SCOPES)})")
        bits = (bits & ~0xE) | found
    if security is not None:
        bits = bits | SECURITY_ENABLED if security else bits & ~SECURITY_ENABLED
    return as_int32(bits)


# logon names --------------------------------------------------------------------------------------------------

SAM_FORBIDDEN = set('"/\\[]:;|=,+*?<>')
SAM_USER_LENGTH = 20
SAM_GROUP_LENGTH = 256
UPN_LENGTH = 1024
_ENTRA_ALIAS = re.compile(r"^[A-Za-z0-9'.\-_!#^~]+$")


def _control(text: str) -> str | None:
    bad = next((ch for ch in text if ord(ch) < 32 or ord(ch) == 127), None)
    return None if bad is None else f"contains the control character U+{ord(bad):04X}"


def check_sam_account_name(value: str, *, group: bool) -> str | None:
    """The rule ``value`` breaks, or None. Users and computers: 20 characters (what pre-Windows 2000 logons and
    Windows itself enforce); groups: 256."""
    limit = SAM_GROUP_LENGTH if group else SAM_USER_LENGTH
    if not value.strip(" ."):
        return "must not be empty or only periods and spaces"
    if len(value) > limit:
        return f"is {len(value)} characters long; at most {limit} are allowed"
    bad = sorted({ch for ch in value if ch in SAM_FORBIDDEN})
    if bad:
        return f'contains {" ".join(bad)}; none of " / \\ [ ] : ; | = , + * ? < > may appear'
    return _control(value)


def check_user_principal_name(value: str, suffixes: Iterable[str] | None, *, entra_rules: bool) -> str | None:
    """The rule ``value`` breaks, or None. ``suffixes`` (lower case) are the forest's UPN suffixes; None skips
    that check."""
    prefix, at, suffix = value.rpartition("@")
    if not at or not prefix or not suffix:
        return "must have the form name@suffix"
    if "@" in prefix:
        return "must contain a single @"
    if len(value) > UPN_LENGTH:
        return f"is {len(value)} characters long; at most {UPN_LENGTH} are allowed"
    if any(ch.isspace() for ch in value):
        return "must not contain spaces"
    control = _control(value)
    if control:
        return control
    if entra_rules:
        if len(prefix) > 64:
            return f"the part before @ is {len(prefix)} characters long; Entra allows 64"
        if not _ENTRA_ALIAS.match(prefix):
            return "the part before @ may only hold letters, digits and ' . - _ ! # ^ ~ (Entra's rule)"
        if prefix.startswith(".") or prefix.endswith("."):
            return "the part before @ must not start or end with a period (Entra's rule)"
    if suffixes is not None:
        allowed = sorted(set(suffixes))
        if suffix.lower() not in allowed:
            return f"the suffix {suffix!r} is not one of the forest's UPN suffixes ({', '.join(allowed)})"
    return None


def encode_password(text: str) -> bytes:
    """unicodePwd's form: the password in double quotes, UTF-16 little-endian."""
    return f'"{text}"'.encode("utf-16-le")


PWD_LAST_SET_VALUES = {0: "must change at next logon", -1: "set to now"}
