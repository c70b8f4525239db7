"""PostgreSQL connection strings in messages: the password is masked however it was written (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from idsync.store import StoreError, open_store
from idsync.testing.postgres import free_port

pytest.importorskip("psycopg")

from idsync.store.postgres import mask_url
from idsync.store.postgres.urls import scrub


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://idsync:s3cret@db.example:5432/idsync", "postgresql://idsync:***@db.example:5432/idsync"),
        ("postgres://idsync:p%40ss%3Aw@db/idsync?sslmode=verify-full", "postgres://idsync:***@db/idsync?sslmode=verify-full"),
        ("postgresql://idsync@db/idsync?password=s3cret&sslmode=require", "postgresql://idsync@db/idsync?password=***&sslmode=require"),
        ("postgresql://db/idsync", "postgresql://db/idsync"),
        ("postgresql://idsync@db/idsync", "postgresql://idsync@db/idsync"),
        ("host=db user=idsync password=s3cret dbname=idsync", "host=db user=idsync password=*** dbname=idsync"),
        ("host=db password='with space' user=idsync", "host=db password=*** user=idsync"),
    ],
)  # fmt: skip
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_scrub_removes_every_spelling_of_the_password() -> None:
    url = "postgresql://idsync:p%40ss@db/idsync"
    text = "could not connect with p@ss (p%40ss) to db"
    assert scrub(text, url) == "could not connect with *** (***) to db"


def test_an_unreachable_server_is_reported_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://idsync:hunter2@127.0.0.1:{free_port()}/idsync"
    with pytest.raises(StoreError) as caught:
        open_store(url, tmp_path)
    message = str(caught.value)
    assert "hunter2" not in message
    assert f"postgresql://idsync:***@127.0.0.1:{url.rsplit(':', 1)[1]}" in message
    assert "cannot connect" in message


def test_a_malformed_url_is_reported_without_the_password(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as caught:
        open_store("postgresql://idsync:hunter2@db:notaport/idsync", tmp_path)
    assert "hunter2" not in str(caught.value)
    assert "idsync:***@db" in str(caught.value)
