"""Delta query for users and groups: opaque state tokens, nextLink paging, deltaLink rounds over the change log.

Behaviour from "Use delta query to track changes in Microsoft Graph data", "user: delta", "group: delta" and "Get
incremental changes for groups":

- the first call returns every current object; ``@odata.nextLink`` (``$skiptoken``) pages follow until a page
  carries ``@odata.deltaLink`` (``$deltatoken``); the tokens encode ``$select``/``$filter`` so later calls need only
  the link;
- a deltaLink round returns the objects changed since its token: new and updated objects with the selected
  properties (``Prefer: return=minimal``: only the changed ones), removed objects as ``{"id", "@removed":
  {"reason": "changed" | "deleted"}}`` (``changed``: restorable from deletedItems);
- ``$select`` limits tracking: an object whose only changes are to unselected properties does not appear;
  ``members`` / ``manager`` in ``$select`` track those links as ``members@delta`` / ``manager@delta``, a removed
  link carrying ``@removed``; a group with many members is split over pages, the group repeated;
- ``$deltatoken=latest`` returns only a deltaLink ("sync from now"); the only ``$filter`` is ``id eq`` joined by
  ``or``, at most 50;
- directory delta tokens live seven days; an older one answers 400 ``syncStateNotFound`` (Graph blog "Duration of
  change tracking tokens for identity and education resources"); a tenant reset answers ``410 Gone`` with a
  ``Location`` header holding the initial query ("Synchronization reset").
"""

from __future__ import annotations

import dataclasses
import secrets
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from idsync.testing.graph_emulator import errors, schema
from idsync.testing.graph_emulator.clock import Clock
from idsync.testing.graph_emulator.directory import Change, Directory
from idsync.testing.graph_emulator.errors import GraphError

DIRECTORY_TOKEN_LIFETIME = 7 * 24 * 3600.0
MAX_ID_FILTER = 50


@dataclass
class DeltaSettings:
    page_size: int = 100
    member_page_size: int = 500
    token_lifetime: float = DIRECTORY_TOKEN_LIFETIME
    max_tokens: int = 200_000


@dataclass
class _Entry:
    object_id: str
    created: bool
    props: frozenset[str] | None  # changed properties; None = whole object
    member_ops: list[tuple[str, str, bool]] = field(default_factory=list)
    manager: tuple[str, bool] | None = None  # (manager id, still the manager)
    removed: str | None = None
    include_props: bool = True


@dataclass
class _State:
    kind: str
    select: tuple[str, ...] | None
    ids: frozenset[str] | None
    since: int  # the change-log position the round (or the next round, for delta tokens) starts from
    issued: float
    entries: list[_Entry] = field(default_factory=list)
    offset: int = 0
    until: int = 0
    incremental: bool = False


