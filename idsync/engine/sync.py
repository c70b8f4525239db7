"""The sync step: inbound (scope, join, projection, flows with precedence) then outbound, object by object.

A full sync evaluates every CS object of the connector; a delta sync only those with pending imports (and those
another change flagged for re-evaluation), so it costs O(changes). Sync reads connector spaces only and never
calls a connected system. Each page of objects commits in one transaction; each object runs in its own savepoint,
so one object's failure is an error row and the page goes on.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable
from operator import attrgetter
from typing import Any

from idsync.engine.context import DN, SyncContext
from idsync.engine.deprovisioning import deprovision
from idsync.engine.errors import ObjectError
from idsync.engine.join import join_metaverse
from idsync.engine.outside_values import step_warning
from idsync.engine.page import PageLinks, read_ahead
from idsync.engine.precedence import contributed_attributes, recompute, rule_applies
from idsync.engine.provisioning import linking_rule, outbound
from idsync.engine.references import DeferredUnresolved, mark_referrers, waiting_for_link
from idsync.model import CSObject, ImportOp, LinkState, MVObject, PendingImport, StepCounters
from idsync.store import CSFilter, StoreError
from idsync.store.rows import key_value

PAGE = 2000
INBOUND_LINKS = ("joined:", "projected:")
WAITING_NAMED = 3
"""References named in a sync's message about what it leaves waiting."""
UNRESOLVED_READ_WHOLE = 20
"""A delta sync reads the unresolved references whole while there are at most this many per object it syncs."""

RETRIES = "sync_retries"
"""Meta keys: ``sync_retries`` holds how many parts ``sync_retries:<n>`` there are, each the MV ids a page of a sync
left for the end of that sync (``retry_in``, ``retry_out``), written in the page's transaction. A sync killed
before its end leaves them to the next sync (of any connector), which does them; the end of a sync clears them."""

Progress = Callable[[int], None]

_COUNTERS = StepCounters.__slots__
_counts = attrgetter(*_COUNTERS)
"""A step's counters as a tuple: what an object's failure restores (much cheaper than copying the dataclass)."""
_writes = attrgetter("updates", "joins", "provisioned", "deprovisioned", "disconnections", "mv_deletes")
"""The counters of what a retry pass writes that another waiting object may resolve through."""
_link_fields = attrgetter("link_state", "mv_id", "link_rule", "pending_import", "error")
"""What ``cs_save_links`` writes."""


