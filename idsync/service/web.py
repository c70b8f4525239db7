"""The dashboard: server-rendered pages over the same read model as the API, made live with htmx.

Pages read without JavaScript; htmx (vendored, no CDN) swaps in search results, polls the live progress of the
running steps, and posts the buttons. Every button that changes something posts with the session's CSRF token in a
header, so changes need htmx.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape
from typing import Any
from urllib.parse import parse_qs, quote

from jinja2 import Environment
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from idsync.service import readmodel as rm
from idsync.service.api import (
    ApiError,
    Query,
    audit_query,
    cs_query,
    disconnect,
    join,
    on_demand,
    project,
    reload_config,
    retry_exports,
    translate,
)
from idsync.service.auth import COOKIE, SESSION_SECONDS, Access
from idsync.service.runtime import Service

PageHandler = Callable[[Request], Awaitable[Response]]
MESSAGES = "#messages"
"""The page's own message area (base.html): where an error goes that is not the answer a button waits for."""


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def error_fragment(status: int, message: str, *, retarget: bool = True) -> HTMLResponse:
    """An error as the dashboard shows it: a message htmx swaps into the page (``retarget``: into the page's
    message area, whatever the element that asked meant to replace) rather than JSON or a whole page."""
    html = f'<span class="message error" role="alert">{escape(message)}</span>'
    headers = {"HX-Retarget": MESSAGES, "HX-Reswap": "innerHTML", "HX-Reselect": ".message"} if retarget else None
    return HTMLResponse(html, status_code=status, headers=headers)


