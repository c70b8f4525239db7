"""Reading a CSV file as a stream of raw rows, hashing the bytes as they go by.

The hash is taken over exactly the bytes the rows came from, in the same pass, so the watermark a full import
commits always describes what that import saw, even when the file is replaced while it is being read.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from idsync.connectors.base import ConnectorError

BUFFER = 1 << 16
WATERMARK_PREFIX = "csv1"


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What a file held: its size and the sha256 of its bytes, under one configuration."""

    config: str
    size: int
    sha256: str

    def watermark(self) -> str:
        return f"{WATERMARK_PREFIX}:{self.config}:{self.size}:{self.sha256}"

    @staticmethod
    def parse(watermark: str | None) -> Fingerprint | None:
        parts = (watermark or "").split(":")
        if len(parts) != 4 or parts[0] != WATERMARK_PREFIX or not parts[2].isdecimal():
            return None
        return Fingerprint(parts[1], int(parts[2]), parts[3])


EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class _HashingReader(io.RawIOBase):
    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n: int = self._raw.readinto(buffer)
        if n:
            self.sha.update(memoryview(buffer)[:n])
            self.size += n
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


@dataclass(slots=True)
class RowReader:
    """Rows of one open file. ``header`` is the first non-blank row (names stripped of spaces and of a BOM
    left by a mismatched encoding), or ``names`` for a file without a header row; :meth:`rows` yields
    ``(line, fields)`` for the rest, where ``line`` is the physical line the row starts on — the row number a
    spreadsheet shows when no cell spans lines. ``csv_format``: the ``csv`` module's delimiter and quoting."""

    path: Path
    encoding: str
    csv_format: dict[str, Any]
    names: list[str] | None = None
    header: list[str] | None = None
    _hasher: _HashingReader | None = None
    _text: io.TextIOWrapper | None = None
    _reader: Any = None
    _line: int = 0

    def __enter__(self) -> RowReader:
        try:
            raw = Path(self.path).open("rb", buffering=0)
        except OSError as exc:
            raise ConnectorError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        self._hasher = _HashingReader(raw)
        self._text = io.TextIOWrapper(io.BufferedReader(self._hasher, BUFFER), encoding=self.encoding, newline="")
        self._reader = csv.reader(self._text, strict=False, **self.csv_format)
        if self.names is not None:
            self.header = list(self.names)
            return self
        for _line, fields in self._next_rows():
            self.header = [f.strip() for f in fields]
            if self.header:
                self.header[0] = self.header[0].lstrip("\ufeff").strip()
            break
        return self

    def __exit__(self, *exc: object) -> None:
        if self._text is not None:
            self._text.close()

    def _next_rows(self) -> Iterator[tuple[int, list[str]]]:
        reader = self._reader
        while True:
            start = self._line + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                raise ConnectorError(
                    f"{self.path}: line {start}: the file is not {self.encoding} text ({exc.reason}); "
                    "set `encoding` in the connector's configuration"
                ) from None
            except csv.Error as exc:
                raise ConnectorError(f"{self.path}: line {start}: {exc}") from None
            self._line = reader.line_num
            if fields and any(fields):
                yield start, fields

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        return self._next_rows()

    def fingerprint(self, config: str) -> Fingerprint:
        """The file's fingerprint: call once every row has been read."""
        assert self._hasher is not None and self._text is not None
        while self._text.read(BUFFER):  # whatever the csv reader left unread (nothing, normally)
            pass
        return Fingerprint(config, self._hasher.size, self._hasher.sha.hexdigest())


def hash_file(path: Path, config: str) -> Fingerprint:
    sha = hashlib.sha256()
    size = 0
    with Path(path).open("rb") as handle:
        while chunk := handle.read(BUFFER):
            sha.update(chunk)
            size += len(chunk)
    return Fingerprint(config, size, sha.hexdigest())


def empty_fingerprint(config: str) -> Fingerprint:
    return Fingerprint(config, 0, EMPTY_SHA256)
