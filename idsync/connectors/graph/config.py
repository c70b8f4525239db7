"""The ``type: graph`` connector block. Validated when the workspace loads, so a typo in an attribute name or an
endpoint fails with its line number before any run, and secrets can only be references."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from idsync.config import SecretRef
from idsync.connectors.config import ConnectorConfig
from idsync.connectors.graph.properties import (
    EXTENSION_ATTRIBUTES,
    GROUP,
    USER,
)

ObjectKind = Literal["user", "group"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cloud(_Strict):
    login: str
    graph: str


CLOUDS: dict[str, Cloud] = {
    "global": Cloud(login="https://login.microsoftonline.com", graph="https://graph.microsoft.com"),
    "usgov": Cloud(login="https://login.microsoftonline.us", graph="https://graph.microsoft.us"),
    "usgov-dod": Cloud(login="https://login.microsoftonline.us", graph="https://dod-graph.microsoft.us"),
    "china": Cloud(login="https://login.chinacloudapi.cn", graph="https://microsoftgraph.chinacloudapi.cn"),
}
"""National cloud endpoints ("National cloud deployments" in the Graph docs); ``login_endpoint`` and
``graph_endpoint`` override them for any other deployment."""
EMULATED = Cloud(login="https://login.emulator.invalid", graph="https://graph.emulator.invalid")
"""The names an emulated tenant answers to in-process (``.invalid``: nothing on a network has them)."""

DEFAULT_USER_ATTRIBUTES = (
    "accountEnabled",
    "businessPhones",
    "city",
    "companyName",
    "country",
    "department",
    "displayName",
    "employeeId",
    "employeeType",
    "faxNumber",
    "givenName",
    "jobTitle",
    "mail",
    "mailNickname",
    "manager",
    "mobilePhone",
    "officeLocation",
    "onPremisesImmutableId",
    "onPremisesSyncEnabled",
    "postalCode",
    "preferredLanguage",
    "proxyAddresses",
    "state",
    "streetAddress",
    "surname",
    "usageLocation",
    "userPrincipalName",
    "userType",
)
DEFAULT_GROUP_ATTRIBUTES = (
    "description",
    "displayName",
    "groupTypes",
    "mail",
    "mailEnabled",
    "mailNickname",
    "members",
    "onPremisesSyncEnabled",
    "proxyAddresses",
    "securityEnabled",
    "visibility",
)

_EXTENSION_NAME = re.compile(r"^[A-Za-z0-9]+$")


class CertificateCredential(_Strict):
    """Client credentials with a certificate registered on the app: the private key is a secret reference. With
    ``path`` (the PEM certificate, public), assertions name it by its SHA-256 thumbprint and carry it; with only
    ``thumbprint`` (SHA-1, hex, as the portal shows it) they use the older SHA-1 form."""

    private_key: SecretRef
    path: str | None = None
    thumbprint: str | None = None

    @field_validator("thumbprint")
    @classmethod
    def _hex(cls, value: str | None) -> str | None:
        if value is None:
            return value
        text = value.replace(":", "").replace(" ", "").upper()
        if not re.fullmatch(r"[0-9A-F]{40}", text):
            raise ValueError("thumbprint: 40 hexadecimal digits (the certificate's SHA-1 thumbprint)")
        return text

    @model_validator(mode="after")
    def _needs(self) -> CertificateCredential:
        if self.thumbprint is None and self.path is None:
            raise ValueError("certificate: give 'path' to the PEM certificate (or its SHA-1 'thumbprint')")
        return self


class ObjectTypeConfig(_Strict):
    attributes: list[str] | None = None
    """Attributes to import (``$select``). Omitted: a default set covering everything the connector can export.
    Export confirmation needs every exported attribute to be imported."""


def _users_only() -> list[ObjectKind]:
    return ["user"]


class ExtensionAttribute(_Strict):
    """A directory extension registered on an application: ``extension_{appId without dashes}_{name}`` in Graph."""

    type: Literal["string", "boolean", "integer", "datetime", "binary"] = "string"
    multivalued: bool = False
    targets: list[ObjectKind] = Field(default_factory=_users_only)


class NewUserPassword(_Strict):
    """Graph needs a password to create a user. The connector generates a strong random one for each new user and
    never keeps it: people get in through self-service password reset or a Temporary Access Pass."""

    length: int = Field(default=24, ge=12, le=256)
    force_change_next_sign_in: bool = True
    force_change_with_mfa: bool = False


class Invitations(_Strict):
    """B2B guests: an add that carries ``mail`` and no ``userPrincipalName`` is sent as an invitation."""

    redirect_url: str
    send_email: bool = False
    message: str | None = None

    @field_validator("redirect_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("https", "http"):
            raise ValueError("redirect_url: an absolute https:// URL where invited guests land")
        return value


def _default_types() -> dict[ObjectKind, ObjectTypeConfig]:
    return {"user": ObjectTypeConfig(), "group": ObjectTypeConfig()}


class GraphConfig(ConnectorConfig):
    type: Literal["graph"] = "graph"
    tenant: str
    """Tenant id (GUID) or a verified domain such as contoso.onmicrosoft.com."""
    client_id: str
    client_secret: SecretRef | None = None
    certificate: CertificateCredential | None = None
    cloud: Literal["global", "usgov", "usgov-dod", "china"] = "global"
    login_endpoint: str | None = None
    graph_endpoint: str | None = None
    scope: str | None = None
    """Token scope; default ``{graph_endpoint}/.default``."""
    api_version: Literal["v1.0", "beta"] = "v1.0"
    object_types: dict[ObjectKind, ObjectTypeConfig] = Field(default_factory=_default_types)
    extension_attributes: dict[str, ExtensionAttribute] = Field(default_factory=dict)
    extension_app_id: str | None = None
    """The application the extensions are registered on; default ``client_id``."""
    page_size: int = Field(default=999, ge=1, le=999)
    batch_size: int = Field(default=20, ge=1, le=20)
    """Requests per JSON ``$batch`` (Graph allows 20)."""
    concurrency: int = Field(default=4, ge=1, le=32)
    """Upper bound of requests in flight; lowered automatically while Graph throttles."""
    timeout_seconds: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=5, ge=0, le=20)
    """Retries of a request after a 5xx or a timeout (429s are waited out, not counted here)."""
    max_throttle_waits: int = Field(default=60, ge=1)
    retry_base_seconds: float = Field(default=1.0, gt=0)
    retry_max_seconds: float = Field(default=60.0, gt=0)
    new_user_password: NewUserPassword = Field(default_factory=NewUserPassword)
    restore_deleted_users: bool = True
    """An added user that matches a soft-deleted one (``restore_match``) is restored instead of created again."""
    restore_match: list[str] = Field(default_factory=lambda: ["onPremisesImmutableId", "employeeId"])
    invitations: Invitations | None = None
    insecure_http: bool = False
    """Allow http:// endpoints (a local emulator). Tokens then travel in clear text; logged loudly."""
    ca_bundle: str | None = None
    """A PEM bundle to verify TLS with (a TLS-inspecting proxy), instead of the system's."""
    http2: bool = True
    emulator: str | None = None
    """For demos and tests: an emulated tenant kept in this JSON file (relative to the workspace), reached
    in-process with no server and no credential; created on first use with ``tenant`` as its verified domain."""

    @field_validator("tenant")
    @classmethod
    def _tenant(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9.-]+", value):
            raise ValueError("tenant: a tenant id (GUID) or a verified domain such as contoso.onmicrosoft.com")
        return value

    @field_validator("login_endpoint", "graph_endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError("an endpoint is an absolute URL such as https://graph.microsoft.com")
        return value.rstrip("/")

    @field_validator("restore_match")
    @classmethod
    def _restore_match(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in USER:
                raise ValueError(f"restore_match: {name!r} is not a property of a Graph user")
        return value

    @field_validator("extension_attributes")
    @classmethod
    def _extensions(cls, value: dict[str, ExtensionAttribute]) -> dict[str, ExtensionAttribute]:
        for name in value:
            if not _EXTENSION_NAME.match(name):
                raise ValueError(
                    f"extension attribute {name!r}: the short name registered on the app (letters and digits), "
                    "not the extension_{appId}_{name} form"
                )
        return value

    @model_validator(mode="after")
    def _check(self) -> GraphConfig:
        if self.emulator is not None:
            if not self.emulator.strip():
                raise ValueError("emulator: the path of the emulated tenant's file, such as data/tenant.json")
            given = [
                name
                for name in ("client_secret", "certificate", "login_endpoint", "graph_endpoint", "ca_bundle")
                if getattr(self, name) is not None
            ]
            if given:
                raise ValueError(
                    f"emulator: the connector reaches the emulated tenant in-process with a throwaway credential of "
                    f"its own; remove {', '.join(given)}"
                )
        elif (self.client_secret is None) == (self.certificate is None):
            raise ValueError("give exactly one credential: client_secret (a secret reference) or certificate")
        for endpoint in (self.login, self.graph):
            if endpoint.startswith("http://") and not self.insecure_http:
                raise ValueError(
                    f"{endpoint} is not https: tokens would travel in clear text; set insecure_http: true only for "
                    "a local emulator"
                )
        if self.login.startswith("http://") and self.certificate is not None:
            raise ValueError("certificate credentials need an https login endpoint")
        if self.export_batch_size is not None and (self.export_batch_size <= 0 or self.export_batch_size % 20):
            raise ValueError("export_batch_size: a multiple of 20 (Graph's $batch holds 20 requests)")
        if not self.object_types:
            raise ValueError("object_types: at least one of user, group")
        for kind, spec in self.object_types.items():
            known = self.known_attributes(kind)
            for name in spec.attributes or []:
                if name not in known:
                    raise ValueError(
                        f"object_types.{kind}.attributes: {name!r} is not an attribute of a Graph {kind} "
                        "(names are Graph's, case-sensitive: userPrincipalName, jobTitle, extensionAttribute1, ...)"
                    )
        return self

    # derived ------------------------------------------------------------------------------------------------------
    @property
    def login(self) -> str:
        if self.emulator is not None:
            return EMULATED.login
        return self.login_endpoint or CLOUDS[self.cloud].login

    @property
    def graph(self) -> str:
        if self.emulator is not None:
            return EMULATED.graph
        return self.graph_endpoint or CLOUDS[self.cloud].graph

    @property
    def token_scope(self) -> str:
        return self.scope or f"{self.graph}/.default"

    @property
    def known_cloud(self) -> bool:
        """The login endpoint is one MSAL validates and discovers by itself."""
        return self.login in {c.login for c in CLOUDS.values()}

    def extension_name(self, short: str) -> str:
        app = (self.extension_app_id or self.client_id).replace("-", "")
        return f"extension_{app}_{short}"

    def extensions_for(self, kind: str) -> dict[str, ExtensionAttribute]:
        """Full Graph name -> declaration, for the extensions that apply to ``kind``."""
        return {self.extension_name(k): v for k, v in self.extension_attributes.items() if kind in v.targets}

    def known_attributes(self, kind: str) -> set[str]:
        props = USER if kind == "user" else GROUP
        names = {n for n, spec in props.items() if spec.is_primitive}
        names |= set(EXTENSION_ATTRIBUTES)
        names |= {"manager"} if kind == "user" else {"members"}
        names |= set(self.extensions_for(kind))
        return names

    def attributes(self, kind: str) -> list[str]:
        """The attributes imported for ``kind``, in a stable order."""
        spec = next((v for k, v in self.object_types.items() if k == kind), None)
        if spec is None:
            return []
        chosen = spec.attributes
        if chosen is None:
            chosen = list(DEFAULT_USER_ATTRIBUTES if kind == "user" else DEFAULT_GROUP_ATTRIBUTES)
            chosen += sorted(self.extensions_for(kind))
        return list(dict.fromkeys(chosen))

    @property
    def kinds(self) -> list[str]:
        return [k for k in ("user", "group") if k in self.object_types]
