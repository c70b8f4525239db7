"""Request routing and the Graph v1.0 operations on users, groups, memberships, managers, deleted items,
applications and the organization - independent of any transport, so the ASGI app, the in-process httpx
transports and ``$batch`` all run the same code.

Paging ("Paging Microsoft Graph data in your app"): ``/users`` and ``/groups`` return 100 objects by default and
up to ``$top`` (1-999); ``@odata.nextLink`` carries an opaque ``$skiptoken`` and the query's other options;
``@odata.count`` comes only on the first page and only with ``ConsistencyLevel: eventual``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from idsync.testing.graph_emulator import errors, odata, schema
from idsync.testing.graph_emulator.directory import DirObject, object_id_from_url
from idsync.testing.graph_emulator.errors import EmuResponse, GraphError, error_body
from idsync.testing.graph_emulator.odata import Predicate

if TYPE_CHECKING:
    from idsync.testing.graph_emulator.auth import AppRegistration
    from idsync.testing.graph_emulator.tenant import GraphTenant

VERSIONS = ("v1.0", "beta")
DEFAULT_PAGE = 100
# "$expand on directory objects returns a maximum of 100 objects" (Graph known issue 13635): a page with $expand
# holds at most 100 objects whatever $top says.
MAX_EXPANDED_PAGE = 100
_EXPAND_MANAGER = re.compile(r"^manager(?:\(\$select=(?P<select>[A-Za-z0-9_,\s]+)\))?$")
JSON_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
_ID = r"(?P<key>[^/]+)"


@dataclass
class EmuRequest:
    method: str
    path: str  # from the root, e.g. "/v1.0/users/{id}"
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    base: str  # scheme://host[:port]

    def json(self) -> Any:
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except ValueError:
            raise errors.bad_request(
                "Unable to read JSON request payload. Please ensure Content-Type header is set "
                "and payload is of valid JSON format.",
                code="BadRequest",
            ) from None


@dataclass
class _Call:
    request: EmuRequest
    app: AppRegistration
    version: str
    rel: str  # path relative to the version root, no leading slash
    params: dict[str, str]

    @property
    def root(self) -> str:
        return f"{self.request.base}/{self.version}"


@dataclass
class _ListState:
    kind: str
    options: odata.QueryOptions
    after_seq: int
    source: str  # "collection", "members", "deleted", "memberOf", "directReports"
    owner: str | None
    expand_manager: tuple[str, ...] | None = None  # $expand=manager($select=...) on users
    cast: bool = False  # an OData cast segment (/members/microsoft.graph.user): only objects of ``kind``


Handler = Callable[["GraphService", _Call], EmuResponse]


def split_url(url: str) -> tuple[str, dict[str, str]]:
    """Path (percent-decoded, as a server decodes a request line) and query of a relative URL."""
    parts = urlsplit(url)
    return unquote(parts.path), dict(parse_qsl(parts.query, keep_blank_values=True))


class GraphService:
    def __init__(self, tenant: GraphTenant) -> None:
        self.tenant = tenant
        self._pages: OrderedDict[str, _ListState] = OrderedDict()

    # ---- entry points -----------------------------------------------------------------------------------------------

    def handle(
        self, request: EmuRequest, *, batch_item: bool = False, app: AppRegistration | None = None
    ) -> EmuResponse:
        request_id = str(uuid.uuid4())
        client_request_id = request.headers.get("client-request-id", request_id)
        try:
            response = self._dispatch(request, batch_item=batch_item, app=app)
        except GraphError as exc:
            response = EmuResponse(
                exc.status,
                error_body(
                    exc,
                    date=self.tenant.clock.iso_now().rstrip("Z"),
                    request_id=request_id,
                    client_request_id=client_request_id,
                ),
                dict(exc.headers),
            )
            response.headers.setdefault("Content-Type", "application/json")
        if response.body is not None and not isinstance(response.body, str):
            response.headers.setdefault("Content-Type", JSON_TYPE)
        response.headers["request-id"] = request_id
        response.headers["client-request-id"] = client_request_id
        return response

    def _dispatch(self, request: EmuRequest, *, batch_item: bool, app: AppRegistration | None) -> EmuResponse:
        segments = request.path.lstrip("/").split("/", 1)
        version = segments[0]
        if version not in VERSIONS:
            raise GraphError(400, "BadRequest", f"Invalid version: {version}")
        rel = segments[1] if len(segments) > 1 else ""
        rel = rel.rstrip("/")
        with self.tenant.lock:
            if app is None:
                app = self.tenant.authority.authenticate(request.headers.get("authorization"))
            if rel == "$batch" and not batch_item:
                from idsync.testing.graph_emulator.batch import run_batch

                return run_batch(self, request, app, version)
            handler, params = self._route(request.method, rel)
            call = _Call(request, app, version, rel, params)
            if batch_item and self.tenant.faults.config.in_batch:
                injected = self.tenant.faults.server_error()
                if injected is not None:
                    raise injected
            admitted = self.tenant.throttle.admit(
                app.client_id, request.method, rel, request.query, self.tenant.directory.count("user")
            )
            response = handler(self, call)
            response.headers.update(admitted)
            return response

    def _route(self, method: str, rel: str) -> tuple[Handler, dict[str, str]]:
        allowed = False
        for verb, pattern, handler in _ROUTES:
            match = pattern.fullmatch(rel)
            if match is None:
                continue
            if verb == method:
                return handler, {k: v for k, v in match.groupdict().items() if v is not None}
            allowed = True
        if allowed:
            raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
        first = rel.split("/", 1)[0] or rel
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{first}'.")

    # ---- rendering --------------------------------------------------------------------------------------------------

    def known(self, kind: str) -> Callable[[str], bool]:
        specs = schema.properties_for(kind)

        def check(name: str) -> bool:
            if name in specs:
                return True
            ext = self.tenant.extension(name)
            return ext is not None and ext.applies_to(kind)

        return check

    def render(self, obj: DirObject, select: Iterable[str] | None, *, typed: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if typed:
            out["@odata.type"] = f"#microsoft.graph.{obj.kind}"
        names = schema.default_select(obj.kind) if select is None else select
        specs = schema.properties_for(obj.kind)
        for name in names:
            if name in ("manager", "members"):
                continue
            value = obj.props.get(name)
            spec = specs.get(name)
            if value is None and spec is not None and spec.collection:
                value = []
            out[name] = value
        out["id"] = obj.id
        return out

    def _options(self, call: _Call, kind: str, *, expandable: bool = False) -> odata.QueryOptions:
        query = call.request.query
        for unsupported in ("$orderby", "$search", "$expand", "$skip"):
            if unsupported == "$expand" and expandable and kind == "user":
                continue
            if unsupported in query:
                raise errors.unsupported_query(f"The query parameter '{unsupported}' is not supported by the emulator.")
        return odata.parse_options(query, call.request.headers, known=self.known(kind), entity=kind)

    def _expand_manager(self, call: _Call) -> tuple[str, ...] | None:
        """``$expand=manager`` or ``manager($select=...)`` on users: the only expansion the emulator serves."""
        raw = call.request.query.get("$expand")
        if raw is None:
            return None
        match = _EXPAND_MANAGER.fullmatch(raw.strip())
        if match is None:
            raise errors.unsupported_query(
                f"The query parameter '$expand={raw}' is not supported by the emulator (only manager on users)."
            )
        if match.group("select") is None:
            return schema.default_select("user")
        known = self.known("user")
        return odata.parse_select(match.group("select"), known, "user") or ("id",)

    def _render_with_manager(
        self, obj: DirObject, select: Iterable[str] | None, manager: tuple[str, ...] | None
    ) -> dict[str, Any]:
        out = self.render(obj, select)
        if manager is not None and obj.manager is not None:
            boss = self.tenant.directory.objects.get(obj.manager)
            if boss is not None and not boss.deleted:
                out["manager"] = self.render(boss, manager, typed=True)
        return out

    def _list(self, call: _Call, state: _ListState, objects: Callable[[], Iterable[DirObject]]) -> EmuResponse:
        options = state.options
        top = options.top or DEFAULT_PAGE
        if state.expand_manager is not None:
            top = min(top, MAX_EXPANDED_PAGE)
        predicate: Predicate | None = options.filter
        matched = [o for o in objects() if predicate is None or predicate(o.props)]
        page = [o for o in matched if o.seq > state.after_seq][: top + 1]
        more = len(page) > top
        page = page[:top]
        typed = state.source != "collection"
        body: dict[str, Any] = {"@odata.context": f"{call.root}/$metadata#{self._context_name(state)}"}
        if options.count and state.after_seq == 0:
            body["@odata.count"] = len(matched)
        if more:
            token = secrets.token_urlsafe(24)
            self._pages[token] = dataclasses.replace(state, after_seq=page[-1].seq)
            while len(self._pages) > 100_000:
                self._pages.popitem(last=False)
            # the request's own options, then the token (the token alone decides what the next page holds)
            carried = {k: v for k, v in call.request.query.items() if k != "$skiptoken"}
            query = urlencode({**carried, "$skiptoken": token}, safe="$(),'", quote_via=quote)
            body["@odata.nextLink"] = f"{call.root}/{call.rel}?{query}"
        if state.expand_manager is not None:
            body["value"] = [self._render_with_manager(o, options.select, state.expand_manager) for o in page]
        else:
            body["value"] = [self.render(o, options.select, typed=typed) for o in page]
        return EmuResponse(200, body)

    @staticmethod
    def _context_name(state: _ListState) -> str:
        if state.source == "collection":
            return "users" if state.kind == "user" else "groups"
        if state.source == "deleted":
            return "directory/deletedItems"
        return "directoryObjects"

    def _resume(self, call: _Call) -> _ListState | None:
        token = call.request.query.get("$skiptoken")
        if token is None:
            return None
        state = self._pages.get(token)
        if state is None:
            raise errors.bad_request(
                "The specified page token value has expired and can no longer be included in your request.",
                code="Directory_ExpiredPageToken",
            )
        return state

    # ---- users and groups -------------------------------------------------------------------------------------------

    def list_collection(self, call: _Call, kind: str) -> EmuResponse:
        state = self._resume(call) or _ListState(
            kind, self._options(call, kind, expandable=True), 0, "collection", None, self._expand_manager(call)
        )
        return self._list(call, state, lambda: self.tenant.directory.live(kind))

    def count(self, call: _Call, kind: str) -> EmuResponse:
        return self._count(call, kind, self.tenant.directory.live(kind))

    def _count(self, call: _Call, kind: str, objects: Iterable[DirObject]) -> EmuResponse:
        """A ``/$count`` segment: an advanced query, so only with ``ConsistencyLevel: eventual``."""
        if call.request.headers.get("consistencylevel", "").lower() != "eventual":
            raise errors.bad_request("$count is not currently supported.")
        options = odata.parse_options(
            {**call.request.query, "$count": "true"}, call.request.headers, known=self.known(kind), entity=kind
        )
        total = sum(1 for o in objects if options.filter is None or options.filter(o.props))
        return EmuResponse(200, str(total), {"Content-Type": "text/plain;charset=utf-8"})

    def get_one(self, call: _Call, kind: str) -> EmuResponse:
        obj = self.tenant.directory.get(kind, call.params["key"])
        options = self._options(call, kind, expandable=True)
        rendered = self._render_with_manager(
            obj, options.select, self._expand_manager(call) if kind == "user" else None
        )
        body = {"@odata.context": f"{call.root}/$metadata#{kind}s/$entity", **rendered}
        return EmuResponse(200, body)

    def create(self, call: _Call, kind: str) -> EmuResponse:
        payload = call.request.json()
        if not isinstance(payload, dict):
            raise errors.bad_request("The request body must be a JSON object.", code="BadRequest")
        obj = self.tenant.directory.create(kind, payload)
        body = {"@odata.context": f"{call.root}/$metadata#{kind}s/$entity", **self.render(obj, None)}
        if kind == "group":
            body.update({k: obj.props.get(k) for k in ("mail", "proxyAddresses")})
        return EmuResponse(
            201,
            body,
            {"Location": f"{call.root}/directoryObjects/{obj.id}/Microsoft.DirectoryServices.{kind.capitalize()}"},
        )

    def update(self, call: _Call, kind: str) -> EmuResponse:
        payload = call.request.json()
        if not isinstance(payload, dict):
            raise errors.bad_request("The request body must be a JSON object.", code="BadRequest")
        self.tenant.directory.update(kind, call.params["key"], payload)
        return EmuResponse(204)

    def delete(self, call: _Call, kind: str) -> EmuResponse:
        self.tenant.directory.delete(kind, call.params["key"])
        return EmuResponse(204)

    def delta(self, call: _Call, kind: str) -> EmuResponse:
        query = call.request.query
        select = None
        # Options belong to the initial request; "$deltatoken=latest" is one (sync from now, same tracked set).
        initial = "$skiptoken" not in query and query.get("$deltatoken", "latest").lower() == "latest"
        if "$select" in query and initial:
            known = self.known(kind)
            nav = schema.USER_NAVIGATION if kind == "user" else schema.GROUP_NAVIGATION
            select = odata.parse_select(query["$select"], lambda n: known(n) or n in nav, kind)
        minimal = "return=minimal" in call.request.headers.get("prefer", "").replace(" ", "").lower()
        body, headers = self.tenant.delta.handle(kind, query, base=call.root, minimal=minimal, select=select)
        return EmuResponse(200, body, headers)

    # ---- links --------------------------------------------------------------------------------------------------

    def list_members(self, call: _Call) -> EmuResponse:
        group = self.tenant.directory.get("group", call.params["key"])
        cast = "cast" in call.params
        kind = _cast_kind(call) if cast else "user"
        state = self._resume(call) or _ListState(kind, self._options(call, kind), 0, "members", group.id, cast=cast)
        return self._list(call, state, lambda: self._members(state.owner or "", state.kind if state.cast else None))

    def count_members(self, call: _Call) -> EmuResponse:
        group = self.tenant.directory.get("group", call.params["key"])
        cast = _cast_kind(call) if "cast" in call.params else None
        return self._count(call, cast or "user", self._members(group.id, cast))

    def _members(self, group_id: str, kind: str | None) -> list[DirObject]:
        """A group's members in the order they were made, only those of ``kind`` when a cast names one."""
        directory = self.tenant.directory
        found = (directory.objects[m] for m in directory.get("group", group_id).members)
        return sorted((o for o in found if kind is None or o.kind == kind), key=lambda o: o.seq)

    def add_member_ref(self, call: _Call) -> EmuResponse:
        member_id = object_id_from_url(_odata_id(call.request.json()))
        group = self.tenant.directory.get("group", call.params["key"])
        self.tenant.directory.add_member(group.id, member_id)
        return EmuResponse(204)

    def remove_member_ref(self, call: _Call) -> EmuResponse:
        self.tenant.directory.remove_member(call.params["key"], call.params["member"])
        return EmuResponse(204)

    def get_manager(self, call: _Call) -> EmuResponse:
        user = self.tenant.directory.get("user", call.params["key"])
        if user.manager is None:
            raise errors.not_found("manager")
        manager = self.tenant.directory.get("user", user.manager)
        return EmuResponse(
            200,
            {
                "@odata.context": f"{call.root}/$metadata#directoryObjects/$entity",
                **self.render(manager, None, typed=True),
            },
        )

    def put_manager_ref(self, call: _Call) -> EmuResponse:
        manager_id = object_id_from_url(_odata_id(call.request.json()))
        self.tenant.directory.set_manager(call.params["key"], manager_id)
        return EmuResponse(204)

    def delete_manager_ref(self, call: _Call) -> EmuResponse:
        self.tenant.directory.remove_manager(call.params["key"])
        return EmuResponse(204)

    def direct_reports(self, call: _Call) -> EmuResponse:
        user = self.tenant.directory.get("user", call.params["key"])
        kind = _cast_kind(call) if "cast" in call.params else "user"
        state = self._resume(call) or _ListState(kind, self._options(call, kind), 0, "directReports", user.id)
        reports = self.tenant.directory.direct_reports
        return self._list(call, state, lambda: [o for o in reports(state.owner or "") if o.kind == state.kind])

    def member_of(self, call: _Call) -> EmuResponse:
        obj = self.tenant.directory.get(None, call.params["key"])
        kind = _cast_kind(call) if "cast" in call.params else "group"
        state = self._resume(call) or _ListState(kind, self._options(call, kind), 0, "memberOf", obj.id)
        groups = self.tenant.directory.member_of
        return self._list(call, state, lambda: [o for o in groups(state.owner or "") if o.kind == state.kind])

    # ---- deleted items ------------------------------------------------------------------------------------------

    def list_deleted(self, call: _Call) -> EmuResponse:
        kind = _cast_kind(call)
        state = self._resume(call) or _ListState(kind, self._options(call, kind), 0, "deleted", None)
        return self._list(call, state, lambda: self.tenant.directory.deleted_items(state.kind))

    def get_deleted(self, call: _Call) -> EmuResponse:
        obj = self.tenant.directory.get_deleted(call.params["key"])
        if "cast" in call.params and _cast_kind(call) != obj.kind:
            raise errors.not_found(obj.id)
        select = [*schema.default_select(obj.kind), "deletedDateTime"]
        return EmuResponse(
            200,
            {
                "@odata.context": f"{call.root}/$metadata#directoryObjects/$entity",
                **self.render(obj, select, typed=True),
            },
        )

    def restore(self, call: _Call) -> EmuResponse:
        obj = self.tenant.directory.restore(call.params["key"])
        return EmuResponse(
            200,
            {"@odata.context": f"{call.root}/$metadata#directoryObjects/$entity", **self.render(obj, None, typed=True)},
        )

    def purge(self, call: _Call) -> EmuResponse:
        self.tenant.directory.purge(call.params["key"])
        return EmuResponse(204)

    # ---- applications, organization -----------------------------------------------------------------------------

    def list_applications(self, call: _Call) -> EmuResponse:
        apps = [self._render_app(app) for app in self.tenant.authority.apps.values()]
        text = call.request.query.get("$filter")
        if text:
            predicate = odata.FilterParser(text, known=lambda n: n in schema.APPLICATION, entity="application").parse()
            apps = [a for a in apps if predicate.predicate(a)]
        return EmuResponse(200, {"@odata.context": f"{call.root}/$metadata#applications", "value": apps})

    def _app(self, key: str) -> AppRegistration:
        for app in self.tenant.authority.apps.values():
            if key in (app.object_id, app.client_id):
                return app
        raise errors.not_found(key)

    @staticmethod
    def _render_app(app: AppRegistration) -> dict[str, Any]:
        return {"id": app.object_id, "appId": app.client_id, "displayName": app.display_name}

    def get_application(self, call: _Call) -> EmuResponse:
        return EmuResponse(200, self._render_app(self._app(call.params["key"])))

    def list_extension_properties(self, call: _Call) -> EmuResponse:
        app = self._app(call.params["key"])
        return EmuResponse(200, {"value": [_render_extension(app, name) for name in app.extensions]})

    def add_extension_property(self, call: _Call) -> EmuResponse:
        app = self._app(call.params["key"])
        payload = call.request.json()
        name = payload.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9]+", name):
            raise errors.invalid_value("name", "extensionProperty")
        targets = payload.get("targetObjects") or []
        data_type = payload.get("dataType")
        full = self.tenant.register_extension(
            app,
            name,
            data_type=str(data_type),
            target_objects=tuple(targets),
            multi_valued=bool(payload.get("isMultiValued", False)),
        )
        return EmuResponse(201, _render_extension(app, full))

    def organization(self, call: _Call) -> EmuResponse:
        tenant = self.tenant
        domains = [
            {
                "name": d,
                "isDefault": i == 0,
                "isInitial": d.endswith(".onmicrosoft.com"),
                "type": tenant.authentication_type(d),
                "capabilities": "Email, OfficeCommunicationsOnline",
            }
            for i, d in enumerate(tenant.domains)
        ]
        org = {"id": tenant.tenant_id, "displayName": tenant.name, "verifiedDomains": domains}
        return EmuResponse(200, {"@odata.context": f"{call.root}/$metadata#organization", "value": [org]})

    def invite(self, call: _Call) -> EmuResponse:
        from idsync.testing.graph_emulator.invitations import invite

        return EmuResponse(201, invite(self.tenant, call.request.json(), call.root))

    def list_domains(self, call: _Call) -> EmuResponse:
        value = [
            {
                "id": d,
                "isVerified": True,
                "isDefault": i == 0,
                "authenticationType": self.tenant.authentication_type(d),
            }
            for i, d in enumerate(self.tenant.domains)
        ]
        return EmuResponse(200, {"@odata.context": f"{call.root}/$metadata#domains", "value": value})


