"""The store contract suite runs every test against each store: SQLite in a temp file, PostgreSQL from the
session's throwaway server (tests of the latter carry the ``postgres`` marker)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from idsync.model import CSObject, MVObject
from idsync.store import Store, open_store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def open_again(store_url: str, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens another store on the same database (another process's connection), closed after the test."""
    opened: list[Store] = []

    def open_one() -> Store:
        opened.append(open_store(store_url, tmp_path))
        return opened[-1]

    yield open_one
    for s in opened:
        s.close()


@pytest.fixture
def store(open_again: Callable[[], Store]) -> Store:
    return open_again()


@pytest.fixture
def add_cs(store: Store) -> Callable[..., CSObject]:
    """Inserts a CS object; the identifier defaults to ``CN=<anchor>``."""

    def add(anchor: str | None = "E1", connector: str = "hr", object_type: str = "person", **kw: Any) -> CSObject:
        identifier = kw.pop("identifier", None) or f"CN={anchor}"
        obj = CSObject(0, connector, object_type, identifier, anchor=anchor, **kw)
        store.cs_insert(obj)
        return obj

    return add


@pytest.fixture
def add_mv(store: Store) -> Callable[..., MVObject]:
    def add(object_type: str = "person", **attributes: Any) -> MVObject:
        obj = MVObject(0, object_type, attributes)
        store.mv_insert(obj)
        return obj

    return add
