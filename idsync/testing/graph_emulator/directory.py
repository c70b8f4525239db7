"""The directory store: users, groups, memberships, managers, soft-deleted items, uniqueness, and the change log
that delta queries read.

Deletion follows Entra: users, Microsoft 365 groups and security groups are soft-deleted into
``/directory/deletedItems`` (restorable; a deleted user's UPN is prefixed with its id without dashes so the name is
free again); mail-enabled groups that are not Microsoft 365 groups (distribution lists, which Exchange manages) are
deleted for good. "Delete group" says so in its current text (older pages, "Restore deleted item" among them, still
say security groups cannot be restored: the delete page and Graph's own API description agree with each other).
Every change appends a ``Change`` with the properties it touched, so delta rounds cost O(changes since the token).
"""

from __future__ import annotations

import bisect
import random
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from idsync.testing.graph_emulator import errors, validation
from idsync.testing.graph_emulator.clock import Clock
from idsync.testing.graph_emulator.errors import GraphError
from idsync.testing.graph_emulator.validation import ExtensionSpec, WriteContext, is_unified

MAX_LINK_CHANGES = 20


@dataclass
class DirObject:
    kind: str
    id: str
    props: dict[str, Any]
    seq: int
    members: dict[str, None] = field(default_factory=dict)
    owners: dict[str, None] = field(default_factory=dict)
    manager: str | None = None
    deleted: bool = False
    # Links a soft-deleted user had, put back on restore.
    parked_groups: list[str] = field(default_factory=list)
    parked_manager: str | None = None

    @property
    def unified(self) -> bool:
        return is_unified(self.props)

    @property
    def synced(self) -> bool:
        return bool(self.props.get("onPremisesSyncEnabled"))


@dataclass(frozen=True)
class Change:
    seq: int
    kind: str
    object_id: str
    props: frozenset[str] = frozenset()
    member_ops: tuple[tuple[str, str, bool], ...] = ()  # (member id, member kind, added)
    manager: tuple[str | None, str | None] | None = None  # (new, old) manager ids when the link changed
    removed: str | None = None  # "changed" (soft delete) or "deleted" (gone for good)
    created: bool = False


