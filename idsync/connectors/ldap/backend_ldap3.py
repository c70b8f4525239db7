"""The ldap3 backend: pure Python, installs anywhere (Windows included), slower."""

from __future__ import annotations

import ssl
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlparse

from ldap3 import (
    BASE,
    DEREF_NEVER,
    LEVEL,
    MODIFY_ADD,
    MODIFY_DELETE,
    MODIFY_REPLACE,
    NONE,
    SUBTREE,
    Connection,
    Server,
    Tls,
)
from ldap3.core.exceptions import LDAPCommunicationError, LDAPException, LDAPStartTLSError

from idsync.connectors.ldap import ber
from idsync.connectors.ldap.backend import (
    AddOutcome,
    AddRequest,
    BackendBase,
    Control,
    DirSyncResult,
    Entry,
    LdapOperationError,
    LdapServerDown,
    ModOp,
    RawAttributes,
    Scope,
    SyncResult,
)

_SCOPE = {Scope.BASE: BASE, Scope.ONE: LEVEL, Scope.SUBTREE: SUBTREE}
_MOD = {ModOp.ADD: MODIFY_ADD, ModOp.DELETE: MODIFY_DELETE, ModOp.REPLACE: MODIFY_REPLACE}
PAGED_OID = "1.2.840.113556.1.4.319"


def _raw_entries_only(conn: Connection) -> None:
    """Decode this connection's search entries into DN and raw values only.

    ldap3 converts every value of every entry twice — into "formatted" values by guessing types, and into raw
    bytes — and keeps both in case-insensitive dictionaries; the connector reads only the raw bytes, and the
    rest costs more than half of a large import. Entries with controls (content sync) keep ldap3's decoding.
    """
    strategy = conn.strategy
    general = strategy.decode_response_fast

    def decode(message: dict[str, Any]) -> dict[str, Any]:
        if message["protocolOp"] != 4 or message["controls"]:  # 4: searchResEntry
            result: dict[str, Any] = general(message)
            return result
        dn, attributes = message["payload"][0][3], message["payload"][1][3]
        if type(dn) is bytes:  # slices of the received message: bytes already, kept as they are
            raw = {a[3][0][3].decode("utf-8", "replace"): [v[3] for v in a[3][1][3]] for a in attributes}
        else:
            raw = {bytes(a[3][0][3]).decode("utf-8", "replace"): [bytes(v[3]) for v in a[3][1][3]] for a in attributes}
        return {
            "type": "searchResEntry",
            "dn": bytes(dn).decode("utf-8", "replace"),
            "raw_attributes": raw,
            "attributes": {},
        }

    strategy.decode_response_fast = decode


class _VerifiedTls(Tls):
    """TLS whose chain and host name the standard library verifies during the handshake, as the python-ldap backend's
    libldap does. ldap3 turns the SSL context's host-name check off and matches names itself, with a copy of the
    ``match_hostname`` Python 3.12 removed that knows no IP addresses: on 3.12 and later it refused a certificate
    naming 127.0.0.1 for ldaps://127.0.0.1. ``wrap_socket`` is what ldap3 calls for LDAPS and for StartTLS."""

    def __init__(self, host: str, ca_file: str | None) -> None:
        super().__init__(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file)
        self._host = host

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        context = ssl.create_default_context(cafile=self.ca_certs_file)
        connection.socket = context.wrap_socket(
            connection.socket, server_side=False, do_handshake_on_connect=do_handshake, server_hostname=self._host
        )


