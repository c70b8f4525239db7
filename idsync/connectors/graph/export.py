"""Export: a batch of items in, one result per item out.

Users about to be added are first matched against soft-deleted users (``restore_match``: a stable person key such
as onPremisesImmutableId or employeeId, never a name another person could share): a match is restored from
``/directory/deletedItems`` and updated instead of created again. Then each item is planned into Graph operations
and the executor runs them in ``$batch`` requests. Graph's refusals come back as that item's result, with Graph's
code and message; the rest of the batch goes on.
"""

from __future__ import annotations

from collections.abc import Sequence

from idsync.connectors.base import ExportItem, ExportResult
from idsync.connectors.graph.config import GraphConfig
from idsync.connectors.graph.executor import Executor
from idsync.connectors.graph.lookup import Finder
from idsync.connectors.graph.operations import ItemWork, Planner
from idsync.connectors.graph.properties import properties_for
from idsync.connectors.graph.values import LINKS
from idsync.model import ExportOp, ValueOp


class GraphExporter:
    def __init__(self, config: GraphConfig, finder: Finder, planner: Planner, executor: Executor) -> None:
        self.config = config
        self.finder = finder
        self.planner = planner
        self.executor = executor

    def export(self, items: Sequence[ExportItem]) -> list[ExportResult]:
        works = [ItemWork(item) for item in items]
        if self.config.restore_deleted_users:
            self._match_deleted(works)
        self._read_collections(works)
        for work in works:
            self.planner.plan(work)
        self.executor.run(works)
        return [work.result() for work in works]

    def _read_collections(self, works: list[ItemWork]) -> None:
        """Graph replaces a collection property whole: values added to or removed from one (otherMails,
        businessPhones, a multi-valued extension) are applied to what Graph holds now, read just before, not to
        the hologram of the last import, which would undo changes made in the tenant since."""
        wanted: dict[str, list[tuple[ItemWork, list[str]]]] = {}
        for work in works:
            item = work.item
            if item.op is not ExportOp.UPDATE or item.anchor is None:
                continue
            names = sorted(
                {
                    c.name
                    for c in item.changes
                    if c.op is not ValueOp.REPLACE and self._collection(item.object_type, c.name)
                }
            )
            if names:
                wanted.setdefault(item.object_type, []).append((work, names))
        for kind, entries in wanted.items():
            found = self.finder.read(kind, [(str(w.item.anchor), names) for w, names in entries])
            for (work, names), obj in zip(entries, found, strict=True):
                if obj is not None:
                    work.current = {name: obj.get(name) for name in names}

    def _collection(self, kind: str, name: str) -> bool:
        if name == LINKS.get(kind):
            return False  # members are added and removed one by one, not replaced
        extension = self.config.extensions_for(kind).get(name)
        if extension is not None:
            return extension.multivalued
        spec = properties_for(kind).get(name)
        return spec is not None and spec.collection

    def _match_deleted(self, works: list[ItemWork]) -> None:
        candidates: list[tuple[ItemWork, dict[str, str]]] = []
        wanted: dict[str, list[str]] = {}
        for work in works:
            item = work.item
            if item.op is not ExportOp.ADD or item.object_type != "user" or _invited(item, self.config):
                continue
            keys = _person_keys(item, self.config.restore_match)
            if keys:
                candidates.append((work, keys))
                for attribute, value in keys.items():
                    wanted.setdefault(attribute, []).append(value)
        if not candidates:
            return
        deleted = self.finder.deleted_users(wanted)
        taken: set[str] = set()
        for work, keys in candidates:
            for attribute in self.config.restore_match:
                key = keys.get(attribute)
                found = deleted.get((attribute, key.casefold())) if key else None
                restore_id = str(found["id"]) if found is not None else None
                if restore_id is not None and restore_id not in taken:
                    work.restore_id = restore_id
                    taken.add(restore_id)
                    break


def _person_keys(item: ExportItem, attributes: list[str]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for change in item.changes:
        if change.name in attributes and change.op is ValueOp.REPLACE and change.values:
            value = change.values[0]
            if isinstance(value, str) and value:
                keys[change.name] = value
    return keys


def _invited(item: ExportItem, config: GraphConfig) -> bool:
    if config.invitations is None:
        return False
    names = {c.name for c in item.changes if c.values}
    return "mail" in names and "userPrincipalName" not in names
