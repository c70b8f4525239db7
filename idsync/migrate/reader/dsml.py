"""DSML schemas inside ``<schema>``: attribute types and classes, read one element at a time.

Class attributes refer to attribute types by id (``ref="#A0"``), and the AD MA uses short ids that are not the
attribute names, while other agents list classes before the types they use; so references are kept as ids while
streaming and resolved to names when the section is done.
"""

from __future__ import annotations

from idsync.migrate.model import AttributeType, ClassAttribute, DsmlSchema, ObjectClass
from idsync.migrate.reader.xmlsource import Element, SectionHandler, attr, child_text, children, truthy

_SCHEMA_PATH = ("schema", "dsml", "directory-schema")


class SchemaBuilder:
    def __init__(self, schema: DsmlSchema) -> None:
        self.schema = schema
        self._names: dict[str, str] = {}

    def handlers(self) -> dict[tuple[str, ...], SectionHandler]:
        return {
            (*_SCHEMA_PATH, "attribute-type"): self.attribute_type,
            (*_SCHEMA_PATH, "class"): self.object_class,
        }

    def attribute_type(self, elem: Element, where: str) -> None:
        type_id = attr(elem, "id")
        name = child_text(elem, "name") or type_id
        self._names[type_id] = name
        self.schema.attribute_types[name] = AttributeType(
            name=name,
            syntax=child_text(elem, "syntax"),
            single_valued=truthy(attr(elem, "single-value")),
            indexed=truthy(attr(elem, "indexed")),
        )

    def object_class(self, elem: Element, where: str) -> None:
        name = child_text(elem, "name") or attr(elem, "id")
        cls = ObjectClass(name)
        for ref in children(elem, "attribute"):
            cls.attributes.append(
                ClassAttribute(
                    name=attr(ref, "ref").lstrip("#"),
                    required=truthy(attr(ref, "required")),
                    is_anchor=truthy(attr(ref, "isAnchor")),
                )
            )
        self.schema.classes[name] = cls

    def finish(self) -> None:
        """Turn the class attributes' type ids into attribute names."""
        for cls in self.schema.classes.values():
            for ca in cls.attributes:
                ca.name = self._names.get(ca.name, ca.name)
