"""Entries to import records, with decoders chosen once per attribute from the schema.

An import converts every value of every entry, so the per-value work is kept to a bytes ``decode``: the first
time an attribute name (as the server spells it) shows up for an object type, the schema picks a converter for
it — text list, single text, DN reference, or the general :func:`to_storage` for integers, booleans, times and
binary — and every later entry reuses it. Bytes that are not UTF-8 fall back to the general path, which names the
attribute in its error.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from idsync.connectors.base import ImportIssue, ImportRecord
from idsync.connectors.ldap.backend import Entry
from idsync.connectors.ldap.escaping import canonical_dn
from idsync.connectors.ldap.values import to_storage
from idsync.model import AttributeSpec, AttributeType, AttributeValueError, ObjectTypeSchema, Schema

Convert = Callable[[list[bytes]], Any]
_UNSEEN: Any = object()
SpecOf = Callable[[ObjectTypeSchema, str], AttributeSpec]


def _text_list(raw: list[bytes]) -> list[str] | None:
    # the commonest case first, one value: no comprehension (a frame of its own) for it
    if len(raw) == 1:
        value = raw[0]
        return [value.decode()] if value else None
    if b"" in raw:  # an empty value is no value in storage form
        return [v.decode() for v in raw if v] or None
    return [v.decode() for v in raw]


def _text_one(raw: list[bytes]) -> str | None:
    return raw[0].decode() or None


def _dn_list(raw: list[bytes]) -> list[str] | None:
    return [canonical_dn(v.decode()) for v in raw if v] or None


def _dn_one(raw: list[bytes]) -> str | None:
    return canonical_dn(raw[0].decode()) if raw[0] else None


def _stored(value: Any) -> Any:
    """``to_storage``'s result without empty values, as ``idsync.model.coerce`` would give it."""
    if value == "":
        return None
    if type(value) is list and "" in value:
        return [v for v in value if v != ""] or None
    return value


def converter(spec: AttributeSpec) -> Convert:
    """The cheapest conversion that gives :func:`to_storage`'s result for this attribute, in storage form."""
    if spec.type is AttributeType.STRING:
        return _text_list if spec.multivalued else _text_one
    if spec.type is AttributeType.REFERENCE:
        return _dn_list if spec.multivalued else _dn_one
    return lambda raw: _stored(to_storage(spec, raw))


class EntryDecoder:
    """Turns entries into records for one schema; keep one per import (it learns attribute names as it goes)."""

    def __init__(
        self, schema: Schema, classes: dict[str, str], anchor: str, spec_of: SpecOf, *, guid_anchor: bool = False
    ) -> None:
        self._schema = schema
        self._classes = [(name, object_class.lower().encode()) for name, object_class in classes.items()]
        self._anchor = anchor
        self._anchor_lower = anchor.lower()
        self._spec_of = spec_of
        self._guid = guid_anchor
        self._plans: dict[str, dict[str, tuple[str, Convert, AttributeSpec] | None]] = {}
        self._types: dict[tuple[bytes, ...], str | None] = {}
        """``object_type`` by the entry's objectClass values: most entries of a directory share a few lists."""

    def object_type(self, entry: Entry) -> str | None:
        """The first configured type whose structural class the entry has. Decided by the entry's objectClass
        values alone (``decode`` remembers the answer for each list of them)."""
        values = entry.attributes.get("objectClass") or entry.get("objectClass")
        classes = {v.lower() for v in values}
        for name, object_class in self._classes:
            if object_class in classes:
                return name
        return None

    def anchor(self, raw: bytes) -> str:
        if self._guid and len(raw) == 16:
            return str(uuid.UUID(bytes_le=raw))
        return raw.decode("utf-8")

    def _plan(self, object_type: str, name: str) -> tuple[str, Convert, AttributeSpec] | None:
        plan = self._plans.setdefault(object_type, {})
        found: tuple[str, Convert, AttributeSpec] | None = None
        if name.lower() != self._anchor_lower:
            spec = self._spec_of(self._schema.object_type(object_type), name)
            found = (spec.name, converter(spec), spec)
        plan[name] = found
        return found

    def decode(self, entry: Entry) -> ImportRecord | ImportIssue | None:
        """The entry as a record; an issue naming the entry and the attribute when a value does not convert;
        ``None`` for entries of no configured type."""
        values = entry.attributes
        classes = tuple(values.get("objectClass") or entry.get("objectClass"))
        object_type = self._types.get(classes, _UNSEEN)
        if object_type is _UNSEEN:
            object_type = self._types[classes] = self.object_type(entry)
        if object_type is None:
            return None
        anchor_values = values.get(self._anchor) or entry.get(self._anchor)
        if not anchor_values:
            return ImportIssue(entry.dn, f"entry has no {self._anchor} (the anchor)")
        anchor = self.anchor(anchor_values[0]) if self._guid else anchor_values[0].decode("utf-8")
        plans = self._plans.setdefault(object_type, {})
        attributes: dict[str, Any] = {}
        try:
            for name, raw in values.items():
                plan = plans.get(name, _UNSEEN)
                if plan is _UNSEEN:
                    plan = self._plan(object_type, name)
                if plan is not None and raw:
                    attributes[plan[0]] = plan[1](raw)
        except (UnicodeDecodeError, AttributeValueError):
            return self._issue(entry, object_type, anchor)
        return ImportRecord(anchor, canonical_dn(entry.dn), object_type, attributes)

    def _issue(self, entry: Entry, object_type: str, anchor: str) -> ImportIssue:
        """The attribute that failed, with the general conversion's reason."""
        for name, raw in entry.attributes.items():
            plan = self._plan(object_type, name)
            if plan is None or not raw:
                continue
            try:
                to_storage(plan[2], raw)
            except AttributeValueError as exc:
                return ImportIssue(entry.dn, str(exc), attribute=plan[0], anchor=anchor)
        return ImportIssue(entry.dn, "a value cannot be converted", anchor=anchor)
