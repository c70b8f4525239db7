"""The seam between the connector and an LDAP client library.

Two backends implement it: python-ldap (C libldap, several times faster) and ldap3 (pure Python, installs
anywhere). Values cross the seam as bytes and attribute names as the server spells them, so both backends
give the connector exactly the same thing and the same tests run against each.
"""

from __future__ import annotations

import enum
import importlib.util
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from idsync.connectors.base import ConnectorError
from idsync.connectors.ldap.config import LdapConfig

RawAttributes = dict[str, list[bytes]]
TREE_DELETE_OID = "1.2.840.113556.1.4.805"
SHOW_DELETED_OID = "1.2.840.113556.1.4.417"
"""Active Directory: return tombstones (deleted objects) too."""

Control = tuple[str, bool, bytes | None]
"""A request control: OID, criticality, BER-encoded value (``None`` for a control without one)."""


class Scope(enum.IntEnum):
    BASE = 0
    ONE = 1
    SUBTREE = 2


class ModOp(enum.IntEnum):
    ADD = 0
    DELETE = 1
    REPLACE = 2


@dataclass(slots=True)
class Entry:
    dn: str
    attributes: RawAttributes

    def get(self, name: str) -> list[bytes]:
        """Values of ``name`` (attribute names are case-insensitive in LDAP)."""
        found = self.attributes.get(name)
        if found is not None:
            return found
        lowered = name.lower()
        for key, values in self.attributes.items():
            if key.lower() == lowered:
                return values
        return []

    def first_text(self, name: str) -> str | None:
        values = self.get(name)
        return values[0].decode("utf-8", "replace") if values else None


