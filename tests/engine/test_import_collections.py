"""While an import stages pages the cyclic collector runs less often; afterwards it is as it was."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from idsync.engine.imports import IMPORT_GC_THRESHOLD, fewer_collections


@pytest.fixture
def default_threshold() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*before)


def test_the_threshold_is_raised_during_the_import_and_put_back(default_threshold: tuple[int, int, int]) -> None:
    with fewer_collections():
        assert gc.get_threshold() == (IMPORT_GC_THRESHOLD, 10, 10)
    assert gc.get_threshold() == default_threshold
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("the import failed")
    assert gc.get_threshold() == default_threshold


def test_a_threshold_someone_changed_meanwhile_is_left_alone(default_threshold: tuple[int, int, int]) -> None:
    with fewer_collections():
        gc.set_threshold(2000, 10, 10)
    assert gc.get_threshold() == (2000, 10, 10)


def test_a_disabled_collector_stays_untouched(default_threshold: tuple[int, int, int]) -> None:
    gc.disable()
    try:
        with fewer_collections():
            assert gc.get_threshold() == default_threshold
    finally:
        gc.enable()
