"""Between LDAP's bytes and idsync's storage form, driven by the attribute's spec from the schema."""

from __future__ import annotations

import base64
from typing import Any

from idsync.connectors.ldap.escaping import canonical_dn
from idsync.model import AttributeSpec, AttributeType, AttributeValueError
from idsync.model.attributes import format_datetime, parse_datetime


def to_storage(spec: AttributeSpec, values: list[bytes]) -> Any:
    """Storage form of an attribute's raw values: a scalar for single-valued, a list for multi-valued.

    Raises AttributeValueError (naming the attribute) for text that is not UTF-8 or a malformed number.
    """
    if spec.type is AttributeType.STRING or spec.type is AttributeType.REFERENCE:
        try:  # the common case, kept tight: most attributes of most entries are text
            out: list[Any] = [v.decode("utf-8") for v in values]
        except UnicodeDecodeError:
            out = [_one(spec, v) for v in values]  # raises, naming the attribute
        if spec.type is AttributeType.REFERENCE:
            out = [canonical_dn(v) for v in out]  # compares equal to the referenced entry's identifier
    else:
        out = [_one(spec, v) for v in values]
    if not out:
        return None
    if spec.multivalued:
        return out
    return out[0]


def _one(spec: AttributeSpec, raw: bytes) -> Any:
    t = spec.type
    if t is AttributeType.BINARY:
        return base64.b64encode(raw).decode("ascii")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AttributeValueError(f"{spec.name}: value is not UTF-8 text ({raw[:16]!r}...)") from None
    if t is AttributeType.INTEGER:
        try:
            return int(text)
        except ValueError:
            raise AttributeValueError(f"{spec.name}: {text!r} is not an integer") from None
    if t is AttributeType.BOOLEAN:
        return text.upper() == "TRUE"
    if t is AttributeType.DATETIME:
        return format_datetime(parse_datetime(spec.name, text))
    return text


def to_ldap(spec: AttributeSpec, value: Any) -> bytes:
    """One storage-form value as the bytes LDAP expects for the attribute's syntax."""
    t = spec.type
    if t is AttributeType.BINARY:
        if isinstance(value, bytes | bytearray):
            return bytes(value)
        try:
            return base64.b64decode(str(value), validate=True)
        except ValueError:
            raise AttributeValueError(f"{spec.name}: binary values are base64 text") from None
    if isinstance(value, bool):
        return b"TRUE" if value else b"FALSE"
    if t is AttributeType.BOOLEAN:
        return b"TRUE" if str(value).strip().lower() in ("true", "1", "yes") else b"FALSE"
    if t is AttributeType.DATETIME:
        return parse_datetime(spec.name, value).strftime("%Y%m%d%H%M%SZ").encode("ascii")
    if isinstance(value, bytes):
        return value
    try:
        # text read from a file in the wrong encoding carries its bytes as surrogate escapes: send those bytes,
        # so the server judges them (and names its reason) as it would any client's
        return str(value).encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise AttributeValueError(f"{spec.name}: {value!r} is not valid Unicode text") from None
