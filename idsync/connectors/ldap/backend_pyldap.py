"""The python-ldap backend: C libldap underneath, the fast path."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

import ldap
from ldap.controls import LDAPControl, ResponseControl
from ldap.controls.libldap import SimplePagedResultsControl
from ldap.controls.readentry import PostReadControl
from ldap.ldapobject import SimpleLDAPObject
from ldap.syncrepl import SyncreplConsumer

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
from idsync.connectors.ldap.escaping import dn_keys

_MOD = {ModOp.ADD: ldap.MOD_ADD, ModOp.DELETE: ldap.MOD_DELETE, ModOp.REPLACE: ldap.MOD_REPLACE}


class _Connection(SyncreplConsumer, SimpleLDAPObject):  # type: ignore[misc]
    """A connection that can also run one refreshOnly content synchronization at a time."""

    def __init__(self, uri: str) -> None:
        SimpleLDAPObject.__init__(self, uri)
        self.sync_cookie: str | None = None
        self.sync_result = SyncResult()

    def syncrepl_get_cookie(self) -> str | None:
        return self.sync_cookie

    def syncrepl_set_cookie(self, cookie: str) -> None:
        self.sync_cookie = cookie

    def syncrepl_entry(self, dn: str, attrs: dict[str, list[bytes]], uuid: str) -> None:
        self.sync_result.entries.append((uuid, Entry(dn, attrs)))

    def syncrepl_delete(self, uuids: list[str]) -> None:
        self.sync_result.deleted.extend(uuids)

    def syncrepl_present(self, uuids: list[str] | None, refreshDeletes: bool = False) -> None:
        # the library reports each refreshed entry as present too; only a present set sent by the server
        # (a syncIdSet without refreshDeletes, or the final "refreshDeletes=false") means deletes were not replayed
        if uuids is None and not refreshDeletes:
            self.sync_result.present_phase = True


class _DirSyncControl(LDAPControl):  # type: ignore[misc]
    """Active Directory's DirSync control: the request carries flags and a cookie, the response the next cookie."""

    controlType = ber.DIRSYNC_OID

    def __init__(self, flags: int = 0, max_bytes: int = 0, cookie: bytes = b"") -> None:
        LDAPControl.__init__(self, self.controlType, True)
        self.flags = flags
        self.max_bytes = max_bytes
        self.cookie = cookie
        self.more = False

    def encodeControlValue(self) -> bytes:
        return ber.dirsync_request_value(self.flags, self.max_bytes, self.cookie)

    def decodeControlValue(self, encoded: bytes) -> None:
        self.more, self.cookie = ber.dirsync_response_value(encoded)


def _error(exc: ldap.LDAPError, dn: str | None = None) -> LdapOperationError | LdapServerDown:
    # busy and unavailable (a server still starting, or shutting down) are transient like a dropped connection
    if isinstance(exc, ldap.SERVER_DOWN | ldap.CONNECT_ERROR | ldap.TIMEOUT | ldap.UNAVAILABLE | ldap.BUSY):
        info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
        text = f"{info.get('desc', type(exc).__name__)}: {info.get('info', '')}".strip(": ")
        return LdapServerDown(text, closed=isinstance(exc, ldap.SERVER_DOWN))
    info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    code = int(info.get("result", -1))
    name = str(info.get("desc", type(exc).__name__))
    reason = str(info.get("info", ""))
    if isinstance(exc, ldap.REFERRAL):
        # libldap, not chasing, puts the referral's URLs in the text: "Referral:\nldap://…\nldap://…"
        urls = [line.strip() for line in reason.splitlines()[1:] if line.strip()]
        return LdapOperationError(code, name, " ".join(urls), dn, urls)
    return LdapOperationError(code, name, reason, dn)


class _PostRead(ResponseControl):  # type: ignore[misc]
    """The post-read response control, decoded with our BER reader."""

    controlType = PostReadControl.controlType

    def decodeControlValue(self, encoded: bytes) -> None:
        self.dn, self.entry = ber.search_result_entry(encoded)


_RESPONSE_CONTROLS = {_PostRead.controlType: _PostRead}


