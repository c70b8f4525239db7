"""An in-memory connected system that tests seed, change and break between runs.

A :class:`MemoryDirectory` behaves like a small directory: objects with an immutable anchor (a uuid4 it assigns
on add, as Graph and LDAP do), a unique identifier that may be renamed, typed multi-valued attributes, and a
change log with sequence numbers for delta import. Its failure switches let a test make the target refuse an
add, refuse a value, report "already exists", normalize what it stores (to exercise confirming-import loops),
go down, or crash after a number of exports.

Nothing here is global: a test builds its directories and hands them to the connector through
``ConnectorContext.options["memory_directories"]`` (see :func:`memory_context`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from idsync.model import Attributes, Schema, coerce

OPTION = "memory_directories"
"""The ``ConnectorContext.options`` key holding the name -> :class:`MemoryDirectory` mapping."""


class ExportRefused(Exception):
    """What a failure switch makes the directory answer for one object (becomes an error result)."""

    def __init__(self, message: str, code: str, *, retryable: bool = False, attribute: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable
        self.attribute = attribute


ALREADY_EXISTS = "already-exists"
NO_SUCH_OBJECT = "no-such-object"
REFUSED = "refused"
INVALID_VALUE = "invalid-value"


@dataclass(slots=True)
class MemoryObject:
    anchor: str
    object_type: str
    identifier: str
    attributes: Attributes = field(default_factory=dict)


@dataclass(slots=True)
class _Failure:
    identifier: str | None
    op: str | None
    code: str
    message: str
    retryable: bool
    attribute: str | None
    times: int | None


@dataclass(slots=True)
class _Crash:
    after: int
    error: BaseException


class MemoryDirectory:
    """Objects by anchor, a unique identifier index and a change log (sequence number, anchor)."""

    def __init__(self, schema: Schema | None = None, *, case_insensitive_identifiers: bool = False) -> None:
        self.schema = schema or Schema()
        self.case_insensitive_identifiers = case_insensitive_identifiers
        self.available = True
        """Switched off, every connector operation raises ``ConnectivityError``."""
        self.exported: list[tuple[str, str]] = []
        """Every export applied, in order: ``(op, identifier)`` — what a test asserts was (not) sent twice."""
        self._objects: dict[str, MemoryObject] = {}
        self._names: dict[str, str] = {}
        self._log: list[tuple[int, str, str, str]] = []
        """``(sequence, anchor, identifier, object_type)`` of every change, oldest first."""
        self._sequence = 0
        self._oldest = 0
        """Watermarks below this are expired (the log was trimmed)."""
        self._failures: list[_Failure] = []
        self._refused_values: list[tuple[str, Any, str]] = []
        self._normalizers: dict[str, Callable[[Any], Any]] = {}
        self._crash: _Crash | None = None

    # -- what tests (and the connector) read ----------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._objects)

    def get(self, anchor: str) -> MemoryObject | None:
        return self._objects.get(anchor)

    def find(self, identifier: str) -> MemoryObject | None:
        anchor = self._names.get(self._key(identifier))
        return self._objects.get(anchor) if anchor is not None else None

    def objects(self, object_type: str | None = None) -> list[MemoryObject]:
        return [o for o in self._objects.values() if object_type is None or o.object_type == object_type]

    @property
    def sequence(self) -> int:
        return self._sequence

    def changes_since(self, sequence: int) -> list[tuple[str, str, str]]:
        """``(anchor, identifier, object_type)`` of every object changed after ``sequence``, each once, in the
        order of its last change."""
        last: dict[str, tuple[str, str, str]] = {}
        for seq, anchor, identifier, object_type in self._log:
            if seq > sequence:
                last.pop(anchor, None)
                last[anchor] = (anchor, identifier, object_type)
        return list(last.values())

    def watermark_valid(self, sequence: int) -> bool:
        return self._oldest <= sequence <= self._sequence

    # -- what tests do to the system directly ---------------------------------------------------------------

    def add(self, object_type: str, identifier: str, attributes: Attributes | None = None, anchor: str = "") -> str:
        """Create an object as the system's own users would (not through idsync); returns its anchor."""
        if self.find(identifier) is not None:
            raise ExportRefused(f"{identifier}: an object with this identifier already exists", ALREADY_EXISTS)
        anchor = anchor or str(uuid.uuid4())
        if anchor in self._objects:
            raise ExportRefused(f"{identifier}: the anchor {anchor!r} is taken", ALREADY_EXISTS)
        obj = MemoryObject(anchor, object_type, identifier)
        for name, value in (attributes or {}).items():
            self._store(obj, name, value)
        self._objects[anchor] = obj
        self._names[self._key(identifier)] = anchor
        self._logged(obj)
        return anchor

    def replace(self, anchor: str, attributes: Attributes) -> None:
        """Set attributes of an object (``None`` removes one)."""
        obj = self._require(anchor)
        for name, value in attributes.items():
            self._store(obj, name, value)
        self._logged(obj)

    def rename(self, anchor: str, identifier: str) -> None:
        obj = self._require(anchor)
        other = self.find(identifier)
        if other is not None and other.anchor != anchor:
            raise ExportRefused(f"{identifier}: an object with this identifier already exists", ALREADY_EXISTS)
        del self._names[self._key(obj.identifier)]
        obj.identifier = identifier
        self._names[self._key(identifier)] = anchor
        self._logged(obj)

    def delete(self, anchor: str) -> bool:
        obj = self._objects.pop(anchor, None)
        if obj is None:
            return False
        del self._names[self._key(obj.identifier)]
        self._logged(obj)
        return True

    def trim_log(self) -> None:
        """Forget the change log, as a purged changelog does: older watermarks expire."""
        self._log.clear()
        self._oldest = self._sequence

    # -- failure switches -----------------------------------------------------------------------------------

    def fail(
        self,
        identifier: str | None = None,
        *,
        op: str | None = None,
        code: str = REFUSED,
        message: str = "refused by the test directory",
        retryable: bool = False,
        attribute: str | None = None,
        times: int | None = None,
    ) -> None:
        """Make exports of ``identifier`` (any object when ``None``), of ``op`` (``add``/``update``/``delete``,
        any when ``None``) fail with ``code``; ``times`` failures, then succeed (forever when ``None``)."""
        self._failures.append(_Failure(identifier, op, code, message, retryable, attribute, times))

    def refuse_value(self, attribute: str, value: Any, message: str = "the directory refuses this value") -> None:
        """Any export writing ``value`` to ``attribute`` fails for that object, naming the attribute."""
        self._refused_values.append((attribute, value, message))

    def normalize(self, attribute: str, function: Callable[[Any], Any]) -> None:
        """Store ``function(value)`` for every value written to ``attribute`` (``str.lower`` for a directory
        that lower-cases mail addresses), so what is read back differs from what was sent."""
        self._normalizers[attribute] = function

    def crash_after(self, exports: int, error: BaseException) -> None:
        """Let the next ``exports`` object exports through, then raise ``error`` (a process dying mid-batch:
        what was applied stays applied)."""
        self._crash = _Crash(exports, error)

    def clear_failures(self) -> None:
        self._failures.clear()
        self._refused_values.clear()
        self._normalizers.clear()
        self._crash = None

    # -- used by the connector's export ---------------------------------------------------------------------

    def check_export(self, op: str, identifier: str) -> None:
        """Raise the crash or the injected failure that applies to this export, if any."""
        crash = self._crash
        if crash is not None:
            if crash.after <= 0:
                self._crash = None
                raise crash.error
            crash.after -= 1
        for failure in self._failures:
            if failure.identifier not in (None, identifier) or failure.op not in (None, op):
                continue
            if failure.times is not None:
                if failure.times <= 0:
                    continue
                failure.times -= 1
            message = f"{identifier}: {failure.message}"
            raise ExportRefused(message, failure.code, retryable=failure.retryable, attribute=failure.attribute)

    def check_values(self, identifier: str, attribute: str, values: Iterable[Any]) -> None:
        for name, refused, message in self._refused_values:
            if name == attribute and refused in values:
                raise ExportRefused(f"{identifier}: {attribute}: {message}: {refused!r}", INVALID_VALUE, attribute=name)

    # -- internals ------------------------------------------------------------------------------------------

    def _key(self, identifier: str) -> str:
        return identifier.casefold() if self.case_insensitive_identifiers else identifier

    def _require(self, anchor: str) -> MemoryObject:
        obj = self._objects.get(anchor)
        if obj is None:
            raise ExportRefused(f"no object has the anchor {anchor!r}", NO_SUCH_OBJECT)
        return obj

    def _store(self, obj: MemoryObject, name: str, value: Any) -> None:
        spec = self.schema.object_type(obj.object_type).spec(name)
        value = coerce(spec, value)
        normalizer = self._normalizers.get(name)
        if normalizer is not None and value is not None:
            value = [normalizer(v) for v in value] if isinstance(value, list) else normalizer(value)
        if value is None:
            obj.attributes.pop(name, None)
        else:
            obj.attributes[name] = value

    def _logged(self, obj: MemoryObject) -> None:
        self._sequence += 1
        self._log.append((self._sequence, obj.anchor, obj.identifier, obj.object_type))


def directories(context_options: Mapping[str, Any]) -> Mapping[str, MemoryDirectory]:
    found = context_options.get(OPTION)
    return found if isinstance(found, Mapping) else {}
