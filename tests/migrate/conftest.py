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


def single_export_ma(folder: Path) -> Path:
    """The hr-sql-aad Azure AD agent as one <export-ma> file, carrying (in its own <mv-data>) the import flows from
    that agent, as Synchronization Service Manager's "Export Management Agent" writes it."""
    aad = (EXPORTS / "hr-sql-aad" / "MA-AzureAD.XML").read_text()
    ma_data = aad[aad.index("<ma-data>") : aad.index("</ma-data>") + len("</ma-data>")]
    mv = (EXPORTS / "hr-sql-aad" / "MV.XML").read_text()
    start = mv.index('<import-flows mv-attribute="cloudAnchor"')
    flows = mv[start : mv.index("</import-flows>", start) + len("</import-flows>")]
    single = folder / "AzureAD-export.xml"
    single.write_text(
        f"<export-ma server='FIMSYNC01' export-date='2024-01-01'>{ma_data}<mv-data><import-attribute-flow>"
        f'<import-flow-set mv-object-type="person">{flows}</import-flow-set></import-attribute-flow></mv-data>'
        "</export-ma>"
    )
    return single
