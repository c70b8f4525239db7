"""What only the PostgreSQL store has: versioned migrations under concurrent first opens, JSONB columns, and
connection strings whose password never shows."""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from idsync.model import CSObject, MVObject
from idsync.store import StoreError, open_store

psycopg = pytest.importorskip("psycopg")

MIGRATIONS = Path(__file__).parents[2] / "idsync" / "store" / "postgres" / "migrations"


def newest_migration() -> int:
    return max(int(p.name[:3]) for p in MIGRATIONS.glob("[0-9][0-9][0-9]_*.sql"))


def with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    user, _, host = parts.netloc.partition("@")
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))


def test_a_new_database_is_migrated_once(postgres_url: str, tmp_path: Path) -> None:
    store = open_store(postgres_url, tmp_path)
    try:
        store.set_meta("marker", "kept")
        assert store.schema_version() == newest_migration()  # type: ignore[attr-defined]
    finally:
        store.close()
    again = open_store(postgres_url, tmp_path)
    try:
        assert again.get_meta("marker") == "kept"
    finally:
        again.close()
    with psycopg.connect(postgres_url) as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(newest_migration(),)]


def test_first_opens_racing_each_other_migrate_once(postgres_url: str, tmp_path: Path) -> None:
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def open_one() -> None:
        start.wait()
        try:
            open_store(postgres_url, tmp_path).close()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == []
    with psycopg.connect(postgres_url) as db:
        assert db.execute("SELECT count(*) FROM schema_version").fetchone() == (1,)


def test_a_schema_newer_than_the_code_is_refused(postgres_url: str, tmp_path: Path) -> None:
    open_store(postgres_url, tmp_path).close()
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute("UPDATE schema_version SET version = 999")
    with pytest.raises(StoreError, match="schema version 999, newer"):
        open_store(postgres_url, tmp_path)


def test_searched_documents_are_jsonb(postgres_url: str, tmp_path: Path) -> None:
    open_store(postgres_url, tmp_path).close()
    with psycopg.connect(postgres_url) as db:
        types = dict(
            db.execute(
                "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND column_name IN ('hologram', 'attributes')"
            ).fetchall()
        )
    assert types == {"cs.hologram": "jsonb", "mv.attributes": "jsonb"}


def test_the_store_url_never_shows_the_password(postgres_url: str, tmp_path: Path) -> None:
    url = with_password(postgres_url, "s3cr%40t")  # the test server trusts its user, whatever the password
    store = open_store(url, tmp_path)
    try:
        assert "s3cr" not in store.url and ":***@" in store.url
    finally:
        store.close()


def test_a_refused_login_names_the_server_but_not_the_password(postgres_url: str, tmp_path: Path) -> None:
    parts = urlsplit(postgres_url)
    url = urlunsplit(parts._replace(netloc=f"nosuchrole:hunter2@{parts.netloc.partition('@')[2]}"))
    with pytest.raises(StoreError) as caught:
        open_store(url, tmp_path)
    message = str(caught.value)
    assert "hunter2" not in message
    assert "nosuchrole:***@127.0.0.1" in message
    assert 'role "nosuchrole" does not exist' in message


def test_a_nul_character_is_refused_with_the_object_and_attribute(postgres_url: str, tmp_path: Path) -> None:
    """PostgreSQL text and JSONB cannot hold U+0000; the store says which value, and the transaction goes on."""
    store = open_store(postgres_url, tmp_path)
    try:
        with store.transaction():
            bad = CSObject(0, "hr", "person", "CN=Anna", anchor="E1", hologram={"mail": ["a@x.org", "b\x00@x.org"]})
            with pytest.raises(
                StoreError, match=r"connector 'hr': cannot store 'CN=Anna': attribute 'mail' holds a NUL"
            ):
                store.cs_insert(bad)
            with pytest.raises(StoreError, match=r"attribute 'sn' holds a NUL"):
                store.mv_insert(MVObject(0, "person", {"sn": "x\x00"}))
            fine = CSObject(0, "hr", "person", "CN=Bob", anchor="E2", hologram={"note": "a literal \\u0000 is text"})
            store.cs_insert(fine)
        stored = store.cs_get(fine.id)
        assert stored is not None and stored.hologram == {"note": "a literal \\u0000 is text"}
    finally:
        store.close()


def test_a_table_the_store_fills_is_analyzed_as_it_grows(postgres_url: str, tmp_path: Path) -> None:
    """The planner's statistics follow a first import: the store analyzes a table it has grown from nothing, so
    a lookup of a page's keys is planned on the table as it is (autovacuum follows too slowly for one run)."""
    store = open_store(postgres_url, tmp_path)
    try:
        with store.transaction():
            store.cs_insert_many([CSObject(0, "hr", "person", f"CN={i}", anchor=f"E{i}") for i in range(6_000)])
        with psycopg.connect(postgres_url) as db:
            row = db.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass('cs')").fetchone()
            assert row is not None and row[0] >= 5_000
            plan = "\n".join(
                r[0]
                for r in db.execute(
                    "EXPLAIN SELECT id FROM cs WHERE connector='hr' AND anchor = ANY(ARRAY['E1','E2','E3'])"
                )
            )
            assert "Index" in plan, plan
    finally:
        store.close()
