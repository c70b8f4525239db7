"""Where the real public files the tests read live: MIM and Connect Sync configuration exports, Graph's CSDL.

They are not part of the project (each has its own licence); they sit beside the repository, in
``../shared/fixtures``, or wherever ``IDSYNC_FIXTURES`` points.
"""

from __future__ import annotations

import os
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]


def fixtures_root() -> Path:
    configured = os.environ.get("IDSYNC_FIXTURES")
    return Path(configured) if configured else REPOSITORY.parent / "shared" / "fixtures"


def fixture_path(*parts: str) -> Path:
    return fixtures_root().joinpath(*parts)


def missing_reason(path: Path) -> str:
    return f"the public test files are not at {path}; set IDSYNC_FIXTURES to their folder"
