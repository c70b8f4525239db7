"""Attribute types, schemas and the value normalization every comparison goes through.

Values are kept in their JSON-native *storage form* everywhere inside the engine: ``str``, ``int`` and ``bool``;
binary as base64 text, datetimes as ISO-8601 UTC text, references as the referenced object's reference key.
The schema, not the value, says what a string means, so the store never needs type tags and a hologram
round-trips through JSON unchanged.
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


class AttributeType(enum.StrEnum):
    STRING = "string"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    BINARY = "binary"
    DATETIME = "datetime"
    REFERENCE = "reference"


class Compare(enum.StrEnum):
    """How two values of an attribute are compared (export confirmation, join, change detection)."""

    EXACT = "exact"
    IGNORE_CASE = "ignore-case"


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    name: str
    type: AttributeType = AttributeType.STRING
    multivalued: bool = False
    compare: Compare = Compare.EXACT
    required: bool = False
    description: str = ""

    @property
    def is_reference(self) -> bool:
        return self.type is AttributeType.REFERENCE


@dataclass(frozen=True, slots=True)
class ObjectTypeSchema:
    name: str
    attributes: Mapping[str, AttributeSpec] = field(default_factory=dict)
    read_only: frozenset[str] = frozenset()
    """Those of the attributes the connected system maintains and refuses to be written (Graph's ``id``,
    ``createdDateTime``), where a connector type says so: a flow to one fails every export, so validation refuses
    it with that reason."""

    def spec(self, attribute: str) -> AttributeSpec:
        """The spec of ``attribute``; unknown attributes are treated as single-valued strings."""
        found = self.attributes.get(attribute)
        return found if found is not None else AttributeSpec(attribute)

    def references(self) -> list[str]:
        return [a.name for a in self.attributes.values() if a.is_reference]


@dataclass(frozen=True, slots=True)
class Schema:
    """What a connector (or the metaverse) holds: object types and their attributes."""

    object_types: Mapping[str, ObjectTypeSchema] = field(default_factory=dict)

    def object_type(self, name: str) -> ObjectTypeSchema:
        found = self.object_types.get(name)
        return found if found is not None else ObjectTypeSchema(name)


class AttributeValueError(ValueError):
    """A value that does not fit its attribute type. The message names the attribute and the reason."""


def _coerce_one(spec: AttributeSpec, value: Any) -> Any:
    t = spec.type
    if t is AttributeType.STRING or t is AttributeType.REFERENCE:
        if isinstance(value, bool | int):
            return str(value)
        if isinstance(value, bytes):
            return value.decode("utf-8")
        if not isinstance(value, str):
            raise AttributeValueError(f"{spec.name}: expected text, got {type(value).__name__}")
        return value
    if t is AttributeType.INTEGER:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                raise AttributeValueError(f"{spec.name}: {value!r} is not an integer") from None
        raise AttributeValueError(f"{spec.name}: expected an integer, got {type(value).__name__}")
    if t is AttributeType.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value != 0
        if isinstance(value, str):
            text = value.strip().lower()
            if text in ("true", "yes", "1", "y"):
                return True
            if text in ("false", "no", "0", "n"):
                return False
            raise AttributeValueError(f"{spec.name}: {value!r} is not a boolean (true/false)")
        raise AttributeValueError(f"{spec.name}: expected a boolean, got {type(value).__name__}")
    if t is AttributeType.BINARY:
        if isinstance(value, bytes | bytearray):
            return base64.b64encode(bytes(value)).decode("ascii")
        if isinstance(value, str):
            try:
                base64.b64decode(value, validate=True)
            except ValueError:
                raise AttributeValueError(
                    f"{spec.name}: binary values are base64 text; {value[:20]!r} is not"
                ) from None
            return value
        raise AttributeValueError(f"{spec.name}: expected bytes, got {type(value).__name__}")
    if t is AttributeType.DATETIME:
        return format_datetime(parse_datetime(spec.name, value))
    raise AssertionError(t)  # pragma: no cover


def coerce(spec: AttributeSpec, value: Any) -> Any:
    """Bring a Python value into storage form for ``spec``: a scalar, a list (multi-valued) or ``None``.

    Empty strings and empty lists are null: directories do not store empty values, and treating them as
    absent keeps "null is a value" semantics identical across connectors.
    """
    if value is None:
        return None
    if spec.multivalued:
        items = value if isinstance(value, list | tuple | set | frozenset) else [value]
        out = [_coerce_one(spec, v) for v in items if v is not None and v != ""]
        return out or None
    if isinstance(value, list | tuple):
        if not value:
            return None
        if len(value) > 1:
            raise AttributeValueError(f"{spec.name}: single-valued attribute given {len(value)} values")
        value = value[0]
    if value == "":
        return None
    return _coerce_one(spec, value)


def in_storage_form(spec: AttributeSpec, value: Any) -> bool:
    """Whether :func:`coerce` would hand ``value`` back unchanged, checked cheaply for text (most values are):
    imports skip the coercion of values a connector already delivered in storage form."""
    if spec.type is AttributeType.STRING or spec.type is AttributeType.REFERENCE:
        if spec.multivalued:
            return type(value) is list and bool(value) and all(type(v) is str and v for v in value)
        return type(value) is str and value != ""
    return False


def parse_datetime(name: str, value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        # LDAP generalized time: 20240101120000Z / 20240101120000.0Z
        if len(text) >= 14 and text[:14].isdigit() and "-" not in text[:8]:
            try:
                return datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
            except ValueError:
                pass
        parsed: datetime | None
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = _parse_us_datetime(text)
        if parsed is None:
            raise AttributeValueError(f"{name}: {value!r} is not a date/time (ISO 8601 expected)")
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise AttributeValueError(f"{name}: expected a date/time, got {type(value).__name__}")


_US_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y")


def _parse_us_datetime(text: str) -> datetime | None:
    """Entra provisioning expressions hand dates around as ``M/d/yyyy h:mm:ss tt`` (its documented form)."""
    for fmt in _US_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def format_datetime(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def normalize(spec: AttributeSpec, value: Any) -> Any:
    """The comparison key of one storage-form value.

    In a string attribute a number or a boolean is the text it would be stored as, so a flow that produces ``True``
    for a system that keeps the text "True" does not look like a change on every sync.
    """
    if spec.type is AttributeType.STRING and not isinstance(value, str) and isinstance(value, bool | int):
        value = str(value)
    if spec.compare is Compare.IGNORE_CASE and isinstance(value, str):
        return value.casefold()
    return value


def recased(spec: AttributeSpec, a: Any, b: Any) -> bool:
    """Text values of an attribute that its comparison rule finds equal, written in another case: a correction
    ("Mcdonald" to "McDonald", a secondary address made primary, "smtp:" to "SMTP:") the target keeps once written
    (directories and Graph preserve the case they are given), so an export flow sends it and only the values as
    written confirm it. References keep comparing by their rule: servers name entries in their own case."""
    if spec.compare is not Compare.IGNORE_CASE or spec.type is not AttributeType.STRING:
        return False
    if type(a) is str and type(b) is str:
        return a != b
    if not spec.multivalued or a is None or b is None:
        return False
    return {v for v in as_list(a) if type(v) is str} != {v for v in as_list(b) if type(v) is str}


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def values_equal(spec: AttributeSpec, a: Any, b: Any) -> bool:
    """Storage-form equality under the attribute's comparison rule; multi-valued compare as sets."""
    if a is None or b is None:
        return a is None and b is None
    if type(a) is type(b) and type(a) is not list and a == b:
        return True  # one value, equal as stored: equal under every comparison rule (the commonest answer)
    if spec.multivalued:
        # order is not significant and duplicates collapse in directories: compare as sets
        return {normalize(spec, v) for v in as_list(a)} == {normalize(spec, v) for v in as_list(b)}
    if isinstance(a, list) or isinstance(b, list):
        return [normalize(spec, v) for v in as_list(a)] == [normalize(spec, v) for v in as_list(b)]
    return normalize(spec, a) == normalize(spec, b)


def changed_attributes(
    schema: ObjectTypeSchema,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    names: Iterable[str] | None = None,
) -> list[str]:
    """Names of the attributes whose values differ between two storage-form attribute maps."""
    keys = names if names is not None else set(old) | set(new)
    out = []
    for key in keys:
        if not values_equal(schema.spec(key), old.get(key), new.get(key)):
            out.append(key)
    return sorted(out)
