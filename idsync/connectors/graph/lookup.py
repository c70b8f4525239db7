"""Finding objects by their unique keys: how an add whose fate is unknown is settled without creating it twice.

A user is looked up by userPrincipalName, onPremisesImmutableId and mailNickname, a group by mailNickname. What
is found must also agree with every other single value the add carried (display name, employee id, ...): an
object that merely shares a name with the one idsync wanted is somebody else's, and an existing cloud object is
never taken over without a join rule. Several objects that agree are an error, never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from idsync.connectors.base import ConnectorError
from idsync.connectors.graph import odata
from idsync.connectors.graph.client import BatchItem, GraphClient
from idsync.connectors.graph.config import GraphConfig
from idsync.connectors.graph.properties import EXTENSION_ATTRIBUTES, EXTENSION_ATTRIBUTES_PROPERTY, properties_for
from idsync.connectors.graph.values import identifier_attribute, select_for
from idsync.model.attributes import parse_datetime

UNIQUE_KEYS = {
    "user": ("userPrincipalName", "onPremisesImmutableId", "mailNickname"),
    "group": ("mailNickname",),
}
COLLECTION = {"user": "users", "group": "groups"}


def query_url(path: str, params: Mapping[str, str]) -> str:
    """A relative URL for a ``$batch`` request, values percent-encoded (``$`` option names left as they are)."""
    return path + "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())


@dataclass(frozen=True)
class Wanted:
    """An object to find: its kind, identifier and the single values it was (or is about to be) created with."""

    kind: str
    identifier: str | None
    keys: Mapping[str, Any]


class Finder:
    def __init__(self, client: GraphClient, config: GraphConfig) -> None:
        self.client = client
        self.config = config

    def filter_for(self, wanted: Wanted) -> str | None:
        clauses: list[str] = []
        seen: set[str] = set()
        identifier_key = identifier_attribute(wanted.kind)
        for name in UNIQUE_KEYS[wanted.kind]:
            value = wanted.keys.get(name)
            if value is None and name == identifier_key and wanted.identifier and not _is_guid(wanted.identifier):
                value = wanted.identifier
            if isinstance(value, str) and value and name not in seen:
                clauses.append(odata.eq(name, value))
                seen.add(name)
        return " or ".join(clauses) or None

    def request(self, wanted: Wanted, request_id: str) -> BatchItem | None:
        text = self.filter_for(wanted)
        if text is None:
            if wanted.identifier and _is_guid(wanted.identifier):
                path = f"/{COLLECTION[wanted.kind]}/{wanted.identifier}"
                return BatchItem(request_id, "GET", query_url(path, {"$select": self._select(wanted)}))
            return None
        params = {"$filter": text, "$select": self._select(wanted), "$top": "5"}
        return BatchItem(request_id, "GET", query_url(f"/{COLLECTION[wanted.kind]}", params))

    def _select(self, wanted: Wanted) -> str:
        names = dict.fromkeys(select_for(self.config, wanted.kind))
        for name in wanted.keys:
            if name in EXTENSION_ATTRIBUTES:
                names[EXTENSION_ATTRIBUTES_PROPERTY] = None
            elif _comparable_name(wanted.kind, name):
                names[name] = None
        return ",".join(names)

    def find_many(self, wanted: Sequence[Wanted]) -> list[dict[str, Any] | ConnectorError | None]:
        """Look several objects up with one ``$batch`` of reads per 20. An entry is the object, None (not there,
        or there but disagreeing with the values sent), or the error that keeps it from being known."""
        found: list[dict[str, Any] | ConnectorError | None] = [None] * len(wanted)
        items: list[tuple[int, BatchItem]] = []
        for index, one in enumerate(wanted):
            item = self.request(one, str(index + 1))
            if item is not None:
                items.append((index, item))
        answers = self.client.read_all([i for _, i in items], what="looking objects up", size=self.config.batch_size)
        for index, item in items:
            answer = answers.get(item.id)
            if answer is None or answer.status == 404:
                continue
            if not answer.ok:
                found[index] = ConnectorError(f"looking up {_describe(wanted[index])}: {answer.failure().describe()}")
                continue
            body = answer.body if isinstance(answer.body, dict) else {}
            candidates = body.get("value", [body])
            found[index] = self._choose(wanted[index], [c for c in candidates if isinstance(c, dict)])
        return found

    def find(self, wanted: Wanted) -> dict[str, Any] | None:
        """One object, or None. Raises :class:`ConnectorError` when it cannot be told (several match)."""
        found = self.find_many([wanted])[0]
        if isinstance(found, ConnectorError):
            raise found
        return found

    def _choose(self, wanted: Wanted, candidates: list[dict[str, Any]]) -> dict[str, Any] | ConnectorError | None:
        """The one candidate that carries every value sent. A key Graph does not keep unique (a user's
        mailNickname) can find somebody else too: among several that agree, the one named by the identifier wins;
        several still agreeing are an error, never a guess."""
        agreeing = [c for c in candidates if agrees(wanted.kind, c, wanted.keys)]
        if len(agreeing) > 1 and wanted.identifier:
            key = identifier_attribute(wanted.kind)
            named = [c for c in agreeing if _same(c.get(key), wanted.identifier)]
            agreeing = named or agreeing
        if len(agreeing) > 1:
            ids = ", ".join(str(c.get("id")) for c in agreeing)
            return ConnectorError(
                f"looking up {_describe(wanted)}: {len(agreeing)} Graph objects match ({ids}); "
                "resolve the duplicate in the tenant first"
            )
        return agreeing[0] if agreeing else None

    def read(self, kind: str, wanted: Sequence[tuple[str, Sequence[str]]]) -> list[dict[str, Any] | None]:
        """Objects by id, each with its own ``$select``, twenty per ``$batch``; None for one that cannot be read
        (gone, or the read failed: what is then sent on its behalf meets the same answer)."""
        items = []
        for n, (object_id, names) in enumerate(wanted):
            path = f"/{COLLECTION[kind]}/{quote(object_id, safe='')}"
            items.append(BatchItem(str(n + 1), "GET", query_url(path, {"$select": ",".join(["id", *names])})))
        answers = self.client.read_all(items, what=f"reading {kind}s", size=self.config.batch_size)
        out: list[dict[str, Any] | None] = []
        for item in items:
            answer = answers.get(item.id)
            body = answer.body if answer is not None and answer.ok else None
            out.append(body if isinstance(body, dict) else None)
        return out

    # soft-deleted users -----------------------------------------------------------------------------------------
    def deleted_users(self, values: Mapping[str, Sequence[str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """Soft-deleted users whose ``attribute`` equals one of the values: {(attribute, folded value): user}."""
        items: list[tuple[str, BatchItem]] = []
        select = ",".join(dict.fromkeys([*select_for(self.config, "user"), "deletedDateTime", *values]))
        for attribute, wanted in values.items():
            distinct = sorted(set(wanted))
            for start in range(0, len(distinct), 15):  # Graph's "in" takes up to 15 values
                params = {
                    "$filter": odata.one_of(attribute, distinct[start : start + 15]),
                    "$select": select,
                    "$top": "999",
                    "$count": "true",
                }
                url = query_url("/directory/deletedItems/microsoft.graph.user", params)
                headers = {"ConsistencyLevel": "eventual"}
                items.append((attribute, BatchItem(str(len(items) + 1), "GET", url, None, headers)))
        out: dict[tuple[str, str], dict[str, Any]] = {}
        what = "looking up deleted users"
        answers = self.client.read_all([i for _, i in items], what=what, size=self.config.batch_size)
        for attribute, item in items:
            answer = answers.get(item.id)
            if answer is None or not answer.ok:
                detail = answer.failure().describe() if answer is not None else "no answer"
                raise ConnectorError(f"looking up deleted users by {attribute}: {detail}")
            for user in (answer.body or {}).get("value") or []:
                value = user.get(attribute)
                if isinstance(value, str):
                    # the most recently deleted wins when a person left twice
                    key = (attribute, value.casefold())
                    if key not in out or str(user.get("deletedDateTime")) > str(out[key].get("deletedDateTime")):
                        out[key] = user
        return out


def _describe(wanted: Wanted) -> str:
    return f"{wanted.kind} {wanted.identifier or dict(wanted.keys)!r}"


def _is_guid(text: str) -> bool:
    parts = text.split("-")
    return len(parts) == 5 and [len(p) for p in parts] == [8, 4, 4, 4, 12]


def _comparable_name(kind: str, name: str) -> bool:
    spec = properties_for(kind).get(name)
    return (spec is not None and spec.is_primitive and not spec.collection) or name.startswith("extension_")


def agrees(kind: str, found: Mapping[str, Any], sent: Mapping[str, Any]) -> bool:
    """Does the object Graph holds carry every single value that was sent? (Case-insensitive text, exact others.)"""
    extensions = found.get(EXTENSION_ATTRIBUTES_PROPERTY) or {}
    for name, value in sent.items():
        if value is None or isinstance(value, list) or name in ("manager", "members"):
            continue
        if name in EXTENSION_ATTRIBUTES:
            if not _same(extensions.get(name), value):
                return False
            continue
        if not _comparable_name(kind, name) or name not in found:
            continue
        if not _same(found.get(name), value):
            return False
    return True


def _same(have: Any, want: Any) -> bool:
    if isinstance(have, str) and isinstance(want, str):
        if have.casefold() == want.casefold():
            return True
        try:
            return parse_datetime("", have) == parse_datetime("", want)
        except ValueError:
            return False
    if isinstance(have, bool) or isinstance(want, bool):
        return str(have).lower() == str(want).lower()
    return bool(have == want) or str(have) == str(want)
