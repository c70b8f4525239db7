"""The cyclic garbage collector during a step: it runs less often, because a step's pages make no cycles."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

STEP_GC_THRESHOLD = 50_000
"""The cyclic collector's first-generation threshold while a step runs (Python's default is 700)."""


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often while a step works through its pages.

    A page allocates tens of thousands of containers (records, attribute maps, value lists, CS and MV objects,
    pending exports, rows) that live until the page is committed and then are freed by reference counting: none
    is part of a cycle. At the default threshold the collector runs every 700 allocations, finds the page alive
    each time, and moves it to older generations, whose collections then walk everything the process holds; that
    was a fifth of a large import's time and a fifteenth of a sync's. The threshold is the interpreter's (steps of
    a service run in parallel threads), so it is put back only if nobody changed it meanwhile.
    """
    previous = gc.get_threshold()
    if not gc.isenabled() or previous[0] >= STEP_GC_THRESHOLD:
        yield
        return
    gc.set_threshold(STEP_GC_THRESHOLD, *previous[1:])
    try:
        yield
    finally:
        if gc.get_threshold()[0] == STEP_GC_THRESHOLD:
            gc.set_threshold(*previous)
