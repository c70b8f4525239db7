"""The Active Directory connector: the LDAP connector with Active Directory's identities, deltas and rules.

What it adds to the LDAP connector:
- the anchor is objectGUID as the canonical GUID string; ``sourceAnchor`` (base64 of mS-DS-ConsistencyGuid or
  else objectGUID) and SIDs as ``S-1-5-…`` text come with every object, and mS-DS-ConsistencyGuid can be filled
  from objectGUID as Connect Sync does;
- delta import by DirSync or by USN (see :mod:`idsync.connectors.ad.delta`);
- ranged retrieval of large multi-valued attributes (a group's members past MaxValRange);
- account rules: flags over userAccountControl and groupType, passwords only over an encrypted session, logon
  names checked before they are sent;
- ``container``, the object's OU as an attribute: a deprovision flow that sets it moves a leaver to its OU;
- ``memberOf`` written from the member's side (a flow that puts people in their department's group): adding
  or removing a value changes that group's ``member``; only groups inside the connector's containers are shown
  and may be written, so memberships idsync does not manage are never touched.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from idsync.config.secrets import SecretError, is_reference
from idsync.connectors.ad import accounts
from idsync.connectors.ad.config import AdConfig
from idsync.connectors.ad.delta import DIRSYNC, USN, Changes, dirsync_changes, dirsync_now, usn_changes, usn_now
from idsync.connectors.ad.identity import (
    SID_ATTRIBUTES,
    IdentityError,
    escape_binary,
    guid_bytes,
    guid_text,
    sid_bytes,
    sid_text,
    source_anchor,
)
from idsync.connectors.base import (
    ConnectorError,
    ExportItem,
    ExportResult,
    ImportIssue,
    ImportPage,
    ImportRecord,
    ValueDelta,
    WatermarkExpired,
)
from idsync.connectors.ldap.backend import (
    ALREADY_EXISTS,
    TYPE_OR_VALUE_EXISTS,
    Entry,
    LdapOperationError,
    ModOp,
    Scope,
)
from idsync.connectors.ldap.connector import FILTER_CHUNK, ExportRefused, LdapConnector, _failure, _search
from idsync.connectors.ldap.decoding import EntryDecoder
from idsync.connectors.ldap.escaping import (
    DNError,
    canonical_dn,
    escape_filter_value,
    format_rdn,
    leaf_rdn,
    normalize_dn,
    parent_dn,
    parent_text,
    parse_dn,
)
from idsync.model import (
    AttributeChange,
    AttributeSpec,
    AttributeType,
    AttributeValueError,
    Compare,
    ExportOp,
    ObjectTypeSchema,
    Schema,
    ValueOp,
    coerce,
)

log = logging.getLogger("idsync.connectors.ad")

SUBCLASSES = {"user": ("computer", "inetOrgPerson")}
"""Active Directory classes derived from a configured class that are not that type (a computer is a user)."""
SECRET_ATTRIBUTES = frozenset(
    a.lower()
    for a in (
        "unicodePwd",
        "dBCSPwd",
        "ntPwdHistory",
        "lmPwdHistory",
        "supplementalCredentials",
        "currentValue",
        "priorValue",
        "initialAuthIncoming",
        "initialAuthOutgoing",
        "trustAuthIncoming",
        "trustAuthOutgoing",
    )
)
"""Never read: DirSync as an administrator would otherwise hand out password hashes."""
READ_ONLY = frozenset(a.lower() for a in ("objectGUID", "sourceAnchor"))
MEMBER_OF = "memberOf"
CONTAINER = "container"
"""The object's parent DN: imported with every object; an export that sets it moves the object there."""
UNIQUE_KEYS = ("objectGUID", "sAMAccountName", "userPrincipalName", "mS-DS-ConsistencyGuid", "sourceAnchor")
CONSISTENCY_GUID = "mS-DS-ConsistencyGuid"
CONSTRAINT_VIOLATION = 19
UNWILLING_TO_PERFORM = 53
TEXT_SYNTAXES = ("2.5.5.12", "2.5.5.4", "2.5.5.5", "2.5.5.6")
"""attributeSyntax of the text attributes whose rangeUpper counts characters (Unicode, teletex, printable and
IA5, numeric strings)."""
LINKED_VALUES = frozenset(a.lower() for a in ("member", "manager", "managedBy", "msExchCoManagedByLink"))


@dataclass(slots=True)
class _Prepared:
    """An export item with Active Directory's own attributes folded into real ones."""

    item: ExportItem
    after_add: list[AttributeChange] = field(default_factory=list)
    """Changes Active Directory only takes on an existing object (pwdLastSet), sent right after the add."""
    container: str | None = None
    """Where the object is to live after this export (a leaver's OU), if it says."""
    memberships: list[tuple[ModOp, str]] = field(default_factory=list)
    """Groups to add the object to or remove it from (``memberOf`` written from the member's side)."""