def _cast_kind(call: _Call) -> str:
    """The entity type an OData cast segment names: ``microsoft.graph.user``, or ``graph.user`` with the alias
    Graph's CSDL declares for its namespace (the SDKs' spelling)."""
    segment = call.params["cast"]
    kind = segment.rsplit(".", 1)[-1].lower()
    if kind not in ("user", "group"):
        raise errors.bad_request(f"Resource not found for the segment '{segment}'.", code="BadRequest")
    return kind


def _odata_id(payload: Any) -> Any:
    if not isinstance(payload, Mapping) or "@odata.id" not in payload:
        raise errors.bad_request("A value is required for property '@odata.id' of resource 'DirectoryObject'.")
    return payload["@odata.id"]


def _render_extension(app: AppRegistration, full_name: str) -> dict[str, Any]:
    ext = app.extensions[full_name]
    return {
        "id": ext.id,
        "name": full_name,
        "appDisplayName": ext.app_display_name,
        "dataType": ext.data_type,
        "isMultiValued": ext.multi_valued,
        "isSyncedFromOnPremises": False,
        "targetObjects": list(ext.target_objects),
    }


def _kinded(method: Callable[[GraphService, _Call, str], EmuResponse], kind: str) -> Handler:
    return lambda service, call: method(service, call, kind)


