"""Store contract: saving an object rewrites its key rows only where they changed.

At a million objects a delta sync's writes were mostly its key rows deleted and written again unchanged (each a
random place in the value index); a save now compares them first. The answers of the key index must stay right
whichever way a save goes.
"""

from __future__ import annotations

import sqlite3

import pytest

from idsync.model import CSObject, MVObject
from idsync.store import KeyConfig, Store


@pytest.fixture
def keyed(store: Store) -> Store:
    store.configure_keys(
        KeyConfig(mv={"person": frozenset({"employeeId", "alias"})}, cs={"ad": frozenset({"upn", "mail"})})
    )
    return store


def _rowids(store_url: str, table: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
        return db.execute(f"SELECT rowid, * FROM {table} ORDER BY rowid").fetchall()


def test_key_rows_follow_a_save_only_where_they_changed(keyed: Store, store_url: str) -> None:
    store = keyed
    user = CSObject(0, "ad", "user", "CN=ann", anchor="a1")
    user.hologram = {"upn": "ann@example.org", "mail": ["ann@example.org", "a@example.org"], "title": "Dr"}
    store.cs_insert(user)
    person = MVObject(0, "person", {"employeeId": "e1", "alias": ["ann", "annie"], "title": "Dr"})
    store.mv_insert(person)
    # rows after theirs: rows deleted and written again would get new ids
    later = CSObject(0, "ad", "user", "CN=bob", anchor="b1")
    later.hologram = {"upn": "bob@example.org"}
    store.cs_insert(later)
    store.mv_insert(MVObject(0, "person", {"employeeId": "e2"}))
    sqlite = store_url.startswith("sqlite:///")
    before = (_rowids(store_url, "cs_keys"), _rowids(store_url, "mv_keys")) if sqlite else None

    user.hologram = {**user.hologram, "title": "Prof"}  # no key attribute changed
    person.attributes["title"] = "Prof"
    store.cs_save([user])
    store.mv_save([person])
    if sqlite:
        assert (_rowids(store_url, "cs_keys"), _rowids(store_url, "mv_keys")) == before  # not written again

    user.hologram = {**user.hologram, "upn": "ann.b@example.org", "mail": ["ann@example.org"]}
    person.attributes["alias"] = ["annie"]
    store.cs_save([user, user])  # the same object twice in one batch: its rows once
    store.mv_save([person])
    assert store.cs_find("ad", "upn", ["ann@example.org", "ann.b@example.org"]) == {"ann.b@example.org": [user.id]}
    assert store.cs_find("ad", "mail", ["ann@example.org", "a@example.org"]) == {"ann@example.org": [user.id]}
    assert store.mv_find("person", "alias", ["ann", "annie"]) == {"annie": [person.id]}
    assert store.mv_find("person", "employeeId", ["e1"]) == {"e1": [person.id]}
    if sqlite:
        rows = [row[1:] for row in _rowids(store_url, "cs_keys")]
        assert sorted(rows) == sorted(
            [
                ("ad", "upn", "ann.b@example.org", user.id),
                ("ad", "mail", "ann@example.org", user.id),
                ("ad", "upn", "bob@example.org", later.id),
            ]
        )
