"""Lookups a store remembers for the rest of one write transaction.

Sync looks up join candidates and resolves references one object at a time, but can tell most of a page's keys
before it starts: it reads them in one batch, and the lookups of the objects that follow are answered from here
instead of costing a statement each. Only the lookups sync repeats are remembered: ``mv_find`` (join and
uniqueness index of the metaverse), ``cs_refs_by_anchor``, ``cs_refs_by_identifier`` and ``cs_refs_by_mv``.

Why a remembered answer is always the answer the database would give:

- answers are remembered only inside a write transaction, and forgotten when it ends (commit or rollback) and
  when a savepoint inside it rolls back, which may undo writes this memory followed;
- within the transaction, every write the store makes to connector-space objects or metaverse objects updates
  the entries it changes: a CS object written or deleted leaves the entries of its former anchor, identifier and
  MV object and joins those of its new ones; an MV object written or deleted leaves the key entries that held it
  and joins those of its new key values; rebuilding the key index forgets everything;
- nobody else changes those rows meanwhile: a SQLite write transaction holds the database's write lock, and with
  PostgreSQL only a run writes connector spaces and the metaverse, one run at a time (the store's run lock).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

from idsync.model import CSObject
from idsync.store.base import CSRef
from idsync.store.rows import identifier_key

E = TypeVar("E", bound=Hashable)
K = TypeVar("K", bound=Hashable)

MVKey = tuple[str, str, str]
"""(object type, attribute, normalized value): one entry of the metaverse key index."""
MVKeyRow = tuple[str, str, str, int]
"""A row of the metaverse key index: (object type, attribute, normalized value, MV id)."""


def _by_id(ref: CSRef) -> int:
    return ref.id


def _without(refs: list[CSRef], cs_id: int) -> None:
    refs[:] = [r for r in refs if r.id != cs_id]


class LookupMemory:
    """The remembered answers of one write transaction (see the module's docstring for why they stay exact)."""

    def __init__(self, on_rollback: Callable[[], None] = lambda: None) -> None:
        self.active = False
        self.on_rollback = on_rollback
        """Also told when writes are rolled back (``idsync.store.presence``)."""
        self._forget()

    def _forget(self) -> None:
        self.mv_keys: dict[MVKey, list[int]] = {}
        self.mv_owners: dict[int, set[MVKey]] = {}
        """MV id -> the remembered key entries that hold it."""
        self.by_anchor: dict[tuple[str, str], CSRef | None] = {}
        self.by_identifier: dict[tuple[str, str], list[CSRef]] = {}
        self.by_mv: dict[int, list[CSRef]] = {}
        self.refs: dict[int, CSRef] = {}
        """CS id -> the reference remembered for it, for every object some entry holds."""

    # lifecycle ---------------------------------------------------------------------------------------------
    def begin(self) -> None:
        """A write transaction started: remember from now on."""
        self._forget()
        self.active = True

    def end(self) -> None:
        """The transaction ended: forget, and remember nothing until the next one."""
        self._forget()
        self.active = False

    def rolled_back(self) -> None:
        """A savepoint, or the transaction, rolled back writes this memory may have followed."""
        self._forget()
        self.on_rollback()

    # metaverse key index -----------------------------------------------------------------------------------
    def mv_find(
        self,
        object_type: str,
        attribute: str,
        values: Sequence[str],
        fetch: Callable[[list[str]], dict[str, list[int]]],
    ) -> dict[str, list[int]]:
        """``mv_find``, from memory where it can; ``fetch`` reads the values it cannot from the database."""
        if not self.active:
            return fetch(list(values))
        out: dict[str, list[int]] = {}
        missing: list[str] = []
        for value in values:
            ids = self.mv_keys.get((object_type, attribute, value))
            if ids is None:
                missing.append(value)
            elif ids:
                out[value] = list(ids)
        if missing:
            found = fetch(missing)
            for value in missing:
                key = (object_type, attribute, value)
                ids = sorted(set(found.get(value, ())))
                self.mv_keys[key] = ids
                for mv_id in ids:
                    self.mv_owners.setdefault(mv_id, set()).add(key)
                if ids:
                    out[value] = list(ids)
        return out

    def mv_inserted(self, mv_id: int, rows: Iterable[MVKeyRow]) -> None:
        """An MV object with an id no row had was inserted (or held back to be), with its key rows: no CS object
        links to it yet, so a lookup of its links is answered from here (the links made later join the entry)."""
        if self.active:
            self.by_mv[mv_id] = []
        self.mv_written((), rows)

    def mv_written(self, ids: Iterable[int], rows: Iterable[MVKeyRow]) -> None:
        """MV objects ``ids`` were written (or deleted, with no ``rows``); ``rows`` are their key rows now."""
        if not self.mv_keys:
            return
        for mv_id in ids:
            for key in self.mv_owners.pop(mv_id, ()):
                self.mv_keys[key].remove(mv_id)
        for object_type, attribute, value, mv_id in rows:
            key = (object_type, attribute, value)
            held = self.mv_keys.get(key)
            if held is not None and mv_id not in held:
                bisect.insort(held, mv_id)
                self.mv_owners.setdefault(mv_id, set()).add(key)

    # connector-space references ----------------------------------------------------------------------------
    def _keep(self, refs: Iterable[CSRef]) -> None:
        for ref in refs:
            self.refs[ref.id] = ref

    def by_anchors(
        self, connector: str, anchors: Iterable[str], fetch: Callable[[list[str]], dict[str, CSRef]]
    ) -> dict[str, CSRef]:
        wanted = list(dict.fromkeys(anchors))
        if not self.active:
            return fetch(wanted)
        out: dict[str, CSRef] = {}
        missing: list[str] = []
        for anchor in wanted:
            key = (connector, anchor)
            if key not in self.by_anchor:
                missing.append(anchor)
                continue
            ref = self.by_anchor[key]
            if ref is not None:
                out[anchor] = ref
        if missing:
            found = fetch(missing)
            self._keep(found.values())
            for anchor in missing:
                ref = self.by_anchor[(connector, anchor)] = found.get(anchor)
                if ref is not None:
                    out[anchor] = ref
        return out

    def by_identifiers(
        self, connector: str, identifiers: Iterable[str], fetch: Callable[[list[str]], dict[str, list[CSRef]]]
    ) -> dict[str, list[CSRef]]:
        wanted = list(dict.fromkeys(identifier_key(i) for i in identifiers))
        if not self.active:
            return fetch(wanted)
        return self._lists(self.by_identifier, [((connector, k), k) for k in wanted], fetch)

    def by_mv_ids(
        self, mv_ids: Iterable[int], fetch: Callable[[list[int]], dict[int, list[CSRef]]]
    ) -> dict[int, list[CSRef]]:
        wanted = list(dict.fromkeys(mv_ids))
        if not self.active:
            return fetch(wanted)
        return self._lists(self.by_mv, [(k, k) for k in wanted], fetch)

    def _lists(
        self,
        entries: dict[E, list[CSRef]],
        wanted: list[tuple[E, K]],
        fetch: Callable[[list[K]], dict[K, list[CSRef]]],
    ) -> dict[K, list[CSRef]]:
        """Answers whose entries are lists of references in id order: ``wanted`` pairs each entry with the key the
        caller and ``fetch`` know it by."""
        out: dict[K, list[CSRef]] = {}
        missing: list[tuple[E, K]] = []
        for entry, key in wanted:
            refs = entries.get(entry)
            if refs is None:
                missing.append((entry, key))
            elif refs:
                out[key] = list(refs)
        if missing:
            found = fetch([key for _, key in missing])
            for entry, key in missing:
                refs = entries[entry] = sorted(found.get(key, ()), key=_by_id)
                self._keep(refs)
                if refs:
                    out[key] = list(refs)
        return out

    def cs_written(self, objs: Iterable[CSObject]) -> None:
        """CS objects were inserted or saved: their entries follow them."""
        if not self.refs and not self.by_anchor and not self.by_identifier and not self.by_mv:
            return
        for obj in objs:
            if obj.id in self.refs:
                self._leave(obj.id)
            self._join(obj, identifier_key(obj.identifier))

    def cs_inserted(self, ref: CSRef, key: str) -> None:
        """A CS object with an id no row had was inserted (or held back to be): its reference, and the key of its
        identifier, join the entries they select."""
        if self.by_anchor or self.by_identifier or self.by_mv:
            self._join(ref, key)

    def cs_deleted(self, ids: Iterable[int]) -> None:
        if not self.refs:
            return
        for cs_id in ids:
            self._leave(cs_id)

    def _leave(self, cs_id: int) -> None:
        old = self.refs.pop(cs_id, None)
        if old is None:
            return
        if old.anchor is not None:
            key = (old.connector, old.anchor)
            held = self.by_anchor.get(key)
            if held is not None and held.id == cs_id:
                self.by_anchor[key] = None
        refs = self.by_identifier.get((old.connector, identifier_key(old.identifier)))
        if refs:
            _without(refs, cs_id)
        if old.mv_id is not None:
            refs = self.by_mv.get(old.mv_id)
            if refs:
                _without(refs, cs_id)

    def _join(self, obj: CSObject | CSRef, key: str) -> None:
        """Put ``obj``'s reference into the remembered entries its anchor, identifier (``key``, normalized) and MV
        object select."""
        anchor_key = (obj.connector, obj.anchor) if obj.anchor is not None else None
        by_anchor = anchor_key is not None and anchor_key in self.by_anchor
        by_identifier = self.by_identifier.get((obj.connector, key)) if self.by_identifier else None
        by_mv = self.by_mv.get(obj.mv_id) if obj.mv_id is not None else None
        if not by_anchor and by_identifier is None and by_mv is None:
            return
        ref = (
            obj
            if isinstance(obj, CSRef)
            else CSRef(obj.id, obj.connector, obj.object_type, obj.anchor, obj.identifier, obj.mv_id)
        )
        if anchor_key is not None and by_anchor:
            self.by_anchor[anchor_key] = ref
        if by_identifier is not None:
            bisect.insort(by_identifier, ref, key=_by_id)
        if by_mv is not None:
            bisect.insort(by_mv, ref, key=_by_id)
        self.refs[ref.id] = ref
