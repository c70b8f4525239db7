"""The export journal of a CSV file: every accepted change is durable before ``export()`` returns, and the file is
rewritten once, when the export step closes.

Why a journal: the engine sends an export step as many small batches and then calls ``close()``. Rewriting the
file for every batch would cost O(file) per batch; keeping the batches in memory and writing at ``close()`` would
acknowledge changes a crash could then lose. So each batch is appended, in one SQLite transaction, to a journal
next to the file (``<file>.idsync-journal``) and ``close()`` folds the journal into one streaming rewrite
(temporary file, fsync, ``os.replace``) and deletes it. The file itself is only ever replaced whole, so a crash
leaves it either before or after the step, never torn. A journal left by a crash is replayed the next time the
connector touches the file, before anything reads it — so the engine's in-flight reconciliation (``lookup``)
sees every change that was acknowledged. Replaying is idempotent (adds set a whole row, replaces set a value,
value additions and removals have set semantics, deletes of absent rows do nothing), so a crash between the
``os.replace`` and the journal's deletion is harmless.

Memory stays bounded by what the step changes, not by the file: the journal lives on disk, the rewrite streams
the old file, and an export step holds the file's anchors (to tell an add from a duplicate) and those it
touched.
"""

from __future__ import annotations

import contextlib
import csv
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any, Literal

from idsync.connectors.csv.cells import cell_values, format_cell
from idsync.connectors.csv.config import CsvConfig
from idsync.connectors.csv.files import atomic_writer
from idsync.connectors.csv.rows import RowReader
from idsync.connectors.values import apply_change
from idsync.model import ValueOp

SUFFIX = ".idsync-journal"

OpKind = Literal["add", "update", "delete"]


def journal_path(path: Path) -> Path:
    return path.with_name(path.name + SUFFIX)


@dataclass(slots=True)
class JournalOp:
    """One accepted change, values in storage form. ``payload``: an add's attributes, an update's
    ``[name, op, values]`` changes, nothing for a delete."""

    anchor: str
    kind: OpKind
    payload: Any = None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS ops (seq INTEGER PRIMARY KEY, anchor TEXT NOT NULL, kind TEXT NOT NULL, payload TEXT);
CREATE INDEX IF NOT EXISTS ops_anchor ON ops (anchor, seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def header(self) -> list[str] | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'header'").fetchone()
        return list(json.loads(row[0])) if row else None

    def append(self, ops: list[JournalOp], header: list[str]) -> None:
        """Make a batch durable, with the header it needs, in one transaction."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT INTO ops (anchor, kind, payload) VALUES (?, ?, ?)",
                [(op.anchor, op.kind, json.dumps(op.payload, ensure_ascii=False)) for op in ops],
            )
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('header', ?)", (json.dumps(header),))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def is_empty(self) -> bool:
        return self._db.execute("SELECT 1 FROM ops LIMIT 1").fetchone() is None

    def anchors(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT DISTINCT anchor FROM ops")}

    def ops_for(self, anchor: str) -> list[JournalOp]:
        rows = self._db.execute("SELECT anchor, kind, payload FROM ops WHERE anchor = ? ORDER BY seq", (anchor,))
        return [_op(row) for row in rows]

    def added(self) -> Iterator[tuple[str, list[JournalOp]]]:
        """Every anchor the journal adds, in the order of its first add, with all of its operations."""
        rows = self._db.execute(
            "SELECT o.anchor, o.kind, o.payload FROM ops o JOIN "
            "(SELECT anchor, MIN(seq) AS first FROM ops WHERE kind = 'add' GROUP BY anchor) a "
            "ON a.anchor = o.anchor ORDER BY a.first, o.seq"
        )
        for anchor, group in groupby(rows, key=lambda row: str(row[0])):
            yield anchor, [_op(row) for row in group]

    def close(self) -> None:
        self._db.close()

    def discard(self) -> None:
        self.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


def _op(row: tuple[Any, ...]) -> JournalOp:
    return JournalOp(str(row[0]), row[1], json.loads(row[2]) if row[2] is not None else None)


def fold(config: CsvConfig, row: dict[str, str] | None, ops: list[JournalOp]) -> dict[str, str] | None:
    """A row's cells after ``ops``, or ``None`` when it ends up deleted."""
    sep = config.multivalue_separator
    for op in ops:
        if op.kind == "delete":
            row = None
        elif op.kind == "add":
            row = {
                name: value if type(value) is str else format_cell(config.spec(name), value, sep)
                for name, value in op.payload.items()
            }
        elif row is not None:
            for name, value_op, values in op.payload:
                spec = config.spec(name)
                current = cell_values(spec, row.get(name, ""), sep) if spec.multivalued else None
                row[name] = format_cell(spec, apply_change(spec, current, ValueOp(value_op), values), sep)
    return row


def apply(config: CsvConfig, path: Path, journal: Journal, touched: set[str] | None = None) -> None:
    """Rewrite ``path`` with the journal folded in, in one streaming pass; the caller discards the journal.
    ``touched``: the anchors of existing rows the journal changes, when the caller knows them (every anchor in
    the journal otherwise)."""
    wanted = journal.header()
    if wanted is None or journal.is_empty():
        return
    if touched is None:
        touched = journal.anchors()
    done: set[str] = set()
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(atomic_writer(path, config.write_encoding))
        reader = None
        if path.exists():  # entered last, closed first: the old file is closed before it is replaced
            reader = stack.enter_context(
                RowReader(path, config.read_encoding, config.csv_format(), config.column_names)
            )
        old_header = (reader.header or []) if reader is not None else []
        header = wanted + [c for c in old_header if c not in wanted]
        writer = csv.writer(out, lineterminator="\r\n", **config.csv_format())
        if config.header:
            writer.writerow(header)
        prefix = header[: len(old_header)] == old_header
        pad = [""] * (len(header) - len(old_header))
        position = old_header.index(config.anchor) if config.anchor in old_header else -1
        for _line, fields in reader.rows() if reader is not None else iter(()):
            if len(fields) != len(old_header) or position < 0:
                writer.writerow(fields)  # a malformed row stays as it was, for the import to report
                continue
            anchor = fields[position]
            if anchor in touched and anchor not in done:
                done.add(anchor)
                cells = fold(config, dict(zip(old_header, fields, strict=True)), journal.ops_for(anchor))
                if cells is not None:
                    writer.writerow([cells.get(c, "") for c in header])
            elif prefix:
                writer.writerow(fields + pad)
            else:
                cells = dict(zip(old_header, fields, strict=True))
                writer.writerow([cells.get(c, "") for c in header])
        for anchor, ops in journal.added():
            if anchor not in done:
                cells = fold(config, None, ops)
                if cells is not None:
                    writer.writerow([cells.get(c, "") for c in header])
