"""``GraphConnector``: the Connector protocol over Microsoft Graph, and ``GraphConnectorType`` for the registry.

Constructing it contacts nothing (sync builds connectors just to read their capabilities); the HTTP clients, the
token and the thread pool are made on first use. The demo reaches an emulated tenant kept in a file through the
``emulator`` setting (see :mod:`idsync.connectors.graph.emulated`); tests also pass ``ConnectorContext.options``:
``graph_transport`` (an httpx transport every request goes through), and ``graph_token_clock`` (the clock token
renewal reads, so an emulator's clock can be advanced).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import httpx

from idsync.config import SecretResolver
from idsync.connectors.base import (
    Capabilities,
    ConnectivityError,
    ConnectorContext,
    ExportItem,
    ExportResult,
    ImportPage,
    ImportRecord,
    telemetry,
)
from idsync.connectors.graph.auth import (
    BearerAuth,
    ClientCredentialsTokenSource,
    MsalSettings,
    MsalTokenSource,
    TokenCache,
    TokenSource,
    certificate_thumbprint,
)
from idsync.connectors.graph.client import GraphClient, RetryPolicy
from idsync.connectors.graph.config import GraphConfig
from idsync.connectors.graph.emulated import EmulatedTenant
from idsync.connectors.graph.errors import GraphRequestError
from idsync.connectors.graph.executor import Executor
from idsync.connectors.graph.export import GraphExporter
from idsync.connectors.graph.imports import GraphImporter
from idsync.connectors.graph.lookup import Finder, Wanted
from idsync.connectors.graph.operations import Planner
from idsync.connectors.graph.properties import read_only_for
from idsync.connectors.graph.throttle import RateGovernor
from idsync.connectors.graph.values import graph_schema, manager_of, record, select_for
from idsync.model import ObjectTypeSchema, Schema

log = logging.getLogger(__name__)

DEFAULT_EXPORT_BATCH = 100


class _Session:
    """Everything that talks to Graph, made together on first use."""

    def __init__(self, connector: GraphConnector) -> None:
        config = connector.config
        options = connector.context.options
        transport = options.get("graph_transport")
        self.emulated: EmulatedTenant | None = None
        credential: Callable[[], Any] | None = None
        if config.emulator is not None:
            path = Path(config.emulator)
            path = path if path.is_absolute() else Path(connector.context.workspace) / path
            holder = f"the Graph connector {connector.name!r} of an idsync process"
            emulated = self.emulated = EmulatedTenant(path, config.tenant, config.client_id, holder)
            transport = emulated.transport
            credential = lambda: emulated.secret  # noqa: E731
        verify: Any = config.ca_bundle if config.ca_bundle else True
        if config.ca_bundle and not Path(config.ca_bundle).is_absolute():
            verify = str(Path(connector.context.workspace) / config.ca_bundle)
        timeout = httpx.Timeout(config.timeout_seconds)
        common: dict[str, Any] = {"timeout": timeout, "verify": verify, "follow_redirects": False}
        if transport is not None:
            common["transport"] = transport
        self.login_http = httpx.Client(**common)
        self.tokens = TokenCache(
            connector.token_source(self.login_http, credential), clock=options.get("graph_token_clock", time.monotonic)
        )
        http2 = config.http2 and transport is None and config.graph.startswith("https://")
        self.http = httpx.Client(auth=BearerAuth(self.tokens), http2=http2, headers=_HEADERS, **common)
        rng = random.Random()
        self.governor = RateGovernor(config.concurrency)
        policy = RetryPolicy(
            config.max_retries, config.max_throttle_waits, config.retry_base_seconds, config.retry_max_seconds
        )
        root = f"{config.graph}/{config.api_version}"
        self.client = GraphClient(self.http, root, self.governor, policy, rng=rng)
        self.pool = ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix=f"graph-{connector.name}")
        self.finder = Finder(self.client, config)
        planner = Planner(config, root)
        executor = Executor(self.client, self.finder, planner, config, self.pool, rng=rng)
        self.exporter = GraphExporter(config, self.finder, planner, executor)
        self.importer = GraphImporter(self.client, config, self.pool)

    def save(self) -> None:
        """Write an emulated tenant back to its file (nothing to do for a real one)."""
        if self.emulated is not None:
            self.emulated.save()

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.http.close()
        self.login_http.close()
        if self.emulated is not None:
            self.emulated.close()


_HEADERS = {"User-Agent": "idsync-graph-connector", "Accept": "application/json"}


class GraphConnector:
    def __init__(self, name: str, config: GraphConfig, context: ConnectorContext) -> None:
        self.name = name
        self.config = config
        self.context = context
        self.capabilities = Capabilities(
            full_import=True,
            delta_import=True,
            export=True,
            rename=True,
            delete=True,
            references_by="anchor",
            identifier_is_anchor=False,
            case_insensitive_identifiers=True,
            export_batch_size=config.export_batch_size or DEFAULT_EXPORT_BATCH,
            export_results_carry_anchor=True,
        )
        self._session: _Session | None = None
        self._lock = threading.Lock()
        if config.insecure_http and (config.login.startswith("http://") or config.graph.startswith("http://")):
            log.warning(
                "connector %s: insecure_http is on - access tokens and the client secret travel unencrypted to %s; "
                "use it only with a local emulator",
                name,
                config.login if config.login.startswith("http://") else config.graph,
            )

    # plumbing -----------------------------------------------------------------------------------------------------
    @property
    def session(self) -> _Session:
        with self._lock:
            if self._session is None:
                self._session = _Session(self)
            return self._session

    @property
    def stats(self) -> dict[str, Any]:
        """Requests sent, batches, throttling and token renewals: what the benchmark and tests read."""
        if self._session is None:
            return {}
        s = self._session
        out: dict[str, Any] = dict(vars(s.client.stats))
        out.update({f"tokens_{k}": v for k, v in vars(s.tokens.stats).items()})
        out["lowest_concurrency"] = s.governor.stats.lowest_concurrency
        out["throttle_wait_seconds"] = round(s.governor.stats.waited_seconds, 3)
        return out

    def _secrets(self) -> Any:
        return self.context.secrets or SecretResolver(Path(self.context.workspace))

    def token_source(self, http: httpx.Client, credential: Callable[[], Any] | None = None) -> TokenSource:
        """``credential``: the client secret to use instead of the configured credential (an emulated tenant's)."""
        config = self.config
        if config.login.startswith("http://"):
            reference = config.client_secret
            assert reference is not None  # validated: http endpoints take a secret only
            return ClientCredentialsTokenSource(
                http,
                f"{config.login}/{config.tenant}/oauth2/v2.0/token",
                config.client_id,
                lambda: str(self._secrets().resolve(reference)),
                config.token_scope,
            )
        settings = MsalSettings(
            authority=f"{config.login}/{config.tenant}",
            client_id=config.client_id,
            scope=config.token_scope,
            known_cloud=config.known_cloud,
            credential=credential or self._credential,
        )
        return MsalTokenSource(settings, http)

    def _credential(self) -> Any:
        config = self.config
        secrets = self._secrets()
        if config.client_secret is not None:
            return secrets.resolve(config.client_secret)
        cert = config.certificate
        assert cert is not None
        credential: dict[str, Any] = {"private_key": secrets.resolve(cert.private_key)}
        if cert.path is None:
            credential["thumbprint"] = cert.thumbprint
            return credential
        path = Path(cert.path)
        if not path.is_absolute():
            path = Path(self.context.workspace) / path
        try:
            public = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConnectivityError(f"certificate {cert.path}: cannot read it ({exc.strerror})") from None
        try:
            thumbprint = certificate_thumbprint(public)
        except ValueError as exc:
            raise ConnectivityError(f"certificate {cert.path}: {exc}") from None
        if cert.thumbprint is not None and cert.thumbprint != thumbprint:
            raise ConnectivityError(
                f"certificate {cert.path}: its SHA-1 thumbprint is {thumbprint}, not the configured {cert.thumbprint}"
            )
        credential["public_certificate"] = public  # MSAL names it by its SHA-256 thumbprint and sends it along
        return credential

    # the protocol -------------------------------------------------------------------------------------------------
    def schema(self) -> Schema:
        return graph_schema(self.config)

    def test_connection(self) -> None:
        client = self.session.client
        for kind in self.config.kinds:
            client.get_json(f"/{kind}s", params={"$top": "1", "$select": "id"}, what=f"reading {kind}s")

    def full_import(self) -> Iterator[ImportPage]:
        session = self.session
        return _then_save(session, session.importer.full())

    def delta_import(self, watermark: str | None) -> Iterator[ImportPage]:
        if watermark is None:
            return self.full_import()
        session = self.session
        session.importer.decode(watermark)  # an unusable watermark fails here, before the first page
        return _then_save(session, session.importer.delta(watermark))

    def export(self, items: Sequence[ExportItem]) -> list[ExportResult]:
        if not items:
            return []
        session = self.session
        results = session.exporter.export(items)
        session.save()  # an emulated tenant keeps what it was sent before the results are reported
        return results

    def lookup(self, object_type: str, identifier: str, keys: dict[str, Any]) -> ImportRecord | None:
        if object_type not in self.config.kinds:
            return None
        session = self.session
        found = session.finder.find(Wanted(object_type, identifier, keys))
        if found is None:
            return None
        return self._read_one(object_type, str(found["id"]))

    def _read_one(self, kind: str, object_id: str) -> ImportRecord | None:
        session = self.session
        attributes = self.config.attributes(kind)
        params = {"$select": ",".join(select_for(self.config, kind))}
        if kind == "user" and "manager" in attributes:
            params["$expand"] = "manager($select=id)"
        try:
            obj = session.client.get_json(f"/{kind}s/{object_id}", params=params, what=f"reading {kind} {object_id}")
        except GraphRequestError as exc:
            if exc.failure.status == 404:
                return None
            raise
        links: dict[str, Any] = {}
        if kind == "user" and "manager" in attributes:
            links["manager"] = manager_of(obj)
        if kind == "group" and "members" in attributes:
            links["members"] = session.importer.members([object_id]).get(object_id, [])
        return record(kind, obj, attributes, links=links)

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._report(self._session.client.stats)
                self._session.close()
                self._session = None

    def _report(self, stats: Any) -> None:
        """Hand the session's 429s and resends to whoever listens (``idsync serve``'s metrics)."""
        sink = telemetry(self.context)
        if sink is None:
            return
        for event, count in (("throttled", stats.throttled), ("retry", stats.retries)):
            if count:
                sink.count(self.name, event, count)


def _then_save(session: _Session, pages: Iterator[ImportPage]) -> Iterator[ImportPage]:
    """The pages, then an emulated tenant written back: the delta links handed out must outlive the process."""
    yield from pages
    session.save()


class GraphConnectorType:
    name: ClassVar[str] = "graph"
    config_model: ClassVar[type[GraphConfig]] = GraphConfig

    @staticmethod
    def create(name: str, config: Any, context: ConnectorContext) -> GraphConnector:
        if not isinstance(config, GraphConfig):
            config = GraphConfig.model_validate(config)
        return GraphConnector(name, config, context)

    @staticmethod
    def offline_schema(config: GraphConfig, workspace: str, *, writing: bool) -> Schema:
        """Graph's published schema; an export cannot write the properties Graph maintains, and an import reads
        only the attributes the connector selects."""
        schema = graph_schema(config)
        if writing:
            return Schema(
                {
                    kind: ObjectTypeSchema(kind, found.attributes, frozenset(found.attributes) & read_only_for(kind))
                    for kind, found in schema.object_types.items()
                }
            )
        read = {}
        for kind, found in schema.object_types.items():
            selected = set(config.attributes(kind))
            read[kind] = ObjectTypeSchema(kind, {n: a for n, a in found.attributes.items() if n in selected})
        return Schema(read)
