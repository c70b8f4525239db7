"""Delta import from Active Directory: which objects changed since the watermark, by DirSync or by USN.

Both methods say *which* objects changed (and which were deleted); the connector then reads the changed objects
as they are now, so a replayed window after a crash gives the same result. The one exception is a group's
membership: DirSync's incremental values (``member;range=1-1`` added, ``member;range=0-0`` removed) travel to
the engine as a value delta, so a change to a 50,000-member group does not read 50,000 values.

- **DirSync** (1.2.840.113556.1.4.841): the server keeps the position in an opaque cookie, reports tombstones,
  and with LDAP_DIRSYNC_INCREMENTAL_VALUES sends only the member values that were added or removed — which also
  says whose memberOf changed. Its base must be the naming context's root. It needs the "Replicating Directory
  Changes" right, or LDAP_DIRSYNC_OBJECT_SECURITY, which checks read access object by object.
- **USN** (the fallback, no special right): uSNChanged above the watermark, tombstones included through the
  show-deleted control. A USN means something only on the domain controller that assigned it, so the watermark
  names the DC and its invocationId: another DC, or the same DC restored from a backup (a new invocationId), and
  the watermark is no longer valid — the engine runs a full import and says why.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from idsync.connectors.ad.identity import guid_text
from idsync.connectors.base import ConnectorError, WatermarkExpired
from idsync.connectors.ldap.backend import SHOW_DELETED_OID, DirSyncResult, Entry, LdapOperationError, Scope
from idsync.connectors.ldap.escaping import DNError, normalize_dn

if TYPE_CHECKING:
    from idsync.connectors.ad.connector import AdConnector

log = logging.getLogger("idsync.connectors.ad")

DIRSYNC = "dirsync:"
USN = "usn:"
INCREMENTAL_VALUES = 0x80000000
OBJECT_SECURITY = 0x1
MATCHES_NOTHING = "(&(objectClass=*)(!(objectClass=*)))"
INSUFFICIENT_ACCESS = 50
UNAVAILABLE_CRITICAL_EXTENSION = 12


@dataclass(slots=True)
class Changes:
    """What one round of a delta method found."""

    changed: list[bytes] = field(default_factory=list)
    """objectGUIDs of live objects that changed (added, modified, moved, renamed)."""
    deleted: list[tuple[bytes, str]] = field(default_factory=list)
    """(objectGUID, tombstone DN) of deleted objects."""
    members: list[str] = field(default_factory=list)
    """DNs added to or removed from a group: their memberOf changed although they did not."""
    increments: dict[bytes, tuple[list[str], list[str]]] = field(default_factory=dict)
    """objectGUID -> (members added, members removed) of groups that were neither created, renamed nor moved in
    this window: the connector space already holds them, so the change can travel as a value delta."""
    watermark: str | None = None
    """Where the next delta starts once this round is committed."""


def _guid(entry: Entry) -> bytes | None:
    values = entry.get("objectGUID")
    return values[0] if values else None


def _deleted(entry: Entry) -> bool:
    return any(v.upper() == b"TRUE" for v in entry.get("isDeleted"))


def member_dn(value: bytes) -> str:
    """A member value as DirSync may send it: a plain DN or an extended one (``<GUID=…>;<SID=…>;CN=…``)."""
    text = value.decode("utf-8", "replace")
    while text.startswith("<"):
        _, sep, rest = text.partition(">;")
        if not sep:
            break
        text = rest
    return text


# DirSync ----------------------------------------------------------------------------------------------------


def _dirsync_round(conn: AdConnector, filter_text: str, attributes: list[str], cookie: bytes) -> DirSyncResult:
    cfg = conn.config
    flags = INCREMENTAL_VALUES | (OBJECT_SECURITY if cfg.dirsync_object_security else 0)
    try:
        return conn._call(
            lambda b: b.dirsync(cfg.base_dn, filter_text, attributes, cookie, flags, cfg.dirsync_max_bytes)
        )
    except LdapOperationError as exc:
        if exc.code == INSUFFICIENT_ACCESS:
            raise ConnectorError(
                f"connector {conn.name!r}: the domain controller refused DirSync ({exc.reason}): the account needs "
                "the 'Replicating Directory Changes' right on the domain, or set dirsync_object_security: true, "
                "or use delta: usn"
            ) from None
        if cookie and exc.code in (UNAVAILABLE_CRITICAL_EXTENSION, 2, 53):
            raise WatermarkExpired(
                f"connector {conn.name!r}: the domain controller does not accept the DirSync cookie ({exc.reason})"
            ) from None
        raise


def dirsync_now(conn: AdConnector) -> str:
    """A cookie for "now": a DirSync whose filter matches nothing walks no object and still returns a position."""
    conn.require_naming_context()
    cookie = b""
    for _ in range(1000):
        result = _dirsync_round(conn, MATCHES_NOTHING, ["objectGUID"], cookie)
        cookie = result.cookie
        if not result.more:
            break
    return DIRSYNC + base64.b64encode(cookie).decode("ascii")


def dirsync_changes(conn: AdConnector, watermark: str) -> Iterator[Changes]:
    try:
        cookie = base64.b64decode(watermark[len(DIRSYNC) :], validate=True)
    except (binascii.Error, ValueError):
        raise WatermarkExpired(f"connector {conn.name!r}: the DirSync watermark is not a cookie") from None
    conn.require_naming_context()
    attributes = conn.change_attributes()
    filter_text = conn.change_filter()
    while True:
        result = _dirsync_round(conn, filter_text, attributes, cookie)
        found = Changes(watermark=DIRSYNC + base64.b64encode(result.cookie).decode("ascii"))
        for entry in result.entries:
            guid = _guid(entry)
            if guid is None:
                continue
            if _deleted(entry):
                found.deleted.append((guid, entry.dn))
                continue
            found.changed.append(guid)
            added: list[str] = []
            removed: list[str] = []
            for name, values in entry.attributes.items():
                lower = name.lower()
                if lower.startswith("member;range="):
                    # DirSync's incremental values: range 1-1 holds the values added, 0-0 the values removed
                    (added if lower.endswith("=1-1") else removed).extend(member_dn(v) for v in values)
            found.members += added + removed
            # a new, renamed or moved object comes with objectClass, name or parentGUID: read it whole
            if (added or removed) and not any(entry.get(a) for a in ("objectClass", "name", "parentGUID")):
                found.increments[guid] = (added, removed)
        yield found
        cookie = result.cookie
        if not result.more:
            return


# USN --------------------------------------------------------------------------------------------------------


def _dc_state(conn: AdConnector) -> dict[str, object]:
    """The DC this session talks to, its invocationId and its highest committed USN, read now (never cached)."""
    found = conn._call(lambda b: b.search("", Scope.BASE, "(objectClass=*)", ["highestCommittedUSN", "dsServiceName"]))
    dse = found[0] if found else Entry("", {})
    service = dse.first_text("dsServiceName")
    usn = dse.first_text("highestCommittedUSN")
    if not service or usn is None:
        raise ConnectorError(f"connector {conn.name!r}: the server's root DSE has no highestCommittedUSN; is it AD?")
    ntds = conn._call(lambda b: b.search(service, Scope.BASE, "(objectClass=*)", ["invocationId"]))
    raw = ntds[0].get("invocationId") if ntds else []
    if not raw:
        raise ConnectorError(f"connector {conn.name!r}: cannot read the invocationId of {service}")
    return {"dc": service, "invocation": guid_text(raw[0]), "usn": int(usn)}


def usn_now(conn: AdConnector) -> str:
    return USN + json.dumps(_dc_state(conn), sort_keys=True)


def _same_dc(a: object, b: object) -> bool:
    try:
        return normalize_dn(str(a)) == normalize_dn(str(b))
    except DNError:
        return str(a).lower() == str(b).lower()


def usn_changes(conn: AdConnector, watermark: str) -> Iterator[Changes]:
    try:
        old = json.loads(watermark[len(USN) :])
        old_usn = int(old["usn"])
    except (ValueError, KeyError, TypeError):
        raise WatermarkExpired(f"connector {conn.name!r}: the USN watermark cannot be read") from None
    now = _dc_state(conn)
    if not _same_dc(old.get("dc"), now["dc"]):
        raise WatermarkExpired(
            f"connector {conn.name!r}: the watermark holds USNs of {old.get('dc')}, but this session reached "
            f"{now['dc']}; USNs are per domain controller"
        )
    if old.get("invocation") != now["invocation"]:
        log.warning(
            "connector %r: the invocationId of %s changed from %s to %s (the domain controller was restored from a "
            "backup?); its USNs no longer continue the watermark, so a full import runs",
            conn.name,
            now["dc"],
            old.get("invocation"),
            now["invocation"],
        )
        raise WatermarkExpired(
            f"connector {conn.name!r}: the invocationId of {now['dc']} changed (restored from a backup?): "
            "its USNs no longer continue the watermark"
        )
    if int(str(now["usn"])) < old_usn:
        raise WatermarkExpired(f"connector {conn.name!r}: the domain controller's USN went backwards")
    filter_text = f"(&{conn.change_filter()}(uSNChanged>={old_usn + 1}))"
    controls = [(SHOW_DELETED_OID, True, None)]
    for entries in conn._pages(conn.config.base_dn, Scope.SUBTREE, filter_text, ["objectGUID", "isDeleted"], controls):
        found = Changes()
        for entry in entries:
            guid = _guid(entry)
            if guid is None:
                continue
            if _deleted(entry):
                found.deleted.append((guid, entry.dn))
            else:
                found.changed.append(guid)
        yield found
    yield Changes(watermark=USN + json.dumps(now, sort_keys=True))
