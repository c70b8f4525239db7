"""LDAP connector benchmark: bare connector import, export and delta rates against the server's own tools.

Runs a private slapd on loopback, bulk-loads N inetOrgPerson entries (9 attributes) with slapadd, then measures,
in the same run against the same server: ldapsearch -E pr=1000 versus the connector's full import (python-ldap
and ldap3 backends, records produced but not staged: the engine is not part of this figure); ldapadd of 10,000
entries versus the connector exporting the same 10,000 adds; a delta import of 100 changes at N entries.
Prints a table and, last, one JSON line. N = $BENCH_LDAP_ENTRIES (default 100000).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from idsync.connectors.base import ConnectorContext, ExportItem
from idsync.connectors.ldap import LdapConnector, connector_type
from idsync.model import AttributeChange, ExportOp, ValueOp
from idsync.testing.directories import SlapdServer, SlapdSettings

ENTRIES = int(os.environ.get("BENCH_LDAP_ENTRIES", "100000"))
EXPORTS = int(os.environ.get("BENCH_LDAP_EXPORTS", "10000"))


def person(i: int, parent: str) -> dict[str, Any]:
    return {
        "uid": f"u{i:06d}",
        "cn": f"User {i}",
        "sn": f"Surname{i}",
        "givenName": f"Given{i}",
        "mail": f"u{i}@example.org",
        "displayName": f"User {i} Display",
        "employeeNumber": str(i),
        "telephoneNumber": f"+1 555 {i:07d}",
        "title": "Engineer",
        "_dn": f"uid=u{i:06d},{parent}",
    }


def ldif(start: int, count: int, parent: str) -> str:
    chunks = []
    for i in range(start, start + count):
        p = person(i, parent)
        dn = p.pop("_dn")
        lines = [f"dn: {dn}", "objectClass: inetOrgPerson", *(f"{k}: {v}" for k, v in p.items())]
        chunks.append("\n".join(lines) + "\n")
    return "\n".join(chunks)


def connector(server: SlapdServer, backend: str, **extra: Any) -> LdapConnector:
    config = connector_type.config_model.model_validate(
        {
            "type": "ldap",
            "url": server.url,
            "allow_insecure": True,  # loopback, like ldapsearch -x: the comparison is of the same transport
            "bind_dn": server.admin_dn,
            "password": server.admin_password,
            "base_dn": server.base_dn,
            "backend": backend,
            "page_size": 1000,
            **extra,
        }
    )
    return connector_type.create("bench", config, ConnectorContext(workspace="."))


def timed_import(conn: LdapConnector) -> tuple[float, int, str | None]:
    started = time.perf_counter()
    count = 0
    watermark = None
    for page in conn.full_import():
        count += len(page.records)
        watermark = page.watermark or watermark
    return time.perf_counter() - started, count, watermark


def tool(server: SlapdServer, name: str, *args: str, stdin: str | None = None) -> float:
    argv = [name, "-x", "-H", server.url, "-D", server.admin_dn, "-y", str(server.password_file), *args]
    started = time.perf_counter()
    subprocess.run(argv, input=stdin, text=True, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    import logging

    logging.getLogger("idsync.connectors.ldap").setLevel(logging.ERROR)
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="idsync-bench-ldap-") as tmp:
        server = SlapdServer.create(Path(tmp) / "slapd", SlapdSettings(tls=False))
        base = server.base_dn
        people = f"ou=people,{base}"
        server.offline_load(
            f"dn: {people}\nobjectClass: organizationalUnit\nou: people\n\n"
            f"dn: ou=exp1,{base}\nobjectClass: organizationalUnit\nou: exp1\n\n"
            f"dn: ou=exp2,{base}\nobjectClass: organizationalUnit\nou: exp2\n\n" + ldif(0, ENTRIES, people)
        )
        server.start()
        try:
            search = tool(
                server, "ldapsearch", "-LLL", "-E", "pr=1000/noprompt", "-b", people, "(objectClass=inetOrgPerson)"
            )
            rows.append((f"ldapsearch paged read of {ENTRIES:,}", f"{search:.2f} s"))
            py_conn = connector(server, "python-ldap", containers=[people], delta="accesslog")
            py_s, py_n, watermark = timed_import(py_conn)
            assert py_n == ENTRIES, py_n
            rows.append(("connector full import, python-ldap", f"{py_s:.2f} s ({py_s / search:.2f}x ldapsearch)"))
            l3_s, l3_n, _ = timed_import(connector(server, "ldap3", containers=[people]))
            assert l3_n == ENTRIES, l3_n
            rows.append(("connector full import, ldap3", f"{l3_s:.2f} s ({l3_s / search:.2f}x ldapsearch)"))

            add_s = tool(server, "ldapadd", stdin=ldif(0, EXPORTS, f"ou=exp1,{base}"))
            rows.append((f"ldapadd of {EXPORTS:,} entries", f"{add_s:.2f} s"))
            items = []
            for i in range(EXPORTS):
                p = person(i, f"ou=exp2,{base}")
                dn = p.pop("_dn")
                changes = [AttributeChange(k, ValueOp.REPLACE, [v]) for k, v in p.items()]
                items.append(ExportItem(cs_id=i, object_type="person", op=ExportOp.ADD, identifier=dn, changes=changes))
            exp_conn = connector(server, "python-ldap")
            exp_conn.schema()  # discovery is a once-per-run cost, not per object
            started = time.perf_counter()
            failed = 0
            for start in range(0, len(items), 100):
                failed += sum(not r.ok for r in exp_conn.export(items[start : start + 100]))
            exp_s = time.perf_counter() - started
            assert failed == 0, failed
            rows.append(
                (f"connector export of {EXPORTS:,} adds, python-ldap", f"{exp_s:.2f} s ({exp_s / add_s:.2f}x ldapadd)")
            )

            watermark = py_conn._current_watermark()  # after the export's writes: the delta sees only the 100
            changes = "\n".join(
                f"dn: uid=u{i:06d},{people}\nchangetype: modify\nreplace: title\ntitle: Changed {i}\n"
                for i in range(0, ENTRIES, max(1, ENTRIES // 100))
            )[:]
            tool(server, "ldapmodify", stdin=changes)
            time.sleep(0.1)
            started = time.perf_counter()
            delta_records = sum(len(p.records) for p in py_conn.delta_import(watermark))
            delta_s = time.perf_counter() - started
            rows.append(
                (f"delta import (accesslog) of 100 changes at {ENTRIES:,}", f"{delta_s:.3f} s, {delta_records} records")
            )
            sync_conn = connector(server, "python-ldap", containers=[people], delta="syncrepl")
            cookie = sync_conn._current_watermark()
            tool(server, "ldapmodify", stdin=changes.replace("Changed", "Again"))
            started = time.perf_counter()
            sync_records = sum(len(p.records) for p in sync_conn.delta_import(cookie))
            sync_s = time.perf_counter() - started
            rows.append(
                (f"delta import (syncrepl) of 100 changes at {ENTRIES:,}", f"{sync_s:.3f} s, {sync_records} records")
            )
        finally:
            server.stop()
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  result")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(
        json.dumps(
            {
                "entries": ENTRIES,
                "import_ratio_python_ldap": round(py_s / search, 2),
                "import_ratio_ldap3": round(l3_s / search, 2),
                "export_ratio": round(exp_s / add_s, 2),
                "delta_100_seconds": round(delta_s, 3),
                "delta_100_syncrepl_seconds": round(sync_s, 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
