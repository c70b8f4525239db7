"""The ``type: ldap`` configuration block."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from idsync.config import SecretRef, SettingError
from idsync.connectors.config import ConnectorConfig
from idsync.connectors.ldap.escaping import DNError, dn_key, dn_within, parse_dn
from idsync.connectors.ldap.scope import ContainerScope

DEFAULT_REFERENCES = ("member", "uniqueMember", "manager", "seeAlso", "owner", "secretary", "roleOccupant")


def check_dns(value: str | list[str] | None) -> str | list[str] | None:
    """A configured DN (or list of them) that parses, else a ValueError quoting it and saying where it breaks."""
    for dn in [value] if isinstance(value, str) else value or []:
        try:
            parse_dn(dn)
        except DNError as exc:
            raise ValueError(str(exc)) from None
    return value


class ObjectTypeConfig(BaseModel):
    """How one idsync object type looks in the directory."""

    model_config = ConfigDict(extra="forbid")

    object_class: str
    """The structural class that marks an entry as this type on import."""
    object_classes: list[str] = Field(default_factory=list)
    """Classes written on add (default: just ``object_class``)."""

    def classes_for_add(self) -> list[str]:
        return self.object_classes or [self.object_class]


INSECURE_OPT_IN = "allow_insecure: true permits it for a test directory"


class LdapConfig(ConnectorConfig):
    model_config = ConfigDict(extra="forbid")

    type: Literal["ldap"] = "ldap"
    url: str
    """``ldaps://host:636`` or ``ldap://host:389`` (with ``start_tls: true``)."""
    bind_dn: str | None = None
    password: SecretRef | None = None
    """A secret reference, ``${env:LDAP_PASSWORD}`` or ``${file:secrets/ldap.pw}``; a literal password is refused."""
    start_tls: bool = False
    tls_verify: bool = True
    ca_file: str | None = None
    allow_insecure: bool = False
    """Permit a simple bind over cleartext or unverified TLS. Logged as a warning at every connection."""
    backend: Literal["auto", "python-ldap", "ldap3"] = "auto"
    base_dn: str
    containers: list[str] = Field(default_factory=list)
    """Subtrees to import from (default: the whole ``base_dn``)."""
    excluded_containers: list[str] = Field(default_factory=list)
    """Subtrees inside the containers whose entries are not part of the connector space (MIM's excluded
    containers); a container inside one of them brings its own subtree back in."""
    object_types: dict[str, ObjectTypeConfig] = Field(
        default_factory=lambda: {"person": ObjectTypeConfig(object_class="inetOrgPerson")}
    )
    filter: str | None = None
    """An extra filter ANDed to every import search (written by the operator, so not escaped)."""
    attributes: list[str] | None = None
    """Attributes to import (default: all user attributes)."""
    anchor: str = "auto"
    """``entryUUID`` (OpenLDAP), ``nsUniqueId`` (389 DS), another attribute, or ``auto`` (from the schema)."""
    page_size: int = Field(default=500, ge=1, le=100_000)
    delta: Literal["accesslog", "syncrepl", "changelog"] | None = None
    accesslog_base: str = "cn=accesslog"
    changelog_base: str = "cn=changelog"
    references: list[str] = Field(default_factory=lambda: list(DEFAULT_REFERENCES))
    """DN-valued attributes (also found from the schema's DN syntax)."""
    unique_attributes: list[str] = Field(default_factory=list)
    """Attributes the directory keeps unique (uid, mail, employeeNumber, ...): after a crash, an add that may or may
    not have happened is looked for by its DN, then by these. Other attributes never identify an entry."""
    create_parents: bool = False
    """Create missing parent OUs when an add finds no parent."""
    subtree_delete: bool = False
    """Delete an entry together with its children (otherwise a non-leaf delete is an error)."""
    password_attribute: str = "userPassword"  # noqa: S105 - an attribute name
    password_hashing: Literal["ssha", "server"] = "ssha"  # noqa: S105 - a hashing scheme
    """Hash the password here as {SSHA}, or send it for the server to hash (e.g. the ppolicy hash_cleartext)."""
    add_window: int = Field(default=16, ge=1, le=1000)
    """Adds of an export batch in flight at once on the connection (1: one at a time). The server works on the next
    entries while results travel; after a dropped connection the unanswered ones are sent again one at a time."""
    read_ahead: Literal["process", "thread", "off"] = "process"
    """How a full import reads ahead while the engine stages what it read: ``process`` reads and decodes in a
    forked worker process (on Linux; elsewhere a thread), ``thread`` on a second thread of this process, ``off``
    not at all."""
    membership_chunk: int = Field(default=1000, ge=1)
    """Values per modify when a multi-valued attribute gains or loses many values (large groups)."""
    timeout: float = Field(default=30.0, gt=0)
    connect_timeout: float = Field(default=10.0, gt=0)
    reconnect_seconds: float = Field(default=30.0, ge=0)
    """How long to keep trying to reconnect after the connection drops before giving up the step."""

    @field_validator("base_dn", "bind_dn", "accesslog_base", "changelog_base", "containers", "excluded_containers")
    @classmethod
    def _dns_parse(cls, value: str | list[str] | None) -> str | list[str] | None:
        return check_dns(value)

    @model_validator(mode="after")
    def _containers_within_base(self) -> LdapConfig:
        """Each container is a subtree of ``base_dn`` that no other container already holds, and each exclusion a
        subtree of the containers that no other exclusion already leaves out. A container elsewhere (the
        commonest cause: ``containers: [ou=people,dc=example,dc=org]``, a YAML flow list that splits the DN at
        its commas into three "containers") would make the connector search the wrong places, and one already
        held would read the same entries twice; a container inside an excluded subtree is not held, and brings
        its own subtree back in, as MIM's include-inside-exclude does."""
        for container in self.containers:
            if not dn_within(container, self.base_dn):
                raise SettingError(
                    "containers",
                    f"container {container!r} is not within base_dn {self.base_dn!r}; a DN in a [a, b] list is "
                    "split at its commas: quote each DN, or write one per line",
                )
        for inner in self.containers:
            others = ContainerScope.of([c for c in self.containers if c is not inner], self.excluded_containers)
            outer = others.holder(inner)
            if outer is not None:
                raise SettingError(
                    "containers",
                    f"container {inner!r} lies within container {outer!r}: its entries would be read twice; "
                    f"list {outer!r} alone (a container inside an excluded_containers subtree is the exception)",
                )
        containers = self.import_containers()
        for excluded in self.excluded_containers:
            if dn_key(excluded) in {dn_key(c) for c in containers}:
                raise SettingError(
                    "excluded_containers",
                    f"excluded container {excluded!r} is one of the containers; remove it from one of the lists",
                )
            others = ContainerScope.of(containers, [e for e in self.excluded_containers if e is not excluded])
            if not others.includes(excluded):
                already = others.excluded_by(excluded)
                why = (
                    f"lies within excluded container {already!r} already"
                    if already is not None
                    else f"is not within the containers ({'; '.join(containers)}); a DN in a [a, b] list is split "
                    "at its commas: quote each DN, or write one per line"
                )
                raise SettingError("excluded_containers", f"excluded container {excluded!r} {why}")
        return self

    @field_validator("url")
    @classmethod
    def _url_scheme(cls, value: str) -> str:
        if not value.lower().startswith(("ldap://", "ldaps://")):
            raise ValueError(f"url {value!r}: must start with ldap:// or ldaps://")
        return value

    @model_validator(mode="after")
    def _tls_consistent(self) -> LdapConfig:
        if self.start_tls and self.url.lower().startswith("ldaps://"):
            raise ValueError("start_tls: ldaps:// is already encrypted; use one or the other")
        if not self.object_types:
            raise ValueError("object_types: at least one object type is needed")
        if not self.allow_insecure:
            for setting, why in self.transport_risks():
                raise SettingError(setting, f"{why} ({INSECURE_OPT_IN})")
        return self

    @property
    def encrypted(self) -> bool:
        return self.url.lower().startswith("ldaps://") or self.start_tls

    def transport_risks(self) -> list[tuple[str, str]]:
        """(setting, why) for each way the connection would expose the password or trust any server: validation
        refuses them, and the connector warns at every connection, unless ``allow_insecure`` opts in."""
        risks = []
        if self.bind_dn and not self.encrypted:
            risks.append(
                (
                    "url",
                    f"a simple bind over cleartext {self.url} would send the password unencrypted; use an ldaps:// "
                    "url or start_tls: true",
                )
            )
        if not self.tls_verify:
            risks.append(
                ("tls_verify", "tls_verify: false accepts any certificate; set ca_file to trust the server's CA")
            )
        return risks

    def import_containers(self) -> list[str]:
        return self.containers or [self.base_dn]

    def container_scope(self) -> ContainerScope:
        """The entries of the connector space: within the containers, less the excluded ones."""
        return ContainerScope.of(self.import_containers(), self.excluded_containers)