_DELTA = r"(?:delta|delta\(\)|microsoft\.graph\.delta\(\)|microsoft\.graph\.delta)"
# A type cast, with the namespace or its alias ("Namespace="microsoft.graph" Alias="graph"" in the CSDL).
_CAST = r"(?P<cast>(?:microsoft\.)?graph\.\w+)"

_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


def _add(method: str, pattern: str, handler: Handler) -> None:
    _ROUTES.append((method, re.compile(pattern), handler))


for _kind, _collection in (("user", "users"), ("group", "groups")):
    _add("GET", rf"{_collection}/{_DELTA}", _kinded(GraphService.delta, _kind))
    _add("GET", rf"{_collection}/\$count", _kinded(GraphService.count, _kind))
    _add("GET", _collection, _kinded(GraphService.list_collection, _kind))
    _add("POST", _collection, _kinded(GraphService.create, _kind))
    _add("GET", rf"{_collection}/{_ID}", _kinded(GraphService.get_one, _kind))
    _add("PATCH", rf"{_collection}/{_ID}", _kinded(GraphService.update, _kind))
    _add("DELETE", rf"{_collection}/{_ID}", _kinded(GraphService.delete, _kind))
    _add("GET", rf"{_collection}/{_ID}/memberOf", GraphService.member_of)
    _add("GET", rf"{_collection}/{_ID}/memberOf/{_CAST}", GraphService.member_of)

