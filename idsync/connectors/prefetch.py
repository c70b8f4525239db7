"""Reading ahead: a connector's pages are produced on a thread of their own while the engine stages the last ones.

A full import spends its time in two places that can overlap: waiting for the connected system and decoding
what it sends (the connector), and writing pages into the connector space (the engine). Network waits and
SQLite's work run outside Python's global interpreter lock, so running the producer on a second thread lets the
two proceed together on two cores. The read-ahead is bounded (memory stays at a few pages), an exception in the
producer reaches the consumer unchanged, and a consumer that stops early stops the producer before returning.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_POLL = 0.05
"""Seconds between checks of the stop flag while the producer waits for room."""


class _End:
    pass


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetch(source: Iterator[T], depth: int = 2, name: str = "idsync-read-ahead") -> Iterator[T]:
    """Yield what ``source`` yields, produced on a background thread up to ``depth`` items ahead."""
    channel: queue.Queue[T | _End | _Failed] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def offer(item: T | _End | _Failed) -> bool:
        while not stop.is_set():
            try:
                channel.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in source:
                if not offer(item):
                    return
            offer(_End())
        except BaseException as exc:  # handed to the consumer, which raises it
            offer(_Failed(exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while True:
            item = channel.get()
            if isinstance(item, _End):
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            try:
                channel.get(timeout=_POLL)
            except queue.Empty:
                pass
        worker.join()