class Ldap3Backend(BackendBase[Connection]):
    name = "ldap3"

    def connect(self) -> None:
        cfg = self._config
        parsed = urlparse(cfg.url)
        use_ssl = parsed.scheme.lower() == "ldaps"
        port = parsed.port or (636 if use_ssl else 389)
        host = parsed.hostname or "localhost"
        tls = _VerifiedTls(host, cfg.ca_file) if cfg.tls_verify else Tls(validate=ssl.CERT_NONE)
        server = Server(
            host,
            port=port,
            use_ssl=use_ssl,
            tls=tls,
            get_info=NONE,
            connect_timeout=int(max(1, cfg.connect_timeout)),
        )
        conn = Connection(
            server,
            user=cfg.bind_dn,
            password=self._password,
            receive_timeout=int(max(1, cfg.timeout)),
            raise_exceptions=False,
            auto_referrals=False,
            return_empty_attributes=False,
            check_names=False,
            auto_range=False,  # ranged values (Active Directory) are followed by the connector, for both backends
        )
        try:
            conn.open()
            if cfg.start_tls and not conn.start_tls():
                raise LdapServerDown(f"StartTLS refused: {conn.result.get('description')}")
            if not conn.bind():
                raise self._error(conn, cfg.bind_dn)
        except (LDAPCommunicationError, LDAPStartTLSError) as exc:
            raise LdapServerDown(str(exc)) from None
        except LDAPException as exc:
            raise LdapServerDown(str(exc)) from None
        _raw_entries_only(conn)
        self._conn = conn

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.unbind()
            except LDAPException:
                pass
            self._conn = None

    @staticmethod
    def _error(conn: Connection, dn: str | None) -> LdapOperationError:
        result = conn.result or {}
        referrals = [str(url) for url in result.get("referrals") or []]
        return LdapOperationError(
            int(result.get("result", -1)),
            str(result.get("description", "error")),
            str(result.get("message", "")) or " ".join(referrals),
            dn,
            referrals,
        )

    def _run(self, dn: str | None, call: Any, *args: Any, ok_codes: tuple[int, ...] = (), **kwargs: Any) -> bool:
        conn = self._c()
        try:
            done = call(*args, **kwargs)
        except LDAPCommunicationError as exc:
            self._conn = None
            raise LdapServerDown(str(exc)) from None
        if not done:
            code = int((conn.result or {}).get("result", -1))
            if code == 0:  # a search that found nothing
                return True
            if code in ok_codes:
                return False
            if code == -1 or conn.closed:
                raise LdapServerDown(str(conn.result))
            raise self._error(conn, dn)
        return True

    def _entries(self) -> list[Entry]:
        return [
            Entry(r["dn"], dict(r["raw_attributes"]))
            for r in self._c().response or []
            if r.get("type") == "searchResEntry"
        ]

    def _search(
        self, base: str, scope: Scope, filter_text: str, attributes: list[str], ok_codes: tuple[int, ...], **extra: Any
    ) -> bool:
        conn = self._c()
        return self._run(
            base,
            conn.search,
            base,
            filter_text,
            _SCOPE[scope],
            attributes=attributes or ["*"],
            dereference_aliases=DEREF_NEVER,
            ok_codes=ok_codes,
            **extra,
        )

    def search(
        self, base: str, scope: Scope, filter_text: str, attributes: list[str], size_limit: int = 0
    ) -> list[Entry]:
        ok = self._search(base, scope, filter_text, attributes, (32, 4), size_limit=size_limit)
        return self._entries() if ok or self._c().result.get("result") == 4 else []

    def search_pages(
        self,
        base: str,
        scope: Scope,
        filter_text: str,
        attributes: list[str],
        page_size: int,
        controls: Sequence[Control] = (),
    ) -> Iterator[list[Entry]]:
        conn = self._c()
        cookie: bytes | None = None
        extra = {"controls": list(controls)} if controls else {}
        while True:
            ok = self._search(
                base, scope, filter_text, attributes, (32,), paged_size=page_size, paged_cookie=cookie, **extra
            )
            if not ok:
                return
            # read the cookie before yielding: the caller may run other operations on this connection
            control = (conn.result.get("controls") or {}).get(PAGED_OID)
            cookie = control["value"]["cookie"] if control else None
            yield self._entries()
            if not cookie:
                return

    def add(self, dn: str, attributes: RawAttributes, read_back: list[str]) -> Entry | None:
        conn = self._c()
        self._run(dn, conn.add, dn, None, attributes)
        if not read_back:
            return None
        found = self.search(dn, Scope.BASE, "(objectClass=*)", read_back)
        return found[0] if found else None

    def add_many(self, requests: list[AddRequest], read_back: list[str], window: int) -> list[AddOutcome]:
        """One add at a time: ldap3's synchronous strategy has one operation in flight."""
        outcomes: list[AddOutcome] = []
        for dn, attributes in requests:
            if outcomes and isinstance(outcomes[-1], LdapServerDown):
                outcomes.append(outcomes[-1])
                continue
            try:
                outcomes.append(self.add(dn, attributes, read_back))
            except (LdapOperationError, LdapServerDown) as exc:
                outcomes.append(exc)
        return outcomes

    def modify(self, dn: str, changes: list[tuple[ModOp, str, list[bytes]]]) -> None:
        grouped: dict[str, list[tuple[str, list[bytes]]]] = {}
        for op, attr, values in changes:
            grouped.setdefault(attr, []).append((_MOD[op], values))
        conn = self._c()
        self._run(dn, conn.modify, dn, grouped)

    def rename(self, dn: str, new_rdn: str, new_superior: str | None) -> None:
        conn = self._c()
        self._run(dn, conn.modify_dn, dn, new_rdn, delete_old_dn=True, new_superior=new_superior)

    def delete(self, dn: str, controls: list[str] | None = None) -> None:
        conn = self._c()
        ctrls = [(oid, True, None) for oid in controls or []]
        self._run(dn, conn.delete, dn, controls=ctrls or None)

    def sync_refresh(self, base: str, filter_text: str, attributes: list[str], cookie: str | None) -> SyncResult:
        conn = self._c()
        request = (ber.SYNC_REQUEST_OID, True, ber.sync_request_value(cookie.encode("utf-8") if cookie else None))
        self._run(
            base,
            conn.search,
            base,
            filter_text,
            SUBTREE,
            attributes=attributes or ["*"],
            controls=[request],
            dereference_aliases=DEREF_NEVER,
        )
        result = SyncResult(cookie=cookie)
        for item in conn.response or []:
            kind = item.get("type")
            if kind == "searchResEntry":
                control = (item.get("controls") or {}).get(ber.SYNC_STATE_OID)
                if control is None:
                    continue
                state, entry_uuid, entry_cookie = ber.sync_state(control["value"])
                if state == "delete":
                    result.deleted.append(entry_uuid)
                elif state == "present":
                    result.present_phase = True
                else:
                    result.entries.append((entry_uuid, Entry(item["dn"], dict(item["raw_attributes"]))))
                if entry_cookie:
                    result.cookie = entry_cookie.decode("utf-8")
            elif kind == "intermediateResponse" and item.get("responseName") == ber.SYNC_INFO_OID:
                info_cookie, uuids, refresh_deletes = ber.sync_info(item.get("responseValue") or b"")
                if uuids:
                    if refresh_deletes:
                        result.deleted.extend(uuids)
                    else:
                        result.present_phase = True
                if info_cookie:
                    result.cookie = info_cookie.decode("utf-8")
        done = (conn.result.get("controls") or {}).get(ber.SYNC_DONE_OID)
        if done is not None:
            done_cookie, refresh_deletes = ber.sync_done(done["value"])
            if done_cookie:
                result.cookie = done_cookie.decode("utf-8")
            if not refresh_deletes:
                result.present_phase = True
        return result

    def dirsync(
        self, base: str, filter_text: str, attributes: list[str], cookie: bytes, flags: int, max_bytes: int
    ) -> DirSyncResult:
        conn = self._c()
        request = (ber.DIRSYNC_OID, True, ber.dirsync_request_value(flags, max_bytes, cookie))
        self._search(base, Scope.SUBTREE, filter_text, attributes, (), controls=[request])
        control = (conn.result.get("controls") or {}).get(ber.DIRSYNC_OID)
        if control is None:
            raise LdapOperationError(2, "protocolError", "the server answered DirSync without its control", base)
        value = control["value"]
        if isinstance(value, dict):  # ldap3 decodes this control itself
            more, new_cookie = bool(value.get("more_results")), bytes(value.get("cookie") or b"")
        else:
            more, new_cookie = ber.dirsync_response_value(bytes(value))
        return DirSyncResult(self._entries(), more, new_cookie)
