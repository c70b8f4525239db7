"""Full and delta import of users and groups.

Full: ``/users`` and ``/groups`` with ``$select`` of the configured attributes and ``$top`` up to 999, following
``@odata.nextLink``; managers come with ``$expand=manager($select=id)`` (Graph then pages by 100) and members from
``/groups/{id}/members``, twenty groups per ``$batch``. Before listing, a ``$deltatoken=latest`` link is taken for
each object type: it becomes the watermark, so changes made while the listing ran are replayed by the next delta
import (harmlessly) rather than lost.

Delta: the stored links are followed page by page. Each page commits with the link to the next page as the
watermark, so an import killed half-way resumes where it stopped. ``@removed`` entries are deletes. A group's
``members@delta`` becomes a :class:`ValueDelta` of the members added and removed, so a changed group of 50,000
costs its change, not another read of its members; Graph repeats a group whose change is large over several
entries, which are merged per page. A link Graph no longer honours (410 Gone, ``syncStateNotFound``, an expired
page token) or one taken with other attributes raises ``WatermarkExpired``, and the engine runs a full import
instead.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from idsync.connectors.base import ConnectorError, ImportPage, ImportRecord, ValueDelta, WatermarkExpired
from idsync.connectors.graph.client import JSON, BatchItem, GraphClient
from idsync.connectors.graph.config import GraphConfig
from idsync.connectors.graph.errors import GraphRequestError
from idsync.connectors.graph.lookup import query_url
from idsync.connectors.graph.values import LINKS, manager_of, record, select_for

WATERMARK_VERSION = 1
EXPIRED_CODES = frozenset({"syncStateNotFound", "resyncRequired", "Directory_ExpiredPageToken", "syncStateInvalid"})


class GraphImporter:
    def __init__(self, client: GraphClient, config: GraphConfig, pool: ThreadPoolExecutor) -> None:
        self.client = client
        self.config = config
        self.pool = pool

    # watermark ----------------------------------------------------------------------------------------------------
    def fingerprint(self) -> str:
        """What a delta link was taken for: endpoint, version and attributes. A change invalidates the links."""
        basis = [self.config.graph, self.config.api_version]
        basis += [f"{k}:{','.join(self.delta_select(k))}" for k in self.config.kinds]
        return hashlib.sha256("|".join(basis).encode()).hexdigest()[:16]

    def encode(self, links: dict[str, str]) -> str:
        return json.dumps({"v": WATERMARK_VERSION, "for": self.fingerprint(), "links": links}, sort_keys=True)

    def decode(self, watermark: str) -> dict[str, str]:
        try:
            data = json.loads(watermark)
            links = data["links"]
            version, basis = data["v"], data["for"]
        except (ValueError, KeyError, TypeError):
            raise WatermarkExpired("the stored delta watermark is not one this connector wrote") from None
        if version != WATERMARK_VERSION or basis != self.fingerprint():
            raise WatermarkExpired("the endpoint or the imported attributes changed since the last import")
        missing = [k for k in self.config.kinds if k not in links]
        if missing:
            raise WatermarkExpired(f"no delta link yet for {', '.join(missing)}")
        return {str(k): str(v) for k, v in links.items()}

    def delta_select(self, kind: str) -> list[str]:
        names = select_for(self.config, kind)
        link = LINKS[kind]
        if link in self.config.attributes(kind):
            names.append(link)
        return names

    # full ---------------------------------------------------------------------------------------------------------
    def full(self) -> Iterator[ImportPage]:
        links = {kind: self._latest(kind) for kind in self.config.kinds}
        for kind in self.config.kinds:
            yield from self._list(kind)
        yield ImportPage([], watermark=self.encode(links))

    def _latest(self, kind: str) -> str:
        body = self.client.get_json(
            f"/{kind}s/delta",
            params={"$deltatoken": "latest", "$select": ",".join(self.delta_select(kind))},
            what=f"starting change tracking of {kind}s",
        )
        link = body.get("@odata.deltaLink")
        if not isinstance(link, str):
            raise ConnectorError(f"Graph gave no deltaLink for {kind}s with $deltatoken=latest")
        return link

    def _list(self, kind: str) -> Iterator[ImportPage]:
        attributes = self.config.attributes(kind)
        params = {"$select": ",".join(select_for(self.config, kind)), "$top": str(self.config.page_size)}
        wants_manager = kind == "user" and "manager" in attributes
        if wants_manager:
            params["$expand"] = "manager($select=id)"
        for body in self.client.pages(f"/{kind}s", params=params, what=f"reading {kind}s"):
            objects = [o for o in body.get("value") or [] if isinstance(o, dict) and o.get("id")]
            members: dict[str, list[str]] = {}
            if kind == "group" and "members" in attributes:
                members = self.members([str(o["id"]) for o in objects])
            records = []
            for obj in objects:
                links: dict[str, Any] = {}
                if wants_manager:
                    links["manager"] = manager_of(obj)
                if kind == "group" and "members" in attributes:
                    links["members"] = members.get(str(obj["id"]), [])
                records.append(record(kind, obj, attributes, links=links))
            yield ImportPage(records)

    def members(self, group_ids: Sequence[str]) -> dict[str, list[str]]:
        """Member ids of each group (users and groups only: the object types this connector has)."""
        size = self.config.batch_size
        chunks = [list(group_ids[i : i + size]) for i in range(0, len(group_ids), size)]
        out: dict[str, list[str]] = {}
        for part in self.pool.map(self._members_chunk, chunks):
            out.update(part)
        return out

    def _members_chunk(self, group_ids: list[str]) -> dict[str, list[str]]:
        params = {"$select": "id", "$top": "999"}
        items = [
            BatchItem(str(n + 1), "GET", query_url(f"/groups/{gid}/members", params)) for n, gid in enumerate(group_ids)
        ]
        answers = self.client.read_batch(items, what="reading group members")
        out: dict[str, list[str]] = {}
        for item, gid in zip(items, group_ids, strict=True):
            answer = answers.get(item.id)
            if answer is None or not answer.ok:
                detail = answer.failure().describe() if answer is not None else "no answer"
                raise ConnectorError(f"reading the members of group {gid}: {detail}")
            body: JSON = answer.body if isinstance(answer.body, dict) else {}
            ids = self._member_ids(body.get("value") or [])
            link = body.get("@odata.nextLink")
            if isinstance(link, str):
                for page in self.client.pages(link, what=f"reading the members of group {gid}"):
                    ids += self._member_ids(page.get("value") or [])
            out[gid] = ids
        return out

    def _member_ids(self, values: list[Any]) -> list[str]:
        kinds = {f"#microsoft.graph.{k}" for k in self.config.kinds}
        return [str(v["id"]) for v in values if isinstance(v, dict) and v.get("@odata.type", "") in kinds]

    # delta --------------------------------------------------------------------------------------------------------
    def delta(self, watermark: str) -> Iterator[ImportPage]:
        links = self.decode(watermark)
        for kind in self.config.kinds:
            link = links[kind]
            while True:
                body = self._delta_page(link, kind)
                records = self._delta_records(kind, body.get("value") or [])
                following = body.get("@odata.nextLink") or body.get("@odata.deltaLink")
                if not isinstance(following, str):
                    raise ConnectorError(f"a delta page of {kind}s has neither a nextLink nor a deltaLink")
                links[kind] = following
                yield ImportPage(records, watermark=self.encode(links))
                if "@odata.deltaLink" in body:
                    break
                link = following

    def _delta_page(self, link: str, kind: str) -> JSON:
        try:
            return self.client.get_json(link, what=f"reading changes of {kind}s")
        except GraphRequestError as exc:
            f = exc.failure
            if f.status == 410 or f.code in EXPIRED_CODES:
                raise WatermarkExpired(f"Graph no longer accepts the {kind}s delta link ({f.describe()})") from None
            raise

    def _delta_records(self, kind: str, values: list[Any]) -> list[ImportRecord]:
        attributes = self.config.attributes(kind)
        wants_members = kind == "group" and "members" in attributes
        out: dict[str, ImportRecord] = {}
        for obj in values:
            if not isinstance(obj, dict) or not obj.get("id"):
                continue
            object_id = str(obj["id"])
            if "@removed" in obj:
                out.pop(object_id, None)
                out[object_id] = ImportRecord(anchor=object_id, identifier=object_id, object_type=kind, delete=True)
                continue
            links: dict[str, Any] = {}
            if kind == "user" and "manager" in attributes and "manager@delta" in obj:
                links["manager"] = _manager_from_delta(obj["manager@delta"])
            if wants_members and "members@delta" in obj:
                links["members"] = self._members_delta(obj["members@delta"])
            fresh = record(kind, obj, attributes, links=links, partial=True)
            earlier = out.pop(object_id, None)
            out[object_id] = fresh if earlier is None or earlier.delete else _merged(earlier, fresh)
        return list(out.values())

    def _members_delta(self, entries: Any) -> ValueDelta:
        """Members added and removed. Only users and groups are added (devices and service principals are not this
        connector's objects); a removal is applied whatever its type, as removing what is not there is harmless."""
        kinds = {f"#microsoft.graph.{k}" for k in self.config.kinds}
        added: list[str] = []
        removed: list[str] = []
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or not entry.get("id"):
                continue
            if "@removed" in entry:
                removed.append(str(entry["id"]))
            elif entry.get("@odata.type", "") in kinds:
                added.append(str(entry["id"]))
        return ValueDelta(tuple(added), tuple(removed))


def _merged(earlier: ImportRecord, later: ImportRecord) -> ImportRecord:
    """One record for an object Graph listed twice in a page (a group whose member changes were split)."""
    attributes = {**earlier.attributes, **later.attributes}
    for name, value in later.attributes.items():
        before = earlier.attributes.get(name)
        if isinstance(value, ValueDelta) and isinstance(before, ValueDelta):
            attributes[name] = _then(before, value)
    return ImportRecord(later.anchor, later.identifier, later.object_type, attributes, partial=True)


def _then(first: ValueDelta, second: ValueDelta) -> ValueDelta:
    """``first`` followed by ``second`` as one value change (which is applied as: add, then remove)."""
    remove = dict.fromkeys([*second.remove, *(v for v in first.remove if v not in second.add)])
    add = dict.fromkeys(v for v in (*first.add, *second.add) if v not in remove)
    return ValueDelta(tuple(add), tuple(remove))


def _manager_from_delta(entries: Any) -> str | None:
    """``manager@delta`` holds the new manager, or the old one marked ``@removed``."""
    current = None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("id"):
            current = None if "@removed" in entry else str(entry["id"])
    return current
