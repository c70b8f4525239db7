"""pytest plugin: a PostgreSQL server per test session, and a fresh database per test that asks for one.

Load it with ``pytest_plugins = ["idsync.testing.pytest_postgres"]``. Tests that use these fixtures are marked
``postgres`` automatically, so ``-m "not postgres"`` deselects them; when the server binaries are not installed
they are skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from idsync.testing.postgres import PostgresServer, PostgresUnavailable, find_bindir, running_postgres

FIXTURES = ("postgres_server", "postgres_url")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        bindir = find_bindir()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    with running_postgres(bindir) as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A URL that sees an empty database: a new schema of its own, first on its search path, dropped after the
    test. Tests that need a whole database call ``postgres_server.create_database()``."""
    pytest.importorskip("psycopg", reason="the PostgreSQL fixtures need the 'postgres' extra")
    url = postgres_server.create_schema()
    yield url
    postgres_server.drop_schema(url)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(name in getattr(item, "fixturenames", ()) for name in FIXTURES):
            item.add_marker(pytest.mark.postgres)
