"""The Samba AD DC fixture: LDAPS bind, users with passwords, objectGUID, DirSync, and a fast restore."""

from __future__ import annotations

import ssl
import uuid
from pathlib import Path

import pytest
from ldap3 import BASE, NONE, SUBTREE, Connection, Server, Tls
from ldap3.protocol.formatters.formatters import format_sid

from idsync.testing.directories import SambaDC

pytestmark = pytest.mark.samba

USER_CLASSES = ["top", "person", "organizationalPerson", "user"]


def ldaps(dc: SambaDC, user: str, password: str) -> Connection:
    tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(dc.ca_file))
    # by name: ldap3 matches host names itself and, on Python 3.12 and later, cannot match an IP address
    server = Server("localhost", port=636, use_ssl=True, tls=tls, get_info=NONE)
    return Connection(server, user, password, auto_bind=True)


def add_user(conn: Connection, parent: str, name: str, password: str | None = None) -> str:
    dn = f"CN={name},{parent}"
    attrs: dict[str, object] = {"sAMAccountName": name, "userPrincipalName": f"{name}@example.test", "sn": name}
    if password is not None:
        attrs["unicodePwd"] = f'"{password}"'.encode("utf-16-le")
        attrs["userAccountControl"] = 512
    assert conn.add(dn, USER_CLASSES, attrs), conn.result
    return dn


def test_administrator_binds_over_verified_ldaps(samba_dc: SambaDC) -> None:
    conn = ldaps(samba_dc, samba_dc.admin_upn, samba_dc.admin_password)
    assert conn.bound
    conn.search(samba_dc.base_dn, "(objectClass=domain)", BASE, attributes=["objectSid"])
    assert format_sid(conn.entries[0].objectSid.raw_values[0]).startswith("S-1-5-21-")


def test_user_with_password_can_bind_and_has_guid(samba_dc: SambaDC, samba_ou: str) -> None:
    conn = ldaps(samba_dc, samba_dc.admin_upn, samba_dc.admin_password)
    dn = add_user(conn, samba_ou, "fixture1", "S3cret!Pass0")
    conn.search(dn, "(objectClass=user)", BASE, attributes=["objectGUID", "userAccountControl"])
    entry = conn.entries[0]
    guid = uuid.UUID(bytes_le=entry.objectGUID.raw_values[0])
    assert guid.version == 4
    assert entry.userAccountControl.raw_values == [b"512"]
    assert ldaps(samba_dc, "fixture1@example.test", "S3cret!Pass0").bound
    bad = Connection(conn.server, "fixture1@example.test", "wrong-Pass1!")
    assert not bad.bind()


def test_dirsync_returns_new_objects(samba_dc: SambaDC, samba_ou: str) -> None:
    conn = ldaps(samba_dc, samba_dc.admin_upn, samba_dc.admin_password)
    attrs = ["objectGUID", "sAMAccountName", "name"]
    sync = conn.extend.microsoft.dir_sync(samba_dc.base_dn, sync_filter="(objectClass=user)", attributes=attrs)
    while True:
        sync.loop()
        if not sync.more_results:
            break
    cookie = sync.cookie
    assert cookie
    add_user(conn, samba_ou, "dirsync1")
    again = conn.extend.microsoft.dir_sync(
        samba_dc.base_dn, sync_filter="(objectClass=user)", attributes=attrs, cookie=cookie
    )
    changed = again.loop()
    names = [e["attributes"]["sAMAccountName"] for e in changed]
    assert names == [["dirsync1"]]


def test_snapshot_restore_is_a_copy_not_a_provisioning(samba_dc: SambaDC, tmp_path: Path) -> None:
    copy = SambaDC.restore(tmp_path / "dc")
    assert (copy.folder / "private" / "sam.ldb").exists()
    conf = copy.conf_file.read_text()
    assert str(copy.folder) in conf and str(samba_dc.folder) not in conf
    assert copy.restore_seconds < copy.provision_seconds / 2
    # the session DC is a restored copy too, and it is the one that answers
    conn = ldaps(samba_dc, samba_dc.admin_upn, samba_dc.admin_password)
    assert conn.search(samba_dc.base_dn, "(sAMAccountName=krbtgt)", SUBTREE)