class Directory:
    """All state of one tenant's directory. Not thread-safe: the tenant serializes access."""

    def __init__(
        self,
        *,
        clock: Clock,
        rng: random.Random,
        verified_domains: Callable[[], tuple[str, ...]],
        extension: Callable[[str], ExtensionSpec | None],
        federated: Callable[[str], bool] = lambda domain: False,
    ) -> None:
        self.clock = clock
        self.rng = rng
        self.verified_domains = verified_domains
        self.federated = federated
        self.extension = extension
        self.objects: dict[str, DirObject] = {}
        self.changes: list[Change] = []
        self._change_seqs: list[int] = []
        self._seq = 0
        self._object_seq = 0
        # Uniqueness indexes, keys lower-cased.
        self._upn: dict[str, str] = {}
        self._group_nickname: dict[str, str] = {}
        self._proxy: dict[str, str] = {}
        self._immutable: dict[str, str] = {}
        self._live_count: dict[str, int] = {}

    # ---- ids, sequence, change log -------------------------------------------------------------------------------

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    @property
    def current_seq(self) -> int:
        return self._seq

    def _log(self, **kwargs: Any) -> None:
        self._seq += 1
        self.changes.append(Change(seq=self._seq, **kwargs))
        self._change_seqs.append(self._seq)

    def changes_since(self, seq: int, until: int | None = None) -> list[Change]:
        start = bisect.bisect_right(self._change_seqs, seq)
        end = len(self.changes) if until is None else bisect.bisect_right(self._change_seqs, until)
        return self.changes[start:end]

    # ---- persistence -----------------------------------------------------------------------------------------------

    def to_state(self, changes_after: int) -> dict[str, Any]:
        """Objects with their links, the counters, and the change log after ``changes_after`` (what the delta
        tokens still alive may read), as JSON-ready data."""
        objects = [
            {
                "kind": o.kind,
                "id": o.id,
                "seq": o.seq,
                "props": o.props,
                "members": list(o.members),
                "owners": list(o.owners),
                "manager": o.manager,
                "deleted": o.deleted,
                "parked_groups": o.parked_groups,
                "parked_manager": o.parked_manager,
            }
            for o in self.objects.values()
        ]
        changes = [
            {
                "seq": c.seq,
                "kind": c.kind,
                "object_id": c.object_id,
                "props": sorted(c.props),
                "member_ops": [list(op) for op in c.member_ops],
                "manager": list(c.manager) if c.manager is not None else None,
                "removed": c.removed,
                "created": c.created,
            }
            for c in self.changes_since(changes_after)
        ]
        return {"seq": self._seq, "object_seq": self._object_seq, "objects": objects, "changes": changes}

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Replace everything with what :meth:`to_state` wrote; the uniqueness indexes are rebuilt."""
        self.objects = {}
        for index in (self._upn, self._group_nickname, self._proxy, self._immutable):
            index.clear()
        self._live_count = {}
        for item in state["objects"]:
            obj = DirObject(
                kind=str(item["kind"]),
                id=str(item["id"]),
                props=dict(item["props"]),
                seq=int(item["seq"]),
                members=dict.fromkeys(item.get("members") or []),
                owners=dict.fromkeys(item.get("owners") or []),
                manager=item.get("manager"),
                deleted=bool(item.get("deleted")),
                parked_groups=list(item.get("parked_groups") or []),
                parked_manager=item.get("parked_manager"),
            )
            self.objects[obj.id] = obj
            if not obj.deleted:
                for index, key, _ in self._keys(obj, obj.props):
                    index[key] = obj.id
                self._counted(obj.kind, 1)
        self.changes = [
            Change(
                seq=int(c["seq"]),
                kind=str(c["kind"]),
                object_id=str(c["object_id"]),
                props=frozenset(c.get("props") or ()),
                member_ops=tuple((str(m), str(k), bool(a)) for m, k, a in c.get("member_ops") or ()),
                manager=(c["manager"][0], c["manager"][1]) if c.get("manager") else None,
                removed=c.get("removed"),
                created=bool(c.get("created")),
            )
            for c in state["changes"]
        ]
        self._change_seqs = [c.seq for c in self.changes]
        self._seq = int(state["seq"])
        self._object_seq = int(state["object_seq"])

    # ---- lookup ----------------------------------------------------------------------------------------------------

    def live(self, kind: str) -> Iterator[DirObject]:
        for obj in self.objects.values():
            if obj.kind == kind and not obj.deleted:
                yield obj

    def deleted_items(self, kind: str | None = None) -> Iterator[DirObject]:
        for obj in self.objects.values():
            if obj.deleted and (kind is None or obj.kind == kind):
                yield obj

    def get(self, kind: str | None, key: str) -> DirObject:
        """A live object by id, or a user by userPrincipalName (Graph accepts both in ``/users/{id | upn}``)."""
        obj = self.objects.get(key)
        if obj is None and kind in (None, "user") and "@" in key:
            found = self._upn.get(key.lower())
            obj = self.objects.get(found) if found else None
        if obj is None or obj.deleted or (kind is not None and obj.kind != kind):
            raise errors.not_found(key)
        return obj

    def get_deleted(self, key: str) -> DirObject:
        obj = self.objects.get(key)
        if obj is None or not obj.deleted:
            raise errors.not_found(key)
        return obj

    def count(self, kind: str) -> int:
        """Live objects of a kind, kept as a counter: throttling asks on every request."""
        return self._live_count.get(kind, 0)

    def _counted(self, kind: str, delta: int) -> None:
        self._live_count[kind] = self._live_count.get(kind, 0) + delta

    # ---- uniqueness ------------------------------------------------------------------------------------------------

    def _keys(self, obj: DirObject, props: Mapping[str, Any]) -> list[tuple[dict[str, str], str, str]]:
        """(index, key, property name) triples this object would occupy with ``props``.

        What is unique: userPrincipalName and proxyAddresses across users, groups and contacts ("These two
        attributes are generally required to be unique across all User, Group, or Contact objects", Entra's
        "duplicate attribute resiliency"; "proxyAddresses are unique across directory objects", user resource);
        a group's mailNickname "unique for Microsoft 365 groups in the organization" (group resource); and
        onPremisesImmutableId, the hard-match key. A user's mailNickname is not: the user resource states no such
        rule for it, and the documents that list Entra's unique attributes do not name it."""
        keys: list[tuple[dict[str, str], str, str]] = []
        nickname = props.get("mailNickname")
        if obj.kind == "user":
            if props.get("userPrincipalName"):
                keys.append((self._upn, props["userPrincipalName"].lower(), "userPrincipalName"))
            if props.get("onPremisesImmutableId"):
                keys.append((self._immutable, props["onPremisesImmutableId"].lower(), "onPremisesImmutableId"))
        elif nickname and props.get("mailEnabled"):
            keys.append((self._group_nickname, nickname.lower(), "mailNickname"))
        for address in props.get("proxyAddresses") or []:
            keys.append((self._proxy, address.partition(":")[2].lower() or address.lower(), "proxyAddresses"))
        return keys

    def _claim(self, obj: DirObject, new_props: Mapping[str, Any]) -> None:
        """Check, then move ``obj``'s index entries from its current props to ``new_props``: all or nothing."""
        wanted = self._keys(obj, new_props)
        for index, key, prop in wanted:
            holder = index.get(key)
            if holder is not None and holder != obj.id:
                raise errors.conflict(prop)
        self._release(obj)
        for index, key, _ in wanted:
            index[key] = obj.id

    def _release(self, obj: DirObject) -> None:
        for index, key, _ in self._keys(obj, obj.props):
            if index.get(key) == obj.id:
                del index[key]

    def _derive(self, obj: DirObject, props: dict[str, Any]) -> None:
        """Service-computed properties: mail and SMTP proxy addresses of Microsoft 365 groups, a user's SMTP proxy
        from ``mail`` ("Changes to this property will also update the user's proxyAddresses")."""
        domains = self.verified_domains()
        if obj.kind == "group":
            if is_unified(props) and props.get("mailNickname") and domains:
                mail = f"{props['mailNickname']}@{domains[0]}"
                props["mail"] = mail
                kept = [p for p in props.get("proxyAddresses") or [] if not p.startswith("SMTP:")]
                props["proxyAddresses"] = [f"SMTP:{mail}", *kept]
            props.setdefault("proxyAddresses", [])
            props.setdefault("groupTypes", [])
        else:
            user_mail = props.get("mail")
            proxies = [p for p in props.get("proxyAddresses") or [] if not p.startswith("SMTP:")]
            if user_mail:
                proxies.insert(0, f"SMTP:{user_mail}")
            elif props.get("proxyAddresses"):
                proxies = list(props["proxyAddresses"])
            props["proxyAddresses"] = proxies
            props.setdefault("businessPhones", [])

    # ---- writes ----------------------------------------------------------------------------------------------------

    def _context(self, obj: DirObject | None, kind: str, *, creating: bool, trusted: bool) -> WriteContext:
        return WriteContext(
            kind=kind,
            creating=creating,
            synced=bool(obj and obj.synced) and not trusted,
            verified_domains=self.verified_domains(),
            federated=self.federated,
            extension=self.extension,
            current=obj.props if obj else {},
        )

    def create(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        trusted: dict[str, Any] | None = None,
    ) -> DirObject:
        """Create a user or group from a request body. ``trusted`` holds service-side properties set by seeding
        (onPremisesSyncEnabled, proxyAddresses, ...), which a Graph client could not write."""
        links = self._parse_bindings(kind, payload)
        props = validation.validate_write(payload, self._context(None, kind, creating=True, trusted=False))
        props.update(trusted or {})
        self._object_seq += 1
        obj = DirObject(kind=kind, id=self.new_id(), props={}, seq=self._object_seq)
        props["id"] = obj.id
        props["createdDateTime"] = self.clock.iso_now()
        props.setdefault("deletedDateTime", None)
        if kind == "group":
            props.setdefault("securityEnabled", False)
        self._derive(obj, props)
        self._check_links(obj, links, props)
        self._claim(obj, props)
        obj.props = props
        self.objects[obj.id] = obj
        self._counted(kind, 1)
        self._log(kind=kind, object_id=obj.id, props=frozenset(props), created=True)
        self._apply_links(obj, links)
        return obj

    def update(self, kind: str, key: str, payload: Mapping[str, Any], *, trusted: bool = False) -> DirObject:
        obj = self.get(kind, key)
        links = self._parse_bindings(kind, payload)
        if links and obj.synced and not trusted:
            raise errors.on_premises_mastered()
        changed = validation.validate_write(payload, self._context(obj, kind, creating=False, trusted=trusted))
        new_props = {**obj.props, **changed}
        self._derive(obj, new_props)
        self._check_links(obj, links, new_props)
        self._claim(obj, new_props)
        touched = {k for k in new_props if new_props.get(k) != obj.props.get(k)}
        obj.props = new_props
        if touched:
            self._log(kind=kind, object_id=obj.id, props=frozenset(touched))
        self._apply_links(obj, links)
        return obj

    def set_trusted(self, key: str, values: Mapping[str, Any]) -> DirObject:
        """Service-side properties (the seeding API's way to mark objects synced from on-premises)."""
        obj = self.objects.get(key)
        if obj is None:
            raise errors.not_found(key)
        new_props = {**obj.props, **values}
        self._derive(obj, new_props)
        self._claim(obj, new_props)
        touched = {k for k in new_props if new_props.get(k) != obj.props.get(k)}
        obj.props = new_props
        if touched and not obj.deleted:
            self._log(kind=obj.kind, object_id=obj.id, props=frozenset(touched))
        return obj

    def delete(self, kind: str, key: str, *, trusted: bool = False) -> None:
        obj = self.get(kind, key)
        if obj.synced and not trusted:
            raise errors.on_premises_mastered()
        soft = kind == "user" or obj.unified or not obj.props.get("mailEnabled")
        for group in self.objects.values():
            if group.kind == "group" and obj.id in group.members:
                del group.members[obj.id]
                self._log(kind="group", object_id=group.id, member_ops=((obj.id, obj.kind, False),))
                if soft:
                    obj.parked_groups.append(group.id)
            group.owners.pop(obj.id, None)
        for other in self.objects.values():
            if other.kind == "user" and other.manager == obj.id:
                other.manager = None
                self._log(kind="user", object_id=other.id, manager=(None, obj.id))
        if obj.kind == "group":
            obj.members.clear()
        self._release(obj)
        self._counted(kind, -1)
        if not soft:
            del self.objects[obj.id]
            self._log(kind=kind, object_id=obj.id, removed="deleted")
            return
        obj.parked_manager, obj.manager = obj.manager, None
        obj.deleted = True
        obj.props["deletedDateTime"] = self.clock.iso_now()
        if kind == "user":
            obj.props["userPrincipalName"] = obj.id.replace("-", "") + obj.props["userPrincipalName"]
        self._log(kind=kind, object_id=obj.id, removed="changed")

    def restore(self, key: str) -> DirObject:
        obj = self.get_deleted(key)
        props = dict(obj.props)
        if obj.kind == "user":
            prefix = obj.id.replace("-", "")
            upn = props["userPrincipalName"]
            props["userPrincipalName"] = upn[len(prefix) :] if upn.startswith(prefix) else upn
        props["deletedDateTime"] = None
        self._claim(obj, props)
        obj.props = props
        obj.deleted = False
        self._counted(obj.kind, 1)
        self._log(kind=obj.kind, object_id=obj.id, props=frozenset(props), created=True)
        for group_id in obj.parked_groups:
            group = self.objects.get(group_id)
            if group is not None and not group.deleted and obj.id not in group.members:
                group.members[obj.id] = None
                self._log(kind="group", object_id=group.id, member_ops=((obj.id, obj.kind, True),))
        obj.parked_groups = []
        manager = self.objects.get(obj.parked_manager or "")
        if manager is not None and not manager.deleted:
            obj.manager = manager.id
            self._log(kind="user", object_id=obj.id, manager=(manager.id, None))
        obj.parked_manager = None
        return obj

    def purge(self, key: str) -> None:
        obj = self.get_deleted(key)
        del self.objects[obj.id]
        self._log(kind=obj.kind, object_id=obj.id, removed="deleted")

    # ---- links -----------------------------------------------------------------------------------------------------

    def _parse_bindings(self, kind: str, payload: Mapping[str, Any]) -> dict[str, list[str]]:
        links: dict[str, list[str]] = {}
        for prop, value in payload.items():
            if not prop.endswith("@odata.bind"):
                continue
            nav = prop[: -len("@odata.bind")]
            if kind != "group" or nav not in ("members", "owners"):
                raise errors.unknown_property(nav, kind)
            if not isinstance(value, list):
                raise errors.wrong_type(prop, value, "Collection(Edm.String)")
            links[nav] = [object_id_from_url(url) for url in value]
        if sum(len(v) for v in links.values()) > MAX_LINK_CHANGES:
            # Observed wording for more than 20 members@odata.bind/owners@odata.bind in one request
            # (microsoft-graph-docs issue #6016); the request is refused whole.
            raise errors.bad_request("A resource cannot contain more than 20 link changes.")
        return links

    def _check_links(self, obj: DirObject, links: Mapping[str, list[str]], props: Mapping[str, Any]) -> None:
        """Links ``obj`` may take, ``props`` being its properties once the request is applied."""
        unified = is_unified(props)
        for nav, ids in links.items():
            existing = obj.members if nav == "members" else obj.owners
            seen: set[str] = set()
            for member_id in ids:
                target = self.objects.get(member_id)
                if target is None or target.deleted:
                    raise errors.not_found(member_id)
                if nav == "owners" and target.kind != "user":
                    raise errors.invalid_value("owners", "group")
                if nav == "members" and target.kind == "group" and (unified or target.unified):
                    raise member_type_refused(unified, target)
                if nav == "members" and target.kind == "group" and props.get("isAssignableToRole"):
                    raise nesting_refused()
                if member_id in existing or member_id in seen:
                    raise already_member(nav)
                seen.add(member_id)

    def _apply_links(self, obj: DirObject, links: Mapping[str, list[str]]) -> None:
        ops: list[tuple[str, str, bool]] = []
        for member_id in links.get("members", []):
            obj.members[member_id] = None
            ops.append((member_id, self.objects[member_id].kind, True))
        for owner_id in links.get("owners", []):
            obj.owners[owner_id] = None
        if ops:
            self._log(kind="group", object_id=obj.id, member_ops=tuple(ops))

    def add_member(self, group_key: str, member_id: str, *, trusted: bool = False) -> None:
        group = self.get("group", group_key)
        if group.synced and not trusted:
            raise errors.on_premises_mastered()
        self._check_links(group, {"members": [member_id]}, group.props)
        self._apply_links(group, {"members": [member_id]})

    def remove_member(self, group_key: str, member_id: str, *, trusted: bool = False) -> None:
        group = self.get("group", group_key)
        if group.synced and not trusted:
            raise errors.on_premises_mastered()
        if member_id not in group.members:
            raise errors.not_found(member_id)
        del group.members[member_id]
        member = self.objects.get(member_id)
        self._log(kind="group", object_id=group.id, member_ops=((member_id, member.kind if member else "user", False),))

    def set_manager(self, user_key: str, manager_id: str, *, trusted: bool = False) -> None:
        user = self.get("user", user_key)
        if user.synced and not trusted:
            raise errors.on_premises_mastered()
        manager = self.objects.get(manager_id)
        if manager is None or manager.deleted or manager.kind != "user":
            raise errors.not_found(manager_id)
        if manager.id == user.id:
            raise errors.invalid_value("manager", "user")
        if user.manager != manager.id:
            old, user.manager = user.manager, manager.id
            self._log(kind="user", object_id=user.id, manager=(manager.id, old))

    def remove_manager(self, user_key: str, *, trusted: bool = False) -> None:
        user = self.get("user", user_key)
        if user.synced and not trusted:
            raise errors.on_premises_mastered()
        if user.manager is None:
            raise errors.not_found("manager")
        old, user.manager = user.manager, None
        self._log(kind="user", object_id=user.id, manager=(None, old))

    def direct_reports(self, user_key: str) -> list[DirObject]:
        user = self.get("user", user_key)
        return [o for o in self.live("user") if o.manager == user.id]

    def member_of(self, key: str) -> list[DirObject]:
        obj = self.get(None, key)
        return [g for g in self.live("group") if obj.id in g.members]


