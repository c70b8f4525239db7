from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from idsync.testing.fixtures import fixture_path, missing_reason

REPO = Path(__file__).resolve().parents[2]
EXPORTS = Path(__file__).resolve().parent / "exports"


def _fixture(name: str) -> Path:
    path = fixture_path("mim", name)
    if not path.is_dir():
        pytest.skip(missing_reason(path))
    return path


@pytest.fixture(scope="session")
def mimdsc() -> Path:
    return _fixture("mimdsc")


@pytest.fixture(scope="session")
def contoso() -> Path:
    return _fixture("aadconnect-contoso")


@pytest.fixture
def mimdsc_copy(mimdsc: Path, tmp_path: Path) -> Path:
    """A writable copy of the MIMDSC export, for the bad-input tests to damage."""
    dest = tmp_path / "export"
    shutil.copytree(mimdsc, dest, ignore=shutil.ignore_patterns("LICENSE", "SOURCE.md"))
    return dest
