"""Active Directory connector benchmark against a private Samba AD DC (needs root and free ports 389/636), its
database in LMDB (an ordered uSNChanged index, as Windows has).

A domain of N objects (default 20,000: users and groups of 100 members) is loaded with ldapadd, then, in the
same run against the same DC:
- the connector's full import (python-ldap, records produced, not staged) and a DirSync delta import of 100
  changes (telephone numbers changed with ldapmodify): their ratio is the delta figure (target <= 0.02); a USN
  delta of the same changes is shown too;
- an export of 2,000 new users with initial passwords (python-ldap, batches of 100, LDAPS), against the same
  adds done with plain python-ldap calls (one add each, password and userAccountControl in the add), in
  alternating slices of 500 so both see the same database size: their ratio is the export figure (target
  <= 1.3).
Prints a table and, last, one JSON line. N = $BENCH_AD_OBJECTS, exports = $BENCH_AD_EXPORTS.
"""

from __future__ import annotations

import json
import os
import secrets as tokens
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import ldap

from idsync.connectors.ad import AdConnector, connector_type
from idsync.connectors.base import ConnectorContext, ExportItem
from idsync.model import AttributeChange, ExportOp, ValueOp
from idsync.testing.directories import SambaDC, SambaSettings

OBJECTS = int(os.environ.get("BENCH_AD_OBJECTS", "20000"))
EXPORTS = int(os.environ.get("BENCH_AD_EXPORTS", "2000"))
CHANGES = 100
GROUP_SIZE = 100
SLICE = 500


class Secrets:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def resolve(self, text: str) -> str:
        return self.values[text.removeprefix("${env:").removesuffix("}")]


def connector(dc: SambaDC, ou: str, secrets: dict[str, str] | None = None, **extra: Any) -> AdConnector:
    config = {
        "type": "ad",
        "url": dc.ldaps_url,
        "ca_file": str(dc.ca_file),
        "bind_dn": dc.admin_dn,
        "password": "${env:ADMIN}",
        "base_dn": dc.base_dn,
        "containers": [ou],
        "backend": "python-ldap",
        "page_size": 1000,
        **extra,
    }
    resolver = Secrets({"ADMIN": dc.admin_password, **(secrets or {})})
    return connector_type.create("bench", config, ConnectorContext(".", resolver))


def seed(dc: SambaDC, ou: str) -> tuple[int, float]:
    """Users, then groups of GROUP_SIZE members each: N objects in all."""
    groups = OBJECTS // (GROUP_SIZE + 1)
    users = OBJECTS - groups
    started = time.perf_counter()
    chunk = 2000
    for start in range(0, users, chunk):
        dc.tools.add(
            "".join(
                f"dn: CN=user{i:06d},{ou}\nobjectClass: user\nsAMAccountName: user{i:06d}\ngivenName: Given{i}\n"
                f"sn: Surname{i}\ndisplayName: User {i}\ntelephoneNumber: +1 555 {i:07d}\nemployeeID: {i}\n\n"
                for i in range(start, min(users, start + chunk))
            )
        )
    for g in range(groups):
        members = "".join(f"member: CN=user{(g * GROUP_SIZE + m) % users:06d},{ou}\n" for m in range(GROUP_SIZE))
        dc.tools.add(f"dn: CN=group{g:05d},{ou}\nobjectClass: group\nsAMAccountName: group{g:05d}\n{members}\n")
    return users + groups, time.perf_counter() - started


def consume(pages: Any) -> tuple[float, int, str | None]:
    started = time.perf_counter()
    count = 0
    watermark = None
    for page in pages:
        count += len(page.records)
        watermark = page.watermark or watermark
    return time.perf_counter() - started, count, watermark


def plain_connection(dc: SambaDC) -> Any:
    conn = ldap.initialize(dc.ldaps_url)
    conn.set_option(ldap.OPT_X_TLS_CACERTFILE, str(dc.ca_file))
    conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
    conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
    conn.simple_bind_s(dc.admin_dn, dc.admin_password)
    return conn


def user_values(i: int) -> dict[str, str]:
    return {
        "sAMAccountName": f"new{i:06d}",
        "userPrincipalName": f"new{i:06d}@example.test",
        "givenName": f"New{i}",
        "sn": f"Hire{i}",
        "displayName": f"New Hire {i}",
    }


def plain_adds(conn: Any, ou: str, start: int, count: int, password: str) -> float:
    started = time.perf_counter()
    for i in range(start, start + count):
        attrs = [(k, [v.encode()]) for k, v in user_values(i).items()]
        attrs += [
            ("objectClass", [b"top", b"person", b"organizationalPerson", b"user"]),
            ("unicodePwd", [f'"{password}"'.encode("utf-16-le")]),
            ("userAccountControl", [b"512"]),
        ]
        conn.add_s(f"CN=new{i:06d},{ou}", attrs)
    return time.perf_counter() - started


