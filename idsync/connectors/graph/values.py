"""Between Graph's JSON and idsync's attribute values, both ways.

Reading: a Graph object becomes an ``ImportRecord`` holding the configured attributes; the fifteen
``onPremisesExtensionAttributes`` appear as ``extensionAttribute1..15``, the manager and members as Graph ids (the
connector's anchors). Writing: a list of attribute changes becomes a request body plus the link changes Graph
wants as separate requests (manager ``$ref``, member binds and removals); a change Graph cannot accept (a read-only
or unknown property, a value of the wrong type, a value outside a property's documented codes or choices) is named
before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from idsync.connectors.base import ImportRecord
from idsync.connectors.graph.config import ExtensionAttribute, GraphConfig
from idsync.connectors.graph.properties import (
    EXTENSION_ATTRIBUTES,
    EXTENSION_ATTRIBUTES_PROPERTY,
    PropertySpec,
    properties_for,
    read_only_for,
    value_problem,
)
from idsync.model import (
    AttributeChange,
    AttributeSpec,
    AttributeType,
    AttributeValueError,
    Compare,
    ObjectTypeSchema,
    Schema,
    ValueOp,
    as_list,
    coerce,
)

LINKS = {"user": "manager", "group": "members"}
CASE_INSENSITIVE = frozenset({"userPrincipalName", "mail", "mailNickname", "proxyAddresses", "otherMails"})
_EDM_TYPES = {
    "Edm.String": AttributeType.STRING,
    "Edm.Boolean": AttributeType.BOOLEAN,
    "Edm.Int32": AttributeType.INTEGER,
    "Edm.Int64": AttributeType.INTEGER,
    "Edm.DateTimeOffset": AttributeType.DATETIME,
    "Edm.Binary": AttributeType.BINARY,
    "Edm.Guid": AttributeType.STRING,
}
_EXTENSION_TYPES = {
    "string": AttributeType.STRING,
    "boolean": AttributeType.BOOLEAN,
    "integer": AttributeType.INTEGER,
    "datetime": AttributeType.DATETIME,
    "binary": AttributeType.BINARY,
}


def identifier_of(kind: str, obj: Mapping[str, Any]) -> str:
    """A user's identifier is its userPrincipalName, a group's its mailNickname (the id when there is none)."""
    key = "userPrincipalName" if kind == "user" else "mailNickname"
    value = obj.get(key)
    return str(value) if value else str(obj["id"])


def identifier_attribute(kind: str) -> str:
    return "userPrincipalName" if kind == "user" else "mailNickname"


# schema -------------------------------------------------------------------------------------------------------------
def object_schema(config: GraphConfig, kind: str) -> ObjectTypeSchema:
    specs: dict[str, AttributeSpec] = {}
    for name, prop in properties_for(kind).items():
        kind_of = _EDM_TYPES.get(prop.edm_type)
        if kind_of is None:
            continue
        compare = Compare.IGNORE_CASE if name in CASE_INSENSITIVE else Compare.EXACT
        specs[name] = AttributeSpec(name, kind_of, prop.collection, compare)
    for name in EXTENSION_ATTRIBUTES:
        specs[name] = AttributeSpec(name)
    link = LINKS[kind]
    specs[link] = AttributeSpec(link, AttributeType.REFERENCE, link == "members", Compare.IGNORE_CASE)
    for name, ext in config.extensions_for(kind).items():
        specs[name] = AttributeSpec(name, _EXTENSION_TYPES[ext.type], ext.multivalued)
    return ObjectTypeSchema(kind, dict(sorted(specs.items())))


def graph_schema(config: GraphConfig) -> Schema:
    return Schema({kind: object_schema(config, kind) for kind in config.kinds})


# reading ------------------------------------------------------------------------------------------------------------
def select_for(config: GraphConfig, kind: str) -> list[str]:
    """The ``$select`` list for the configured attributes (links excluded; they are read separately)."""
    wanted: dict[str, None] = {"id": None, identifier_attribute(kind): None}
    for name in config.attributes(kind):
        if name in EXTENSION_ATTRIBUTES:
            wanted[EXTENSION_ATTRIBUTES_PROPERTY] = None
        elif name != LINKS[kind]:
            wanted[name] = None
    return list(wanted)


def record(
    kind: str,
    obj: Mapping[str, Any],
    attributes: Sequence[str],
    *,
    links: Mapping[str, Any] | None = None,
    partial: bool = False,
) -> ImportRecord:
    """An import record holding ``attributes`` of ``obj``. A selected property Graph left out was never set: it is
    null. ``links`` carries manager/members when they were read; a partial record without them keeps the old."""
    values: dict[str, Any] = {}
    extensions = obj.get(EXTENSION_ATTRIBUTES_PROPERTY) or {}
    for name in attributes:
        if name in ("manager", "members"):
            if links is not None and name in links:
                values[name] = _stored(links[name])
            elif not partial:
                values[name] = None
            continue
        if name in EXTENSION_ATTRIBUTES:
            values[name] = _stored(extensions.get(name) if isinstance(extensions, Mapping) else None)
            continue
        values[name] = _stored(obj.get(name))
    return ImportRecord(
        anchor=str(obj["id"]),
        identifier=identifier_of(kind, obj),
        object_type=kind,
        attributes=values,
        partial=partial,
    )


def _stored(value: Any) -> Any:
    """Graph answers ``[]`` for an empty collection and may keep ``""``: in storage form both are null."""
    return None if value == [] or value == "" else value


def manager_of(obj: Mapping[str, Any]) -> str | None:
    """The id in an expanded ``manager`` (``$expand=manager($select=id)``)."""
    manager = obj.get("manager")
    if isinstance(manager, Mapping) and manager.get("id"):
        return str(manager["id"])
    return None


# writing ------------------------------------------------------------------------------------------------------------
class Unset:
    """No manager change in this export."""


UNSET = Unset()


@dataclass
class WritePlan:
    """What one export item asks of Graph."""

    properties: dict[str, Any] = field(default_factory=dict)
    manager: str | Unset | None = UNSET
    add_members: list[str] = field(default_factory=list)
    remove_members: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    """(attribute, reason) of changes that cannot be sent."""


def write_plan(
    kind: str,
    changes: Iterable[AttributeChange],
    hologram: Mapping[str, Any],
    extensions: Mapping[str, ExtensionAttribute],
) -> WritePlan:
    plan = WritePlan()
    props = properties_for(kind)
    read_only = read_only_for(kind)
    lists: dict[str, list[Any]] = {}
    for change in changes:
        name = change.name
        if name == LINKS.get(kind):
            _link_change(plan, kind, change, hologram)
            continue
        if name in ("manager", "members"):
            plan.problems.append((name, f"a Graph {kind} has no {name}"))
            continue
        if name in EXTENSION_ATTRIBUTES:
            value = _single(change)
            plan.properties.setdefault(EXTENSION_ATTRIBUTES_PROPERTY, {})[name] = None if value is None else str(value)
            continue
        ext = extensions.get(name)
        spec = props.get(name)
        if ext is None and (spec is None or not spec.is_primitive):
            plan.problems.append((name, _unknown(kind, name, spec)))
            continue
        if name in read_only:
            plan.problems.append((name, f"{name} is read-only in Microsoft Graph and cannot be exported"))
            continue
        multivalued = ext.multivalued if ext is not None else bool(spec and spec.collection)
        try:
            if multivalued:
                current = lists.get(name)
                if current is None:
                    current = [_graph_value(spec, ext, v) for v in as_list(hologram.get(name))]
                lists[name] = _apply(current, change, spec, ext)
                plan.properties[name] = lists[name]
            else:
                value = _single(change)
                plan.properties[name] = None if value is None else _graph_value(spec, ext, value)
        except AttributeValueError as exc:
            plan.problems.append((name, str(exc)))
            continue
        problem = value_problem(kind, name, plan.properties[name])
        if problem is not None:
            plan.problems.append((name, f"{problem}; Microsoft Graph refuses it"))
    return plan


def _unknown(kind: str, name: str, spec: PropertySpec | None) -> str:
    if name == "passwordProfile":
        return "passwordProfile is set by the connector for new users (see new_user_password); it cannot be flowed"
    if spec is not None:
        return f"{name} is a structured Graph property; export its parts instead"
    return f"{name} is not an attribute of a Graph {kind}"


def _single(change: AttributeChange) -> Any:
    if change.op is ValueOp.REMOVE:
        return None
    return change.values[0] if change.values else None


def _apply(current: list[Any], change: AttributeChange, spec: PropertySpec | None, ext: Any) -> list[Any]:
    values = [_graph_value(spec, ext, v) for v in change.values]
    if change.op is ValueOp.REPLACE:
        return values
    if change.op is ValueOp.ADD:
        return current + [v for v in values if v not in current]
    return [v for v in current if v not in values]


def _graph_value(spec: PropertySpec | None, ext: ExtensionAttribute | None, value: Any) -> Any:
    """A storage-form value as Graph's JSON wants it for the property's EDM type."""
    if ext is not None:
        kind = _EXTENSION_TYPES[ext.type]
    else:
        kind = _EDM_TYPES.get(spec.edm_type if spec else "Edm.String", AttributeType.STRING)
    name = spec.name if spec is not None else "value"
    return coerce(AttributeSpec(name, kind), value)


def _link_change(plan: WritePlan, kind: str, change: AttributeChange, hologram: Mapping[str, Any]) -> None:
    if kind == "user":
        value = _single(change)
        plan.manager = None if value is None else str(value)
        return
    if change.op is ValueOp.ADD:
        plan.add_members.extend(str(v) for v in change.values)
    elif change.op is ValueOp.REMOVE:
        plan.remove_members.extend(str(v) for v in change.values)
    else:
        wanted = {str(v) for v in change.values}
        have = {str(v) for v in as_list(hologram.get("members"))}
        plan.add_members.extend(sorted(wanted - have))
        plan.remove_members.extend(sorted(have - wanted))
