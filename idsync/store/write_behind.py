"""A sync's pages committed behind: while one page's writes are written and committed on the store's connection by
a thread of their own, the next page is read and decided.

A page of a sync that projects and provisions holds nearly all its writes back (``idsync.store.held``); sending
them and committing is a fifth of its time, all of it inside SQLite, which runs without Python's interpreter lock.
Committed behind, that time moves to the second core. Why it stays exact:

- one batch is in flight at a time, and the connection is the writer's until it is written: every statement on
  it, and the end of the next transaction, waits for it first (``Transactions.ready``), so the order of commits is
  the order of the transactions, and a failed batch fails the transaction after it, which read what it wrote;
- until its first statement that is not a lookup, a transaction holds all it writes, and its lookups read beside
  the writer (a second connection, for the store's committed state), with the batch in flight and then its own
  held writes added to each answer, as a transaction adds its own: the answers merge by row id, so a batch
  written while the lookup ran is not counted twice;
- at its first other statement, the transaction waits for the batch, begins on the connection, and goes on as any
  transaction (``Transactions.ready``).

A transaction's lookups and its writes are then no longer one serializable unit: this is exact only while nobody
else writes what the sync reads. A sync step has the metaverse and the connector spaces it touches to itself (the
run lock; in the service, the locks of the step's footprint); a step the service runs beside it writes only its
own connector's objects, and the ids of those go past the ones the sync gives (blocks reserved in the sequence,
``idsync.store.sqlite.row_ids``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from idsync.store.held import HeldWrites

Write = Callable[[], None]
"""The statements of one batch, run on the writer's thread."""


class WriteBehind:
    """The batch in flight and the thread writing it. ``prepare`` runs on the caller's thread, turning a batch into
    the work the writer's thread does (work that holds the interpreter lock belongs in ``prepare``: the writer's
    thread runs while the caller's computes)."""

    def __init__(self, prepare: Callable[[HeldWrites], Write]) -> None:
        self._prepare = prepare
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="idsync-store-writer")
        self._future: Future[None] | None = None
        self._batch: HeldWrites | None = None

    def submit(self, batch: HeldWrites) -> None:
        self.wait()
        write = self._prepare(batch)
        self._batch = batch
        self._future = self._thread.submit(write)

    def wait(self) -> None:
        """Until the batch in flight is written; its failure raised here."""
        future = self._future
        if future is None:
            return
        self._future = self._batch = None
        future.result()

    def in_flight(self) -> HeldWrites | None:
        """The batch being written, while it may not be committed yet (a failed one until ``wait`` raises)."""
        future = self._future
        if future is None or (future.done() and future.exception() is None):
            return None
        return self._batch

    def close(self) -> None:
        """Wait for the batch in flight, and for the writer's thread to end: its connection is the caller's again.
        A Ctrl-C meanwhile is raised once the thread has ended (a batch takes a fraction of a second)."""
        interrupted: KeyboardInterrupt | None = None
        try:
            self.wait()
        finally:
            while True:
                try:
                    self._thread.shutdown(wait=True)
                    break
                except KeyboardInterrupt as pressed:
                    interrupted = pressed
            if interrupted is not None:
                raise interrupted
