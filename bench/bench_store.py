"""Connector-space throughput of both stores: insert, read and update of 100,000 CS objects.

The objects look like an HR import: an anchor, a DN-style identifier and a dozen attributes (one multi-valued),
with a pending import. Work goes in pages of 1,000 in one transaction each, as the engine commits an import page:
- insert: ``cs_insert`` one object at a time (the engine needs each new id);
- read by anchor: ``cs_by_anchor`` for a page of anchors (what an import page does first);
- read pages: ``cs_page`` over the connector (what a full sync walks);
- update, batched: ``cs_save`` of a whole page;
- update, one by one: ``cs_save([obj])`` per object (what sync does per object, inside a page transaction).

SQLite runs on a temporary file; PostgreSQL on a throwaway local server (the Debian binaries), durability off as in
the test fixture, so the figures compare the stores' own cost rather than disks. Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from idsync.model import CSObject, ImportOp, PendingImport
from idsync.store import CSFilter, Store, open_store
from idsync.testing.postgres import PostgresUnavailable, running_postgres

PAGE = 1000
SEED = 20240401
GIVEN = ["John", "Zoë", "José", "Ærin", "Łukasz", "Mary Ann", "Søren", "Chloé", "Ümit", "Анна", "Li", "Renée"]
FAMILY = ["Smith", "Müller", "O'Brien", "Nguyễn", "Åström", "García", "Dvořák", "Brown", "Kowalski", "Jones"]
DEPARTMENTS = ["Sales", "Engineering", "Finance", "HR", "Legal", "Support", "Marketing"]


def people(n: int) -> list[CSObject]:
    rng = random.Random(SEED)
    out = []
    for i in range(n):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        anchor = f"E{i:07d}"
        hologram: dict[str, Any] = {
            "employeeId": anchor,
            "givenName": given,
            "sn": family,
            "displayName": f"{given} {family}",
            "mail": f"{given}.{family}{i}@contoso.com",
            "department": rng.choice(DEPARTMENTS),
            "title": "Engineer",
            "manager": f"E{rng.randrange(max(i, 1)):07d}",
            "hireDate": f"{rng.randint(1990, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T09:30:00Z",
            "status": "active",
            "floor": rng.randint(1, 12),
            "proxyAddresses": [f"smtp:{given}.{family}{i}@contoso.com", f"SMTP:{anchor}@contoso.com"],
        }
        out.append(
            CSObject(
                0,
                "hr",
                "person",
                f"CN={given} {family} {i},OU=Staff,DC=contoso,DC=com",
                anchor=anchor,
                hologram=hologram,
                pending_import=PendingImport(ImportOp.ADD, sorted(hologram)),
            )
        )
    return out


def pages(objs: list[CSObject]) -> Iterator[list[CSObject]]:
    for i in range(0, len(objs), PAGE):
        yield objs[i : i + PAGE]


def timed(action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def run(store: Store, objs: list[CSObject]) -> dict[str, float]:
    n = len(objs)

    def insert() -> None:
        for page in pages(objs):
            with store.transaction():
                for obj in page:
                    store.cs_insert(obj)

    def by_anchor() -> None:
        for page in pages(objs):
            found = store.cs_by_anchor("hr", [o.anchor for o in page if o.anchor])
            assert len(found) == len(page)

    def walk() -> None:
        seen, after = 0, 0
        while page := store.cs_page(CSFilter(connector="hr"), after, PAGE):
            seen += len(page)
            after = page[-1].id
        assert seen == n

    def save_batched() -> None:
        for page in pages(objs):
            for obj in page:
                obj.hologram["title"] = "Senior Engineer"
                obj.pending_import = None
            with store.transaction():
                store.cs_save(page)

    def save_each() -> None:
        for page in pages(objs):
            with store.transaction():
                for obj in page:
                    obj.last_seen = 2
                    store.cs_save([obj])

    rates: dict[str, float] = {}
    for name, action in (
        ("insert", insert),
        ("read_by_anchor", by_anchor),
        ("read_pages", walk),
        ("update_batched", save_batched),
        ("update_each", save_each),
    ):
        rates[name] = n / timed(action)
    return rates


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="idsync-bench-") as folder:
        yield f"sqlite:///{Path(folder) / 'state.db'}"


@contextmanager
def postgres_url() -> Iterator[str]:
    with running_postgres() as server:
        yield server.create_database("bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    for name, url_of in (("sqlite", sqlite_url), ("postgres", postgres_url)):
        try:
            with url_of() as url:
                store = open_store(url, Path.cwd())
                try:
                    results[name] = run(store, people(args.objects))
                finally:
                    store.close()
        except PostgresUnavailable as exc:
            print(f"postgres: skipped ({exc})")
    python = platform.python_version()
    print(f"connector-space throughput, {args.objects:,} objects, pages of {PAGE:,}, Python {python}")
    operations = ["insert", "read_by_anchor", "read_pages", "update_batched", "update_each"]
    print(f"{'operation':<16}" + "".join(f"{s + ' obj/s':>16}" for s in results))
    for op in operations:
        print(f"{op:<16}" + "".join(f"{results[s][op]:>16,.0f}" for s in results))
    figures = {f"{s}_{op}_per_s": round(results[s][op]) for s in results for op in operations}
    print(json.dumps({"objects": args.objects, **figures}))


if __name__ == "__main__":
    main()