class Synchronizer:
    def __init__(self, ctx: SyncContext, connector: str, *, full: bool, progress: Progress | None = None) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.connector = connector
        self.full = full
        self.progress = progress
        self.dirty: set[int] = set()
        self.loaded: tuple[Any, ...] = ()
        """The link fields of the object being processed, as read: its link is written only when they changed."""
        self.kept: tuple[set[int], set[int]] = (set(), set())
        """The retries written to the store so far (``RETRIES``), inbound and outbound."""
        self.kept_parts = 0

    # driver ----------------------------------------------------------------------------------------------------
    def run(self) -> None:
        self._load_unresolved()
        self._take_over_retries()
        filters = [CSFilter(connector=self.connector)]
        if not self.full:
            filters = [CSFilter(connector=self.connector, pending_import=True)]
            if self.ctx.rules.needs_disconnector_sweep(self.connector):
                filters.append(CSFilter(connector=self.connector, link_states=(LinkState.DISCONNECTOR.value,)))
        with self.store.write_behind():
            self._pages(filters)
        self._finish("idsync search cs --pending-export, then idsync show")

    def _pages(self, filters: list[CSFilter]) -> None:
        done: set[int] = set()
        for flt in filters:
            after = 0
            while True:
                page = self.store.cs_page(flt, after, PAGE)
                if not page:
                    break
                with self.store.transaction():
                    linked = PageLinks(self.ctx, page)
                    read_ahead(self.ctx, page, linked)
                    for cs in page:
                        if cs.id in done:
                            continue
                        if len(filters) > 1:
                            done.add(cs.id)
                        known = None
                        if cs.id in self.dirty:
                            fresh = self.store.cs_get(cs.id)
                            if fresh is None:
                                continue
                            cs = fresh
                        elif cs.mv_id is not None:
                            known = linked.take(cs.mv_id)
                        self.process(cs, known)
                        if self.ctx.errors.reached:
                            break
                    self._keep_retries()
                    self.store.add_errors(self.ctx.errors.drain())
                after = page[-1].id
                if self.progress:
                    self.progress(len(page))
                self.ctx.errors.check_limit()

    def run_one(self, cs: CSObject) -> None:
        """Sync ``cs`` alone, as a delta sync would if it were the only change, then what it leaves waiting (and
        what a killed sync left): provisioning on demand."""
        self._load_unresolved()
        self._take_over_retries()
        with self.store.transaction():
            self.process(cs)
            self._keep_retries()
            self.store.add_errors(self.ctx.errors.drain())
        self._finish("idsync show")

    def _finish(self, where: str) -> None:
        """The retries at the end of the sync, then its message: the warnings (``where`` says where to see them
        all) and what it leaves waiting."""
        waiting = self.retry_references()
        said = [step_warning(self.ctx.warnings, where) or self.ctx.step.message, waiting]
        self.ctx.step.message = "; ".join(m for m in said if m) or None

    def process(self, cs: CSObject, known: tuple[MVObject | None, list[CSObject]] | None = None) -> None:
        """Sync one CS object. ``known``: its MV object and links, when the caller read them with the page."""
        self.ctx.scope_cache.clear()
        counts = _counts(self.ctx.step.counters)
        try:
            with self.store.object_scope():
                self._process(cs, known)
        except (ObjectError, StoreError) as failure:
            # the object's work was rolled back, and so are its counts
            exc = _object_error(failure)
            _restore(self.ctx.step.counters, counts)
            self.ctx.errors.from_exception(exc, cs=cs)
            fresh = self.store.cs_get(cs.id)
            if fresh is not None:
                fresh.error = exc.reason
                self.store.cs_save([fresh])

    def _load_unresolved(self) -> None:
        """Read every unresolved reference up front (one statement, then none per object), or let each object ask
        about its own (a statement or two each): a delta sync costs what it changes, not what waits."""
        unresolved = self.store.unresolved_count()
        if not unresolved:
            self.ctx.waiting_refs, self.ctx.waiting_owners = set(), set()
            return
        pending = CSFilter(connector=self.connector, pending_import=True)
        if self.full or unresolved <= UNRESOLVED_READ_WHOLE * self.store.cs_count(pending):
            self.ctx.load_unresolved()

    # one object -------------------------------------------------------------------------------------------------
    def _process(self, cs: CSObject, known: tuple[MVObject | None, list[CSObject]] | None) -> None:
        counters = self.ctx.step.counters
        pending = cs.pending_import
        self.loaded = _link_fields(cs)
        cs.error = None
        if pending is not None and pending.op is ImportOp.DELETE:
            self._delete(cs)
            return
        rules = self.ctx.rules.inbound_for(cs.connector, cs.object_type)
        mv: MVObject | None = None
        if known is not None:
            mv = known[0]
        elif cs.mv_id is not None:
            mv = self.store.mv_get(cs.mv_id)
        if cs.mv_id is not None and mv is None:
            cs.mv_id, cs.link_state, cs.link_rule = None, LinkState.DISCONNECTOR, None
        if mv is not None:
            links = self._links(mv, cs, None if known is None else known[1])
            applicable = [r for r in rules if r.mv_type == mv.object_type and rule_applies(self.ctx, r, cs)]
            inbound_link = (cs.link_rule or "").startswith(INBOUND_LINKS)
            if rules and inbound_link and not applicable:
                self._disconnect(cs, mv, links, filtered=True)
                return
            changes = None if self.full or pending is None or pending.op is ImportOp.ADD else pending.changed
            if changes is not None and pending is not None and pending.op is ImportOp.RENAME:
                changes = [*changes, DN]  # a new DN: what a dn-part flow reads
            attrs = contributed_attributes(self.ctx, mv, cs, changes)
            changed = recompute(self.ctx, mv, links, attrs) if attrs else set()
            cs.pending_import = None
            self._save_links(cs)
            if changed:
                self.store.mv_save([mv])
                counters.updates += 1
                self._mv_changed(mv, changed)
            else:
                counters.unchanged += 1
            self._outbound(mv, links)
            return
        if cs.link_state is LinkState.EXPLICIT:
            cs.pending_import = None
            self._save_links(cs)
            counters.unchanged += 1
            return
        applicable = [r for r in rules if rule_applies(self.ctx, r, cs)]
        if not applicable:
            cs.link_state = LinkState.FILTERED if rules else LinkState.DISCONNECTOR
            cs.pending_import = None
            self._save_links(cs)
            counters.unchanged += 1
            self._flag_adopters(cs)
            return
        values = self.ctx.cs_values(cs)
        for rule in applicable:
            if not rule.joins:
                continue
            match = join_metaverse(self.ctx, rule.joins, rule.mv_type, values, rule.name)
            if match is None:
                continue
            target = self.store.mv_get(match.target_id)
            if target is None:
                continue
            others = self.store.cs_by_mv([target.id]).get(target.id, [])
            clash = next((o for o in others if o.connector == cs.connector and o.id != cs.id), None)
            if clash is not None:
                raise ObjectError(
                    f"join: rule {rule.name!r} matches MV #{target.id}, which is already joined to "
                    f"{clash.identifier!r} in {cs.connector}; one MV object has at most one object per connector",
                    code="join-conflict",
                )
            self.join(cs, target, others, f"joined:{rule.name}")
            return
        projector = next((r for r in applicable if r.project), None)
        if projector is None:
            cs.link_state = LinkState.DISCONNECTOR
            cs.pending_import = None
            self._save_links(cs)
            counters.unchanged += 1
            self._flag_adopters(cs)
            return
        self.project(cs, projector.mv_type, f"projected:{projector.name}")

    def project(self, cs: CSObject, mv_type: str, how: str) -> MVObject:
        """Project ``cs`` into a new MV object of ``mv_type`` and flow it: a projection rule's, or an operator's
        (:mod:`idsync.engine.joiner`). The new MV object's values are computed first, so it is written once."""
        counters = self.ctx.step.counters
        mv = MVObject(0, mv_type, created_run=self.ctx.step.run_id)
        with DeferredUnresolved(self.ctx) as waiting:
            changed = recompute(self.ctx, mv, [cs], contributed_attributes(self.ctx, mv, cs, None), projecting=cs)
            self.store.mv_insert(mv)
            waiting.owner = mv.id
        self._link(cs, mv, how)
        counters.projections += 1
        counters.adds += 1
        self._mv_changed(mv, changed)
        waiting_for_link(self.ctx, cs)  # a new MV id: nothing references it yet
        self._outbound(mv, [cs])
        return mv

    def join(self, cs: CSObject, mv: MVObject, others: list[CSObject], how: str) -> None:
        """Link ``cs`` to ``mv`` (whose links are ``others``) and flow it: a join rule's match, or an operator's
        (:mod:`idsync.engine.joiner`). Every attribute ``cs`` contributes is computed again, as at projection."""
        counters = self.ctx.step.counters
        self._link(cs, mv, how)
        counters.joins += 1
        links = [*others, cs]
        changed = recompute(self.ctx, mv, links, contributed_attributes(self.ctx, mv, cs, None))
        if changed:
            self.store.mv_save([mv])
            counters.updates += 1
            self._mv_changed(mv, changed)
        else:
            counters.unchanged += 1
        self._after_link(cs)
        self._outbound(mv, links)

    def _links(self, mv: MVObject, cs: CSObject, known: list[CSObject] | None = None) -> list[CSObject]:
        links = known if known is not None else self.store.cs_by_mv([mv.id]).get(mv.id, [])
        return [cs if c.id == cs.id else c for c in links] or [cs]

    def _save_links(self, cs: CSObject) -> None:
        """Write what sync decided about ``cs``, unless that is what the store holds already."""
        if _link_fields(cs) != self.loaded:
            self.store.cs_save_links([cs])

    def _link(self, cs: CSObject, mv: MVObject, how: str) -> None:
        cs.mv_id = mv.id
        cs.link_state = LinkState.CONNECTOR
        cs.link_rule = how
        cs.pending_import = None
        self.store.cs_save_links([cs])

    def _after_link(self, cs: CSObject) -> None:
        waiting_for_link(self.ctx, cs)
        if cs.mv_id is not None:
            mark_referrers(self.ctx, cs.mv_id)

    def _outbound(self, mv: MVObject, links: list[CSObject]) -> None:
        for touched in outbound(self.ctx, mv, links):
            if touched.connector == self.connector:
                self.dirty.add(touched.id)

    # deletes and disconnections ---------------------------------------------------------------------------------
    def _delete(self, cs: CSObject) -> None:
        # gone from the store before outbound runs for its MV object: a target object deleted outside is then
        # provisioned again, as a full sync would, instead of being found still there (by identifier or join)
        mv = self.store.mv_get(cs.mv_id) if cs.mv_id is not None else None
        links = self._links(mv, cs) if mv is not None else []
        self.store.cs_delete([cs.id])
        if mv is not None:
            self._disconnect(cs, mv, links, deleting=True)

    def disconnect(self, cs: CSObject, mv: MVObject) -> None:
        """Disconnect ``cs`` from ``mv`` as sync would when it left scope: for an operator's explicit decision
        (see :mod:`idsync.engine.disconnection`), with the same recomputation, deletion rule and deprovisioning."""
        self._disconnect(cs, mv, self._links(mv, cs))

    def _disconnect(
        self, cs: CSObject, mv: MVObject, links: list[CSObject], *, filtered: bool = False, deleting: bool = False
    ) -> None:
        counters = self.ctx.step.counters
        remaining = [c for c in links if c.id != cs.id]
        cs.mv_id = None
        cs.link_state = LinkState.FILTERED if filtered else LinkState.DISCONNECTOR
        cs.link_rule = None
        cs.pending_import = None
        if not deleting:
            self.store.cs_save([cs])
        counters.disconnections += 1
        rule = self.ctx.rules.deletion_rule(mv.object_type)
        delete_mv = not remaining or (rule.when == "authoritative" and cs.connector in rule.authoritative)
        mark_referrers(self.ctx, mv.id)
        if delete_mv:
            self.delete_mv(mv, remaining)
            return
        attrs = {a for a, c in mv.provenance.items() if c.cs_id == cs.id}
        changed = recompute(self.ctx, mv, remaining, attrs) if attrs else set()
        if changed:
            self.store.mv_save([mv])
            counters.updates += 1
            self._mv_changed(mv, changed)
        self._outbound(mv, remaining)

    def delete_mv(self, mv: MVObject, remaining: list[CSObject]) -> None:
        """Apply the MV deletion: every remaining link gets its deprovision action, then the object goes."""
        groups = self.ctx.rules.outbound_for(mv.object_type)
        values = self.ctx.mv_values(mv)
        for other in remaining:
            group = groups.get((other.connector, other.object_type))
            if group:
                # however it was linked (an account an inbound rule joined, too), as when it leaves scope
                deprovision(self.ctx, other, mv, linking_rule(group, other), values, mv_deleted=True)
            else:
                other.mv_id, other.link_state, other.link_rule = None, LinkState.DISCONNECTOR, None
                self.store.cs_save([other])
            if other.connector == self.connector:
                self.dirty.add(other.id)
        self.store.mv_delete([mv.id])
        self.ctx.step.counters.mv_deletes += 1
        self.ctx.step.counters.deletes += 1

    # change propagation -------------------------------------------------------------------------------------------
    def _mv_changed(self, mv: MVObject, changed: set[str]) -> None:
        """Disconnectors elsewhere that join on a changed attribute get a second look at their next sync."""
        for rule, mv_attr, cs_attr in self.ctx.rules.inbound_direct_joins(mv.object_type):
            if mv_attr not in changed or mv_attr not in mv.attributes or rule.connector == self.connector:
                # this connector's own objects with the same value are duplicates this sync meets anyway
                continue
            value = mv.attributes[mv_attr]
            keys = [key_value(v) for v in (value if isinstance(value, list) else [value])]
            ids = [i for found in self.store.cs_find(rule.connector, cs_attr, keys).values() for i in found]
            if not ids:
                continue
            flagged = []
            for other in self.store.cs_get_many(ids).values():
                if other.link_state is LinkState.DISCONNECTOR and other.pending_import is None:
                    other.pending_import = PendingImport(ImportOp.UPDATE, [])
                    flagged.append(other)
            if flagged:
                self.store.cs_save(flagged)
                if rule.connector == self.connector:
                    self.dirty.update(o.id for o in flagged)

    def _flag_adopters(self, cs: CSObject) -> None:
        """A target object nobody joined: MV objects whose outbound join would adopt it try again."""
        for rule, cs_attr, mv_attr in self.ctx.rules.outbound_direct_joins(cs.connector, cs.object_type):
            value = cs.hologram.get(cs_attr)
            if value is None:
                continue
            keys = [key_value(v) for v in (value if isinstance(value, list) else [value])]
            for ids in self.store.mv_find(rule.mv_type, mv_attr, keys).values():
                self.ctx.retry_out.update(ids)

    def retry_references(self) -> str | None:
        """Unresolved references and waiting outbound evaluations, after the rest of the sync: pass after pass while
        a pass makes progress, since a pass may link what another object waits for (an object it provisions or
        adopts) or change an MV value that decides a scope. A pass made progress when it wrote a link or an MV value,
        or when what is left to retry changed; passes are bounded by the objects retried, so objects that keep
        changing one another still stop. Returns the step's message about what still waits (its unresolved rows
        bring it back when what it names is linked)."""
        tried: set[int] = set()
        passes = 0
        while self.ctx.retry_in or self.ctx.retry_out:
            retry_in, retry_out = self.ctx.retry_in, self.ctx.retry_out
            todo = sorted(retry_in | retry_out)
            tried.update(todo)
            if passes > len(tried):
                break
            passes += 1
            self.ctx.retry_in, self.ctx.retry_out = set(), set()
            wrote = _writes(self.ctx.step.counters)
            for start in range(0, len(todo), PAGE):
                chunk = todo[start : start + PAGE]
                with self.store.transaction():
                    objects = self.store.mv_get_many(chunk)
                    links = self.store.cs_by_mv(chunk)
                    for mv_id in chunk:
                        mv = objects.get(mv_id)
                        if mv is None:
                            continue
                        self._retry_one(mv, links.get(mv_id, []), mv_id in retry_in)
                    self._keep_retries()
                    self.store.add_errors(self.ctx.errors.drain())
            same = self.ctx.retry_in == retry_in and self.ctx.retry_out == retry_out
            if same and _writes(self.ctx.step.counters) == wrote:
                break  # another pass would find what this one found
        self._forget_retries()
        return self._waiting()

    def _waiting(self) -> str | None:
        """What the sync leaves waiting: how many MV objects, and a few of the references they wait for."""
        left = self.ctx.left_waiting
        if not left:
            return None
        named = []
        for (mv_id, attribute, direction), (connector, ref) in heapq.nsmallest(WAITING_NAMED, left.items()):
            wanted = f"{connector}:{ref}" if direction == "in" else f"mv:{ref}, not in {connector}"
            named.append(f"mv:{mv_id} {attribute} -> {wanted}")
        objects = len({owner[0] for owner in left})
        more = f" and {len(left) - len(named)} more" if len(left) > len(named) else ""
        return (
            f"{objects} MV object{'' if objects == 1 else 's'} left waiting for references this sync could not resolve "
            f"({'; '.join(named)}{more}): retried when what they name is linked (idsync show mv:ID)"
        )

    # retries that outlive the process -------------------------------------------------------------------------------
    def _take_over_retries(self) -> None:
        """What a sync killed before its end left to do: done at the end of this one."""
        parts = int(self.store.get_meta(RETRIES) or 0)
        for n in range(parts):
            part = json.loads(self.store.get_meta(f"{RETRIES}:{n}") or "{}")
            self.kept[0].update(part.get("in", []))
            self.kept[1].update(part.get("out", []))
        self.kept_parts = parts
        self.ctx.retry_in |= self.kept[0]
        self.ctx.retry_out |= self.kept[1]

    def _keep_retries(self) -> None:
        """Write the retries the page left that are not written yet, in the page's transaction."""
        new_in, new_out = self.ctx.retry_in - self.kept[0], self.ctx.retry_out - self.kept[1]
        if not new_in and not new_out:
            return
        self.store.set_meta(f"{RETRIES}:{self.kept_parts}", json.dumps({"in": sorted(new_in), "out": sorted(new_out)}))
        self.kept_parts += 1
        self.store.set_meta(RETRIES, str(self.kept_parts))
        self.kept[0].update(new_in)
        self.kept[1].update(new_out)

    def _forget_retries(self) -> None:
        if not self.kept_parts:
            return
        with self.store.transaction():
            for n in range(self.kept_parts):
                self.store.set_meta(f"{RETRIES}:{n}", None)
            self.store.set_meta(RETRIES, None)
        self.kept_parts = 0
        self.kept = (set(), set())

    def _retry_one(self, mv: MVObject, links: list[CSObject], inbound: bool) -> None:
        self.ctx.scope_cache.clear()
        counts = _counts(self.ctx.step.counters)
        try:
            with self.store.object_scope():
                if inbound:
                    attrs = self.ctx.rules.reference_attributes(mv.object_type)
                    changed = recompute(self.ctx, mv, links, attrs) if attrs and links else set()
                    if changed:
                        self.store.mv_save([mv])
                        self.ctx.step.counters.updates += 1
                self._outbound(mv, links)
        except (ObjectError, StoreError) as failure:
            _restore(self.ctx.step.counters, counts)
            self.ctx.errors.from_exception(_object_error(failure), mv_id=mv.id)


def _object_error(failure: ObjectError | StoreError) -> ObjectError:
    """A value the store refuses to hold (PostgreSQL text cannot hold a NUL character, which an expression can
    make) is the object's failure, like any other."""
    if isinstance(failure, ObjectError):
        return failure
    return ObjectError(str(failure), code="store-refused")


def _restore(counters: StepCounters, counts: tuple[Any, ...]) -> None:
    for name, value in zip(_COUNTERS, counts, strict=True):
        setattr(counters, name, value)