def already_member(nav: str) -> GraphError:
    """ "400 Bad Request if the object is already a member of the group" ("Add members"); Graph's wording."""
    return errors.bad_request(
        f"One or more added object references already exist for the following modified properties: '{nav}'."
    )


def nesting_refused() -> GraphError:
    """A group offered as a member of a role-assignable group: "Group nesting isn't supported. A group can't be added
    as a member of a role-assignable group." (Entra docs, "Use Microsoft Entra groups to manage role assignments").
    The message is the one Graph's callers quote (azure-docs issue #88710, scripts that match it); the reports show
    no ``details``, so the entry here is modelled on :func:`member_type_refused`'s, naming the navigation property
    the way :func:`errors.invalid_value` names a property. Like Graph, it does not say which member it refused."""
    return GraphError(
        400,
        "Request_BadRequest",
        "Nesting is currently not supported for groups that can be assigned to a role.",
        details=[{"code": "InvalidValue", "target": "members"}],
    )


def member_type_refused(unified_group: bool, member: DirObject) -> GraphError:
    """A group that may not hold this member ("Add members", groups-allowed-member-types): a Microsoft 365 group
    holds users only and is a member of no group. The wording for two Microsoft 365 groups is Graph's (quoted in
    microsoft-graph-docs-contrib issue #3884); the others follow it."""
    kinds = f"{'Unified' if member.unified else 'Security'} Groups cannot be added to " + (
        "Unified Groups" if unified_group else "Security Groups"
    )
    return GraphError(
        400,
        "Request_BadRequest",
        f"{kinds}. paramName: Members, paramValue: , objectType: Microsoft.Online.DirectoryServices.Group",
        details=[{"target": "membersWithLicenseErrors.members", "code": "InvalidValue"}],
    )


def object_id_from_url(url: Any) -> str:
    """The id at the end of an ``@odata.id`` / ``@odata.bind`` URL such as
    ``https://graph.microsoft.com/v1.0/directoryObjects/{id}``."""
    if not isinstance(url, str) or not url.strip():
        raise errors.bad_request(f"Invalid object identifier '{url}'.")
    tail = url.rstrip("/").rsplit("/", 1)[-1]
    if tail.startswith("directoryObjects(") or tail.startswith("users(") or tail.startswith("groups("):
        tail = tail[tail.index("(") + 1 : -1].strip("'")
    try:
        uuid.UUID(tail)
    except ValueError:
        raise errors.bad_request(f"Invalid object identifier '{tail}'.") from None
    return tail
