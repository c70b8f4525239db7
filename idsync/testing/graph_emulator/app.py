"""The emulator as an ASGI app (Starlette) and as in-process httpx transports.

Routes: ``POST /{tenant}/oauth2/v2.0/token`` (client credentials) and everything under ``/v1.0/`` and ``/beta/``
(both served by the same v1.0 behaviour). Faults are applied here, at the connection level: latency, a dropped
connection before or after the request ran, or an injected 5xx.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from idsync.testing.graph_emulator.auth import TokenError
from idsync.testing.graph_emulator.errors import EmuResponse, GraphError, error_body
from idsync.testing.graph_emulator.service import EmuRequest

if TYPE_CHECKING:
    from idsync.testing.graph_emulator.faults import FaultDecision
    from idsync.testing.graph_emulator.tenant import GraphTenant


class ConnectionDropped(Exception):
    """Raised inside the app to make the server cut the connection (fault injection)."""


def _encode(response: EmuResponse) -> bytes:
    if response.body is None:
        return b""
    if isinstance(response.body, str):
        return response.body.encode()
    return json.dumps(response.body).encode()


def token_response(
    tenant: GraphTenant, tenant_key: str, form: Mapping[str, str], base: str
) -> tuple[int, dict[str, Any]]:
    audience = f"{base}/{tenant_key}/oauth2/v2.0/token"
    with tenant.lock:
        try:
            return 200, tenant.authority.issue(tenant_key, form, tenant.knows_tenant(tenant_key), audience)
        except TokenError as exc:
            return exc.status, exc.body


def openid_configuration_document(base: str, tenant_key: str) -> dict[str, Any]:
    """The OpenID discovery document MSAL reads before its first token request (tenant discovery)."""
    root = f"{base}/{tenant_key}"
    return {
        "token_endpoint": f"{root}/oauth2/v2.0/token",
        "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
        "issuer": f"{root}/v2.0",
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
    }


def _injected(tenant: GraphTenant, error: GraphError, headers: Mapping[str, str]) -> EmuResponse:
    request_id = headers.get("client-request-id", "00000000-0000-0000-0000-000000000000")
    body = error_body(
        error, date=tenant.clock.iso_now().rstrip("Z"), request_id=request_id, client_request_id=request_id
    )
    return EmuResponse(error.status, body, {"Content-Type": "application/json", **error.headers})


def _graph_call(tenant: GraphTenant, request: EmuRequest, decision: FaultDecision) -> EmuResponse:
    if decision.drop == "before":
        raise ConnectionDropped("dropped before the request ran")
    if decision.error is not None:
        return _injected(tenant, decision.error, request.headers)
    response = tenant.service.handle(request)
    if decision.drop == "after":
        raise ConnectionDropped("dropped after the request ran")
    return response


def _is_graph(path: str) -> bool:
    return path.startswith(("/v1.0/", "/beta/")) or path in ("/v1.0", "/beta")


class EmulatorApp:
    """The ASGI entry point. Graph paths are served directly (so a dropped connection can be a real one: the
    response is started, cut short, and the server closes the socket); the token endpoint goes through Starlette."""

    def __init__(self, tenant: GraphTenant) -> None:
        self.tenant = tenant
        self.auth_routes = _auth_app(tenant)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_graph(scope["path"]):
            await self.auth_routes(scope, receive, send)
            return
        request = Request(scope, receive)
        with self.tenant.lock:
            decision = self.tenant.faults.decide()
        if decision.delay:
            await asyncio.sleep(decision.delay)
        emu = EmuRequest(
            method=request.method,
            path=request.url.path,
            query=dict(parse_qsl(request.url.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.body(),
            base=f"{request.url.scheme}://{request.url.netloc}",
        )
        try:
            response = _graph_call(self.tenant, emu, decision)
        except ConnectionDropped:
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1024")]})
            await send({"type": "http.response.body", "body": b"{", "more_body": True})
            raise
        await Response(_encode(response), status_code=response.status, headers=response.headers)(scope, receive, send)


def _auth_app(tenant: GraphTenant) -> Starlette:
    async def token(request: Request) -> Response:
        # application/x-www-form-urlencoded, parsed here so the emulator needs no multipart library.
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        base = f"{request.url.scheme}://{request.url.netloc}"
        status, body = token_response(tenant, request.path_params["tenant"], form, base)
        return JSONResponse(body, status_code=status)

    async def openid_configuration(request: Request) -> Response:
        base = f"{request.url.scheme}://{request.url.netloc}"
        return JSONResponse(openid_configuration_document(base, request.path_params["tenant"]))

    routes = [
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
        Route("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
    ]
    return Starlette(routes=routes)


def create_app(tenant: GraphTenant) -> EmulatorApp:
    return EmulatorApp(tenant)


class SyncTransport(httpx.BaseTransport):
    """In-process transport for ``httpx.Client``: same service, same faults, no event loop or socket. A dropped
    connection surfaces as ``httpx.RemoteProtocolError``, as over a real socket."""

    def __init__(self, tenant: GraphTenant) -> None:
        self.tenant = tenant

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        path = request.url.path
        parts = path.strip("/").split("/")
        if request.method == "POST" and len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
            base = f"{request.url.scheme}://{request.url.netloc.decode()}"
            status, payload = token_response(self.tenant, parts[0], dict(parse_qsl(body.decode())), base)
            return httpx.Response(status, json=payload, request=request)
        if request.method == "GET" and len(parts) == 4 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            base = f"{request.url.scheme}://{request.url.netloc.decode()}"
            return httpx.Response(200, json=openid_configuration_document(base, parts[0]), request=request)
        if not _is_graph(path):
            return httpx.Response(404, request=request)
        with self.tenant.lock:
            decision = self.tenant.faults.decide()
        if decision.delay:
            time.sleep(decision.delay)
        emu = EmuRequest(
            method=request.method,
            path=path,
            query=dict(parse_qsl(request.url.query.decode(), keep_blank_values=True)),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            base=f"{request.url.scheme}://{request.url.netloc.decode()}",
        )
        try:
            response = _graph_call(self.tenant, emu, decision)
        except ConnectionDropped as exc:
            raise httpx.RemoteProtocolError(f"Server disconnected without sending a response ({exc}).") from None
        return httpx.Response(response.status, headers=response.headers, content=_encode(response), request=request)


class AsyncTransport(httpx.AsyncBaseTransport):
    """In-process transport for ``httpx.AsyncClient`` that runs the real ASGI app."""

    def __init__(self, tenant: GraphTenant) -> None:
        self._inner = httpx.ASGITransport(app=tenant.asgi_app())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except ConnectionDropped as exc:
            raise httpx.RemoteProtocolError(f"Server disconnected without sending a response ({exc}).") from None
