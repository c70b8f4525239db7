"""Reading in a worker process: the pages a forked child produces arrive whole and in order, its errors reach the
parent, a child that dies is reported, and a parent that stops early leaves no process behind."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from idsync.connectors.base import ConnectivityError, ConnectorError, ImportIssue, ImportPage, ImportRecord, ValueDelta
from idsync.connectors.worker import decode_page, encode_page, forking_available, read_in_worker

pytestmark = pytest.mark.skipif(not forking_available(), reason="reading in a forked worker needs Linux")


def page(n: int, **extra: object) -> ImportPage:
    records = [
        ImportRecord(
            f"a{n}-{i}",
            f"uid=u{i},ou=p{n}",
            "person",
            {"cn": [f"User {i}", "Ünïcode"], "uidNumber": i, "active": i % 2 == 0, "photo": b"\x00\xff", **extra},
        )
        for i in range(3)
    ]
    gone = ImportRecord(f"gone{n}", f"uid=gone,ou=p{n}", "person", delete=True)
    issue = ImportIssue(f"uid=bad,ou=p{n}", "not UTF-8", attribute="sn", anchor=f"bad{n}")
    return ImportPage([*records, gone], watermark=f"w{n}", issues=[issue], storage_form=n % 2 == 0)


def test_a_page_survives_the_trip_whatever_its_values() -> None:
    plain = page(1)
    assert encode_page(plain)[:1] == b"m"  # built-in types only: marshal
    assert decode_page(encode_page(plain)) == plain
    partial = ImportPage([ImportRecord("a", "uid=a", "group", {"member": ValueDelta(("x",), ("y",))}, partial=True)])
    assert encode_page(partial)[:1] == b"p"  # a ValueDelta: pickled
    assert decode_page(encode_page(partial)) == partial


def test_pages_arrive_in_order_from_another_process() -> None:
    def produce() -> Iterator[ImportPage]:
        for n in range(5):
            yield page(n, pid=os.getpid())

    got = list(read_in_worker(produce, name="test"))
    assert [p.watermark for p in got] == [f"w{n}" for n in range(5)]
    assert got[2] == page(2, pid=got[2].records[0].attributes["pid"])
    assert {p.records[0].attributes["pid"] for p in got} != {os.getpid()}


def test_an_error_in_the_child_reaches_the_parent_after_the_pages_before_it() -> None:
    def produce() -> Iterator[ImportPage]:
        yield page(0)
        raise ConnectivityError("connector 'dir': ldap://dc1 unreachable: timed out")

    seen: list[str | None] = []
    with pytest.raises(ConnectivityError, match="unreachable: timed out"):
        for p in read_in_worker(produce, name="test"):
            seen.append(p.watermark)
    assert seen == ["w0"]


class Odd(Exception):
    def __init__(self, a: int, b: int) -> None:  # pickles, but cannot be rebuilt from its args
        super().__init__(f"odd {a + b}")


def test_an_error_that_cannot_travel_arrives_as_its_text() -> None:
    def produce() -> Iterator[ImportPage]:
        raise Odd(1, 2)
        yield page(0)  # pragma: no cover

    with pytest.raises(ConnectorError, match="Odd: odd 3"):
        list(read_in_worker(produce, name="test"))


def test_a_child_that_dies_is_reported() -> None:
    def produce() -> Iterator[ImportPage]:
        yield page(0)
        os._exit(3)

    with pytest.raises(
        ConnectorError, match=r"connector 'x': the read worker process ended unexpectedly \(exit code 3\)"
    ):
        list(read_in_worker(produce, name="connector 'x'"))


def test_stopping_early_ends_the_child() -> None:
    def produce() -> Iterator[ImportPage]:
        n = 0
        while True:
            yield page(n, pid=os.getpid())
            n += 1

    pages = read_in_worker(produce, name="test")
    first = next(pages)
    child = first.records[0].attributes["pid"]
    assert isinstance(child, int)
    next(pages)
    pages.close()
    with pytest.raises(ProcessLookupError):  # killed and reaped: not even a zombie is left
        os.kill(child, 0)


def test_the_child_reads_the_next_page_while_the_parent_has_this_one(tmp_path: Path) -> None:
    def produce() -> Iterator[ImportPage]:
        for n in range(3):
            (tmp_path / f"read-{n}").touch()
            yield page(n)

    pages = read_in_worker(produce, name="test")
    assert next(pages).watermark == "w0"
    deadline = time.monotonic() + 30
    while not (tmp_path / "read-1").exists():  # produced without being asked for
        assert time.monotonic() < deadline, "the worker did not read ahead"
        time.sleep(0.01)
    assert [p.watermark for p in pages] == ["w1", "w2"]


def test_a_worker_can_be_started_from_a_thread_other_than_the_main_one() -> None:
    """The service runs steps on threads of its own."""
    got: list[str | None] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            got.extend(p.watermark for p in read_in_worker(lambda: iter([page(0), page(1)]), name="test"))
        except BaseException as exc:  # reported below
            failed.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(60)
    assert failed == [] and got == ["w0", "w1"]
