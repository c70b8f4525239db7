"""The schema a connector discovered, kept in the store so sync can type values without calling the system."""

from __future__ import annotations

import json
from typing import Any

from idsync.model import AttributeSpec, AttributeType, Compare, ObjectTypeSchema, Schema
from idsync.store import Store

KEY = "schema:"


def schema_to_json(schema: Schema) -> dict[str, Any]:
    return {
        name: {a.name: [a.type.value, a.multivalued, a.compare.value] for a in t.attributes.values()}
        for name, t in schema.object_types.items()
    }


def schema_from_json(data: dict[str, Any]) -> Schema:
    types = {}
    for name, attrs in data.items():
        specs = {attr: AttributeSpec(attr, AttributeType(v[0]), bool(v[1]), Compare(v[2])) for attr, v in attrs.items()}
        types[name] = ObjectTypeSchema(name, specs)
    return Schema(types)


def save_schema(store: Store, connector: str, schema: Schema) -> None:
    text = json.dumps(schema_to_json(schema), sort_keys=True)
    if store.get_meta(KEY + connector) != text:
        store.set_meta(KEY + connector, text)


def load_schema(store: Store, connector: str) -> Schema | None:
    text = store.get_meta(KEY + connector)
    return schema_from_json(json.loads(text)) if text else None
