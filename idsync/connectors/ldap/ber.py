"""Just enough BER for the controls the client libraries do not handle themselves, or handle slowly: RFC 4533
content sync (the backend whose library has no support for it), RFC 4527 post-read (decoded here because the
library's generic decoder costs more than the add it reports on) and Active Directory's DirSync."""

from __future__ import annotations

import uuid


def tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + body


def read_tlv(data: bytes, pos: int = 0) -> tuple[int, bytes, int]:
    """(tag, value, position after it) of the element at ``pos``."""
    if pos + 2 > len(data):
        raise ValueError("truncated BER element")
    tag = data[pos]
    first = data[pos + 1]
    pos += 2
    if first & 0x80:
        count = first & 0x7F
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    else:
        length = first
    end = pos + length
    if end > len(data):
        raise ValueError("truncated BER element")
    return tag, data[pos:end], end


def integer(value: int) -> bytes:
    """A BER INTEGER: two's complement, as few octets as the value needs."""
    return tlv(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def read_integer(body: bytes) -> int:
    return int.from_bytes(body, "big", signed=True) if body else 0


def elements(data: bytes) -> list[tuple[int, bytes]]:
    out = []
    pos = 0
    while pos < len(data):
        tag, value, pos = read_tlv(data, pos)
        out.append((tag, value))
    return out


SYNC_REQUEST_OID = "1.3.6.1.4.1.4203.1.9.1.1"
SYNC_STATE_OID = "1.3.6.1.4.1.4203.1.9.1.2"
SYNC_DONE_OID = "1.3.6.1.4.1.4203.1.9.1.3"
SYNC_INFO_OID = "1.3.6.1.4.1.4203.1.9.1.4"
SYNC_STATES = {0: "present", 1: "add", 2: "modify", 3: "delete"}


def sync_request_value(cookie: bytes | None, mode: int = 1) -> bytes:
    """syncRequestValue ::= SEQUENCE { mode ENUMERATED (1 = refreshOnly), cookie OCTET STRING OPTIONAL, ... }"""
    body = tlv(0x0A, bytes([mode]))
    if cookie:
        body += tlv(0x04, cookie)
    return tlv(0x30, body)


def sync_state(value: bytes) -> tuple[str, str, bytes | None]:
    """(state, entryUUID text, cookie) of a Sync State control."""
    _tag, body, _ = read_tlv(value)
    parts = elements(body)
    state = SYNC_STATES.get(parts[0][1][0] if parts[0][1] else -1, "unknown")
    entry_uuid = str(uuid.UUID(bytes=parts[1][1]))
    cookie = parts[2][1] if len(parts) > 2 and parts[2][0] == 0x04 else None
    return state, entry_uuid, cookie


def sync_done(value: bytes) -> tuple[bytes | None, bool]:
    """(cookie, refreshDeletes) of a Sync Done control."""
    _tag, body, _ = read_tlv(value)
    cookie: bytes | None = None
    refresh_deletes = False
    for tag, part in elements(body):
        if tag == 0x04:
            cookie = part
        elif tag == 0x01:
            refresh_deletes = bool(part and part[0])
    return cookie, refresh_deletes


def sync_info(value: bytes) -> tuple[bytes | None, list[str], bool | None]:
    """(cookie, UUIDs, refreshDeletes) of a Sync Info message; UUIDs only for a syncIdSet."""
    tag, body, _ = read_tlv(value)
    if tag == 0x80:  # newcookie
        return body, [], None
    cookie: bytes | None = None
    uuids: list[str] = []
    refresh_deletes: bool | None = None
    for inner_tag, part in elements(body):
        if inner_tag == 0x04:
            cookie = part
        elif inner_tag == 0x01:
            refresh_deletes = bool(part and part[0])
        elif inner_tag == 0x31:
            uuids = [str(uuid.UUID(bytes=u)) for _t, u in elements(part)]
    if tag == 0xA3 and refresh_deletes is None:
        refresh_deletes = False  # syncIdSet: DEFAULT FALSE
    if tag in (0xA1, 0xA2) and refresh_deletes is None:
        refresh_deletes = None  # refreshDelete / refreshPresent: refreshDone only
    return cookie, uuids, refresh_deletes


def attribute_list(names: list[str]) -> bytes:
    """AttributeDescriptionList ::= SEQUENCE OF AttributeDescription: the post-read control's request value."""
    return tlv(0x30, b"".join(tlv(0x04, name.encode("utf-8")) for name in names))


def search_result_entry(value: bytes) -> tuple[str, dict[str, list[bytes]]]:
    """(DN, attributes) of a SearchResultEntry ([APPLICATION 4]), as the post-read control returns it."""
    _tag, body, _ = read_tlv(value)
    (_, dn), (_, attributes) = elements(body)[:2]
    entry: dict[str, list[bytes]] = {}
    for _, attribute in elements(attributes):
        (_, name), (_, values) = elements(attribute)[:2]
        entry[name.decode("utf-8")] = [v for _, v in elements(values)]
    return dn.decode("utf-8"), entry


DIRSYNC_OID = "1.2.840.113556.1.4.841"


def dirsync_request_value(flags: int, max_bytes: int, cookie: bytes) -> bytes:
    """DirSync request: SEQUENCE { flags INTEGER, maxBytes INTEGER, cookie OCTET STRING }.

    Windows reads ``flags`` as a signed 32-bit number, so LDAP_DIRSYNC_INCREMENTAL_VALUES (0x80000000) goes on the
    wire as -2147483648 (four octets), never as a five-octet positive number.
    """
    signed = flags - (1 << 32) if flags & 0x80000000 else flags
    return tlv(0x30, integer(signed) + integer(max_bytes) + tlv(0x04, cookie))


def dirsync_response_value(value: bytes) -> tuple[bool, bytes]:
    """(more results, cookie) of a DirSync response control: SEQUENCE { moreResults, unused, cookie }."""
    _tag, body, _ = read_tlv(value)
    parts = elements(body)
    if len(parts) < 3:
        raise ValueError("DirSync response control: expected three elements")
    return read_integer(parts[0][1]) != 0, parts[2][1]
