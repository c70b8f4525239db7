"""What SelectUniqueValue asks: is this candidate free? One answer per place a generated value must not collide.

A value flowing into the metaverse must be free among MV objects of its type. A value flowing into a target must be
free in the target's connector space (values staged for export count, so two objects provisioned in one run never
get the same one) and, where the metaverse holds an attribute of the same name, among the other MV objects too: a
value another person already owns in the metaverse is bound for the target sooner or later. A generated identifier
(a DN, a file key) must be free among the target's identifiers, with the target's case rules.
"""

from __future__ import annotations

from collections.abc import Callable

from idsync.engine.context import SyncContext
from idsync.model import MVObject
from idsync.store import CSRef
from idsync.store.rows import identifier_key, key_value

IsUnique = Callable[[str], bool]


def unique_in_metaverse(ctx: SyncContext, mv: MVObject, attribute: str) -> IsUnique:
    def is_unique(candidate: str) -> bool:
        return _free_in_metaverse(ctx, mv, attribute, candidate)

    return is_unique


def unique_in_target(ctx: SyncContext, mv: MVObject, connector: str, attribute: str, own: int | None) -> IsUnique:
    in_metaverse = attribute in ctx.mv_schema(mv.object_type).attributes

    def is_unique(candidate: str) -> bool:
        if ctx.store.cs_value_taken(connector, attribute, key_value(candidate), own):
            return False
        return not in_metaverse or _free_in_metaverse(ctx, mv, attribute, candidate)

    return is_unique


def identifier_holders(ctx: SyncContext, connector: str, identifier: str) -> list[CSRef]:
    """The objects of ``connector`` that hold ``identifier``, compared as the target compares identifiers."""
    found = ctx.store.cs_refs_by_identifier(connector, [identifier]).get(identifier_key(identifier), [])
    if not ctx.capabilities(connector).case_insensitive_identifiers:
        found = [c for c in found if c.identifier == identifier]
    return found


def unique_identifier(ctx: SyncContext, connector: str, own: int | None) -> IsUnique:
    def is_unique(candidate: str) -> bool:
        return all(c.id == own for c in identifier_holders(ctx, connector, candidate))

    return is_unique


def _free_in_metaverse(ctx: SyncContext, mv: MVObject, attribute: str, candidate: str) -> bool:
    return not ctx.store.mv_value_taken(mv.object_type, attribute, key_value(candidate), mv.id)
