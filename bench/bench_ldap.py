"""LDAP connector benchmark: full import (bare and through the engine), export and delta rates against the
server's own tools.

Runs a private slapd on loopback, bulk-loads N inetOrgPerson entries (9 attributes) with slapadd, then measures,
in the same run against the same server:
- ``ldapsearch -E pr=1000/noprompt`` of the N entries;
- python-ldap's bare paged read of them (the library alone: the floor under an import through it);
- the connector's full import alone (records produced, nothing staged), python-ldap and ldap3;
- idsync's full import as the issue defines it: a ``full-import`` step of a workspace, into the connector space,
  committed (SQLite), python-ldap and ldap3, with the CPU time of its fastest run (the engine staging, and the
  connector's read worker process);
- ``ldapadd`` of 10,000 entries against the connector exporting the same 10,000 adds (pipelined, and one at a
  time for comparison);
- a delta import of 100 changes at N entries (accesslog and syncrepl);
- an export replaying 5,000 member adds onto a group holding all of them, or half (one run each).

Every timing is the best of $BENCH_LDAP_REPEAT runs (default 3; ldap3 at most 2), taken in turns with the tool it
is compared with, because a shared 2-core machine varies a lot from run to run. Prints a table and, last, one
JSON line. N = $BENCH_LDAP_ENTRIES (default 100000), exports = $BENCH_LDAP_EXPORTS (default 10000).
"""

from __future__ import annotations

import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from idsync.connectors.base import ConnectorContext, ExportItem
from idsync.connectors.ldap import LdapConnector, connector_type
from idsync.engine.run_profiles import Runner
from idsync.engine.workspace import Workspace
from idsync.model import AttributeChange, ExportOp, RunStatus, StepKind, ValueOp
from idsync.testing.directories import SlapdServer, SlapdSettings

ENTRIES = int(os.environ.get("BENCH_LDAP_ENTRIES", "100000"))
EXPORTS = int(os.environ.get("BENCH_LDAP_EXPORTS", "10000"))
REPEAT = max(1, int(os.environ.get("BENCH_LDAP_REPEAT", "3")))
REPLAY_MEMBERS = 5000


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


def settings(server: SlapdServer, backend: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "ldap",
        "url": server.url,
        "allow_insecure": True,  # loopback, like ldapsearch -x: the comparison is of the same transport
        "bind_dn": server.admin_dn,
        "password": f"${{file:{server.password_file}}}",
        "base_dn": server.base_dn,
        "backend": backend,
        "page_size": 1000,
        **extra,
    }


def connector(server: SlapdServer, backend: str, **extra: Any) -> LdapConnector:
    config = connector_type.config_model.model_validate(settings(server, backend, **extra))
    return connector_type.create("bench", config, ConnectorContext(workspace="."))


def best(runs: int, measure: Callable[[], float]) -> float:
    return min(measure() for _ in range(runs))


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def tool(server: SlapdServer, name: str, *args: str, stdin: str | None = None) -> float:
    argv = [name, "-x", "-H", server.url, "-D", server.admin_dn, "-y", str(server.password_file), *args]
    return timed(lambda: subprocess.run(argv, input=stdin, text=True, check=True, stdout=subprocess.DEVNULL))


def connector_import(server: SlapdServer, backend: str, people: str) -> float:
    conn = connector(server, backend, containers=[people])
    conn.schema()  # discovery is a once-per-run cost, not per entry
    count = 0

    def read() -> None:
        nonlocal count
        count = sum(len(page.records) for page in conn.full_import())

    seconds = timed(read)
    conn.close()
    assert count == ENTRIES, count
    return seconds


def bare_python_ldap(server: SlapdServer, people: str) -> float:
    """python-ldap's own paged read of the entries, 1,000 a page, nothing decoded or kept: the floor under any
    import through that library (the issue's premise put it at 2.1-2.5x ldapsearch)."""
    import ldap
    from ldap.controls import SimplePagedResultsControl

    conn = ldap.initialize(server.url)
    conn.simple_bind_s(server.admin_dn, server.password_file.read_text(encoding="utf-8").strip())
    control = SimplePagedResultsControl(True, size=1000, cookie="")
    count = 0

    def read() -> None:
        nonlocal count
        while True:
            msgid = conn.search_ext(people, ldap.SCOPE_SUBTREE, "(objectClass=inetOrgPerson)", serverctrls=[control])
            _, entries, _, controls = conn.result3(msgid)
            count += len(entries)
            cookie = next((c.cookie for c in controls if c.controlType == control.controlType), b"")
            if not cookie:
                return
            control.cookie = cookie

    seconds = timed(read)
    conn.unbind_s()
    assert count == ENTRIES, count
    return seconds