def _post_read(attributes: list[str]) -> LDAPControl:
    """The request control, encoded once per call rather than once per add."""
    return LDAPControl(PostReadControl.controlType, False, encodedControlValue=ber.attribute_list(attributes))


class PyLdapBackend(BackendBase[_Connection]):
    name = "python-ldap"

    def connect(self) -> None:
        cfg = self._config
        conn = _Connection(cfg.url)
        conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
        conn.set_option(ldap.OPT_REFERRALS, 0)
        conn.set_option(ldap.OPT_NETWORK_TIMEOUT, cfg.connect_timeout)
        conn.set_option(ldap.OPT_TIMEOUT, cfg.timeout)
        conn.timeout = cfg.timeout
        conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND if cfg.tls_verify else ldap.OPT_X_TLS_NEVER)
        if cfg.ca_file:
            conn.set_option(ldap.OPT_X_TLS_CACERTFILE, cfg.ca_file)
        conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
        try:
            if cfg.start_tls:
                conn.start_tls_s()
            if cfg.bind_dn:
                conn.simple_bind_s(cfg.bind_dn, self._password or "")
            else:
                conn.simple_bind_s("", "")
        except ldap.LDAPError as exc:
            raise _error(exc, cfg.bind_dn) from None
        self._conn = conn

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.unbind_ext_s()
            except ldap.LDAPError:
                pass
            self._conn = None

    def search(
        self, base: str, scope: Scope, filter_text: str, attributes: list[str], size_limit: int = 0
    ) -> list[Entry]:
        try:
            found = self._c().search_ext_s(
                base, int(scope), filter_text, attributes or None, sizelimit=size_limit, timeout=self._config.timeout
            )
        except ldap.NO_SUCH_OBJECT:
            return []
        except ldap.LDAPError as exc:
            raise _error(exc, base) from None
        return [Entry(dn, attrs) for dn, attrs in found if dn is not None]

    def search_pages(
        self,
        base: str,
        scope: Scope,
        filter_text: str,
        attributes: list[str],
        page_size: int,
        controls: Sequence[Control] = (),
    ) -> Iterator[list[Entry]]:
        """Each next page is requested before the current one is handed out, so the server reads it while the
        caller converts this one."""
        conn = self._c()
        control = SimplePagedResultsControl(True, size=page_size, cookie="")
        extra = [LDAPControl(oid, critical, value) for oid, critical, value in controls]
        attrlist = attributes or None
        try:
            msgid = conn.search_ext(base, int(scope), filter_text, attrlist, serverctrls=[control, *extra])
            while True:
                try:
                    _rtype, rdata, _rmsgid, rctrls = conn.result3(msgid, timeout=self._config.timeout)
                except ldap.NO_SUCH_OBJECT:
                    return
                cookie = next((c.cookie for c in rctrls if c.controlType == SimplePagedResultsControl.controlType), b"")
                if cookie:
                    control.cookie = cookie
                    msgid = conn.search_ext(base, int(scope), filter_text, attrlist, serverctrls=[control, *extra])
                yield [Entry(dn, attrs) for dn, attrs in rdata if dn is not None]
                if not cookie:
                    return
        except ldap.LDAPError as exc:
            raise _error(exc, base) from None

    def add(self, dn: str, attributes: RawAttributes, read_back: list[str]) -> Entry | None:
        controls = [PostReadControl(criticality=False, attrList=read_back)] if read_back else None
        try:
            _t, _d, _m, rctrls = self._c().add_ext_s(dn, list(attributes.items()), serverctrls=controls)
        except ldap.LDAPError as exc:
            raise _error(exc, dn) from None
        if not read_back:
            return None
        for ctrl in rctrls or []:
            if isinstance(ctrl, PostReadControl) and ctrl.entry:
                return Entry(ctrl.dn or dn, ctrl.entry)
        found = self.search(dn, Scope.BASE, "(objectClass=*)", read_back)
        return found[0] if found else None

    def add_many(self, requests: list[AddRequest], read_back: list[str], window: int) -> list[AddOutcome]:
        """Pipelined adds: the server works on the next entries while this side encodes more and reads results."""
        conn = self._c()
        controls = [_post_read(read_back)] if read_back else None
        dropped = LdapServerDown("the connection dropped before the server answered")
        outcomes: list[AddOutcome] = [dropped] * len(requests)
        in_flight: deque[tuple[int, int, str]] = deque()
        in_flight_dns: dict[str, int] = {}

        def collect() -> None:
            index, msgid, key = in_flight.popleft()
            in_flight_dns.pop(key, None)
            dn = requests[index][0]
            try:
                _t, _d, _m, rctrls = conn.result3(
                    msgid, all=1, timeout=self._config.timeout, resp_ctrl_classes=_RESPONSE_CONTROLS
                )
            except ldap.LDAPError as exc:
                outcomes[index] = _error(exc, dn)
                return
            outcomes[index] = next(
                (Entry(c.dn or dn, c.entry) for c in rctrls or [] if isinstance(c, _PostRead) and c.entry), None
            )

        for index, (dn, attributes) in enumerate(requests):
            key, parent = dn_keys(dn)
            # a server may answer in-flight requests in any order (389 DS does): an entry waits for its parent, and
            # a second add of one DN waits for the first, so "already exists" goes to the later one as sent
            while in_flight and (len(in_flight) >= window or parent in in_flight_dns or key in in_flight_dns):
                collect()
            try:
                msgid = conn.add_ext(dn, list(attributes.items()), serverctrls=controls)
            except ldap.LDAPError as exc:
                refused = outcomes[index] = _error(exc, dn)
                if isinstance(refused, LdapServerDown):
                    break
                continue
            in_flight.append((index, msgid, key))
            in_flight_dns[key] = index
        while in_flight:
            collect()
        return outcomes

    def modify(self, dn: str, changes: list[tuple[ModOp, str, list[bytes]]]) -> None:
        mods: list[Any] = [(_MOD[op], attr, values or None) for op, attr, values in changes]
        try:
            self._c().modify_ext_s(dn, mods)
        except ldap.LDAPError as exc:
            raise _error(exc, dn) from None

    def rename(self, dn: str, new_rdn: str, new_superior: str | None) -> None:
        try:
            self._c().rename_s(dn, new_rdn, new_superior, delold=1)
        except ldap.LDAPError as exc:
            raise _error(exc, dn) from None

    def delete(self, dn: str, controls: list[str] | None = None) -> None:
        ctrls = [LDAPControl(oid, True, None) for oid in controls or []]
        try:
            self._c().delete_ext_s(dn, serverctrls=ctrls or None)
        except ldap.LDAPError as exc:
            raise _error(exc, dn) from None

    def sync_refresh(self, base: str, filter_text: str, attributes: list[str], cookie: str | None) -> SyncResult:
        conn = self._c()
        conn.sync_cookie = cookie
        conn.sync_result = SyncResult()
        try:
            msgid = conn.syncrepl_search(
                base, ldap.SCOPE_SUBTREE, mode="refreshOnly", filterstr=filter_text, attrlist=attributes or None
            )
            while conn.syncrepl_poll(msgid=msgid, all=1, timeout=self._config.timeout):
                pass
        except ldap.LDAPError as exc:
            raise _error(exc, base) from None
        result = conn.sync_result
        result.cookie = conn.sync_cookie
        return result

    def dirsync(
        self, base: str, filter_text: str, attributes: list[str], cookie: bytes, flags: int, max_bytes: int
    ) -> DirSyncResult:
        conn = self._c()
        request = _DirSyncControl(flags, max_bytes, cookie)
        try:
            msgid = conn.search_ext(base, ldap.SCOPE_SUBTREE, filter_text, attributes or None, serverctrls=[request])
            _t, rdata, _m, rctrls = conn.result3(
                msgid, timeout=self._config.timeout, resp_ctrl_classes={ber.DIRSYNC_OID: _DirSyncControl}
            )
        except ldap.LDAPError as exc:
            raise _error(exc, base) from None
        response = next((c for c in rctrls or [] if isinstance(c, _DirSyncControl)), None)
        if response is None:
            raise LdapOperationError(2, "protocolError", "the server answered DirSync without its control", base)
        entries = [Entry(dn, attrs) for dn, attrs in rdata if dn is not None]
        return DirSyncResult(entries, response.more, response.cookie)
