"""The private slapd fixture works as the connector tests rely on: real binds, writes, accesslog, syncrepl, TLS."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest
from ldap3 import BASE, MODIFY_REPLACE, NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPSocketOpenError

from idsync.testing.directories import DirectoryServerUnavailable, SlapdServer, TestCA
from idsync.testing.directories.process import require_binary

pytestmark = pytest.mark.ldap

SYNCREPL_OID = "1.3.6.1.4.1.4203.1.9.1.1"
PAGED_OID = "1.2.840.113556.1.4.319"


def admin(server: SlapdServer) -> Connection:
    return Connection(Server(server.url, get_info=NONE), server.admin_dn, server.admin_password, auto_bind=True)


def add_person(conn: Connection, parent: str, uid: str) -> str:
    dn = f"uid={uid},{parent}"
    assert conn.add(dn, ["inetOrgPerson"], {"uid": uid, "cn": uid, "sn": "Test", "mail": f"{uid}@example.org"})
    return dn


def test_admin_bind_and_wrong_password(slapd_server: SlapdServer) -> None:
    conn = admin(slapd_server)
    assert conn.bound
    wrong = Connection(Server(slapd_server.url, get_info=NONE), slapd_server.admin_dn, "not-the-password")
    assert not wrong.bind()
    assert wrong.result["description"] == "invalidCredentials"


def test_add_and_search(slapd_server: SlapdServer, slapd_subtree: str) -> None:
    conn = admin(slapd_server)
    dn = add_person(conn, slapd_subtree, "alice")
    assert conn.search(slapd_subtree, "(uid=alice)", SUBTREE, attributes=["mail", "entryUUID"])
    [entry] = conn.entries
    assert entry.entry_dn == dn
    assert entry.mail.value == "alice@example.org"
    assert len(entry.entryUUID.value) == 36


def test_writes_appear_in_accesslog(slapd_server: SlapdServer, slapd_subtree: str) -> None:
    conn = admin(slapd_server)
    dn = add_person(conn, slapd_subtree, "bob")
    assert conn.modify(dn, {"mail": [(MODIFY_REPLACE, ["bob2@example.org"])]})
    conn.search(
        slapd_server.accesslog_dn,
        f"(&(objectClass=auditWriteObject)(reqDN={dn}))",
        SUBTREE,
        attributes=["reqType", "reqStart"],
    )
    assert sorted(str(e.reqType.value) for e in conn.entries) == ["add", "modify"]


def test_syncrepl_and_paging_advertised(slapd_server: SlapdServer) -> None:
    conn = Connection(Server(slapd_server.url, get_info=NONE), auto_bind=True)
    conn.search("", "(objectClass=*)", BASE, attributes=["supportedControl", "namingContexts"])
    controls = set(conn.entries[0].supportedControl.values)
    assert {SYNCREPL_OID, PAGED_OID} <= controls
    assert slapd_server.accesslog_dn in conn.entries[0].namingContexts.values


def _tls_handshake(port: int, ca_file: Path) -> None:
    context = ssl.create_default_context(cafile=str(ca_file))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.version() is not None


def test_ldaps_verifies_with_generated_ca(slapd_server: SlapdServer) -> None:
    assert slapd_server.tls_port is not None and slapd_server.ca_file is not None
    _tls_handshake(slapd_server.tls_port, slapd_server.ca_file)  # chain and host name both checked
    tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(slapd_server.ca_file))
    # by name: ldap3 matches host names itself and, on Python 3.12 and later, cannot match an IP address
    server = Server("localhost", port=slapd_server.tls_port, use_ssl=True, tls=tls, get_info=NONE)
    conn = Connection(server, slapd_server.admin_dn, slapd_server.admin_password, auto_bind=True)
    assert conn.bound


def test_starttls_verifies_with_generated_ca(slapd_server: SlapdServer) -> None:
    assert slapd_server.ca_file is not None
    tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(slapd_server.ca_file))
    conn = Connection(
        Server("localhost", port=slapd_server.port, tls=tls, get_info=NONE),
        slapd_server.admin_dn,
        slapd_server.admin_password,
    )
    conn.open()
    assert conn.start_tls()
    assert conn.bind()


def test_unknown_ca_is_refused(slapd_server: SlapdServer, tmp_path: Path) -> None:
    assert slapd_server.tls_port is not None
    other = TestCA.create(tmp_path / "other-ca", name="some other CA")
    with pytest.raises(ssl.SSLCertVerificationError):
        _tls_handshake(slapd_server.tls_port, other.cert_file)
    tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(other.cert_file))
    server = Server("127.0.0.1", port=slapd_server.tls_port, use_ssl=True, tls=tls, get_info=NONE)
    with pytest.raises(LDAPSocketOpenError):
        Connection(server, slapd_server.admin_dn, slapd_server.admin_password, auto_bind=True)


def test_restart_and_crash_keep_data(slapd_factory) -> None:  # type: ignore[no-untyped-def]
    server: SlapdServer = slapd_factory()
    old_pid = server.pid
    dn = add_person(admin(server), server.base_dn, "carol")
    server.restart()
    assert server.pid != old_pid
    conn = admin(server)
    assert conn.search(dn, "(objectClass=*)", BASE)
    add_person(conn, server.base_dn, "dave")
    server.kill()
    assert not server.running()
    server.start()
    assert admin(server).search(server.base_dn, "(uid=dave)", SUBTREE)


def test_offline_load_and_ldif_helpers(slapd_factory) -> None:  # type: ignore[no-untyped-def]
    server: SlapdServer = slapd_factory()
    ldif = "".join(
        f"dn: uid=u{i},{server.base_dn}\nobjectClass: inetOrgPerson\nuid: u{i}\ncn: u{i}\nsn: S\n\n" for i in range(50)
    )
    server.offline_load(ldif)
    assert server.running()
    conn = admin(server)
    conn.search(server.base_dn, "(objectClass=inetOrgPerson)", SUBTREE, attributes=["uid"])
    assert len(conn.entries) == 50
    # slapadd bypasses the accesslog overlay: nothing was logged for those entries
    conn.search(server.accesslog_dn, "(reqType=add)", SUBTREE)
    assert conn.entries == []
    server.tools.modify(f"dn: uid=u1,{server.base_dn}\nchangetype: delete\n")
    assert "uid=u1," not in server.tools.search(server.base_dn, "(uid=u1)", "uid")


def test_missing_binary_says_how_to_install() -> None:
    with pytest.raises(DirectoryServerUnavailable, match="make test") as info:
        require_binary("no-such-directory-server", "no-such-package")
    assert "no-such-package" in str(info.value)