def _truthy(value: Any) -> bool:
    return bool(coerce(AttributeSpec("flag", AttributeType.BOOLEAN), value))


def _first(change: AttributeChange) -> Any:
    return change.values[0] if change.values else None


class _AdEntryDecoder(EntryDecoder):
    def object_type(self, entry: Entry) -> str | None:
        """The type whose class is the entry's most specific one (Active Directory lists it last): a computer
        is a user too, but it is no ``user`` object."""
        classes = entry.attributes.get("objectClass") or entry.get("objectClass")
        if not classes:
            return None
        most_specific = classes[-1].lower()
        return next((name for name, object_class in self._classes if object_class == most_specific), None)


class AdConnector(LdapConnector):
    config: AdConfig
    decoder_class = _AdEntryDecoder
    records_in_storage_form = False  # the computed attributes are typed by the import
    naming_aliases = ("name",)

    def __init__(
        self, name: str, config: AdConfig, password: str | Callable[[], str | None] | None, secrets: Any = None
    ) -> None:
        super().__init__(name, config, password)
        # member, manager and the other linked attributes follow a renamed object: the old DN is gone from them
        self.capabilities = replace(self.capabilities, renames_update_references=True)
        self._secrets = secrets
        self._ad_schema: Schema | None = None
        self._upn_suffixes: list[str] | None = None
        self._naming_context_checked = False
        self._constructed_names: frozenset[str] | None = None
        self._text_limits: dict[str, int] | None = None
        self._scope_cache: dict[str, bool] = {}

    # -- schema -----------------------------------------------------------------------------------------------

    def schema(self) -> Schema:
        if self._ad_schema is None:
            base = super().schema()
            self._ad_schema = Schema({name: self._type_schema(t) for name, t in base.object_types.items()})
        return self._ad_schema

    @staticmethod
    def _type_schema(base: ObjectTypeSchema) -> ObjectTypeSchema:
        """The server's attributes, with SIDs as text, unicodePwd as text (a password, written only) and the
        computed attributes this connector adds."""
        attrs: dict[str, AttributeSpec] = {}
        for name, spec in base.attributes.items():
            if name.lower() in SECRET_ATTRIBUTES and name.lower() != "unicodepwd":
                continue
            if name.lower() in SID_ATTRIBUTES or name.lower() == "unicodepwd":
                spec = AttributeSpec(spec.name, AttributeType.STRING, spec.multivalued, spec.compare, spec.required)
            attrs[name] = spec
        computed = [
            AttributeSpec("objectGUID"),
            AttributeSpec("sourceAnchor"),
            AttributeSpec(CONTAINER, compare=Compare.IGNORE_CASE),
        ]
        if "userAccountControl" in attrs:
            computed += [AttributeSpec(n, AttributeType.BOOLEAN) for n in accounts.ACCOUNT_FLAGS]
        if "pwdLastSet" in attrs:
            computed.append(AttributeSpec(accounts.MUST_CHANGE_PASSWORD, AttributeType.BOOLEAN))
        if "groupType" in attrs:
            computed += [
                AttributeSpec(accounts.GROUP_SCOPE),
                AttributeSpec(accounts.GROUP_SECURITY, AttributeType.BOOLEAN),
            ]
        for spec in computed:
            attrs[spec.name] = spec
        return ObjectTypeSchema(base.name, attrs)

    def _is_group_type(self, object_type: str) -> bool:
        found = self.config.object_types.get(object_type)
        return found is not None and found.object_class.lower() == "group"

    # -- what is read -----------------------------------------------------------------------------------------

    def change_filter(self) -> str:
        """The object classes of the configured types: what a delta asks about (the rest of the import filter is
        applied when the changed objects are read, so an object that stops matching it becomes a delete)."""
        configured = {t.object_class.lower() for t in self.config.object_types.values()}
        parts = []
        for t in self.config.object_types.values():
            one = f"(objectClass={escape_filter_value(t.object_class)})"
            excluded = [c for c in SUBCLASSES.get(t.object_class.lower(), ()) if c.lower() not in configured]
            if excluded:
                one = f"(&{one}{''.join(f'(!(objectClass={c}))' for c in excluded)})"
            parts.append(one)
        return parts[0] if len(parts) == 1 else f"(|{''.join(parts)})"

    def _type_filter(self) -> str:
        extra = "" if self.config.include_system_objects else "(!(isCriticalSystemObject=TRUE))"
        extra += self.config.filter or ""
        return f"(&{self.change_filter()}{extra})" if extra else self.change_filter()

    def _ranged_attributes(self) -> list[str]:
        wanted = self.config.attributes
        if any(self._is_group_type(t) for t in self.config.object_types) and (
            wanted is None or any(a.lower() == "member" for a in wanted)
        ):
            return [f"member;range=0-{self.config.range_size - 1}"]
        return []

    def _read_attributes(self) -> list[str]:
        names = [a for a in super()._read_attributes() if a.lower() != "member"]
        if self.config.attributes is not None:
            names += ["userAccountControl", "pwdLastSet", "groupType", CONSISTENCY_GUID]
        return list(dict.fromkeys([*names, *self._ranged_attributes()]))

    def change_attributes(self) -> list[str]:
        """What DirSync is asked to report. It reports an object only when a listed attribute changed, so the
        list is every real attribute of the configured types, minus secrets (a privileged DirSync with ``*`` hands
        out password hashes) and constructed attributes (which DirSync refuses)."""
        if self.config.attributes is not None:
            names = [*self.config.attributes, "objectGUID", "isDeleted", "member", "name"]
        else:
            names = ["objectGUID", "isDeleted", "objectClass", "name"]
            for t in super().schema().object_types.values():
                names += list(t.attributes)
        skip = SECRET_ATTRIBUTES | self._constructed()
        return sorted({n for n in names if n.lower() not in skip}, key=str.lower)

    def _constructed(self) -> frozenset[str]:
        """Attributes Active Directory computes on read (systemFlags FLAG_ATTR_IS_CONSTRUCTED), lower case."""
        if self._constructed_names is None:
            schema_nc = self.root_dse().first_text("schemaNamingContext")
            names: set[str] = set()
            if schema_nc:
                flt = "(&(objectClass=attributeSchema)(systemFlags:1.2.840.113556.1.4.803:=4))"
                for entries in self._pages(schema_nc, Scope.ONE, flt, ["lDAPDisplayName"]):
                    names.update(v.decode("utf-8").lower() for e in entries for v in e.get("lDAPDisplayName"))
            self._constructed_names = frozenset(names)
        return self._constructed_names

    def text_limits(self) -> dict[str, int]:
        """The most characters each text attribute may hold (its rangeUpper in the schema: description 1,024,
        employeeID 16, …), lower-case name -> limit. The DC refuses a longer value with a reason that names
        neither the limit nor the length (Samba: "contains at least one invalid value"; Windows: 00002082
        AtrErr), so values are held to it before they are sent."""
        if self._text_limits is None:
            schema_nc = self.root_dse().first_text("schemaNamingContext")
            limits: dict[str, int] = {}
            if schema_nc:
                syntaxes = "".join(f"(attributeSyntax={s})" for s in TEXT_SYNTAXES)
                flt = f"(&(objectClass=attributeSchema)(rangeUpper=*)(|{syntaxes}))"
                for entries in self._pages(schema_nc, Scope.ONE, flt, ["lDAPDisplayName", "rangeUpper"]):
                    for entry in entries:
                        name, upper = entry.first_text("lDAPDisplayName"), entry.first_text("rangeUpper")
                        if name and upper and upper.isdigit():
                            limits[name.lower()] = int(upper)
            self._text_limits = limits
        return self._text_limits

    def _check_length(self, name: str, values: Iterable[Any]) -> None:
        limit = self.text_limits().get(name.lower())
        if limit is None:
            return
        for value in values:
            if not isinstance(value, str):
                continue
            length = len(value.encode("utf-16-le", "surrogatepass")) // 2  # Windows counts UTF-16 code units
            if length > limit:
                shown = value if len(value) <= 40 else value[:40] + "…"
                raise ExportRefused(
                    name,
                    f"{name} {shown!r} is {length:,} characters long; Active Directory's schema allows at most "
                    f"{limit:,} (rangeUpper)",
                )

    # -- records ----------------------------------------------------------------------------------------------

    def _ranged(self, entry: Entry) -> Entry:
        """Follow ``attr;range=a-b`` values until ``attr;range=c-*``: a group's members past MaxValRange."""
        ranged = [k for k in entry.attributes if ";range=" in k.lower()]
        if not ranged:
            return entry
        attributes = {k: v for k, v in entry.attributes.items() if ";range=" not in k.lower()}
        for key in ranged:
            name, _, span = key.partition(";")
            values = list(attributes.get(name, [])) + list(entry.attributes[key])
            end = span.split("-", 1)[-1]
            for _ in range(1_000_000):
                if end == "*":
                    break
                wanted = f"{name};range={int(end) + 1}-*"
                found = self._call(
                    partial(_search, base=entry.dn, scope=Scope.BASE, flt="(objectClass=*)", attrs=[wanted])
                )
                more = next(
                    (
                        (k, v)
                        for k, v in (found[0].attributes.items() if found else [])
                        if k.lower().startswith(name.lower() + ";range=")
                    ),
                    None,
                )
                if more is None:
                    break
                values += more[1]
                end = more[0].rsplit("-", 1)[-1]
            attributes[name] = values
        return Entry(entry.dn, attributes)

    def _record(self, entry: Entry) -> ImportRecord | ImportIssue | None:
        entry = self._ranged(entry)
        attributes: dict[str, list[bytes]] = {}
        try:
            for name, values in entry.attributes.items():
                lower = name.lower()
                if lower in SECRET_ATTRIBUTES:
                    continue
                attributes[name] = [sid_text(v).encode("ascii") for v in values] if lower in SID_ATTRIBUTES else values
        except IdentityError as exc:
            return ImportIssue(entry.dn, str(exc))
        readable = Entry(entry.dn, attributes)
        item = super()._record(readable)
        if isinstance(item, ImportRecord):
            self._computed(item, readable)
        return item

    def _computed(self, record: ImportRecord, entry: Entry) -> None:
        attrs = record.attributes
        if attrs.get(MEMBER_OF):
            managed = [dn for dn in attrs[MEMBER_OF] if self._in_scope(dn)]
            attrs[MEMBER_OF] = managed or None
        attrs["objectGUID"] = record.anchor
        attrs[CONTAINER] = parent_text(record.identifier)
        consistency = entry.get(CONSISTENCY_GUID)
        attrs["sourceAnchor"] = source_anchor(consistency[0] if consistency else guid_bytes(record.anchor))
        uac = attrs.get("userAccountControl")
        if isinstance(uac, int):
            attrs.update(accounts.flags_from_uac(uac))
        pwd_last_set = attrs.get("pwdLastSet")
        if isinstance(pwd_last_set, int):
            attrs[accounts.MUST_CHANGE_PASSWORD] = pwd_last_set == 0
        group_type = attrs.get("groupType")
        if isinstance(group_type, int):
            attrs.update(accounts.group_attributes(group_type))

    # -- full and delta import --------------------------------------------------------------------------------

    def _in_scope(self, dn: str) -> bool:
        """The connector space's answer, remembered (a bounded cache): every memberOf value of every user asks,
        and groups repeat."""
        found = self._scope_cache.get(dn)
        if found is None:
            found = super()._in_scope(dn)
            if len(self._scope_cache) >= 50_000:
                self._scope_cache.clear()
            self._scope_cache[dn] = found
        return found

    def require_naming_context(self) -> None:
        """DirSync only works from the root of a naming context (the domain), as on Windows."""
        if self._naming_context_checked:
            return
        contexts = [v.decode("utf-8") for v in self.root_dse().get("namingContexts")]
        if normalize_dn(self.config.base_dn) not in {normalize_dn(c) for c in contexts}:
            raise ConnectorError(
                f"connector {self.name!r}: base_dn {self.config.base_dn!r} is not a naming context; DirSync reads a "
                f"whole domain ({', '.join(contexts)}): set base_dn to the domain and containers to the OUs"
            )
        self._naming_context_checked = True

    def _current_watermark(self) -> str:
        return dirsync_now(self) if self.config.delta == "dirsync" else usn_now(self)

    def delta_import(self, watermark: str | None) -> Iterator[ImportPage]:
        method = self.config.delta
        if method is None:
            raise ConnectorError(f"connector {self.name!r}: delta import needs delta: dirsync or usn in its config")
        prefix = DIRSYNC if method == "dirsync" else USN
        if not watermark or not watermark.startswith(prefix):
            raise WatermarkExpired(f"connector {self.name!r}: no {method} watermark yet; a full import sets one")
        rounds = dirsync_changes(self, watermark) if method == "dirsync" else usn_changes(self, watermark)
        schema = self.schema()
        for changes in rounds:
            yield from self._pages_of(self._read_changes(changes, schema), changes.watermark)

    def _pages_of(
        self, records: tuple[list[ImportRecord], list[ImportIssue]], watermark: str | None
    ) -> Iterator[ImportPage]:
        found, issues = records
        size = self.config.page_size
        chunks = [found[i : i + size] for i in range(0, len(found), size)] or [[]]
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            yield ImportPage(records=chunk, issues=issues if last else [], watermark=watermark if last else None)

    def _fetch(self, clauses: Sequence[str], attributes: list[str] | None = None) -> Iterator[Entry]:
        """Entries matching the import filter and any of ``clauses``, from the whole domain, in chunks."""
        flt = self._type_filter()
        attrs = attributes or self._read_attributes()
        for start in range(0, len(clauses), FILTER_CHUNK):
            ors = "".join(clauses[start : start + FILTER_CHUNK])
            search = partial(
                _search, base=self.config.base_dn, scope=Scope.SUBTREE, flt=f"(&{flt}(|{ors}))", attrs=attrs
            )
            yield from self._call(search)

    def _read_changes(self, changes: Changes, schema: Schema) -> tuple[list[ImportRecord], list[ImportIssue]]:
        """Read the changed objects as they are now: in scope -> the object; gone or out of scope -> a delete.
        Members added to or removed from a group are read too: their memberOf changed."""
        records: dict[str, ImportRecord] = {}
        issues: list[ImportIssue] = []
        changed = list(dict.fromkeys(changes.changed))
        # a group whose members changed travels as a value delta, so a 50,000-member group costs its change;
        # with an import filter, an object may be new to the connector space without being new in AD: read whole
        deltas = changes.increments if not self.config.filter else {}
        found: dict[bytes, Entry] = {}
        whole = [g for g in changed if g not in deltas]
        for entry in self._fetch([f"(objectGUID={escape_binary(g)})" for g in whole]):
            values = entry.get("objectGUID")
            if values:
                found[values[0]] = self._ranged(entry)
        without_members = [a for a in self._read_attributes() if not a.lower().startswith("member;")]
        clauses = [f"(objectGUID={escape_binary(g)})" for g in changed if g in deltas]
        for entry in self._fetch(clauses, without_members):
            values = entry.get("objectGUID")
            if values:
                found[values[0]] = entry
        members = list(changes.members)
        if self.config.delta == "usn" and self._reads_member_of():
            # a USN says that a group changed, not which members: each member's memberOf may have
            members += [v.decode("utf-8") for e in found.values() for v in e.get("member")]
        wanted = [dn for dn in dict.fromkeys(members) if self._in_scope(dn)]
        member_entries = list(self._fetch([f"(distinguishedName={escape_filter_value(dn)})" for dn in wanted]))

        def add(entry: Entry, delta: tuple[list[str], list[str]] | None = None) -> None:
            item = self._record(entry)
            if isinstance(item, ImportRecord):
                if delta is not None:
                    self._as_member_delta(item, schema, delta)
                records[item.anchor] = item
            elif isinstance(item, ImportIssue):
                issues.append(item)

        for guid in changed:
            current = found.get(guid)
            if current is not None and self._in_scope(current.dn):
                add(current, deltas.get(guid))
            else:
                anchor = guid_text(guid)
                records[anchor] = self._delete_record(anchor, current.dn if current is not None else "")
        for entry in member_entries:
            values = entry.get("objectGUID")
            if values and self._in_scope(entry.dn) and guid_text(values[0]) not in records:
                add(entry)
        for guid, dn in changes.deleted:
            anchor = guid_text(guid)
            records[anchor] = self._delete_record(anchor, dn)
        return list(records.values()), issues

    @staticmethod
    def _as_member_delta(record: ImportRecord, schema: Schema, delta: tuple[list[str], list[str]]) -> None:
        """Make a group read without its members a partial record: every other attribute as it is now (absent
        ones as removed) and ``member`` as the values DirSync says were added and removed."""
        record.partial = True
        for name in schema.object_type(record.object_type).attributes:
            record.attributes.setdefault(name, None)
        added, removed = delta
        record.attributes["member"] = ValueDelta(tuple(added), tuple(removed))

    def _delete_record(self, anchor: str, dn: str) -> ImportRecord:
        return ImportRecord(anchor=anchor, identifier=dn, object_type=self._guess_type(), delete=True)

    def _reads_member_of(self) -> bool:
        wanted = self.config.attributes
        return wanted is None or any(a.lower() == "memberof" for a in wanted)

    # -- lookup -----------------------------------------------------------------------------------------------

    def lookup(self, object_type: str, identifier: str, keys: dict[str, Any]) -> ImportRecord | None:
        """By DN, else by the first key AD keeps unique (objectGUID, sAMAccountName, userPrincipalName, the source
        anchor) that finds exactly one object; other attributes never."""
        candidates: list[Entry] = []
        if identifier:
            try:
                parse_dn(identifier)
                candidates = self._call(
                    partial(
                        _search,
                        base=identifier,
                        scope=Scope.BASE,
                        flt=self._type_filter(),
                        attrs=self._read_attributes(),
                    )
                )
            except DNError:
                candidates = []
        # only a key AD keeps unique may identify the object: anything else could adopt somebody else's entry
        ordered = sorted(((k, v) for k, v in keys.items() if k in UNIQUE_KEYS), key=lambda kv: UNIQUE_KEYS.index(kv[0]))
        for key, value in ordered:
            if candidates:
                break
            clause = self._key_clause(key, value)
            if clause is None:
                continue
            hits = [
                e
                for container in self.config.import_containers()
                for e in self._call(
                    partial(
                        _search,
                        base=container,
                        scope=Scope.SUBTREE,
                        flt=f"(&{self._type_filter()}{clause})",
                        attrs=self._read_attributes(),
                    )
                )
            ]
            hits = self._in_space(hits)
            if len(hits) == 1:
                candidates = hits
        return self._found(object_type, candidates)

    @staticmethod
    def _key_clause(key: str, value: Any) -> str | None:
        lower = key.lower()
        if value is None or value == "" or lower in SECRET_ATTRIBUTES:
            return None
        if lower in {n.lower() for n in accounts.ACCOUNT_FLAGS} | {
            accounts.MUST_CHANGE_PASSWORD.lower(),
            accounts.GROUP_SCOPE.lower(),
            accounts.GROUP_SECURITY.lower(),
        }:
            return None
        try:
            if lower == "objectguid":
                return f"(objectGUID={escape_binary(guid_bytes(str(value)))})"
            if lower == "sourceanchor":
                raw = escape_binary(base64.b64decode(str(value), validate=True))
                return f"(|({CONSISTENCY_GUID}={raw})(objectGUID={raw}))"
            if lower in SID_ATTRIBUTES:
                return f"({key}={escape_binary(sid_bytes(str(value)))})"
        except (IdentityError, ValueError):
            return None
        return f"({key}={escape_filter_value(str(value))})"

    # -- export -----------------------------------------------------------------------------------------------

    def export(self, items: Sequence[ExportItem]) -> list[ExportResult]:
        """Every item is checked and folded first; those that pass go out as one batch (adds pipelined by the LDAP
        connector), and each one sent is then finished (pwdLastSet, consistency GUID, memberships, a move)."""
        results: list[ExportResult | None] = [None] * len(items)
        ready: list[tuple[int, _Prepared]] = []
        for index, item in enumerate(items):
            try:
                ready.append((index, self._prepare(item)))
            except (LdapOperationError, AttributeValueError, DNError, IdentityError, ExportRefused) as exc:
                results[index] = _failure(item, exc)
        sent = super().export([prepared.item for _, prepared in ready])
        for (index, prepared), result in zip(ready, sent, strict=True):
            if result.ok:
                try:
                    result = self._finish(items[index], prepared, result)
                except (LdapOperationError, AttributeValueError, DNError, IdentityError) as exc:
                    result = _failure(items[index], exc)
            results[index] = result
        return [r if r is not None else _failure(items[i], None) for i, r in enumerate(results)]

    def _prepare(self, item: ExportItem) -> _Prepared:
        """Check names and fold the computed attributes into userAccountControl, groupType and pwdLastSet."""
        adding = item.op is ExportOp.ADD
        kept: list[AttributeChange] = []
        after_add: list[AttributeChange] = []
        flags: dict[str, bool] = {}
        uac: int | None = None
        group_type: int | None = None
        scope: str | None = None
        security: bool | None = None
        rule = item.changes[0].rule if item.changes else None
        container: str | None = None
        memberships: list[tuple[ModOp, str]] = []
        for change in item.changes:
            name, lower, value = change.name, change.name.lower(), _first(change)
            if lower in READ_ONLY:
                raise ExportRefused(name, f"{name} is assigned by Active Directory and cannot be written")
            if name in accounts.ACCOUNT_FLAGS:
                if value is not None:
                    flags[name] = _truthy(value)
            elif name == accounts.MUST_CHANGE_PASSWORD:
                if value is not None:
                    pwd = AttributeChange("pwdLastSet", ValueOp.REPLACE, [0 if _truthy(value) else -1], change.rule)
                    (after_add if adding else kept).append(pwd)
            elif name == CONTAINER:
                container = self._container(value)
                if container is not None:
                    moved = f"{leaf_rdn(item.new_identifier or item.identifier)},{container}"
                    self._refuse_outside_space(moved, moving=True, attribute=CONTAINER, flow="container")
            elif name == MEMBER_OF:
                memberships += self._memberships(change)
            elif name == accounts.GROUP_SCOPE:
                scope = None if value is None else str(value)
            elif name == accounts.GROUP_SECURITY:
                security = None if value is None else _truthy(value)
            elif lower == "useraccountcontrol" and change.op is ValueOp.REPLACE:
                uac = None if value is None else self._integer(name, value)
            elif lower == "grouptype" and change.op is ValueOp.REPLACE:
                group_type = None if value is None else self._integer(name, value)
            elif lower == "pwdlastset":
                if value is None or self._integer(name, value) not in accounts.PWD_LAST_SET_VALUES:
                    raise ExportRefused(
                        name,
                        f"pwdLastSet {value!r}: Active Directory takes only 0 (must change at next logon) or -1 (now)",
                    )
                (after_add if adding else kept).append(change)
            else:
                if change.op is not ValueOp.REMOVE and value is not None:
                    self._check_name(item, name, str(value))
                    self._check_length(name, change.values)
                kept.append(change)
        if flags or uac is not None:
            if uac is None:
                uac = accounts.NORMAL_ACCOUNT if adding else self._current_int(item, "userAccountControl")
            after = accounts.apply_flags(uac or accounts.NORMAL_ACCOUNT, flags)
            kept.append(AttributeChange("userAccountControl", ValueOp.REPLACE, [accounts.as_int32(after)], rule))
        if scope is not None or security is not None or group_type is not None:
            if group_type is None:
                group_type = accounts.DEFAULT_GROUP_TYPE if adding else self._current_int(item, "groupType")
            try:
                value_type = accounts.apply_group_attributes(group_type or accounts.DEFAULT_GROUP_TYPE, scope, security)
            except ValueError as exc:
                raise ExportRefused(accounts.GROUP_SCOPE, f"groupScope: {exc}") from None
            kept.append(AttributeChange("groupType", ValueOp.REPLACE, [value_type], rule))
        prepared = replace(item, changes=kept)
        return _Prepared(prepared, after_add, container, memberships)

    def _memberships(self, change: AttributeChange) -> list[tuple[ModOp, str]]:
        if change.op is ValueOp.REPLACE:
            raise ExportRefused(MEMBER_OF, "memberOf is multi-valued: a flow adds or removes groups, it cannot replace")
        op = ModOp.ADD if change.op is ValueOp.ADD else ModOp.DELETE
        out = []
        for value in change.values:
            group = str(value)
            parse_dn(group)
            if not self._in_scope(group):
                excluded = self._scope.excluded_by(group)
                where = f"inside excluded container {excluded!r}" if excluded else "outside this connector's containers"
                raise ExportRefused(
                    MEMBER_OF,
                    f"memberOf {group!r}: the group is {where}, so the membership could never be confirmed by an "
                    "import",
                )
            out.append((op, group))
        return out

    @staticmethod
    def _container(value: Any) -> str | None:
        if value is None or str(value).strip() == "":
            return None
        try:
            if not parse_dn(str(value)):
                raise DNError("the empty DN")
        except DNError as exc:
            raise ExportRefused(CONTAINER, f"container {value!r} is not a DN: {exc}") from None
        return str(value)

    @staticmethod
    def _integer(name: str, value: Any) -> int:
        try:
            return int(coerce(AttributeSpec(name, AttributeType.INTEGER), value))
        except AttributeValueError as exc:
            raise ExportRefused(name, str(exc)) from None

    def _current_int(self, item: ExportItem, attribute: str) -> int | None:
        """An attribute as the server holds it now (the hologram may be a run old), found by the object's DN or,
        when it has moved since the last import, by its objectGUID: folding flags into a guessed value would
        clear the bits an administrator set."""
        found = self._call(
            partial(_search, base=item.identifier, scope=Scope.BASE, flt="(objectClass=*)", attrs=[attribute])
        )
        if not found and item.anchor:
            found = list(self._fetch([self.anchor_filter(item.anchor)], [attribute]))
        text = found[0].first_text(attribute) if found else None
        return int(text) if text is not None else None

    def anchor_filter(self, anchor: str) -> str:
        return f"(objectGUID={escape_binary(guid_bytes(anchor))})"

    def _check_name(self, item: ExportItem, name: str, value: str) -> None:
        lower = name.lower()
        if lower == "samaccountname":
            broken = accounts.check_sam_account_name(value, group=self._is_group_type(item.object_type))
        elif lower == "userprincipalname":
            suffixes = self.upn_suffixes() if self.config.check_upn_suffix else None
            broken = accounts.check_user_principal_name(value, suffixes, entra_rules=self.config.entra_upn_rules)
        else:
            return
        if broken:
            raise ExportRefused(name, f"{name} {value!r} {broken}")

    def upn_suffixes(self) -> list[str]:
        """The forest's UPN suffixes: every domain's DNS name, the uPNSuffixes of the Partitions container and
        the configured extra ones."""
        if self._upn_suffixes is None:
            found = {
                ".".join(v for a, v in (rdn[0] for rdn in parse_dn(self.config.base_dn)) if a.lower() == "dc").lower()
            }
            config_nc = self.root_dse().first_text("configurationNamingContext")
            if config_nc:
                partitions = f"CN=Partitions,{config_nc}"
                for entry in self._call(
                    partial(
                        _search,
                        base=partitions,
                        scope=Scope.SUBTREE,
                        flt="(|(objectClass=crossRefContainer)(objectClass=crossRef))",
                        attrs=["uPNSuffixes", "dnsRoot"],
                    )
                ):
                    for attr in ("uPNSuffixes", "dnsRoot"):
                        found.update(v.decode("utf-8").lower() for v in entry.get(attr))
            found.update(self.config.upn_suffixes)
            self._upn_suffixes = sorted(s for s in found if s)
        return self._upn_suffixes

    def _password_value(self, value: Any) -> bytes:
        """unicodePwd, only over LDAPS or StartTLS: Windows refuses it in clear, and so does this connector even
        where a server (Samba with strong auth off) would take it. A ``${env:…}``/``${file:…}`` value is resolved
        here, so the password itself never needs to enter the store."""
        if not self.config.encrypted:
            raise AttributeValueError(
                "unicodePwd: a password is only sent over LDAPS or StartTLS, and this connection is cleartext "
                "(allow_insecure does not change that)"
            )
        text = str(value)
        if is_reference(text):
            if self._secrets is None:
                raise AttributeValueError(f"unicodePwd: {text} cannot be resolved here (no secret resolver)")
            try:
                text = str(self._secrets.resolve(text))
            except SecretError as exc:
                raise AttributeValueError(f"unicodePwd: {exc}") from None
        return accounts.encode_password(text)

    def _raw_values(self, spec_schema: ObjectTypeSchema, name: str, values: Iterable[Any]) -> list[bytes]:
        if name.lower() in SID_ATTRIBUTES:
            try:
                return [sid_bytes(str(v)) for v in values if v is not None and v != ""]
            except IdentityError as exc:
                raise AttributeValueError(f"{name}: {exc}") from None
        return super()._raw_values(spec_schema, name, values)

    def _finish(self, item: ExportItem, prepared: _Prepared, result: ExportResult) -> ExportResult:
        """What follows a successful add or update: pwdLastSet after an add, the consistency GUID, a move."""
        dn = result.identifier or prepared.item.new_identifier or item.identifier
        try:
            if prepared.after_add:
                mods = [(ModOp.REPLACE, c.name, [str(v).encode() for v in c.values]) for c in prepared.after_add]
                self._call(lambda b: b.modify(dn, mods))
            if self.config.consistency_guid and not self._is_group_type(item.object_type):
                self._stamp_consistency_guid(item, dn, result.anchor)
            for op, group in prepared.memberships:
                refused = self._modify_values(group, op, "member", [dn.encode("utf-8")])
                if refused is not None:
                    raise refused
        except LdapOperationError as exc:
            if item.op is not ExportOp.ADD:
                raise
            # the object exists: the next import adopts it and the rest is sent again as an update
            failed = _failure(item, exc)
            failed.error = f"{dn}: added, but not finished: {failed.error}; the next import adopts it and retries"
            return failed
        if prepared.container and normalize_dn(parent_dn(dn)) != normalize_dn(prepared.container):
            result.identifier = canonical_dn(self._move(dn, prepared.container, result.anchor or item.anchor))
        return result

    def _stamp_consistency_guid(self, item: ExportItem, dn: str, anchor: str | None) -> None:
        """Write objectGUID into an empty mS-DS-ConsistencyGuid (a value already there is kept: adding to a
        single-valued attribute that has one fails, and that failure is the "already set" answer)."""
        if anchor is None or item.hologram.get(CONSISTENCY_GUID):
            return
        if any(c.name.lower() == CONSISTENCY_GUID.lower() for c in item.changes):
            return
        op = ModOp.REPLACE if item.op is ExportOp.ADD else ModOp.ADD
        try:
            self._call(lambda b: b.modify(dn, [(op, CONSISTENCY_GUID, [guid_bytes(anchor)])]))
        except LdapOperationError as exc:
            if exc.code not in (TYPE_OR_VALUE_EXISTS, CONSTRAINT_VIOLATION):
                raise

    def _harmless(self, op: ModOp, name: str, exc: LdapOperationError) -> bool:
        """Linked values (a group's members) answer differently, as on Windows: a member already there is
        entryAlreadyExists, removing one that is not there is unwillingToPerform."""
        if super()._harmless(op, name, exc):
            return True
        linked = name.lower() in LINKED_VALUES
        return linked and exc.code == (ALREADY_EXISTS if op is ModOp.ADD else UNWILLING_TO_PERFORM)

    def _current_values(self, dn: str, name: str) -> list[bytes]:
        """A linked attribute (a group's members) is read in ranges of ``range_size``: past MaxValRange (1,500),
        Active Directory hands out no more at once."""
        wanted = f"{name};range=0-{self.config.range_size - 1}" if name.lower() in LINKED_VALUES else name
        entry = self._entry(dn, [wanted])
        return self._ranged(entry).get(name) if entry is not None else []

    def _rename(self, dn: str, new_dn: str) -> str:
        """Missing OUs of the new parent are created first: Active Directory answers a move under a missing
        parent with a generic error (Samba: 00002095, other), not noSuchObject."""
        parent = parent_dn(new_dn)
        if self.config.create_parents and normalize_dn(parent) != normalize_dn(parent_dn(dn)):
            self._create_parents(parent)
        return super()._rename(dn, new_dn)

    def _move(self, dn: str, container: str, anchor: str | None) -> str:
        """Move an object into ``container`` keeping its name; a name taken there (two leavers called Jo
        Bloggs) gets a short suffix from the object's GUID."""
        ((attr, value), *_) = parse_dn(dn)[0]
        try:
            return self._rename(dn, f"{format_rdn(((attr, value),))},{container}")
        except LdapOperationError as exc:
            if exc.code != ALREADY_EXISTS:
                raise
        suffix = (anchor or "")[:8] or "moved"
        return self._rename(dn, f"{format_rdn(((attr, f'{value} ({suffix})'),))},{container}")
