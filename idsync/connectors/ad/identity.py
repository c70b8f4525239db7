"""GUIDs, security identifiers and source anchors: Active Directory's binary identities as text and back.

objectGUID travels as 16 bytes in Microsoft's mixed-endian layout; people and tools (PowerShell, the Entra
portal, cloud sync's logs) show it as the canonical GUID string, so that is the anchor. The source anchor that
Connect Sync and cloud sync put in Entra's immutableId is the base64 of the same 16 bytes (of
mS-DS-ConsistencyGuid when it is set), so it is offered as computed text too.
"""

from __future__ import annotations

import base64
import re
import uuid

SID_ATTRIBUTES = frozenset(
    a.lower() for a in ("objectSid", "sIDHistory", "securityIdentifier", "msExchMasterAccountSid", "tokenGroups")
)
"""Attributes whose values are security identifiers: shown and written as ``S-1-5-21-…`` text."""

_SID_TEXT = re.compile(r"^S-(\d+)-(\d+)((?:-\d+)*)$", re.IGNORECASE)


class IdentityError(ValueError):
    """A GUID or SID that cannot be read; the message quotes it."""


def guid_text(raw: bytes) -> str:
    if len(raw) != 16:
        raise IdentityError(f"a GUID has 16 bytes, not {len(raw)}")
    return str(uuid.UUID(bytes_le=raw))


def guid_bytes(text: str) -> bytes:
    try:
        return uuid.UUID(text.strip().strip("{}")).bytes_le
    except ValueError:
        raise IdentityError(f"{text!r} is not a GUID") from None


def source_anchor(raw: bytes) -> str:
    """The immutableId form of a GUID: base64 of its 16 bytes, as Connect Sync and cloud sync write it."""
    return base64.b64encode(raw).decode("ascii")


def sid_text(raw: bytes) -> str:
    """``S-R-A-S1-S2-…`` from the binary form: revision, count, 48-bit big-endian authority, 32-bit
    little-endian sub-authorities."""
    if len(raw) < 8 or len(raw) != 8 + 4 * raw[1]:
        raise IdentityError(f"{raw.hex()!r} is not a security identifier")
    authority = int.from_bytes(raw[2:8], "big")
    subs = [int.from_bytes(raw[8 + 4 * i : 12 + 4 * i], "little") for i in range(raw[1])]
    return "-".join(["S", str(raw[0]), str(authority), *map(str, subs)])


def sid_bytes(text: str) -> bytes:
    match = _SID_TEXT.match(text.strip())
    if match is None:
        raise IdentityError(f"{text!r} is not a security identifier (S-1-5-21-…)")
    revision, authority = int(match.group(1)), int(match.group(2))
    subs = [int(s) for s in match.group(3).split("-")[1:]]
    if revision > 255 or authority >= 1 << 48 or len(subs) > 15 or any(s >= 1 << 32 for s in subs):
        raise IdentityError(f"{text!r} is not a security identifier (a part is out of range)")
    return bytes([revision, len(subs)]) + authority.to_bytes(6, "big") + b"".join(s.to_bytes(4, "little") for s in subs)


def escape_binary(raw: bytes) -> str:
    """A binary value as an LDAP filter assertion: every byte escaped (``\\0a\\1b…``)."""
    return "".join(f"\\{b:02x}" for b in raw)