async def form_data(request: Request) -> dict[str, str]:
    """An urlencoded form (what browsers and htmx post), without a multipart parser."""
    raw = await request.body()
    if len(raw) > 16 * 1024:
        raise ApiError(413, "the form is too large")
    parsed = parse_qs(raw.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {k: v[-1] for k, v in parsed.items()}


class Dashboard:
    def __init__(self, service: Service, access: Access, env: Environment, *, secure_cookies: bool) -> None:
        self.service = service
        self.access = access
        self.env = env
        self.secure_cookies = secure_cookies

    # rendering -----------------------------------------------------------------------------------------------
    def render(self, request: Request, template: str, code: int = 200, **context: Any) -> HTMLResponse:
        session = self.access.session(request.cookies.get(COOKIE))
        context.setdefault("csrf", session.csrf if session else "")
        context.setdefault("nav", request.url.path)
        context.setdefault("role", self.service.role)
        html = self.env.get_template(template).render(**context)
        return HTMLResponse(html, status_code=code)

    def problem(self, request: Request, status: int, message: str) -> HTMLResponse:
        return self.render(request, "problem.html", status, status_code=status, message=message)

    def page(self, template: str, load: Callable[[Request], dict[str, Any]]) -> PageHandler:
        async def handle(request: Request) -> Response:
            try:
                context = await run_in_threadpool(load, request)
            except Exception as exc:
                known = translate(exc)
                if known is None:
                    raise
                if is_htmx(request):  # a part of a page (search results, a refresh): the message, not a page
                    return error_fragment(*known)
                return self.problem(request, *known)
            return self.render(request, template, **context)

        return handle

    # login -----------------------------------------------------------------------------------------------------
    async def login_form(self, request: Request) -> Response:
        return self.render(request, "login.html", next=_safe_next(request.query_params.get("next")))

    async def login(self, request: Request) -> Response:
        form = await form_data(request)
        target = _safe_next(form.get("next"))
        client = request.client.host if request.client else "?"
        if self.access.throttled(client):
            return self.render(request, "login.html", 429, next=target, message="Too many wrong tokens: wait a minute.")
        if not self.access.token_matches(form.get("token", "")):
            self.access.failed(client)
            return self.render(request, "login.html", 403, next=target, message="That token is not right.")
        sid, _ = self.access.open_session()
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE, sid, max_age=SESSION_SECONDS, httponly=True, samesite="strict", secure=self.secure_cookies, path="/"
        )
        return response

    async def logout(self, request: Request) -> Response:
        self.access.close_session(request.cookies.get(COOKIE))
        response: Response = RedirectResponse("/login", status_code=303)
        if request.headers.get("HX-Request") == "true":
            response = Response(status_code=204, headers={"HX-Redirect": "/login"})
        response.delete_cookie(COOKIE, path="/")
        return response

    # pages -----------------------------------------------------------------------------------------------------
    def overview(self, request: Request) -> dict[str, Any]:
        s = self.service
        store = s.store()
        return {
            "status": rm.status(store, s.config, str(s.root)),
            "runs": [rm.run_json(r) for r in store.runs(10)],
            "holds": rm.holds(store, s.config),
            "service": s.status(),
            "profiles": ["cycle", *s.config.profiles],
            "progress": s.board.snapshot(),
        }

    def progress(self, request: Request) -> dict[str, Any]:
        return {"progress": self.service.board.snapshot()}

    def runs(self, request: Request) -> dict[str, Any]:
        q = Query(dict(request.query_params))
        limit = 50
        runs = self.service.store().runs(limit, q.integer("before"))
        return {"runs": [rm.run_json(r) for r in runs], "next_before": runs[-1].id if len(runs) == limit else None}

    def run(self, request: Request) -> dict[str, Any]:
        text = request.path_params["run_id"]
        run_id = rm.parse_integer(text)
        if run_id is None:
            raise ApiError(400, f"run: expected a whole number, got {text!r}")
        store = self.service.store()
        return {
            "run": rm.run_detail(store, run_id),
            "audit": rm.audit_rows(store, self.service.secrets, run_id=run_id, limit=100),
        }

    def search(self, request: Request) -> dict[str, Any]:
        s = self.service
        q = Query(dict(request.query_params))
        kind = q.text("kind") or "cs"
        context: dict[str, Any] = {"q": q.values, "kind": kind, "connectors": list(s.config.connectors), "result": None}
        if kind == "mv" and q.text("attr"):
            context["result"] = rm.search_mv(s.store(), q.text("attr") or "", s.secrets, object_type=q.text("type"))
        elif kind == "cs" and any(q.text(k) for k in ("connector", "attr", "identifier", "type")):
            context["result"] = rm.search_cs(s.store(), cs_query(q, s), s.secrets, limit=50)
        return context

    def object(self, request: Request) -> dict[str, Any]:
        s = self.service
        store = s.store()
        ref = request.path_params["ref"]
        kind, ident = rm.resolve_object(store, list(s.config.connectors), ref)
        return {
            "ref": f"{kind}:{ident}",
            "kind": kind,
            "detail": rm.object_detail(store, kind, ident, s.secrets, s.rules),
        }

    def exports(self, request: Request) -> dict[str, Any]:
        s = self.service
        store = s.store()
        connector = Query(dict(request.query_params)).connector(s)
        pending = rm.search_cs(store, rm.cs_filter(connector=connector, pending_export=True), s.secrets, limit=100)
        failed = rm.search_cs(store, rm.cs_filter(connector=connector, error=True), s.secrets, limit=100)
        return {"pending": pending, "failed": failed, "connector": connector, "connectors": list(s.config.connectors)}

    def holds(self, request: Request) -> dict[str, Any]:
        return {"holds": rm.holds(self.service.store(), self.service.config)}

    def audit(self, request: Request) -> dict[str, Any]:
        q = Query(dict(request.query_params))
        query = audit_query(q, self.service)
        rows = rm.audit_rows(self.service.store(), self.service.secrets, limit=100, **query)
        # a choice, not a box to type a name into; a connector no longer configured that the trail still holds
        # (a link kept from before) stays chosen
        connectors = list(self.service.config.connectors)
        if query["connector"] is not None and query["connector"] not in connectors:
            connectors.append(query["connector"])
        return {
            "rows": rows,
            "q": q.values,
            "connectors": connectors,
            "next_before": rows[-1]["id"] if len(rows) == 100 else None,
        }

    # actions ---------------------------------------------------------------------------------------------------
    def action(self, work: Callable[[Request, dict[str, str]], str], *, changes: str | None = None) -> PageHandler:
        """A button: does ``work`` and answers with a short message fragment (htmx swaps it in). ``changes``: the
        event a success raises on the page (``HX-Trigger``), for the parts of it that show what the work changed."""

        async def handle(request: Request) -> Response:
            try:
                self.service.require_active()  # every button changes something: a standby only reads
                form = await form_data(request)
                message = await run_in_threadpool(work, request, form)
            except Exception as exc:
                known = translate(exc)
                if known is None:
                    raise
                return self.render(request, "_message.html", known[0], message=known[1], ok=False)
            response = self.render(request, "_message.html", message=message, ok=True)
            if changes:
                response.headers["HX-Trigger"] = changes
            return response

        return handle

    def start(self, request: Request, form: dict[str, str]) -> str:
        profile = form.get("profile", "")
        try:
            run_id = self.service.start_run(profile, origin="dashboard")
        except KeyError as exc:
            raise ApiError(400, str(exc.args[0])) from None
        return f"started run {run_id} ({profile})"

    def retry(self, request: Request, form: dict[str, str]) -> str:
        connector = request.path_params["connector"]
        if connector not in self.service.config.connectors:
            raise rm.NotFound(f"no connector named {connector!r}")
        run_id = retry_exports(self.service, connector)
        return f"exporting {connector} again: run {run_id}"

    def approve(self, request: Request, form: dict[str, str]) -> str:
        """Approves what the page showed: the button sends the number it displays, and a different number pending
        now (the source was cut further since) is refused with nothing recorded."""
        connector = request.path_params["connector"]
        expected = Query(form).integer("expected")
        if expected is None:
            raise ApiError(400, "expected: the number of deletes and disables the page showed; reload the page")
        approved, pending = rm.approve_deletes(
            self.service.store(), list(self.service.config.connectors), connector, None, expected=expected
        )
        return f"approved {approved} of {pending} pending deletes and disables for the next export of {connector}"

    def reload(self, request: Request, form: dict[str, str]) -> str:
        done = reload_config(self.service)
        restart = done["restart_needed"]
        note = f"; restart the service to apply {', '.join(restart)}" if restart else ""
        return f"configuration reloaded (generation {done['generation']}): runs starting from now use it{note}"

    def disconnect(self, request: Request, form: dict[str, str]) -> str:
        mode = form.get("mode", "normal")
        if mode not in ("normal", "explicit", "clear"):
            raise ApiError(400, f"mode: expected normal, explicit or clear, got {mode!r}")
        done = disconnect(
            self.service,
            request.path_params["ref"],
            explicit=mode == "explicit",
            clear=mode == "clear",
            ask_explicit='the "Disconnect as explicit disconnector" button',
        )
        return _told(done["message"], done)

    def join(self, request: Request, form: dict[str, str]) -> str:
        return _told(None, join(self.service, request.path_params["ref"], form.get("to", "")))

    def project(self, request: Request, form: dict[str, str]) -> str:
        return _told(None, project(self.service, request.path_params["ref"], form.get("type", "")))

    def on_demand(self, request: Request, form: dict[str, str]) -> str:
        done = on_demand(self.service, request.path_params["ref"])
        if done["missing"]:
            raise rm.NotFound(done["steps"][0].get("message", "no such object"))
        targets = "; ".join(f"{t['connector']} {t['identifier']!r}: {t['outcome']}" for t in done["targets"])
        return _told(f"provisioned on demand: {targets or 'no target'}", done)

    def routes(self) -> list[Route]:
        return [
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/", self.page("overview.html", self.overview)),
            Route("/ui/progress", self.page("_progress.html", self.progress)),
            Route("/runs", self.page("runs.html", self.runs)),
            Route("/runs/{run_id}", self.page("run.html", self.run)),
            Route("/search", self.page("search.html", self.search)),
            Route("/objects/{ref:path}", self.page("object.html", self.object)),
            Route("/exports", self.page("exports.html", self.exports)),
            Route("/holds", self.page("holds.html", self.holds)),
            Route("/audit", self.page("audit.html", self.audit)),
            Route("/ui/runs", self.action(self.start), methods=["POST"]),
            Route("/ui/config/reload", self.action(self.reload), methods=["POST"]),
            Route("/ui/retry/{connector}", self.action(self.retry), methods=["POST"]),
            Route("/ui/holds/{connector}/approve", self.action(self.approve), methods=["POST"]),
            *(
                Route(f"/ui/objects/{{ref:path}}/{verb}", self.action(work, changes="object-changed"), methods=["POST"])
                for verb, work in (
                    ("disconnect", self.disconnect),
                    ("join", self.join),
                    ("project", self.project),
                    ("on-demand", self.on_demand),
                )
            ),
        ]


def _told(message: str | None, done: dict[str, object]) -> str:
    """An operator action's answer as a line: its message (or the run's own), its run, its error rows."""
    run = f" (run {done['run_id']})" if done.get("run_id") is not None else ""
    rows = done.get("errors")
    errors = "".join(f"; error: {e['reason']}" for e in rows) if isinstance(rows, list) else ""
    return f"{message if message is not None else done['message']}{run}{errors}"


def _safe_next(target: str | None) -> str:
    """Only a path on this site: a login must never redirect elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return quote(target, safe="/?=&:*.-_~%")
