"""Access tokens for Graph: client credentials through MSAL, renewed before they expire, attached by an httpx auth.

A ``TokenSource`` gets a fresh token; ``TokenCache`` keeps one and renews it ``margin`` seconds before its expiry,
so a long run never sends an expired token; ``BearerAuth`` attaches it and, if Graph still answers 401 (a clock
that disagrees, a revoked token), renews once and resends. Production uses ``MsalTokenSource``: MSAL talks to the
identity platform through the connector's own httpx client (same TLS settings, same proxies). MSAL insists on https;
``ClientCredentialsTokenSource`` speaks the same client-credentials grant over plain httpx for an explicitly
allowed http:// endpoint such as a local emulator. Secrets go to the token endpoint and nowhere else: not into
exceptions, logs or ``repr``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from idsync.connectors.base import ConnectivityError

Clock = Callable[[], float]


class TokenSource(Protocol):
    def acquire(self, *, fresh: bool) -> tuple[str, float]:
        """A token and its lifetime in seconds. ``fresh``: never a cached one."""
        ...


@dataclass
class TokenStats:
    acquired: int = 0
    renewed_before_expiry: int = 0
    renewed_after_401: int = 0


@dataclass
class TokenCache:
    """One token, renewed ``margin`` seconds before it expires (and on demand after a 401)."""

    source: TokenSource
    margin: float = 300.0
    clock: Clock = time.monotonic
    stats: TokenStats = field(default_factory=TokenStats)
    _value: str | None = field(default=None, repr=False)
    _expires_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def token(self, *, force: bool = False) -> str:
        with self._lock:
            now = self.clock()
            due = self._value is None or now >= self._expires_at - self.margin
            if force or due:
                if self._value is not None:
                    if force:
                        self.stats.renewed_after_401 += 1
                    else:
                        self.stats.renewed_before_expiry += 1
                value, lifetime = self.source.acquire(fresh=self._value is not None)
                self._value = value
                # A token shorter-lived than the margin is still used; it is renewed at half its life.
                self._expires_at = now + lifetime if lifetime > 2 * self.margin else now + lifetime / 2 + self.margin
                self.stats.acquired += 1
            assert self._value is not None
            return self._value

    def invalidate(self) -> None:
        with self._lock:
            self._value = None


class BearerAuth(httpx.Auth):
    """Adds the bearer token; on a 401 about the token itself, renews it once and resends the request."""

    requires_response_body = True

    def __init__(self, tokens: TokenCache) -> None:
        self.tokens = tokens

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.tokens.token()}"
        response = yield request
        if response.status_code == 401 and _token_refused(response):
            request.headers["Authorization"] = f"Bearer {self.tokens.token(force=True)}"
            yield request


def _token_refused(response: httpx.Response) -> bool:
    try:
        code = response.json().get("error", {}).get("code", "")
    except ValueError:
        return True
    return code in ("InvalidAuthenticationToken", "") or "token" in str(code).lower()


def token_error(status: int | None, body: Mapping[str, Any] | None, where: str) -> ConnectivityError:
    """An identity-platform refusal as an operator reads it (AADSTS code and its first sentence)."""
    body = body or {}
    error = str(body.get("error") or f"HTTP {status}")
    description = str(body.get("error_description") or "").strip()
    first = description.split("\r\n")[0].split("\n")[0]
    hint = ""
    if "AADSTS7000215" in first or "AADSTS7000222" in first:
        hint = " (check the client secret: its value, not its id, and that it has not expired)"
    elif "AADSTS700016" in first:
        hint = " (check client_id and that the app is registered in this tenant)"
    elif "AADSTS90002" in first:
        hint = " (check tenant)"
    return ConnectivityError(f"the token request to {where} was refused: {error}: {first}{hint}".rstrip(": "))


class ClientCredentialsTokenSource:
    """The OAuth 2.0 client-credentials grant with a client secret, over plain httpx (for http:// endpoints)."""

    def __init__(
        self, http: httpx.Client, token_endpoint: str, client_id: str, secret: Callable[[], str], scope: str
    ) -> None:
        self._http = http
        self._endpoint = token_endpoint
        self._client_id = client_id
        self._secret = secret
        self._scope = scope

    def acquire(self, *, fresh: bool) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._secret(),
            "scope": self._scope,
        }
        try:
            response = self._http.post(self._endpoint, data=form)
        except httpx.HTTPError as exc:
            raise ConnectivityError(f"cannot reach the token endpoint {self._endpoint}: {exc}") from None
        body = _json(response)
        if response.status_code != 200 or "access_token" not in body:
            raise token_error(response.status_code, body, self._endpoint)
        return str(body["access_token"]), float(body.get("expires_in", 3599))


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class MsalHttpClient:
    """MSAL's minimal HTTP interface ("similar to requests, aiohttp and httpx") over an httpx client."""

    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    def post(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        if isinstance(data, dict):
            # MSAL hands the client assertion over as bytes, which requests form-encodes and httpx would not
            form = {k: v.decode() if isinstance(v, bytes) else v for k, v in data.items() if v is not None}
            return self._http.post(url, params=params, data=form, headers=headers, timeout=_timeout(kwargs))
        return self._http.post(url, params=params, content=data, headers=headers, timeout=_timeout(kwargs))

    def get(
        self, url: str, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        return self._http.get(url, params=params, headers=headers, timeout=_timeout(kwargs))

    def close(self) -> None:  # MSAL closes its client on teardown; the connector owns this one
        pass


def _timeout(kwargs: Mapping[str, Any]) -> Any:
    value = kwargs.get("timeout")
    return httpx.USE_CLIENT_DEFAULT if value is None else value


@dataclass(frozen=True)
class MsalSettings:
    authority: str
    client_id: str
    scope: str
    known_cloud: bool
    credential: Callable[[], Any]
    """Called when the first token is needed: a secret string or MSAL's certificate dict."""


class MsalTokenSource:
    """MSAL's ConfidentialClientApplication, built on first use (building it contacts the authority)."""

    def __init__(self, settings: MsalSettings, http: httpx.Client) -> None:
        self.settings = settings
        self._http = http
        self._app: Any = None
        self._lock = threading.Lock()

    def _application(self) -> Any:
        with self._lock:
            if self._app is None:
                import msal  # lazily: only a run that talks to Entra pays for it

                s = self.settings
                try:
                    self._app = msal.ConfidentialClientApplication(
                        s.client_id,
                        client_credential=s.credential(),
                        authority=s.authority,
                        http_client=MsalHttpClient(self._http),
                        validate_authority=s.known_cloud,
                        instance_discovery=None if s.known_cloud else False,
                        token_cache=msal.TokenCache(),
                    )
                except httpx.HTTPError as exc:
                    raise ConnectivityError(f"cannot reach the authority {s.authority}: {exc}") from None
                except ValueError as exc:
                    raise ConnectivityError(f"the authority {s.authority} cannot be used: {_first_line(exc)}") from None
            return self._app

    def acquire(self, *, fresh: bool) -> tuple[str, float]:
        app = self._application()
        if fresh:
            app.remove_tokens_for_client()
        try:
            result = app.acquire_token_for_client(scopes=[self.settings.scope])
        except httpx.HTTPError as exc:
            raise ConnectivityError(f"cannot reach the authority {self.settings.authority}: {exc}") from None
        if not isinstance(result, dict) or "access_token" not in result:
            raise token_error(None, result if isinstance(result, dict) else None, self.settings.authority)
        return str(result["access_token"]), float(result.get("expires_in", 3599))


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().split("\n")[0]


_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)


def certificate_thumbprint(pem: str) -> str:
    """The SHA-1 thumbprint (hex, upper case) of the first certificate in a PEM text, as Entra shows it."""
    match = _PEM_CERT.search(pem)
    if match is None:
        raise ValueError("no PEM certificate (-----BEGIN CERTIFICATE-----) found")
    der = base64.b64decode("".join(match.group(1).split()))
    return hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()