@dataclass(slots=True)
class SyncResult:
    """One RFC 4533 refreshOnly pass: changed entries (with their entryUUID), deleted UUIDs, the next cookie."""

    entries: list[tuple[str, Entry]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    cookie: str | None = None
    present_phase: bool = False
    """The server could not replay deletes (no session log) and sent the present set instead."""


@dataclass(slots=True)
class DirSyncResult:
    """One round of Active Directory's DirSync control: changed entries, whether more are waiting, the cookie."""

    entries: list[Entry] = field(default_factory=list)
    more: bool = False
    cookie: bytes = b""


RESULT_NAMES = {
    1: "operationsError",
    2: "protocolError",
    3: "timeLimitExceeded",
    4: "sizeLimitExceeded",
    7: "authMethodNotSupported",
    8: "strongerAuthRequired",
    10: "referral",
    11: "adminLimitExceeded",
    12: "unavailableCriticalExtension",
    13: "confidentialityRequired",
    16: "noSuchAttribute",
    17: "undefinedAttributeType",
    18: "inappropriateMatching",
    19: "constraintViolation",
    20: "attributeOrValueExists",
    21: "invalidAttributeSyntax",
    32: "noSuchObject",
    34: "invalidDNSyntax",
    48: "inappropriateAuthentication",
    49: "invalidCredentials",
    50: "insufficientAccessRights",
    51: "busy",
    52: "unavailable",
    53: "unwillingToPerform",
    64: "namingViolation",
    65: "objectClassViolation",
    66: "notAllowedOnNonLeaf",
    67: "notAllowedOnRDN",
    68: "entryAlreadyExists",
    69: "objectClassModsProhibited",
    80: "other",
}
"""RFC 4511's names of result codes: both backends report the same code for the same refusal."""


class LdapOperationError(ConnectorError):
    """The server refused one operation; ``code`` is the LDAP result code, ``reason`` the server's text."""

    def __init__(self, code: int, name: str, reason: str, dn: str | None = None, referrals: Sequence[str] = ()) -> None:
        self.code = code
        self.name = RESULT_NAMES.get(code, name)
        self.reason = reason
        self.dn = dn
        self.referrals = tuple(referrals)
        """A referral's URLs (the servers holding the naming context asked for): never chased, only reported."""
        where = f"{dn}: " if dn else ""
        super().__init__(f"{where}{name} ({code}){': ' + reason if reason else ''}")


class LdapServerDown(ConnectorError):
    """The connection is gone or cannot be made (server stopped, network, TLS handshake), or the server said it
    is too busy or unavailable for now. ``closed``: the server closed a working connection."""

    def __init__(self, message: str, *, closed: bool = True) -> None:
        super().__init__(message)
        self.closed = closed


AddRequest = tuple[str, RawAttributes]
AddOutcome = Entry | None | LdapOperationError | LdapServerDown


NO_SUCH_OBJECT = 32
ALREADY_EXISTS = 68
NOT_ALLOWED_ON_NON_LEAF = 66
TYPE_OR_VALUE_EXISTS = 20
NO_SUCH_ATTRIBUTE = 16
SIZE_LIMIT_EXCEEDED = 4
TIME_LIMIT_EXCEEDED = 3
REFERRAL = 10
BUSY = 51
UNAVAILABLE = 52
RETRYABLE_CODES = frozenset({BUSY, UNAVAILABLE, NO_SUCH_OBJECT})


C = TypeVar("C")


class BackendBase(Generic[C]):
    """What both backends keep: the configuration, the password (never logged) and the live connection."""

    def __init__(self, config: LdapConfig, password: str | None) -> None:
        self._config = config
        self._password = password
        self._conn: C | None = None

    def _c(self) -> C:
        if self._conn is None:
            raise LdapServerDown("not connected")
        return self._conn


class Backend(Protocol):
    """One connection to one server, bound as the configured account."""

    name: str

    def connect(self) -> None:
        """Open, secure (LDAPS or StartTLS) and bind. Raises LdapServerDown or LdapOperationError."""
        ...

    def close(self) -> None: ...

    def search(
        self, base: str, scope: Scope, filter_text: str, attributes: list[str], size_limit: int = 0
    ) -> list[Entry]: ...

    def search_pages(
        self,
        base: str,
        scope: Scope,
        filter_text: str,
        attributes: list[str],
        page_size: int,
        controls: Sequence[Control] = (),
    ) -> Iterator[list[Entry]]:
        """RFC 2696 paged search: one list per page. Referrals are not chased (they are not entries).
        ``controls`` are sent with every page request (Active Directory's show-deleted, for example)."""
        ...

    def add(self, dn: str, attributes: RawAttributes, read_back: list[str]) -> Entry | None:
        """Add an entry; with ``read_back``, the new entry's values of those attributes (post-read or search)."""
        ...

    def add_many(self, requests: list[AddRequest], read_back: list[str], window: int) -> list[AddOutcome]:
        """Add several entries with up to ``window`` of them in flight at once, each result in request order: the
        read-back entry (``None`` when the server returned none), the server's refusal, or :class:`LdapServerDown`
        for adds the connection dropped before answering (they may or may not have been applied). An add whose
        parent is another add of the same call waits for that one."""
        ...

    def modify(self, dn: str, changes: list[tuple[ModOp, str, list[bytes]]]) -> None: ...

    def rename(self, dn: str, new_rdn: str, new_superior: str | None) -> None: ...

    def delete(self, dn: str, controls: list[str] | None = None) -> None: ...

    def sync_refresh(self, base: str, filter_text: str, attributes: list[str], cookie: str | None) -> SyncResult:
        """RFC 4533 content synchronization, refreshOnly mode."""
        ...

    def dirsync(
        self, base: str, filter_text: str, attributes: list[str], cookie: bytes, flags: int, max_bytes: int
    ) -> DirSyncResult:
        """One round of Active Directory's DirSync (1.2.840.113556.1.4.841) from ``cookie`` (empty: from the start).
        ``base`` must be a naming context's root."""
        ...


def choose_backend(config: LdapConfig) -> str:
    """``auto`` takes python-ldap when it is importable (much faster), else ldap3."""
    if config.backend != "auto":
        return config.backend
    if importlib.util.find_spec("ldap") is not None:
        return "python-ldap"
    return "ldap3"


def open_backend(config: LdapConfig, password: str | None) -> Backend:
    name = choose_backend(config)
    if name == "python-ldap":
        try:
            from idsync.connectors.ldap.backend_pyldap import PyLdapBackend
        except ImportError:
            raise ConnectorError("backend python-ldap is not installed: pip install 'idsync[fast-ldap]'") from None
        return PyLdapBackend(config, password)
    try:
        from idsync.connectors.ldap.backend_ldap3 import Ldap3Backend
    except ImportError:
        raise ConnectorError("backend ldap3 is not installed: pip install 'idsync[ldap]'") from None
    return Ldap3Backend(config, password)