def cpu_seconds() -> tuple[float, float]:
    """CPU time used so far by this process and by its reaped children (the import's read worker)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


Cpu = dict[str, tuple[float, float, float]]
"""Per backend: (wall seconds, CPU seconds of this process, of the read worker) of the fastest engine import."""


def engine_import(server: SlapdServer, backend: str, people: str, cpu: Cpu) -> float:
    """A full-import step of a fresh workspace: every entry staged into the connector space and committed; the CPU
    time of the fastest run so far goes into ``cpu``."""
    with tempfile.TemporaryDirectory(prefix="idsync-bench-ws-") as folder:
        block = json.dumps(settings(server, backend, base_dn=people))
        Path(folder, "idsync.yaml").write_text(f"connectors:\n  dir: {block}\n", encoding="utf-8")
        with Workspace.load(folder) as ws:
            runner = Runner(ws)
            own, children = cpu_seconds()
            started = time.perf_counter()
            run = runner.run_steps("bench", [("dir", StepKind.FULL_IMPORT)])
            seconds = time.perf_counter() - started
            own_after, children_after = cpu_seconds()
        step = run.steps[0]
        assert run.status is RunStatus.SUCCESS and step.counters.adds == ENTRIES, (run.status, step.counters.adds)
        if backend not in cpu or seconds < cpu[backend][0]:
            cpu[backend] = (seconds, own_after - own, children_after - children)
        return seconds


def export_items(parent: str) -> list[ExportItem]:
    items = []
    for i in range(EXPORTS):
        p = person(i, parent)
        dn = p.pop("_dn")
        changes = [AttributeChange(k, ValueOp.REPLACE, [v]) for k, v in p.items()]
        items.append(ExportItem(cs_id=i, object_type="person", op=ExportOp.ADD, identifier=dn, changes=changes))
    return items


def connector_export(server: SlapdServer, parent: str, window: int) -> float:
    conn = connector(server, "python-ldap", add_window=window)
    conn.schema()
    items = export_items(parent)
    failed = 0

    def send() -> None:
        nonlocal failed
        for start in range(0, len(items), 100):  # the engine's default batch
            failed += sum(not r.ok for r in conn.export(items[start : start + 100]))

    seconds = timed(send)
    conn.close()
    assert failed == 0, failed
    return seconds


def membership_replay(server: SlapdServer, people: str, group_parent: str, backend: str, applied: int) -> float:
    """An export adding ``REPLAY_MEMBERS`` members to a group that already holds the first ``applied`` of them (a
    replay after a crash, whole or half sent): slapd has no permissive modify, so a chunk holding one present value
    is refused whole. Returns the seconds of the export (the group is made fresh beforehand, by ldapadd)."""
    members = [f"uid=u{i:06d},{people}" for i in range(REPLAY_MEMBERS)]
    group = f"cn=replay-{backend}-{applied},{group_parent}"
    held = "".join(f"member: {m}\n" for m in members[: max(1, applied)])
    tool(server, "ldapadd", stdin=f"dn: {group}\nobjectClass: groupOfNames\ncn: replay-{backend}-{applied}\n{held}")
    types = {"group": {"object_class": "groupOfNames"}}
    conn = connector(server, backend, containers=[group_parent], object_types=types)
    conn.schema()
    item = ExportItem(
        cs_id=1,
        object_type="group",
        op=ExportOp.UPDATE,
        identifier=group,
        changes=[AttributeChange("member", ValueOp.ADD, list(members))],
    )
    results: list[Any] = []
    seconds = timed(lambda: results.extend(conn.export([item])))
    conn.close()
    assert results[0].ok, results[0].error
    return seconds


def main() -> int:
    logging.getLogger("idsync.connectors.ldap").setLevel(logging.ERROR)
    rows: list[tuple[str, str]] = []
    figures: dict[str, Any] = {"entries": ENTRIES, "exports": EXPORTS, "repeat": REPEAT}
    with tempfile.TemporaryDirectory(prefix="idsync-bench-ldap-") as tmp:
        server = SlapdServer.create(Path(tmp) / "slapd", SlapdSettings(tls=False))
        base = server.base_dn
        people = f"ou=people,{base}"
        units = "".join(f"dn: ou=exp{i},{base}\nobjectClass: organizationalUnit\nou: exp{i}\n\n" for i in range(40))
        server.offline_load(
            f"dn: {people}\nobjectClass: organizationalUnit\nou: people\n\n{units}" + ldif(0, ENTRIES, people)
        )
        server.start()
        try:
            search_args = ("-LLL", "-E", "pr=1000/noprompt", "-b", people, "(objectClass=inetOrgPerson)")
            searches: list[float] = []
            cpu: Cpu = {}

            def versus_search(measure: Callable[[], float], runs: int) -> float:
                """Best of ``runs``, each run after an ldapsearch, so both see the same conditions."""
                times = []
                for _ in range(runs):
                    searches.append(tool(server, "ldapsearch", *search_args))
                    times.append(measure())
                return min(times)

            imports = {
                "bare_python_ldap": versus_search(lambda: bare_python_ldap(server, people), REPEAT),
                "connector_python_ldap": versus_search(lambda: connector_import(server, "python-ldap", people), REPEAT),
                "engine_python_ldap": versus_search(lambda: engine_import(server, "python-ldap", people, cpu), REPEAT),
                "connector_ldap3": versus_search(lambda: connector_import(server, "ldap3", people), min(REPEAT, 2)),
                "engine_ldap3": versus_search(lambda: engine_import(server, "ldap3", people, cpu), min(REPEAT, 2)),
            }
            search = min(searches)
            rows.append((f"ldapsearch paged read of {ENTRIES:,} (best of {len(searches)})", f"{search:.2f} s"))
            labels = {
                "bare_python_ldap": "python-ldap's bare paged read (nothing decoded or kept)",
                "connector_python_ldap": "connector full import alone, python-ldap",
                "engine_python_ldap": "idsync full import into the connector space, python-ldap",
                "connector_ldap3": "connector full import alone, ldap3",
                "engine_ldap3": "idsync full import into the connector space, ldap3",
            }
            for key, seconds in imports.items():
                rows.append((labels[key], f"{seconds:.2f} s ({seconds / search:.2f}x ldapsearch)"))
                figures[f"{key}_seconds"] = round(seconds, 2)
            for backend, (_, own, worker) in cpu.items():
                key = backend.replace("-", "_")
                label = f"  CPU of its fastest run, {backend}: staging / read worker"
                rows.append((label, f"{own:.2f} s / {worker:.2f} s"))
                figures[f"engine_{key}_cpu_seconds"] = round(own, 2)
                figures[f"engine_{key}_worker_cpu_seconds"] = round(worker, 2)
            figures["ldapsearch_seconds"] = round(search, 3)

            unit = iter(range(40))
            adds, exports = [], []
            for _ in range(REPEAT):
                adds.append(tool(server, "ldapadd", stdin=ldif(0, EXPORTS, f"ou=exp{next(unit)},{base}")))
                exports.append(connector_export(server, f"ou=exp{next(unit)},{base}", window=16))
            single = connector_export(server, f"ou=exp{next(unit)},{base}", window=1)
            add_s, exp_s = min(adds), min(exports)
            rows.append((f"ldapadd of {EXPORTS:,} entries", f"{add_s:.2f} s"))
            rows.append(
                (
                    f"connector export of {EXPORTS:,} adds, python-ldap, 16 in flight",
                    f"{exp_s:.2f} s ({exp_s / add_s:.2f}x ldapadd)",
                )
            )
            rows.append(("the same, one add at a time (one run)", f"{single:.2f} s ({single / add_s:.2f}x ldapadd)"))
            groups = f"ou=exp{next(unit)},{base}"
            for applied, label in ((REPLAY_MEMBERS, "all"), (REPLAY_MEMBERS // 2, "half")):
                for backend in ("python-ldap", "ldap3"):
                    seconds = membership_replay(server, people, groups, backend, applied)
                    rows.append(
                        (
                            f"replay of {REPLAY_MEMBERS:,} member adds, {label} already there, {backend}",
                            f"{seconds:.2f} s",
                        )
                    )
                    figures[f"replay_{label}_{backend.replace('-', '_')}_seconds"] = round(seconds, 2)

            changes = "\n".join(
                f"dn: uid=u{i:06d},{people}\nchangetype: modify\nreplace: title\ntitle: Changed {i}\n"
                for i in range(0, ENTRIES, max(1, ENTRIES // 100))
            )
            deltas: dict[str, list[float]] = {"accesslog": [], "syncrepl": []}
            for attempt in range(REPEAT):
                for method in deltas:
                    conn = connector(server, "python-ldap", containers=[people], delta=method)
                    watermark = conn._current_watermark()
                    tool(server, "ldapmodify", stdin=changes.replace("Changed", f"{method} {attempt}"))
                    records = 0

                    def read(c: LdapConnector = conn, w: str = watermark) -> None:
                        nonlocal records
                        records = sum(len(p.records) for p in c.delta_import(w))

                    deltas[method].append(timed(read))
                    conn.close()
                    assert records == 100, (method, records)
            for method, times in deltas.items():
                rows.append((f"delta import ({method}) of 100 changes at {ENTRIES:,}", f"{min(times):.3f} s"))
        finally:
            server.stop()
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  result")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    figures |= {
        "import_ratio_python_ldap": round(imports["engine_python_ldap"] / search, 2),
        "import_ratio_ldap3": round(imports["engine_ldap3"] / search, 2),
        "bare_read_ratio_python_ldap": round(imports["bare_python_ldap"] / search, 2),
        "connector_import_ratio_python_ldap": round(imports["connector_python_ldap"] / search, 2),
        "connector_import_ratio_ldap3": round(imports["connector_ldap3"] / search, 2),
        "export_ratio": round(exp_s / add_s, 2),
        "export_ratio_one_at_a_time": round(single / add_s, 2),
        "delta_100_seconds": round(min(deltas["accesslog"]), 3),
        "delta_100_syncrepl_seconds": round(min(deltas["syncrepl"]), 3),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
