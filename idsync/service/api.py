"""The REST API: JSON over HTTP, described by the OpenAPI document it serves at ``/api/openapi.json``.

Each endpoint is declared once in ``ENDPOINTS`` — method, path, parameters, handler — and both the routes and the
OpenAPI description are built from that table, so they cannot drift apart. Handlers are plain functions that run
in a worker thread with that thread's store connection; every store query they reach is parameterized.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from idsync import __version__
from idsync.config import ConfigError
from idsync.engine.disconnection import DisconnectRefused
from idsync.engine.joiner import JoinRefused
from idsync.engine.run_profiles import RunLocked
from idsync.model import StepKind
from idsync.service import readmodel as rm
from idsync.service.actions import disconnect_object, join_object, project_object, provision_object
from idsync.service.runtime import AlreadyRunning, Service, ServiceUnavailable
from idsync.store import CSFilter

MAX_BODY = 64 * 1024


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"status": status, "message": message}}, status_code=status, headers=headers)


@dataclass(frozen=True)
class Param:
    name: str
    type: str = "string"
    description: str = ""
    where: str = "query"
    required: bool = False
    slashes: bool = False
    """A path parameter that may contain "/" (an object reference: DNs can): it takes the rest of the path up to
    what the route's path names after it."""


class Query:
    """Typed access to query parameters; a malformed one is a 400 naming the parameter."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is not None and "\x00" in value:
            raise ApiError(400, f"{name}: contains a NUL character")
        return value if value not in (None, "") else None

    def integer(self, name: str, default: int | None = None, *, low: int = 0, high: int = 10**12) -> int | None:
        value = self.text(name)
        if value is None:
            return default
        number = rm.parse_integer(value)
        if number is None:
            raise ApiError(400, f"{name}: expected a whole number, got {value!r}")
        if not low <= number <= high:
            raise ApiError(400, f"{name}: {number} is outside {low}..{high}")
        return number

    def number(self, name: str) -> float | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return float(value)
        except ValueError:
            raise ApiError(400, f"{name}: expected a number (seconds since 1970), got {value!r}") from None

    def choice(self, name: str, known: Sequence[str], what: str) -> str | None:
        """A value that must be one of ``known``: another is a 400 naming them (it would match nothing)."""
        value = self.text(name)
        if value is not None:
            rm.check_known(name, value, known, what)
        return value

    def connector(self, service: Service) -> str | None:
        return self.choice("connector", list(service.config.connectors), "connector named")

    def flag(self, name: str) -> bool:
        value = (self.text(name) or "false").lower()
        if value not in ("true", "false", "1", "0", "yes", "no"):
            raise ApiError(400, f"{name}: expected true or false, got {value!r}")
        return value in ("true", "1", "yes")


@dataclass
class Call:
    service: Service
    query: Query
    path: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)

    def path_text(self, name: str) -> str:
        value = self.path[name]
        if "\x00" in value:
            raise ApiError(400, f"{name}: contains a NUL character")
        return value

    def path_int(self, name: str) -> int:
        value = self.path[name]
        number = rm.parse_integer(value)
        if number is None:
            raise ApiError(400, f"{name}: expected a whole number, got {value!r}")
        return number


Handler = Callable[[Call], Any]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    params: tuple[Param, ...] = ()
    body: dict[str, Any] | None = None
    status: int = 200

    @property
    def route_path(self) -> str:
        """``path`` as the router matches it: a parameter that may contain "/" takes the ``path`` converter (the
        OpenAPI description keeps the plain ``{name}``)."""
        path = self.path
        for p in self.params:
            if p.where == "path" and p.slashes:
                path = path.replace(f"{{{p.name}}}", f"{{{p.name}:path}}")
        return path


# handlers ------------------------------------------------------------------------------------------------------
LIMIT = Param("limit", "integer", "How many to return (1-1000).")


def _status(c: Call) -> Any:
    s = c.service
    data = rm.status(s.store(), s.config, str(s.root))
    data["service"] = s.status()
    data["version"] = __version__
    return data


def _runs(c: Call) -> Any:
    limit = c.query.integer("limit", 20, low=1, high=rm.MAX_LIMIT) or 20
    runs = c.service.store().runs(limit, c.query.integer("before"))
    return {"runs": [rm.run_json(r) for r in runs], "next_before": runs[-1].id if len(runs) == limit else None}


def _run(c: Call) -> Any:
    return rm.run_detail(c.service.store(), c.path_int("run_id"))


def _run_errors(c: Call) -> Any:
    run_id = c.path_int("run_id")
    store = c.service.store()
    if store.run_get(run_id) is None:
        raise rm.NotFound(f"no run {run_id}")
    limit = c.query.integer("limit", 200, low=1, high=rm.MAX_LIMIT) or 200
    return {"errors": [rm.error_json(e) for e in store.errors(run_id=run_id, limit=limit)]}


def _start_run(c: Call) -> Any:
    profile = c.body.get("profile")
    if not isinstance(profile, str) or not profile:
        raise ApiError(400, "profile: give the name of a run profile, or 'cycle'")
    try:
        run_id = c.service.start_run(profile, origin="api")
    except KeyError as exc:
        raise ApiError(400, str(exc.args[0])) from None
    return {"run_id": run_id, "profile": profile, "status": "in-progress"}


def reload_config(service: Service) -> dict[str, Any]:
    """``Service.reload`` for the API and the dashboard: a file that does not validate is a 400 that says where."""
    try:
        return service.reload()
    except ConfigError as exc:
        raise ApiError(400, f"configuration not reloaded, the running one stays: {exc}") from None


def _reload(c: Call) -> Any:
    return reload_config(c.service)


def _progress(c: Call) -> Any:
    return c.service.board.snapshot()


def cs_query(q: Query, service: Service) -> CSFilter:
    """The connector-space filters of a query string (shared by the API and the dashboard)."""
    return rm.cs_filter(
        connector=q.connector(service),
        object_type=q.text("type"),
        attr=q.text("attr"),
        identifier=q.text("identifier"),
        pending_import=q.flag("pending_import"),
        pending_export=q.flag("pending_export"),
        pending_delete=q.flag("pending_delete"),
        disconnector=q.flag("disconnector"),
        error=q.flag("error"),
        unconfirmed=q.flag("unconfirmed"),
        states=tuple(s.strip() for s in (q.text("state") or "").split(",") if s.strip()),
    )


def _cs(c: Call) -> Any:
    q = c.query
    flt = cs_query(q, c.service)
    limit = q.integer("limit", 50, low=1, high=rm.MAX_LIMIT) or 50
    return rm.search_cs(c.service.store(), flt, c.service.secrets, limit=limit, after=q.integer("after", 0) or 0)


def _mv(c: Call) -> Any:
    attr = c.query.text("attr")
    if attr is None:
        raise ApiError(400, "attr: NAME=VALUE is required (* is a wildcard)")
    limit = c.query.integer("limit", 50, low=1, high=rm.MAX_LIMIT) or 50
    return rm.search_mv(c.service.store(), attr, c.service.secrets, object_type=c.query.text("type"), limit=limit)


def _object(c: Call) -> Any:
    s = c.service
    store = s.store()
    kind, ident = rm.resolve_object(store, list(s.config.connectors), c.path_text("ref"))
    return rm.object_detail(store, kind, ident, s.secrets, s.rules)


def _disconnect(c: Call) -> Any:
    flags = {name: c.body.get(name, False) for name in ("explicit", "clear")}
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise ApiError(400, f"{name}: expected true or false, got {value!r}")
    return disconnect(c.service, c.path_text("ref"), **flags)


def disconnect(
    service: Service, ref: str, *, explicit: bool, clear: bool, ask_explicit: str = '{"explicit": true}'
) -> dict[str, Any]:
    """``disconnect_object`` for the API and the dashboard, in a workspace of the request's thread. Refusals are
    worded for their caller: ``ask_explicit`` is how it asks for an explicit disconnect, and a held store is named
    (this service's own run, or another process) with what to do."""
    try:
        with service.workspace() as ws:
            return disconnect_object(ws, ref, explicit=explicit, clear=clear, secrets=service.secrets)
    except DisconnectRefused as exc:
        raise DisconnectRefused(exc.told(ask_explicit)) from None
    except RunLocked as exc:
        raise service.store_busy(exc.holder, f"disconnect {ref}") from None


def _join(c: Call) -> Any:
    return join(c.service, c.path_text("ref"), c.body.get("to"))


def _project(c: Call) -> Any:
    return project(c.service, c.path_text("ref"), c.body.get("type"))


def _on_demand(c: Call) -> Any:
    return on_demand(c.service, c.path_text("ref"))


def join(service: Service, ref: str, to: object) -> dict[str, Any]:
    """``join_object`` for the API and the dashboard."""
    if not isinstance(to, str) or not to.strip():
        raise ApiError(400, f"to: expected the metaverse object to join to (mv:ID), got {to!r}")
    target = to.strip()
    return _object_action(service, "join", ref, lambda ws: join_object(ws, ref, target, secrets=service.secrets))


def project(service: Service, ref: str, mv_type: object) -> dict[str, Any]:
    """``project_object`` for the API and the dashboard; no type (or an empty one) lets the object's rules say."""
    if mv_type is not None and not isinstance(mv_type, str):
        raise ApiError(400, f"type: expected a metaverse object type, got {mv_type!r}")
    wanted = (mv_type or "").strip() or None
    return _object_action(service, "project", ref, lambda ws: project_object(ws, ref, wanted, secrets=service.secrets))


def on_demand(service: Service, ref: str) -> dict[str, Any]:
    """``provision_object`` for the API and the dashboard."""
    return _object_action(service, "on-demand", ref, lambda ws: provision_object(ws, ref, secrets=service.secrets))


def _object_action(service: Service, verb: str, ref: str, act: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """An operator action on the object ``ref`` names, in a workspace of the request's thread; a held store is
    named with what to do."""
    try:
        with service.workspace() as ws:
            return act(ws)
    except RunLocked as exc:
        raise service.store_busy(exc.holder, f"{verb} {ref}") from None


def _pending_exports(c: Call) -> Any:
    flt = rm.cs_filter(connector=c.query.connector(c.service), pending_export=True)
    limit = c.query.integer("limit", 50, low=1, high=rm.MAX_LIMIT) or 50
    return rm.search_cs(c.service.store(), flt, c.service.secrets, limit=limit, after=c.query.integer("after", 0) or 0)


def _errors(c: Call) -> Any:
    flt = rm.cs_filter(connector=c.query.connector(c.service), error=True)
    limit = c.query.integer("limit", 50, low=1, high=rm.MAX_LIMIT) or 50
    return rm.search_cs(c.service.store(), flt, c.service.secrets, limit=limit, after=c.query.integer("after", 0) or 0)


def _check_connector(c: Call, connector: str) -> None:
    if connector not in c.service.config.connectors:
        raise rm.NotFound(f"no connector named {connector!r}")


def retry_exports(service: Service, connector: str) -> int:
    return service.start_run(f"retry-export {connector}", origin="api", steps=[(connector, StepKind.EXPORT)])


def _retry(c: Call) -> Any:
    connector = c.path["connector"]
    _check_connector(c, connector)
    return {"run_id": retry_exports(c.service, connector), "connector": connector}


def _holds(c: Call) -> Any:
    return {"holds": rm.holds(c.service.store(), c.service.config)}


def _body_count(c: Call, name: str, meaning: str) -> int | None:
    value = c.body.get(name)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise ApiError(400, f"{name}: {meaning}")
    return value


def _approve(c: Call) -> Any:
    connector = c.path["connector"]
    count = _body_count(c, "count", "a whole number of deletes, or leave it out to approve all pending now")
    expected = _body_count(c, "expected", "the whole number of deletes and disables pending when you reviewed them")
    # a count below what is pending would be recorded and still stop the export: refused, as the CLI does
    approved, pending = rm.approve_deletes(
        c.service.store(), list(c.service.config.connectors), connector, count, below_pending=False, expected=expected
    )
    return {"connector": connector, "approved": approved, "pending_deletes": pending}


def audit_connector(q: Query, service: Service) -> str | None:
    """The audit trail outlives a connector's configuration: one no longer configured is known while the trail
    still holds exports to it."""
    name = q.text("connector")
    if name is None or name in service.config.connectors:
        return name
    recorded = any(True for _ in service.store().audit_search(limit=1, connector=name))
    return name if recorded else q.connector(service)


def audit_query(q: Query, service: Service) -> dict[str, Any]:
    """The audit filters of a query string (shared by the API and the dashboard)."""
    query: dict[str, Any] = {
        "run_id": q.integer("run"),
        "connector": audit_connector(q, service),
        "identifier": q.text("identifier"),
        "op": q.choice("op", rm.AUDIT_OPS, "audited operation"),
        "rule": q.text("rule"),
        "since": q.number("since"),
        "until": q.number("until"),
        "before": q.integer("before"),
    }
    if q.text("failed") is not None:
        query["failed"] = q.flag("failed")
    ref = q.text("object")
    if ref is not None:
        kind, ident = rm.resolve_object(service.store(), list(service.config.connectors), ref)
        if kind != "cs":
            raise ApiError(400, "object: the audit trail is per connector-space object (cs:ID or CONNECTOR:ANCHOR)")
        query["cs_id"] = ident
    return query


def _audit(c: Call) -> Any:
    limit = c.query.integer("limit", 100, low=1, high=rm.MAX_LIMIT) or 100
    rows = rm.audit_rows(c.service.store(), c.service.secrets, limit=limit, **audit_query(c.query, c.service))
    return {"rows": rows, "next_before": rows[-1]["id"] if len(rows) == limit else None}


OBJECT_FILTERS = (
    Param("connector", description="Only this connector."),
    Param("type", description="Only this object type."),
    Param("attr", description="NAME=VALUE: objects with this attribute value (case-insensitive)."),
    Param("identifier", description="Identifier pattern; * is a wildcard."),
    *(Param(n, "boolean") for n in ("pending_import", "pending_export", "pending_delete", "disconnector", "error")),
    Param("unconfirmed", "boolean"),
    Param(
        "state",
        description="Link states, comma-separated: connector, disconnector, explicit-disconnector, "
        "filtered-disconnector.",
    ),
    LIMIT,
    Param("after", "integer", "Page on: the next_after of the previous page."),
)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET", "/api/status", _status, "Connector spaces, metaverse, last run, schedules, running steps", "status"
    ),
    Endpoint("GET", "/api/runs", _runs, "Run history, newest first", "runs", (LIMIT, Param("before", "integer"))),
    Endpoint(
        "POST",
        "/api/runs",
        _start_run,
        "Start a run profile (or 'cycle') now",
        "runs",
        body={"type": "object", "required": ["profile"], "properties": {"profile": {"type": "string"}}},
        status=202,
    ),
    Endpoint(
        "GET",
        "/api/runs/{run_id}",
        _run,
        "A run: its steps, counters and errors",
        "runs",
        (Param("run_id", "integer", where="path", required=True),),
    ),
    Endpoint(
        "GET",
        "/api/runs/{run_id}/errors",
        _run_errors,
        "The per-object errors of a run",
        "runs",
        (Param("run_id", "integer", where="path", required=True), LIMIT),
    ),
    Endpoint("GET", "/api/progress", _progress, "Live progress of the running steps", "runs"),
    Endpoint(
        "POST",
        "/api/config/reload",
        _reload,
        "Read idsync.yaml again: runs that start from now on use it (a run in progress keeps its own); 400 with "
        "file, line and column when it does not validate, and the running configuration stays",
        "status",
    ),
    Endpoint("GET", "/api/cs", _cs, "Search connector spaces", "objects", OBJECT_FILTERS),
    Endpoint(
        "GET",
        "/api/mv",
        _mv,
        "Search the metaverse",
        "objects",
        (Param("attr", required=True, description="NAME=VALUE; * is a wildcard."), Param("type"), LIMIT),
    ),
    Endpoint(
        "GET",
        "/api/objects/{ref}",
        _object,
        "An object with its lineage (cs:ID, mv:ID or CONNECTOR:ANCHOR)",
        "objects",
        (Param("ref", where="path", required=True, slashes=True),),
    ),
    Endpoint(
        "POST",
        "/api/objects/{ref}/disconnect",
        _disconnect,
        "Disconnect a connector-space object from its metaverse object now (explicit: as an explicit disconnector; "
        "clear: convert an explicit disconnector to a normal one). Recorded as a run; refused (409) while a run holds "
        "the store",
        "objects",
        (
            Param(
                "ref", where="path", required=True, slashes=True, description="cs:ID or CONNECTOR:ANCHOR-OR-IDENTIFIER"
            ),
        ),
        body={"type": "object", "properties": {"explicit": {"type": "boolean"}, "clear": {"type": "boolean"}}},
    ),
    Endpoint(
        "POST",
        "/api/objects/{ref}/join",
        _join,
        "Join a connector-space object to the metaverse object `to` names (mv:ID) as an explicit connector, as MIM's "
        "Joiner does. Recorded as a run; refused (409) when the join cannot be made or while a run holds the store",
        "objects",
        (
            Param(
                "ref", where="path", required=True, slashes=True, description="cs:ID or CONNECTOR:ANCHOR-OR-IDENTIFIER"
            ),
        ),
        body={"type": "object", "properties": {"to": {"type": "string"}}, "required": ["to"]},
    ),
    Endpoint(
        "POST",
        "/api/objects/{ref}/project",
        _project,
        "Project a connector-space object into a new metaverse object (of `type`, or the one type its inbound rules "
        "flow into) as an explicit connector, as MIM's Joiner does. Recorded as a run; refused (409) when the "
        "projection cannot be made or while a run holds the store",
        "objects",
        (
            Param(
                "ref", where="path", required=True, slashes=True, description="cs:ID or CONNECTOR:ANCHOR-OR-IDENTIFIER"
            ),
        ),
        body={"type": "object", "properties": {"type": {"type": "string"}}},
    ),
    Endpoint(
        "POST",
        "/api/objects/{ref}/on-demand",
        _on_demand,
        "Provision one source object on demand, as Entra cloud sync does: read it from its system now, sync it "
        "alone, send what that staged for it to each target (never a delete or disable: those wait for the "
        "connector's own export). The answer is the run's summary with the object, its MV object, what became of it "
        "in each target, and the error rows; 409 while a run holds the store",
        "objects",
        (
            Param(
                "ref",
                where="path",
                required=True,
                slashes=True,
                description="cs:ID or CONNECTOR:ANCHOR-OR-IDENTIFIER (an object not imported yet is looked up by it)",
            ),
        ),
    ),
    Endpoint(
        "GET",
        "/api/pending-exports",
        _pending_exports,
        "Pending exports",
        "exports",
        (
            Param("connector", description="Only this connector (a name from idsync.yaml)."),
            LIMIT,
            Param("after", "integer"),
        ),
    ),
    Endpoint(
        "GET",
        "/api/errors",
        _errors,
        "Objects whose last sync or export failed",
        "exports",
        (
            Param("connector", description="Only this connector (a name from idsync.yaml)."),
            LIMIT,
            Param("after", "integer"),
        ),
    ),
    Endpoint(
        "POST",
        "/api/errors/{connector}/retry",
        _retry,
        "Export a connector's pending exports again now (failed ones included)",
        "exports",
        (Param("connector", where="path", required=True),),
        status=202,
    ),
    Endpoint("GET", "/api/holds", _holds, "Exports held by the deletion threshold", "holds"),
    Endpoint(
        "POST",
        "/api/holds/{connector}/approve",
        _approve,
        "Approve a held connector's pending deletes and disables for its next export (expected: how many you "
        "reviewed; refused with 409, nothing recorded, when another number is pending now)",
        "holds",
        (Param("connector", where="path", required=True),),
        body={
            "type": "object",
            "properties": {
                "count": {"type": "integer", "minimum": 0},
                "expected": {"type": "integer", "minimum": 0},
            },
        },
    ),
    Endpoint(
        "GET",
        "/api/audit",
        _audit,
        "The audit trail of exports, newest first (secrets redacted)",
        "audit",
        (
            Param("run", "integer"),
            Param("object", description="cs:ID or CONNECTOR:ANCHOR-OR-IDENTIFIER"),
            Param("connector", description="Only exports to this connector (configured, or one the trail holds)."),
            Param("identifier", description="Exact identifier (also finds deleted objects)."),
            Param("op", description="add, update, delete, update+rename"),
            Param("rule"),
            Param("since", "number", "Seconds since 1970."),
            Param("until", "number"),
            Param("failed", "boolean"),
            Param("before", "integer", "Page on: the next_before of the previous page."),
            LIMIT,
        ),
    ),
)


