"""Schema discovery from the server's subschema subentry (RFC 4512 descriptions).

Attribute syntaxes map to idsync types (DN syntax is a reference, Integer an integer, binary syntaxes base64
text), SINGLE-VALUE decides scalar versus list, and each configured object type gets the MUST and MAY
attributes of its classes, their superclasses and the auxiliary classes a DIT content rule allows (Active
Directory puts sAMAccountName, mail and the rest of a user's everyday attributes in auxiliary classes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from idsync.model import AttributeSpec, AttributeType, Compare, ObjectTypeSchema, Schema

_SYNTAX_PREFIX = "1.3.6.1.4.1.1466.115.121.1."
SYNTAX_TYPES = {
    "12": AttributeType.REFERENCE,  # DN
    "27": AttributeType.INTEGER,
    "7": AttributeType.BOOLEAN,
    "24": AttributeType.DATETIME,  # Generalized Time
    "40": AttributeType.BINARY,  # Octet String
    "5": AttributeType.BINARY,
    "28": AttributeType.BINARY,  # JPEG
    "8": AttributeType.BINARY,  # Certificate
    "9": AttributeType.BINARY,
    "10": AttributeType.BINARY,
    "4": AttributeType.BINARY,  # Audio
    "23": AttributeType.BINARY,  # Fax
}
OTHER_SYNTAX_TYPES = {
    "1.2.840.113556.1.4.906": AttributeType.INTEGER,  # Active Directory Large Integer: pwdLastSet, uSNChanged
    "1.2.840.113556.1.4.907": AttributeType.BINARY,  # Active Directory security descriptor
}
_TOKEN = re.compile(r"\(|\)|'(?:[^'\\]|\\.)*'|[^\s()']+")


@dataclass(slots=True)
class AttributeTypeDef:
    oid: str
    names: list[str]
    syntax: str | None = None
    single: bool = False
    sup: str | None = None
    equality: str | None = None
    no_user_modification: bool = False
    usage: str = "userApplications"


@dataclass(slots=True)
class ObjectClassDef:
    oid: str
    names: list[str]
    kind: str = "STRUCTURAL"
    sup: list[str] = field(default_factory=list)
    must: list[str] = field(default_factory=list)
    may: list[str] = field(default_factory=list)


def _parse(description: str) -> tuple[str, dict[str, list[str] | bool]]:
    """OID and keyword -> values of one RFC 4512 description; flags (SINGLE-VALUE) map to True."""
    tokens = _TOKEN.findall(description)
    if not tokens or tokens[0] != "(":
        raise ValueError(f"not a schema description: {description[:60]!r}")
    oid = tokens[1]
    out: dict[str, list[str] | bool] = {}
    i = 2
    while i < len(tokens) and tokens[i] != ")":
        key = tokens[i]
        i += 1
        if i < len(tokens) and tokens[i] == "(":
            values: list[str] = []
            i += 1
            while tokens[i] != ")":
                if tokens[i] != "$":
                    values.append(tokens[i].strip("'"))
                i += 1
            i += 1
            out[key] = values
        elif i < len(tokens) and tokens[i] != ")" and not _is_keyword(tokens[i]):
            out[key] = [tokens[i].strip("'")]
            i += 1
        else:
            out[key] = True
    return oid, out


def _is_keyword(token: str) -> bool:
    return token.isupper() and not token.startswith("'") and not token[0].isdigit()


def _list(parsed: dict[str, list[str] | bool], key: str) -> list[str]:
    value = parsed.get(key)
    return value if isinstance(value, list) else []


def _first(parsed: dict[str, list[str] | bool], key: str) -> str | None:
    values = _list(parsed, key)
    return values[0] if values else None


@dataclass(slots=True)
class ContentRuleDef:
    """A DIT content rule (RFC 4512 4.1.6): what entries of one structural class may also hold."""

    oid: str
    aux: list[str] = field(default_factory=list)
    must: list[str] = field(default_factory=list)
    may: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ServerSchema:
    attribute_types: dict[str, AttributeTypeDef] = field(default_factory=dict)
    """Lower-cased name (every alias) and OID -> definition."""
    object_classes: dict[str, ObjectClassDef] = field(default_factory=dict)
    content_rules: dict[str, ContentRuleDef] = field(default_factory=dict)
    """Structural class OID -> its content rule."""

    @classmethod
    def parse(
        cls, attribute_types: Iterable[str], object_classes: Iterable[str], content_rules: Iterable[str] = ()
    ) -> ServerSchema:
        schema = cls()
        for text in attribute_types:
            oid, p = _parse(text)
            syntax = _first(p, "SYNTAX")
            at = AttributeTypeDef(
                oid=oid,
                names=_list(p, "NAME") or [oid],
                syntax=syntax.split("{", 1)[0] if syntax else None,
                single=p.get("SINGLE-VALUE") is True,
                sup=_first(p, "SUP"),
                equality=_first(p, "EQUALITY"),
                no_user_modification=p.get("NO-USER-MODIFICATION") is True,
                usage=_first(p, "USAGE") or "userApplications",
            )
            for key in [oid, *at.names]:
                schema.attribute_types[key.lower()] = at
        for text in object_classes:
            oid, p = _parse(text)
            kind = next((k for k in ("STRUCTURAL", "AUXILIARY", "ABSTRACT") if p.get(k) is True), "STRUCTURAL")
            oc = ObjectClassDef(
                oid=oid,
                names=_list(p, "NAME") or [oid],
                kind=kind,
                sup=_list(p, "SUP"),
                must=_list(p, "MUST"),
                may=_list(p, "MAY"),
            )
            for key in [oid, *oc.names]:
                schema.object_classes[key.lower()] = oc
        for text in content_rules:
            oid, p = _parse(text)
            schema.content_rules[oid] = ContentRuleDef(oid, _list(p, "AUX"), _list(p, "MUST"), _list(p, "MAY"))
        return schema

    def attribute(self, name: str) -> AttributeTypeDef | None:
        return self.attribute_types.get(name.lower())

    def _inherited(self, name: str, field_name: str) -> str | None:
        """A field of the attribute type or, when it has none, of its nearest supertype that has one."""
        at = self.attribute(name)
        for _ in range(16):
            if at is None:
                return None
            value = getattr(at, field_name)
            if value is not None or not at.sup:
                return value
            at = self.attribute(at.sup)
        return None

    def syntax_of(self, name: str) -> str | None:
        return self._inherited(name, "syntax")

    def equality_of(self, name: str) -> str | None:
        return self._inherited(name, "equality")

    def spec(self, name: str, references: Iterable[str] = ()) -> AttributeSpec:
        at = self.attribute(name)
        canonical = at.names[0] if at is not None else name
        syntax = self.syntax_of(name) or ""
        kind = AttributeType.STRING
        if syntax.startswith(_SYNTAX_PREFIX):
            kind = SYNTAX_TYPES.get(syntax[len(_SYNTAX_PREFIX) :], AttributeType.STRING)
        else:
            kind = OTHER_SYNTAX_TYPES.get(syntax, AttributeType.STRING)
        if name.lower() in {r.lower() for r in references}:
            kind = AttributeType.REFERENCE
        equality = (self.equality_of(name) or "").lower()
        ignore_case = "caseignore" in equality or "distinguishedname" in equality or kind is AttributeType.REFERENCE
        return AttributeSpec(
            name=canonical,
            type=kind,
            multivalued=not (at.single if at is not None else False),
            compare=Compare.IGNORE_CASE if ignore_case else Compare.EXACT,
        )

    def class_attributes(self, class_names: Iterable[str]) -> tuple[list[str], list[str]]:
        """(MUST, MAY) of the classes, all their superclasses and the auxiliary classes their content rules
        allow, canonical names, first seen first."""
        must: dict[str, None] = {}
        may: dict[str, None] = {}
        pending = list(class_names)
        visited: set[str] = set()
        while pending:
            name = pending.pop(0)
            oc = self.object_classes.get(name.lower())
            if oc is None or oc.oid in visited:
                continue
            visited.add(oc.oid)
            for a in oc.must:
                must[self._canonical(a)] = None
            for a in oc.may:
                may[self._canonical(a)] = None
            pending.extend(oc.sup)
            rule = self.content_rules.get(oc.oid)
            if rule is not None:
                for a in rule.must:
                    must[self._canonical(a)] = None
                for a in rule.may:
                    may[self._canonical(a)] = None
                pending.extend(rule.aux)
        return list(must), [a for a in may if a not in must]

    def _canonical(self, name: str) -> str:
        at = self.attribute(name)
        return at.names[0] if at is not None else name

    def object_type_schema(
        self, type_name: str, classes: Iterable[str], extra: Iterable[str] = (), references: Iterable[str] = ()
    ) -> ObjectTypeSchema:
        must, may = self.class_attributes(classes)
        refs = list(references)
        specs: dict[str, AttributeSpec] = {}
        for name in [*must, *may, *extra]:
            spec = self.spec(name, refs)
            if name in must:
                spec = AttributeSpec(spec.name, spec.type, spec.multivalued, spec.compare, required=True)
            specs.setdefault(spec.name, spec)
        return ObjectTypeSchema(type_name, specs)


def build_schema(
    server: ServerSchema, object_types: dict[str, list[str]], extra: Iterable[str], references: Iterable[str]
) -> Schema:
    extra_list = list(extra)
    refs = list(references)
    return Schema(
        {name: server.object_type_schema(name, classes, extra_list, refs) for name, classes in object_types.items()}
    )
