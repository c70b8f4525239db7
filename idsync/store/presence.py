"""Which key values certainly are not in a key index: lookups of absent values answered without a statement.

SelectUniqueValue asks whether each of its candidates is taken, one lookup each, and in a first sync almost every
answer it gets for a free candidate is "nobody has it". A step that makes many such lookups in one index (a
connector's ``userPrincipalName``, the metaverse's ``alias``) reads that index's values once into a Bloom filter:
a value the filter has never seen is certainly absent, and only a value it may have seen costs a lookup. Lookups
of taken values, and every lookup of a step that makes few, go to the database as before.

Why an "absent" answer is always the database's answer:

- the filter is built from the index itself (after the writes held back are sent) and learns every key value the
  store writes to that index afterwards, held or not; values deleted or rolled back stay in it, which only costs a
  lookup;
- filters live only for a sync step (``Store.key_filters``), which has the indexes it looks up to itself: a run
  holds the store's run lock, and a step of the service holds the metaverse and every connector space it
  provisions into. A store kept open after the step forgets them.

A filter that has learnt more values than it was sized for is read again, twice the size, before its next answer.

The other half of SelectUniqueValue's answers, "taken", needs to know who holds a value: for an index with a
filter the store also remembers an object holding each value — read with the filter, and learnt from every write
since — and ``value_taken`` answers "taken" when that object is another one and nothing undid it since: neither a
rollback (which forgets every holder remembered) nor a rewrite or delete of that object's key rows (after which
its values are looked up again). It answers "free" for the object asking about its own value when the store knows
every holder of the index (read whole, nothing forgotten since) and no other object ever held or wrote that value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import islice

BUILD_AFTER = 256
"""Lookups of one index in one step before its filter is built: a delta sync's handful never pays for a read of
the whole index."""
REMEMBERED = 250_000
"""Values remembered with their writer per index, at most: past this the oldest half is forgotten (a memory bound;
a forgotten value costs a lookup)."""
BITS_PER_VALUE = 16
"""With two probes, about one false "maybe" in 70 when the filter holds as many values as it was sized for."""
MIN_BITS = 21
"""The smallest filter, 256 KiB, holds 131,072 values: a filter built early in a first sync, when its index is
still nearly empty, is not read again and again as the sync fills the index."""

Index = tuple[str, str, str]
"""(key table, connector or object type, attribute)."""
KeyRow = tuple[str, str, str, int]
"""A key row: (connector or object type, attribute, normalized value, owner id)."""


class _Bloom:
    __slots__ = ("bits", "capacity", "count", "mask")

    def __init__(self, expected: int) -> None:
        size = 1 << max(MIN_BITS, (max(expected, 1) * 2 * BITS_PER_VALUE - 1).bit_length())
        self.bits = bytearray(size >> 3)
        self.mask = size - 1
        self.capacity = size // BITS_PER_VALUE
        self.count = 0

    def add(self, value: str) -> None:
        h = hash(value)
        mask, bits = self.mask, self.bits
        i = h & mask
        bits[i >> 3] |= 1 << (i & 7)
        j = (h >> 32) & mask
        bits[j >> 3] |= 1 << (j & 7)
        self.count += 1

    def may_hold(self, value: str) -> bool:
        h = hash(value)
        mask, bits = self.mask, self.bits
        i = h & mask
        if not bits[i >> 3] & (1 << (i & 7)):
            return False
        j = (h >> 32) & mask
        return bool(bits[j >> 3] & (1 << (j & 7)))


class KeyPresence:
    """The filters of one store's key indexes and the holders they remember, while a sync step enables them (see
    the module's docstring)."""

    def __init__(self) -> None:
        self.active = False
        self._filters: dict[Index, _Bloom] = {}
        self._lookups: dict[Index, int] = {}
        self._writers: dict[Index, dict[str, int]] = {}
        """Per index with a filter: value -> an object holding it (read with the filter, or written since)."""
        self._rewritten: dict[str, set[int]] = {}
        """Per key table: objects whose key rows were rewritten or deleted since they were remembered."""
        self._shared: dict[Index, set[str]] = {}
        """Per index with a filter: values that more than one object held or wrote since it was read."""
        self._complete: set[Index] = set()
        """Indexes whose remembered holders name every holder of every value: read whole, and nothing forgotten
        since (neither the oldest half past ``REMEMBERED`` nor everything at a rollback)."""

    @contextmanager
    def enabled(self) -> Iterator[None]:
        self.active = True
        try:
            yield
        finally:
            self.active = False
            self._filters.clear()
            self._lookups.clear()
            self._writers.clear()
            self._rewritten.clear()
            self._shared.clear()
            self._complete.clear()

    def written(self, table: str, rows: Iterable[KeyRow]) -> None:
        """Key rows were written (or held back to be) in ``table``: the filters of their indexes learn them."""
        filters = self._filters
        if not filters:
            return
        for within, attribute, value, owner in rows:
            index = (table, within, attribute)
            found = filters.get(index)
            if found is not None:
                found.add(value)
                writers = self._writers[index]
                before = writers.get(value)
                if before is not None and before != owner:
                    self._shared[index].add(value)
                if len(writers) >= REMEMBERED:
                    for old in list(islice(writers, REMEMBERED // 2)):
                        del writers[old]
                    self._complete.discard(index)
                writers[value] = owner

    def rewritten(self, table: str, owners: Iterable[int]) -> None:
        """The key rows of ``owners`` in ``table`` were deleted (to be written again, or for good)."""
        if self._writers:
            self._rewritten.setdefault(table, set()).update(owners)

    def rolled_back(self) -> None:
        """Writes were rolled back: which object wrote what is forgotten (the filters stay: a value they learnt
        that is gone again costs only a lookup)."""
        for writers in self._writers.values():
            writers.clear()
        self._rewritten.clear()
        self._complete.clear()

    def taken(self, index: Index, value: str, own: int | None) -> bool:
        """Whether an object other than ``own`` certainly holds ``value`` in the index, from the holders
        remembered; False when that is not known here (the caller then looks it up)."""
        writers = self._writers.get(index)
        if not writers:
            return False
        owner = writers.get(value)
        return owner is not None and owner != own and owner not in self._rewritten.get(index[0], ())

    def held_only_by(self, index: Index, value: str, own: int) -> bool:
        """Whether certainly no object but ``own`` holds ``value`` in the index: ``own`` wrote it last (or held it
        when the index was read), no other object held or wrote it, and no holder was forgotten. (Whether ``own``
        still holds it does not matter.) False when that is not known here, and the caller looks it up: a
        provisioned object not exported yet holds the unique value it was given, and asks about it at every sync."""
        if index not in self._complete or self._writers[index].get(value) != own:
            return False
        return value not in self._shared[index]

    def candidates(
        self, index: Index, values: list[str], read: Callable[[Index], Iterable[tuple[str, int]]]
    ) -> list[str]:
        """The ``values`` the index may hold; the others it certainly does not. ``read`` gives every row of the
        index, (value, owner), with the writes held back sent first."""
        if not self.active:
            return values
        found = self._filters.get(index)
        if found is None or found.count > found.capacity:
            seen = self._lookups.get(index, 0) + 1
            self._lookups[index] = seen
            if found is None and seen < BUILD_AFTER:
                return values
            found = self._build(index, read, found.count if found is not None else 0)
        may_hold = found.may_hold
        return [v for v in values if may_hold(v)]

    def _build(self, index: Index, read: Callable[[Index], Iterable[tuple[str, int]]], learnt: int) -> _Bloom:
        """Read the index into a filter, and who holds each value (the latest rows, up to ``REMEMBERED``): the
        index as it is now, which every write from now on updates."""
        rows = list(read(index))
        found = _Bloom(max(len(rows), learnt))
        writers: dict[str, int] = {}
        shared: set[str] = set()
        for value, owner in rows[-REMEMBERED:]:
            before = writers.get(value)
            if before is not None and before != owner:
                shared.add(value)
            writers[value] = owner
        for value, _ in rows:
            found.add(value)
        self._filters[index] = found
        self._writers[index] = writers
        self._shared[index] = shared
        if len(rows) <= REMEMBERED:
            self._complete.add(index)
        else:
            self._complete.discard(index)
        return found


def value_taken(
    presence: KeyPresence,
    find: Callable[[str, str, Sequence[str]], Mapping[str, list[int]]],
    index: Index,
    value: str,
    own: int | None,
) -> bool:
    """A store's answer to "does an object other than ``own`` hold ``value`` (normalized) in this key index?":
    from the holders remembered when they tell, else from ``find`` (``cs_find`` or ``mv_find``)."""
    if presence.taken(index, value, own):
        return True
    if own is not None and presence.held_only_by(index, value, own):
        return False
    found = find(index[1], index[2], [value])
    return any(i != own for ids in found.values() for i in ids)