# plumbing ------------------------------------------------------------------------------------------------------
def translate(exc: Exception) -> tuple[int, str] | None:
    """The HTTP status and message of an exception a handler may raise on bad input or state."""
    if isinstance(exc, ApiError):
        return exc.status, exc.message
    if isinstance(exc, rm.NotFound):
        return 404, str(exc)
    if isinstance(exc, rm.BadReference):
        return 400, str(exc)
    if isinstance(exc, AlreadyRunning | RunLocked | DisconnectRefused | JoinRefused | rm.Conflict):
        return 409, str(exc)
    if isinstance(exc, ServiceUnavailable):
        return 503, str(exc)
    return None


async def read_json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ApiError(413, f"the request body is larger than {MAX_BODY} bytes")
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return data


def route(endpoint: Endpoint, service: Service) -> Route:
    async def handle(request: Request) -> Response:
        try:
            if endpoint.method == "POST":
                service.require_active()  # every POST changes something: a standby only reads
            body = await read_json_body(request) if endpoint.method == "POST" else {}
            call = Call(service, Query(dict(request.query_params)), dict(request.path_params), body)
            data = await run_in_threadpool(endpoint.handler, call)
        except Exception as exc:
            known = translate(exc)
            if known is None:
                raise
            return error_response(*known)
        return JSONResponse(data, status_code=endpoint.status)

    return Route(endpoint.route_path, handle, methods=[endpoint.method], name=f"api:{endpoint.method}:{endpoint.path}")