class DeltaTracker:
    """Issues and redeems delta state tokens for one tenant."""

    def __init__(self, directory: Directory, clock: Clock, settings: DeltaSettings | None = None) -> None:
        self.directory = directory
        self.clock = clock
        self.settings = settings or DeltaSettings()
        self._tokens: OrderedDict[str, _State] = OrderedDict()
        self._issued = 0
        self._reset_before = float("-inf")
        self._expire_before = float("-inf")

    # ---- knobs -----------------------------------------------------------------------------------------------------

    def force_resync(self) -> None:
        """Every token issued so far answers 410 Gone, as after tenant maintenance."""
        self._reset_before = self.clock.monotonic()

    def expire_tokens(self) -> None:
        """Every token issued so far is treated as older than its lifetime."""
        self._expire_before = self.clock.monotonic()

    # ---- persistence -----------------------------------------------------------------------------------------------

    @property
    def issued(self) -> int:
        """Tokens issued so far: a saved tenant is written again only when this or the directory moved."""
        return self._issued

    def to_state(self, to_wall: Callable[[float], float]) -> tuple[dict[str, Any], int]:
        """The delta tokens worth keeping, as JSON-ready data with wall-clock issue times (monotonic time starts
        again with each process), and the change-log position the oldest of them reads from. Kept: for each query
        (object type, ``$select``, ``$filter``), the newest deltaLink still alive - a client goes on from the
        latest link it was given. Not kept: older links of the same query, and nextLinks of a round in progress."""
        now = self.clock.monotonic()
        newest: dict[tuple[str, tuple[str, ...] | None, frozenset[str] | None], tuple[str, _State]] = {}
        for token, state in self._tokens.items():
            alive = state.issued > self._expire_before and now - state.issued <= self.settings.token_lifetime
            if alive and not state.entries and state.offset == 0:
                newest[(state.kind, state.select, state.ids)] = (token, state)
        alive_states = list(newest.values())
        tokens = {token: _state_data(state, to_wall) for token, state in alive_states}
        oldest = min((state.since for _, state in alive_states), default=self.directory.current_seq)
        walls = {
            "reset_before": to_wall(self._reset_before) if self._reset_before > float("-inf") else None,
            "expire_before": to_wall(self._expire_before) if self._expire_before > float("-inf") else None,
        }
        return {"tokens": tokens, **walls}, oldest

    def load_state(self, state: Mapping[str, Any], from_wall: Callable[[float], float]) -> None:
        self._tokens = OrderedDict((str(t), _state_from(data, from_wall)) for t, data in state["tokens"].items())
        reset, expire = state.get("reset_before"), state.get("expire_before")
        self._reset_before = from_wall(float(reset)) if reset is not None else float("-inf")
        self._expire_before = from_wall(float(expire)) if expire is not None else float("-inf")

    # ---- request handling -------------------------------------------------------------------------------------------

    def handle(
        self,
        kind: str,
        query: dict[str, str],
        *,
        base: str,
        minimal: bool,
        select: tuple[str, ...] | None,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        collection = "users" if kind == "user" else "groups"
        link = f"{base}/{collection}/delta"
        skip = query.get("$skiptoken")
        delta = query.get("$deltatoken")
        if delta is not None and delta.lower() == "latest":
            state = self._new_state(kind, select, self._ids(query))
            return self._finish(state, link, collection, []), {}
        if skip is not None:
            state = self._redeem(skip, link)
        elif delta is not None:
            parent = self._redeem(delta, link)
            state = self._open_round(parent)
        else:
            if "$top" in query or "$orderby" in query or "$expand" in query:
                raise errors.unsupported_query(
                    "The specified query parameter is not supported on delta queries of directory objects."
                )
            state = self._new_state(kind, select, self._ids(query))
            state.entries = self._initial_entries(state)
            state.until = self.directory.current_seq
        return self._page(state, link, collection, minimal), {}

    def _ids(self, query: dict[str, str]) -> frozenset[str] | None:
        from idsync.testing.graph_emulator.odata import id_filter_values

        text = query.get("$filter")
        if text is None:
            return None
        ids = id_filter_values(text)
        if ids is None:
            raise errors.unsupported_query(
                "Unsupported query: delta queries of directory objects support only $filter=id eq '{value}'."
            )
        if len(ids) > MAX_ID_FILTER:
            raise errors.unsupported_query(f"Too many ids in $filter: at most {MAX_ID_FILTER} are supported.")
        return frozenset(ids)

    def _new_state(self, kind: str, select: tuple[str, ...] | None, ids: frozenset[str] | None) -> _State:
        seq = self.directory.current_seq
        return _State(kind=kind, select=select, ids=ids, since=seq, issued=self.clock.monotonic(), until=seq)

    def _store(self, state: _State) -> str:
        self._issued += 1
        token = secrets.token_urlsafe(24)
        self._tokens[token] = state
        while len(self._tokens) > self.settings.max_tokens:
            self._tokens.popitem(last=False)
        return token

    def _redeem(self, token: str, link: str) -> _State:
        state = self._tokens.get(token)
        if (
            state is None
            or state.issued <= self._expire_before
            or (self.clock.monotonic() - state.issued > self.settings.token_lifetime)
        ):
            raise GraphError(
                400,
                "syncStateNotFound",
                "The sync state generation is not found. The delta token is expired and data must be synchronized "
                "again.",
            )
        if state.issued <= self._reset_before:
            raise GraphError(
                410,
                "resyncRequired",
                "A full synchronization is required.",
                headers={"Location": f"{link}?$deltatoken="},
            )
        return state

    # ---- building rounds ------------------------------------------------------------------------------------------

    def _tracks(self, state: _State, nav: str) -> bool:
        if state.select is None:
            return nav == "members" and state.kind == "group"
        return nav in state.select

    def _initial_entries(self, state: _State) -> list[_Entry]:
        entries: list[_Entry] = []
        for obj in self.directory.live(state.kind):
            if state.ids is not None and obj.id not in state.ids:
                continue
            ops = [(m, self._kind_of(m), True) for m in obj.members] if self._tracks(state, "members") else []
            manager = (obj.manager, True) if self._tracks(state, "manager") and obj.manager else None
            entries.extend(self._split(_Entry(obj.id, True, None, ops, manager)))
        return entries

    def _kind_of(self, object_id: str) -> str:
        obj = self.directory.objects.get(object_id)
        return obj.kind if obj else "user"

    def _open_round(self, parent: _State) -> _State:
        state = _State(
            kind=parent.kind,
            select=parent.select,
            ids=parent.ids,
            since=parent.since,
            issued=self.clock.monotonic(),
            until=self.directory.current_seq,
            incremental=True,
        )
        grouped: OrderedDict[str, list[Change]] = OrderedDict()
        for change in self.directory.changes_since(parent.since, state.until):
            if change.kind != state.kind or (state.ids is not None and change.object_id not in state.ids):
                continue
            grouped.setdefault(change.object_id, []).append(change)
        selected = set(state.select) if state.select is not None else set(schema.default_select(state.kind))
        for object_id, changes in grouped.items():
            entry = self._aggregate(state, object_id, changes, selected)
            if entry is not None:
                state.entries.extend(self._split(entry))
        return state

    def _aggregate(self, state: _State, object_id: str, changes: list[Change], selected: set[str]) -> _Entry | None:
        obj = self.directory.objects.get(object_id)
        if obj is None:
            return _Entry(object_id, False, None, removed="deleted")
        if obj.deleted:
            return _Entry(object_id, False, None, removed="changed")
        created = any(c.created for c in changes)
        props: set[str] = set()
        members: OrderedDict[str, tuple[str, bool]] = OrderedDict()
        manager_moves = [c.manager for c in changes if c.manager is not None]
        for change in changes:
            props |= change.props
            for member_id, member_kind, added in change.member_ops:
                members.pop(member_id, None)
                members[member_id] = (member_kind, added)
        if created:
            ops = [(m, self._kind_of(m), True) for m in obj.members]
        else:
            ops = [(m, k, a) for m, (k, a) in members.items()]
        if not self._tracks(state, "members"):
            ops = []
        manager: tuple[str, bool] | None = None
        if self._tracks(state, "manager") and (manager_moves or created):
            first_old = None if created or not manager_moves else manager_moves[0][1]
            if obj.manager is not None:
                manager = (obj.manager, True)
            elif first_old is not None:
                manager = (first_old, False)
        if not (created or props & selected or ops or manager is not None):
            return None
        return _Entry(object_id, created, None if created else frozenset(props & selected), ops, manager)

    def _split(self, entry: _Entry) -> list[_Entry]:
        size = self.settings.member_page_size
        if len(entry.member_ops) <= size:
            return [entry]
        parts: list[_Entry] = []
        for start in range(0, len(entry.member_ops), size):
            part = _Entry(
                entry.object_id,
                entry.created,
                entry.props,
                entry.member_ops[start : start + size],
                entry.manager if start == 0 else None,
                entry.removed,
            )
            parts.append(part)
        return parts

    # ---- rendering ----------------------------------------------------------------------------------------------

    def _page(self, state: _State, link: str, collection: str, minimal: bool) -> dict[str, Any]:
        end = state.offset + self.settings.page_size
        chunk = state.entries[state.offset : end]
        values = [self._render(state, entry, minimal) for entry in chunk]
        if end < len(state.entries):
            token = self._store(dataclasses.replace(state, offset=end))
            return {
                "@odata.context": self._context(link, collection),
                "@odata.nextLink": f"{link}?$skiptoken={token}",
                "value": values,
            }
        return self._finish(state, link, collection, values)

    def _finish(self, state: _State, link: str, collection: str, values: list[dict[str, Any]]) -> dict[str, Any]:
        next_round = _State(
            kind=state.kind, select=state.select, ids=state.ids, since=state.until, issued=self.clock.monotonic()
        )
        token = self._store(next_round)
        return {
            "@odata.context": self._context(link, collection),
            "@odata.deltaLink": f"{link}?$deltatoken={token}",
            "value": values,
        }

    @staticmethod
    def _context(link: str, collection: str) -> str:
        return link.rsplit(f"/{collection}/delta", 1)[0] + f"/$metadata#{collection}"

    def _render(self, state: _State, entry: _Entry, minimal: bool) -> dict[str, Any]:
        if entry.removed is not None:
            return {"id": entry.object_id, "@removed": {"reason": entry.removed}}
        obj = self.directory.objects.get(entry.object_id)
        if obj is None or obj.deleted:
            return {"id": entry.object_id, "@removed": {"reason": "deleted" if obj is None else "changed"}}
        out: dict[str, Any] = {}
        names = state.select if state.select is not None else schema.default_select(state.kind)
        for name in names:
            if name in ("members", "manager", "id"):
                continue
            if minimal and state.incremental and entry.props is not None and name not in entry.props:
                continue
            if name in obj.props:
                out[name] = obj.props[name]
        out["id"] = obj.id
        if entry.member_ops:
            out["members@delta"] = [_link(m, k, added) for m, k, added in entry.member_ops]
        if entry.manager is not None:
            out["manager@delta"] = [_link(entry.manager[0], "user", entry.manager[1])]
        return out


def _state_data(state: _State, to_wall: Callable[[float], float]) -> dict[str, Any]:
    return {
        "kind": state.kind,
        "select": list(state.select) if state.select is not None else None,
        "ids": sorted(state.ids) if state.ids is not None else None,
        "since": state.since,
        "issued": to_wall(state.issued),
        "entries": [
            [
                e.object_id,
                e.created,
                sorted(e.props) if e.props is not None else None,
                [list(op) for op in e.member_ops],
                list(e.manager) if e.manager is not None else None,
                e.removed,
                e.include_props,
            ]
            for e in state.entries
        ],
        "offset": state.offset,
        "until": state.until,
        "incremental": state.incremental,
    }


def _state_from(data: Mapping[str, Any], from_wall: Callable[[float], float]) -> _State:
    entries = [
        _Entry(
            str(object_id),
            bool(created),
            frozenset(props) if props is not None else None,
            [(str(m), str(k), bool(a)) for m, k, a in ops],
            (str(manager[0]), bool(manager[1])) if manager is not None else None,
            removed,
            bool(include_props),
        )
        for object_id, created, props, ops, manager, removed, include_props in data["entries"]
    ]
    return _State(
        kind=str(data["kind"]),
        select=tuple(data["select"]) if data["select"] is not None else None,
        ids=frozenset(data["ids"]) if data["ids"] is not None else None,
        since=int(data["since"]),
        issued=from_wall(float(data["issued"])),
        entries=entries,
        offset=int(data["offset"]),
        until=int(data["until"]),
        incremental=bool(data["incremental"]),
    )


def _link(object_id: str, kind: str, present: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"@odata.type": f"#microsoft.graph.{kind}", "id": object_id}
    if not present:
        item["@removed"] = {"reason": "deleted"}
    return item
