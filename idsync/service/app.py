"""The web application and ``idsync serve``: routes, access control, security headers, and the server's life.

The app starts the service (scheduler, locks) when the server starts and stops it gracefully when the server
stops: uvicorn turns SIGTERM and SIGINT into a shutdown, and the shutdown waits for running steps to commit the
page they are on.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import signal
import socket
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from idsync.config import ConfigError, SecretError, SecretResolver
from idsync.service import api
from idsync.service.auth import COOKIE, Access, TokenTooShort
from idsync.service.logs import log
from idsync.service.metrics import CONTENT_TYPE
from idsync.service.pages import environment
from idsync.service.runtime import Service, ServiceUnavailable
from idsync.service.web import Dashboard, error_fragment, is_htmx

PUBLIC = ("/healthz", "/api/openapi.json", "/login", "/static/")
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


class ServiceSetupError(Exception):
    """The service cannot start as configured; the message says what to change."""


def resolve_token(service: Service) -> str:
    reference = service.settings.token
    if reference is None:
        raise ServiceSetupError(
            "service.token is not set: add `service: {token: ${env:IDSYNC_SERVICE_TOKEN}}` to idsync.yaml and put a "
            "long random value in that variable (for example `openssl rand -hex 32`)"
        )
    try:
        return SecretResolver(service.root).resolve(reference)
    except SecretError as exc:
        raise ServiceSetupError(f"service.token: {exc}") from None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Guard(BaseHTTPMiddleware):
    """Token or session on everything but the login page, health and the API description; security headers."""

    def __init__(self, app: Any, access: Access, public_metrics: bool) -> None:
        super().__init__(app)
        self.access = access
        self.public_metrics = public_metrics

    def _public(self, path: str) -> bool:
        if path == "/metrics":
            return self.public_metrics
        return path in PUBLIC or any(path.startswith(p) for p in PUBLIC if p.endswith("/"))

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        if not self._public(path):
            denied = self._check(request, path)
            if denied is not None:
                return _secure(denied)
        return _secure(await call_next(request))

    def _check(self, request: Request, path: str) -> Response | None:
        denied = self._denied(request, path)
        if denied is not None and is_htmx(request) and denied.status_code != 401:
            # a dashboard button: the message in the page, not JSON htmx would swap in as text
            message = json.loads(bytes(denied.body))["error"]["message"]
            return error_fragment(denied.status_code, message)
        return denied

    def _denied(self, request: Request, path: str) -> Response | None:
        machine = path.startswith("/api/") or path == "/metrics"
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, presented = header.partition(" ")
            if scheme.lower() != "bearer" or not presented:
                return api.error_response(401, "use Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"})
            if not self.access.token_matches(presented.strip()):
                return api.error_response(403, "the token is not right")
            return None
        session = self.access.session(request.cookies.get(COOKIE))
        if session is not None:
            if request.method in UNSAFE:
                presented = request.headers.get("x-csrf-token", "")
                if not presented or presented != session.csrf:
                    return api.error_response(403, "missing or wrong CSRF token: reload the page")
            return None
        if machine:
            return api.error_response(
                401, "a token is required: Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"}
            )
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        target = path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={_quote(target)}", status_code=303)


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def _secure(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cache-Control", "no-store")
    return response


def create_app(
    service: Service, access: Access, *, manage_service: bool = True, secure_cookies: bool = False
) -> Starlette:
    env = environment()
    dashboard = Dashboard(service, access, env, secure_cookies=secure_cookies)
    document = api.openapi()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "role": service.role})

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(document)

    async def metrics(request: Request) -> Response:
        body = await run_in_threadpool(service.metrics.exposition)
        return Response(body, media_type=CONTENT_TYPE)

    async def not_found(request: Request, exc: Exception) -> Response:
        if is_htmx(request):
            return _secure(error_fragment(404, f"there is no page {request.url.path}"))
        if request.url.path.startswith("/api/"):
            return _secure(api.error_response(404, f"no such endpoint: {request.method} {request.url.path}"))
        return _secure(dashboard.problem(request, 404, f"there is no page {request.url.path}"))

    async def not_allowed(request: Request, exc: Exception) -> Response:
        message = f"{request.method} is not allowed on {request.url.path}"
        return _secure(error_fragment(405, message) if is_htmx(request) else api.error_response(405, message))

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception(f"{request.method} {request.url.path} failed", exc_info=exc)
        message = "internal error; the service log has the details"
        return _secure(error_fragment(500, message) if is_htmx(request) else api.error_response(500, message))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_service:
            await run_in_threadpool(service.start)
        try:
            yield
        finally:
            if manage_service:
                await run_in_threadpool(service.stop)

    static = resources.files("idsync.service") / "static"
    routes: list[Any] = [
        Route("/healthz", healthz),
        Route("/api/openapi.json", openapi_json),
        Route("/metrics", metrics),
        *api.routes(service),
        *dashboard.routes(),
        Mount("/static", StaticFiles(directory=str(static)), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(Guard, access=access, public_metrics=service.settings.public_metrics)],
        exception_handlers={404: not_found, 405: not_allowed, 500: server_error},
        lifespan=lifespan,
    )


def serve(
    root: Path | str,
    *,
    host: str | None = None,
    port: int | None = None,
    log_level: str = "info",
    options: dict[str, Any] | None = None,
) -> None:
    """``idsync serve``: run the scheduler, the API and the dashboard until SIGTERM or SIGINT."""
    import uvicorn

    from idsync.service.logs import configure

    handler = configure(log_level)
    service = Service(root, options=options, log_handler=handler)
    settings = service.settings
    try:
        access = Access(resolve_token(service))
    except TokenTooShort as exc:
        raise ServiceSetupError(f"service.token: {exc}") from None
    bind = host or settings.bind
    tls = settings.tls_cert is not None
    cert = str(Path(service.root, settings.tls_cert)) if settings.tls_cert else None
    key = str(Path(service.root, settings.tls_key)) if settings.tls_key else None
    if cert is not None:
        check_tls(cert, key)
    if not is_loopback(bind) and not tls:
        if not settings.insecure_http:
            raise ServiceSetupError(
                f"listening on {bind} without TLS would send the token in clear: set service.tls_cert and "
                "service.tls_key, or service.insecure_http: true behind a TLS-terminating proxy"
            )
        log.warning(f"INSECURE: serving plain HTTP on {bind} (service.insecure_http is set); use a TLS proxy")
    # listening first: a port that is taken must fail before this instance claims the store (the lifespan takes
    # the service lock and starts the schedules)
    listener = listen(bind, port if port is not None else settings.port)
    app = create_app(service, access, secure_cookies=tls)
    config = uvicorn.Config(
        app,
        host=bind,
        port=listener.getsockname()[1],
        log_config=None,
        access_log=False,
        ssl_certfile=cert,
        ssl_keyfile=key,
        timeout_graceful_shutdown=5,
        lifespan="on",
    )
    log.info(f"serving {service.root} on {'https' if tls else 'http'}://{bind}:{config.port}")
    # uvicorn turns SIGTERM into a graceful shutdown, then raises it again against the handler it found; with this
    # one in place that ends the process with exit code 0 (a clean stop for systemd) instead of death by signal
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    hangup = signal.getsignal(signal.SIGHUP) if hasattr(signal, "SIGHUP") else None
    if hasattr(signal, "SIGHUP"):
        # SIGHUP reads the configuration again, off the signal handler (a reload reads files and builds connectors)
        signal.signal(signal.SIGHUP, lambda signum, frame: _reload_in_background(service))
    try:
        uvicorn.Server(config).run(sockets=[listener])
    finally:
        listener.close()
        signal.signal(signal.SIGTERM, previous)
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, hangup)


def check_tls(cert: str, key: str | None) -> None:
    """Load the certificate and key as the server will, so that a missing or unreadable file is a one-line error
    naming it, before anything starts."""
    import ssl

    for setting, path in (("service.tls_cert", cert), ("service.tls_key", key)):
        if path is None:
            continue
        try:
            Path(path).read_bytes()
        except OSError as exc:
            raise ServiceSetupError(f"{setting}: cannot read {path} ({exc.strerror or exc})") from None
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        files = cert if key is None else f"{cert} and {key}"
        raise ServiceSetupError(
            f"service.tls_cert/tls_key: {files} are not a PEM certificate and its private key ({exc})"
        ) from None


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` for the server; a taken port or an address this host does not have is
    a one-line error naming them."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ServiceSetupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.set_inheritable(True)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        hint = " (is another idsync serve, or another program, using it? --port picks another)"
        raise ServiceSetupError(
            f"cannot listen on {host}:{port}: {reason}{hint if exc.errno == errno.EADDRINUSE else ''}"
        ) from None
    return sock


def _reload_in_background(service: Service) -> None:
    def work() -> None:
        try:
            service.reload()
        except ConfigError:
            pass  # logged by the reload, with file, line and column; the running configuration stays
        except ServiceUnavailable as exc:
            log.info(f"configuration not reloaded: {exc}")
        except Exception:
            log.exception("configuration reload failed unexpectedly; the running configuration stays")

    threading.Thread(target=work, name="config-reload", daemon=True).start()