def routes(service: Service) -> list[Route]:
    return [route(e, service) for e in ENDPOINTS]


def operation_id(e: Endpoint) -> str:
    words = e.path.strip("/").replace("{", "").replace("}", "").replace("-", "_").split("/")
    return "_".join([e.method.lower(), *words])


def openapi() -> dict[str, Any]:
    error = {"$ref": "#/components/schemas/Error"}
    paths: dict[str, Any] = {}
    for e in ENDPOINTS:
        op: dict[str, Any] = {
            "summary": e.summary,
            "tags": [e.tag],
            "operationId": operation_id(e),
            "parameters": [
                {
                    "name": p.name,
                    "in": p.where,
                    "required": p.required or p.where == "path",
                    "description": p.description,
                    "schema": {"type": p.type},
                }
                for p in e.params
            ],
            "responses": {
                str(e.status): {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                **{
                    str(code): {"description": text, "content": {"application/json": {"schema": error}}}
                    for code, text in (
                        (400, "Bad input: the message names the parameter and the reason"),
                        (401, "No token"),
                        (403, "Wrong token"),
                        (404, "Unknown id"),
                    )
                },
            },
        }
        if e.method == "POST":
            op["responses"]["409"] = {
                "description": "Already running, or the store is busy",
                "content": {"application/json": {"schema": error}},
            }
            op["responses"]["503"] = {
                "description": "This instance is a standby (or stopping): changes are made by the active one",
                "content": {"application/json": {"schema": error}},
            }
            op["requestBody"] = {
                "required": bool(e.body and e.body.get("required")),
                "content": {"application/json": {"schema": e.body or {"type": "object"}}},
            }
        paths.setdefault(e.path, {})[e.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "idsync",
            "version": __version__,
            "description": "Runs, objects with lineage, pending exports, errors, deletion-threshold holds, audit.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "properties": {"status": {"type": "integer"}, "message": {"type": "string"}},
                        }
                    },
                }
            },
        },
        "security": [{"bearer": []}],
    }
