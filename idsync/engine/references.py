"""Reference attributes (manager, member): CS references resolve through links to MV references and back.

A CS reference value is the referenced object's *reference key* in its own system: its anchor (HR keys, Graph
ids) or its identifier (LDAP DNs), as the connector declares. An MV reference value is the MV object's id (as
text). A reference that cannot be resolved yet is recorded, retried after the rest of the sync and at the next
one, and never dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable

from idsync.engine.context import SyncContext
from idsync.model import CSObject, ExportOp
from idsync.store import CSRef, Unresolved
from idsync.store.rows import identifier_key

PLACEHOLDER = "#cs:"
"""An outbound reference to an object whose key in its target is not settled yet — provisioned but not given an
anchor, or (where references hold identifiers) waiting for an add or a rename to be exported. Export resolves it
to the key the object has when the value is sent, after that add or rename."""


def reference_key(ctx: SyncContext, cs: CSObject | CSRef) -> str | None:
    caps = ctx.capabilities(cs.connector)
    if caps.references_by == "identifier":
        return cs.identifier
    return cs.anchor


def identifier_pending(cs: CSObject) -> bool:
    """An add or a rename of ``cs`` is staged and not sent: its identifier in the target is about to be set."""
    pending = cs.pending_export
    if pending is None:
        return False
    return (pending.op is ExportOp.ADD and cs.anchor is None) or pending.new_identifier is not None


def outbound_key(ctx: SyncContext, cs: CSObject | CSRef, *, identifier_changing: bool = False) -> str:
    """The key a reference to ``cs`` carries in its target, or a placeholder that export resolves once the key is
    settled: ``cs`` has no anchor yet, or (``identifier_changing``) an add or a rename is about to set its DN."""
    key = reference_key(ctx, cs)
    if key is None or identifier_changing:
        # a DN that is about to change would be written stale (a member left behind at the old DN)
        return f"{PLACEHOLDER}{cs.id}"
    return key


def keys_of(ctx: SyncContext, cs: CSObject) -> list[str]:
    """The values a reference to ``cs`` may hold, for finding references that wait for it."""
    caps = ctx.capabilities(cs.connector)
    if caps.references_by == "identifier":
        return [identifier_key(cs.identifier)]
    return [cs.anchor] if cs.anchor else []


def resolve_inbound(ctx: SyncContext, connector: str, keys: Iterable[str]) -> tuple[list[str], list[str]]:
    """CS reference keys of ``connector`` -> (MV ids as text, keys not resolvable yet)."""
    wanted = [k for k in keys if k]
    if not wanted:
        return [], []
    caps = ctx.capabilities(connector)
    resolved: list[str] = []
    missing: list[str] = []
    if caps.references_by == "identifier":
        found = ctx.store.cs_refs_by_identifier(connector, wanted)
        for key in wanted:
            linked = [c for c in found.get(identifier_key(key), []) if c.mv_id is not None]
            if linked:
                resolved.append(str(linked[0].mv_id))
            else:
                missing.append(identifier_key(key))
    else:
        by_anchor = ctx.store.cs_refs_by_anchor(connector, wanted)
        for key in wanted:
            cs = by_anchor.get(key)
            if cs is not None and cs.mv_id is not None:
                resolved.append(str(cs.mv_id))
            else:
                missing.append(key)
    return resolved, missing


class DeferredUnresolved:
    """A projection computes its MV object before the object has an id: references it cannot resolve yet are
    held here and recorded under the id (``owner``, set once the object is written) when the block ends without
    an error. One per projected object: a class, not a generator."""

    __slots__ = ("ctx", "owner", "previous", "rows")

    def __init__(self, ctx: SyncContext) -> None:
        self.ctx = ctx
        self.owner = 0
        self.rows: list[tuple[str, str, str, list[str]]] = []
        self.previous: list[tuple[str, str, str, list[str]]] | None = None

    def __enter__(self) -> DeferredUnresolved:
        self.previous, self.ctx.deferred_unresolved = self.ctx.deferred_unresolved, self.rows
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        self.ctx.deferred_unresolved = self.previous
        if kind is None:
            for attribute, direction, connector, refs in self.rows:
                record_unresolved(self.ctx, self.owner, attribute, direction, connector, refs)


def record_unresolved(
    ctx: SyncContext, mv_id: int, attribute: str, direction: str, connector: str, refs: list[str]
) -> None:
    if mv_id == 0 and ctx.deferred_unresolved is not None:
        ctx.deferred_unresolved.append((attribute, direction, connector, refs))
        return
    owner = (mv_id, attribute, direction)
    if ctx.waiting_refs is not None and not refs and owner not in ctx.waiting_owners:
        return  # nothing was waiting and nothing waits now: no statement (the commonest case, decided first)
    rows = [Unresolved(direction, mv_id, attribute, connector, r) for r in dict.fromkeys(refs)]
    if rows:
        ctx.left_waiting[owner] = (connector, rows[0].ref)
    else:
        ctx.left_waiting.pop(owner, None)
    if ctx.waiting_refs is not None:
        if rows:
            ctx.waiting_owners.add(owner)
            ctx.waiting_refs.update((direction, connector, r.ref) for r in rows)
        else:
            ctx.waiting_owners.discard(owner)
    ctx.store.unresolved_set(mv_id, attribute, direction, rows)


def resolve_outbound(ctx: SyncContext, connector: str, mv_refs: Iterable[str]) -> tuple[list[str], list[str]]:
    """MV ids -> (reference keys in ``connector``, MV ids not linked there yet)."""
    wanted: list[int] = []
    bad: list[str] = []
    for ref in mv_refs:
        try:
            wanted.append(int(ref))
        except (TypeError, ValueError):
            bad.append(str(ref))
    links = ctx.store.cs_refs_by_mv(wanted) if wanted else {}
    targets: list[CSRef] = []
    missing: list[str] = bad
    for mv_id in wanted:
        target = next((c for c in links.get(mv_id, []) if c.connector == connector), None)
        if target is not None:
            targets.append(target)
        else:
            missing.append(str(mv_id))
    changing: set[int] = set()
    if targets and ctx.capabilities(connector).references_by == "identifier":
        # whether an add or a rename is about to set an identifier shows only in the pending export, which a CSRef
        # does not carry: the referenced objects are read whole, in one query for all of them
        whole = ctx.store.cs_get_many(t.id for t in targets)
        changing = {i for i, cs in whole.items() if identifier_pending(cs)}
        # an object whose delete is staged is no longer named: the value goes in the export that deletes it, while
        # the object is still in the connector space (a directory without referential integrity keeps a deleted
        # entry's DN in the groups that listed it, and a known-values flow removes only what names a CS object)
        leaving = {i for i, cs in whole.items() if _deleting(cs)}
        missing += [str(t.mv_id) for t in targets if t.id in leaving]
        targets = [t for t in targets if t.id not in leaving]
    return [outbound_key(ctx, t, identifier_changing=t.id in changing) for t in targets], missing


def _deleting(cs: CSObject) -> bool:
    pending = cs.pending_export
    return pending is not None and pending.op is ExportOp.DELETE


def waiting_for_link(ctx: SyncContext, cs: CSObject) -> None:
    """``cs`` was just linked: inbound references that named it can resolve now; retry them at the end."""
    known = ctx.waiting_refs
    if known is not None and not known:
        return  # nothing waits for anything (a first sync, mostly)
    keys = [k for k in keys_of(ctx, cs) if known is None or ("in", cs.connector, k) in known]
    if keys:
        for row in ctx.store.unresolved_waiting_for("in", cs.connector, keys):
            ctx.retry_in.add(row.mv_id)
    if cs.mv_id is not None and (known is None or ("out", cs.connector, str(cs.mv_id)) in known):
        for row in ctx.store.unresolved_waiting_for("out", cs.connector, [str(cs.mv_id)]):
            ctx.retry_out.add(row.mv_id)


def referrers(ctx: SyncContext, mv_id: int) -> set[int]:
    """MV objects whose reference attributes name ``mv_id``."""
    found: set[int] = set()
    for mv_type in ctx.rules.mv_schemas:
        for attr in ctx.rules.reference_attributes(mv_type):
            for ids in ctx.store.mv_find(mv_type, attr, [str(mv_id)]).values():
                found.update(i for i in ids if i != mv_id)
    return found


def mark_referrers(ctx: SyncContext, mv_id: int) -> None:
    """MV objects that reference ``mv_id`` resolve differently after one of its links changed or it was deleted:
    their inbound references and outbound flows are evaluated again after the rest of the sync."""
    found = referrers(ctx, mv_id)
    ctx.retry_in |= found
    ctx.retry_out |= found
