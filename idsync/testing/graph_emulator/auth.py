"""App registrations and the client-credentials token endpoint (``POST /{tenant}/oauth2/v2.0/token``).

Tokens are opaque random strings with an expiry, not JWTs: the emulator only has to tell a valid bearer from an
invalid one. Refusals follow the Microsoft identity platform's shapes (``{"error", "error_description",
"error_codes", ...}`` with AADSTS codes) and Graph's 401 ``InvalidAuthenticationToken`` body.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from idsync.testing.graph_emulator.assertions import CLIENT_ASSERTION_TYPE, AssertionRefused, Certificate, verify
from idsync.testing.graph_emulator.clock import Clock
from idsync.testing.graph_emulator.errors import GraphError
from idsync.testing.graph_emulator.validation import ExtensionSpec

GRAPH_DEFAULT_SCOPE = "https://graph.microsoft.com/.default"


@dataclass
class AppRegistration:
    """An application with a client secret. ``object_id`` is the application object's id in the directory,
    ``client_id`` its appId."""

    display_name: str
    client_id: str
    client_secret: str = field(repr=False)
    object_id: str
    extensions: dict[str, ExtensionSpec] = field(default_factory=dict)
    certificates: list[Certificate] = field(default_factory=list)

    def extension_name(self, name: str) -> str:
        return f"extension_{self.client_id.replace('-', '')}_{name}"


@dataclass
class _Token:
    client_id: str
    expires_at: float


class TokenError(Exception):
    """A token endpoint refusal: (HTTP status, OAuth error body)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("error_description", ""))
        self.status = status
        self.body = body


class Authority:
    def __init__(self, clock: Clock, tenant_id: str, token_lifetime: float = 3599.0) -> None:
        self.clock = clock
        self.tenant_id = tenant_id
        self.token_lifetime = token_lifetime
        self.apps: dict[str, AppRegistration] = {}
        self._tokens: dict[str, _Token] = {}

    def add_app(
        self, display_name: str, client_id: str | None, client_secret: str | None, object_id: str
    ) -> AppRegistration:
        app = AppRegistration(
            display_name=display_name,
            client_id=client_id or str(uuid.uuid4()),
            client_secret=client_secret or secrets.token_urlsafe(30),
            object_id=object_id,
        )
        self.apps[app.client_id] = app
        return app

    def _oauth_error(self, status: int, error: str, code: int, description: str) -> TokenError:
        return TokenError(
            status,
            {
                "error": error,
                "error_description": f"AADSTS{code}: {description}",
                "error_codes": [code],
                "timestamp": self.clock.now().strftime("%Y-%m-%d %H:%M:%SZ"),
                "trace_id": str(uuid.uuid4()),
                "correlation_id": str(uuid.uuid4()),
            },
        )

    def issue(
        self, tenant: str, form: Mapping[str, str], known_tenant: bool, audience: str | None = None
    ) -> dict[str, Any]:
        """A token for a client-credentials request: a client secret, or a client assertion signed with a certificate
        registered on the app (``audience``: this token endpoint's URL, which the assertion must name)."""
        if not known_tenant:
            raise self._oauth_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            raise self._oauth_error(
                400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
            )
        scope = form.get("scope", "")
        if not scope.endswith("/.default"):
            raise self._oauth_error(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows must have a scope "
                "value with /.default suffixed to the resource identifier (application ID URI).",
            )
        client_id = form.get("client_id", "")
        app = self.apps.get(client_id)
        if app is None:
            raise self._oauth_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory '{tenant}'.",
            )
        if form.get("client_assertion_type") == CLIENT_ASSERTION_TYPE:
            try:
                verify(
                    form.get("client_assertion", ""),
                    client_id=client_id,
                    audience=audience or "",
                    certificates=app.certificates,
                    now=self.clock.now().timestamp(),
                )
            except AssertionRefused as exc:
                raise self._oauth_error(401, "invalid_client", exc.code, exc.description) from None
        elif not hmac.compare_digest(form.get("client_secret", ""), app.client_secret):
            raise self._oauth_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in "
                f"the request is the client secret value, not the client secret ID, for a secret added to app "
                f"'{client_id}'.",
            )
        token = secrets.token_urlsafe(48)
        self._tokens[token] = _Token(client_id, self.clock.monotonic() + self.token_lifetime)
        lifetime = int(self.token_lifetime)
        return {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token}

    def authenticate(self, authorization: str | None) -> AppRegistration:
        """The app behind a request's bearer token, or Graph's 401."""
        if not authorization or not authorization.lower().startswith("bearer ") or not authorization[7:].strip():
            raise _unauthenticated("Access token is empty.")
        token = self._tokens.get(authorization[7:].strip())
        if token is None:
            raise _unauthenticated("Access token validation failure. Invalid audience.")
        if token.expires_at <= self.clock.monotonic():
            raise _unauthenticated("Lifetime validation failed, the token is expired.")
        app = self.apps.get(token.client_id)
        if app is None:
            raise _unauthenticated("Access token validation failure.")
        return app

    def revoke_all(self) -> None:
        self._tokens.clear()


def _unauthenticated(message: str) -> GraphError:
    return GraphError(
        401,
        "InvalidAuthenticationToken",
        message,
        headers={"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'},
    )
