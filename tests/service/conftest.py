"""Fixtures of the service tests: sites (workspaces of in-memory systems) served for real, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("prometheus_client")

from servicesite import Site, served


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return "sqlite"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path)


@pytest.fixture
def populated(tmp_path: Path, store_url: str) -> Iterator[Site]:
    """30 people provisioned by a first full run, served on the store under test."""
    site = Site(tmp_path, store_url)
    site.configure()
    site.people(30)
    with served(site):
        run = site.run("full")
        assert run["status"] == "success", run
        yield site
