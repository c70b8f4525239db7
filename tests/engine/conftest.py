from __future__ import annotations

from pathlib import Path

import pytest
from lab import Lab


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def lab(tmp_path: Path, request: pytest.FixtureRequest) -> Lab:
    """Each engine semantic runs on both stores: the PostgreSQL store holds a page's writes and sends them in
    batches of its own (COPY, ids drawn in blocks), so what the engine does must not depend on which one keeps it."""
    if request.param == "postgres":
        return Lab(tmp_path, store=request.getfixturevalue("postgres_url"))
    return Lab(tmp_path)
