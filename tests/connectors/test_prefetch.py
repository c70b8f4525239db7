"""Read-ahead on a second thread: same items, same order, errors passed on, and an early stop stops the producer."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from idsync.connectors.prefetch import prefetch


def test_items_arrive_in_order_and_the_producer_runs_ahead() -> None:
    produced: list[int] = []

    def source() -> Iterator[int]:
        for i in range(10):
            produced.append(i)
            yield i

    consumer = prefetch(source(), depth=2)
    assert next(consumer) == 0
    time.sleep(0.2)
    assert 2 <= len(produced) <= 4  # read ahead, but only ``depth`` items (plus the one being offered)
    assert list(consumer) == list(range(1, 10))


def test_an_error_in_the_producer_reaches_the_consumer_after_the_items_before_it() -> None:
    def source() -> Iterator[int]:
        yield 1
        raise ConnectionError("server gone")

    got: list[int] = []
    with pytest.raises(ConnectionError, match="server gone"):
        for item in prefetch(source()):
            got.append(item)
    assert got == [1]


def test_stopping_early_stops_and_closes_the_producer() -> None:
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    threads_before = threading.active_count()
    consumer = prefetch(source(), depth=1, name="idsync-test-read-ahead")
    assert next(consumer) == 0
    consumer.close()
    assert closed.wait(2)
    assert threading.active_count() == threads_before
    assert not any(t.name == "idsync-test-read-ahead" for t in threading.enumerate())