def connector_adds(conn: AdConnector, ou: str, start: int, count: int) -> float:
    started = time.perf_counter()
    for first in range(start, start + count, 100):
        batch = []
        for i in range(first, min(start + count, first + 100)):
            changes = [AttributeChange(k, ValueOp.REPLACE, [v]) for k, v in user_values(i).items()]
            changes += [
                AttributeChange("unicodePwd", ValueOp.REPLACE, ["${env:INITIAL}"]),
                AttributeChange("accountEnabled", ValueOp.REPLACE, [True]),
            ]
            batch.append(ExportItem(i, "user", ExportOp.ADD, f"CN=new{i:06d},{ou}", changes=changes))
        failed = [r for r in conn.export(batch) if not r.ok]
        if failed:
            raise SystemExit(f"export failed: {failed[0].error}")
    return time.perf_counter() - started


def main() -> int:
    if os.geteuid() != 0:
        print("bench-ad needs root: a Samba AD DC runs only as root", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-ad-") as tmp:
        # LMDB, not Samba's default tdb: with tdb, Samba answers every DirSync or uSNChanged range search by
        # scanning the whole domain (0.2 s even for an empty answer at 5,000 objects), which Windows never does
        dc = SambaDC.restore(Path(tmp) / "dc", SambaSettings(backend_store="mdb"))
        dc.start()
        try:
            return run(dc)
        finally:
            dc.stop()


def run(dc: SambaDC) -> int:
    ou = dc.tools.reset_ou(f"OU=Bench,{dc.base_dn}")
    objects, seed_seconds = seed(dc, ou)
    full_seconds, full_count, watermark = consume(connector(dc, ou).full_import())
    usn_conn = connector(dc, ou, delta="usn")
    _, _, usn_watermark = consume(usn_conn.full_import())
    users = objects - objects // (GROUP_SIZE + 1)
    step = max(1, users // CHANGES)
    dc.tools.modify(
        "".join(
            f"dn: CN=user{i:06d},{ou}\nchangetype: modify\nreplace: telephoneNumber\n"
            f"telephoneNumber: +44 20 {i:07d}\n\n"
            for i in range(0, step * CHANGES, step)
        )
    )
    delta_seconds, delta_count, _ = consume(connector(dc, ou).delta_import(watermark))
    usn_seconds, usn_count, _ = consume(usn_conn.delta_import(usn_watermark))

    password = f"Pw-{tokens.token_urlsafe(12)}-9a"
    exporter = connector(dc, ou, secrets={"INITIAL": password})
    plain = plain_connection(dc)
    plain_seconds = connector_seconds = 0.0
    for start in range(0, EXPORTS, 2 * SLICE):
        size = min(SLICE, (EXPORTS - start) // 2)
        plain_seconds += plain_adds(plain, ou, start, size, password)
        connector_seconds += connector_adds(exporter, ou, start + size, size)
    plain.unbind_s()

    delta_ratio = delta_seconds / full_seconds
    export_ratio = connector_seconds / plain_seconds
    rows = [
        ("domain loaded with ldapadd", f"{objects:,} objects in {seed_seconds:.1f} s"),
        ("connector full import (python-ldap)", f"{full_count:,} records in {full_seconds:.2f} s"),
        (f"DirSync delta import of {CHANGES} changes", f"{delta_count} records in {delta_seconds:.3f} s"),
        ("delta / full (target <= 0.02)", f"{delta_ratio:.4f}"),
        (f"USN delta import of {CHANGES} changes", f"{usn_count} records in {usn_seconds:.3f} s"),
        (f"plain python-ldap adds, {EXPORTS // 2} users with passwords", f"{plain_seconds:.1f} s"),
        (f"connector export, {EXPORTS // 2} users with passwords", f"{connector_seconds:.1f} s"),
        ("connector / plain (target <= 1.3)", f"{export_ratio:.3f}"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  result")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    figures = {
        "objects": objects,
        "full_import_seconds": round(full_seconds, 3),
        "delta_100_seconds": round(delta_seconds, 4),
        "delta_to_full_ratio": round(delta_ratio, 4),
        "usn_delta_100_seconds": round(usn_seconds, 4),
        "exports": EXPORTS,
        "plain_add_seconds": round(plain_seconds, 2),
        "connector_export_seconds": round(connector_seconds, 2),
        "export_ratio": round(export_ratio, 3),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