_add("GET", rf"groups/{_ID}/members", GraphService.list_members)
_add("GET", rf"groups/{_ID}/members/{_CAST}", GraphService.list_members)
_add("GET", rf"groups/{_ID}/members(?:/{_CAST})?/\$count", GraphService.count_members)
_add("POST", rf"groups/{_ID}/members/\$ref", GraphService.add_member_ref)
_add("DELETE", rf"groups/{_ID}/members/(?P<member>[^/]+)/\$ref", GraphService.remove_member_ref)
_add("GET", rf"users/{_ID}/manager", GraphService.get_manager)
_add("PUT", rf"users/{_ID}/manager/\$ref", GraphService.put_manager_ref)
_add("DELETE", rf"users/{_ID}/manager/\$ref", GraphService.delete_manager_ref)
_add("GET", rf"users/{_ID}/directReports", GraphService.direct_reports)
_add("GET", rf"users/{_ID}/directReports/{_CAST}", GraphService.direct_reports)
_add("GET", rf"directory/deletedItems/{_CAST}", GraphService.list_deleted)
_add("GET", rf"directory/deletedItems/{_ID}", GraphService.get_deleted)
_add("GET", rf"directory/deletedItems/{_ID}/{_CAST}", GraphService.get_deleted)
_add("POST", rf"directory/deletedItems/{_ID}/(?:(?:microsoft\.)?graph\.)?restore", GraphService.restore)
_add("DELETE", rf"directory/deletedItems/{_ID}", GraphService.purge)
_add("GET", r"applications", GraphService.list_applications)
_add("GET", rf"applications/{_ID}", GraphService.get_application)
_add("GET", rf"applications/{_ID}/extensionProperties", GraphService.list_extension_properties)
_add("POST", rf"applications/{_ID}/extensionProperties", GraphService.add_extension_property)
_add("GET", r"organization", GraphService.organization)
_add("GET", r"domains", GraphService.list_domains)
_add("POST", r"invitations", GraphService.invite)
