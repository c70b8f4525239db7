"""What a page of a sync reads in batches before its objects are processed one by one.

Sync decides object by object, each in its own savepoint, but most of what those decisions read can be told from
the page itself: the MV objects and links of its linked objects, the join candidates of the others, and the
objects their references name. Reading those in a few statements per page, instead of a few per object, is most
of what makes a sync's cost per object small.
"""

from __future__ import annotations

from idsync.engine.context import SyncContext
from idsync.model import CSObject, MVObject, as_list
from idsync.store.rows import key_value


class PageLinks:
    """The MV objects of a page's linked CS objects and every CS object linked to them, read in two queries.

    Exact without invalidation, because each entry is used once, by the CS object whose MV object it is (``take``),
    and processing one CS object writes only its own MV objects (the one it was linked to, the one it joins or
    projects) and links to them: an MV object has at most one CS object per connector, so no other object of the
    page shares them. What processing an object does to another CS object of the same connector (provisioning,
    adoption, deprovisioning) marks that object dirty, and a dirty object reads its MV object afresh.
    """

    def __init__(self, ctx: SyncContext, page: list[CSObject]) -> None:
        ids = [cs.mv_id for cs in page if cs.mv_id is not None]
        self.objects = ctx.store.mv_get_many(ids) if ids else {}
        # the page's own objects are links of its MV objects: as read with the page, not decoded a second time
        self.links = ctx.store.cs_by_mv(ids, known={cs.id: cs for cs in page}) if ids else {}

    def take(self, mv_id: int) -> tuple[MVObject | None, list[CSObject]] | None:
        """The MV object and its links as read with the page; None when they were taken already."""
        if mv_id not in self.links and mv_id not in self.objects:
            return None
        return self.objects.pop(mv_id, None), self.links.pop(mv_id, [])


def read_ahead(ctx: SyncContext, page: list[CSObject], linked: PageLinks) -> None:
    """Look up, in one batch each, what the page's objects will look up one by one; the store remembers the answers
    for the rest of the page's transaction (``idsync.store.lookups``), so those lookups cost no statement.

    Read ahead: the join candidates of objects not linked yet, and the target objects that already hold the
    identifiers provisioning would give them; the objects their inbound references name (and the links of those
    objects' MV objects, where outbound references to them will be resolved), and the links of the MV objects that
    the page's MV objects reference. Only values taken straight from an attribute are read ahead; a computed one
    is looked up when its object is processed, as is anything a batch missed.
    """
    store = ctx.store
    joins: dict[tuple[str, str], set[str]] = {}
    references: dict[str, set[str]] = {}
    identifiers: dict[str, set[str]] = {}
    sources: dict[tuple[str, str], _Source] = {}
    for cs in page:
        source = sources.get((cs.connector, cs.object_type))
        if source is None:
            source = sources[(cs.connector, cs.object_type)] = _source(ctx, cs.connector, cs.object_type)
        hologram = cs.hologram
        if cs.mv_id is None:
            for mv_type, mv_attr, cs_attr in source[0]:
                joins.setdefault((mv_type, mv_attr), set()).update(_keys(hologram.get(cs_attr)))
            for connector, cs_attr in source[2]:
                identifiers.setdefault(connector, set()).update(str(v) for v in as_list(hologram.get(cs_attr)) if v)
        for connector, cs_attr in source[1]:
            values = as_list(hologram.get(cs_attr))
            references.setdefault(connector, set()).update(str(v) for v in values if v)
    for (mv_type, attribute), keys in joins.items():
        if keys:
            store.mv_find(mv_type, attribute, keys)
    for connector, keys in identifiers.items():
        if keys:
            store.cs_refs_by_identifier(connector, keys)
    mv_ids: set[int] = set()
    for connector, keys in references.items():
        if not keys:
            continue
        if ctx.capabilities(connector).references_by == "identifier":
            found = [r for refs in store.cs_refs_by_identifier(connector, keys).values() for r in refs]
        else:
            found = list(store.cs_refs_by_anchor(connector, keys).values())
        mv_ids.update(r.mv_id for r in found if r.mv_id is not None)
    for mv in linked.objects.values():
        for attribute in ctx.rules.reference_attributes(mv.object_type):
            mv_ids.update(int(v) for v in as_list(mv.attributes.get(attribute)) if str(v).isdecimal())
    if mv_ids:
        store.cs_refs_by_mv(mv_ids)


_Source = tuple[list[tuple[str, str, str]], list[tuple[str, str]], list[tuple[str, str]]]


def _source(ctx: SyncContext, connector: str, object_type: str) -> _Source:
    """What objects of one source show of their keys: (MV type, MV attribute, CS attribute) of each join pair
    taken straight from an attribute; (connector, CS attribute) of each reference copied from one; and (target
    connector, CS attribute) of each provisioning identifier that is an MV attribute copied from one."""
    joins: list[tuple[str, str, str]] = []
    references: list[tuple[str, str]] = []
    identifiers: list[tuple[str, str]] = []
    for rule in ctx.rules.inbound_for(connector, object_type):
        for criterion in rule.joins:
            for mv_attr, expr in criterion.pairs:
                if expr.direct_attribute is not None:
                    joins.append((rule.mv_type, mv_attr, expr.direct_attribute))
        wanted = ctx.rules.reference_attributes(rule.mv_type)
        copied = {f.target: f.expression.direct_attribute for f in rule.flows if f.expression.direct_attribute}
        for flow in rule.flows:
            direct = flow.expression.direct_attribute
            if direct is not None and flow.target in wanted:
                references.append((rule.connector, direct))
        for (target, _), group in ctx.rules.outbound_for(rule.mv_type).items():
            for out in group:
                named = out.identifier.direct_attribute if out.provision and out.identifier is not None else None
                source_attr = copied.get(named) if named is not None else None
                if source_attr is not None:
                    identifiers.append((target, source_attr))
    return joins, references, identifiers


def _keys(value: object) -> list[str]:
    return [key_value(v) for v in as_list(value) if v is not None and v != ""]
