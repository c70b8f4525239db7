"""Property: whatever storage-form values an export writes, a re-import reads exactly the same values back."""

from __future__ import annotations

import base64
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idsync.connectors.base import ConnectorContext, ExportItem
from idsync.connectors.csv import CsvConnector, connector_type
from idsync.model import ExportOp
from idsync.model.attributes import format_datetime
from idsync.testing.contract import read_pages, value_changes

TYPES = ["string", "integer", "boolean", "datetime", "binary", "reference"]
COLUMNS = {f"{t}_one": t for t in TYPES} | {f"{t}_many": f"{t}[]" for t in TYPES}

# text that leans on what a CSV writer and the multi-value escaping must get right
tricky = st.sampled_from([";", "|", ",", '"', "\\", "\n", "\r", " ", "\t", "\x00", "'", "é", "\ufeff"])
text = st.text(alphabet=st.one_of(st.characters(exclude_categories=("Cs",)), tricky), min_size=1, max_size=12)
STORAGE: dict[str, st.SearchStrategy[Any]] = {
    "string": text,
    "reference": text,
    "integer": st.integers(min_value=-(2**70), max_value=2**70),
    "boolean": st.booleans(),
    "datetime": st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1), timezones=st.just(UTC)).map(format_datetime),
    "binary": st.binary(min_size=1, max_size=24).map(lambda b: base64.b64encode(b).decode("ascii")),
}


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column, spec in COLUMNS.items():
        kind = spec.removesuffix("[]")
        if draw(st.booleans()):
            continue  # absent (null)
        one = STORAGE[kind]
        out[column] = draw(st.lists(one, min_size=1, max_size=4, unique=True)) if spec.endswith("[]") else draw(one)
    return out


def connector(folder: Path, separator: str, delimiter: str, quote: str = '"', header: bool = True) -> CsvConnector:
    config: dict[str, Any] = {
        "type": "csv",
        "path": "out.csv",
        "object_type": "person",
        "anchor": "id",
        "columns": COLUMNS,
        "multivalue_separator": separator,
        "delimiter": delimiter,
        "missing_ok": True,
        "quote_char": quote,
        **({} if header else {"header": False, "column_names": ["id", *COLUMNS]}),
    }
    made = connector_type.create("target", config, ConnectorContext(str(folder)))
    assert isinstance(made, CsvConnector)
    return made


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=rows(),
    second=rows(),
    extra=rows(),
    separator=st.sampled_from([";", "|"]),
    delimiter=st.sampled_from([",", ";", "\t"]),
    quote=st.sampled_from(['"', "'"]),
    header=st.booleans(),
)
def test_export_then_import_reads_back_the_same_values(
    first: dict[str, Any],
    second: dict[str, Any],
    extra: dict[str, Any],
    separator: str,
    delimiter: str,
    quote: str,
    header: bool,
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        target = connector(Path(folder), separator, delimiter, quote, header)
        results = target.export(
            [
                ExportItem(1, "person", ExportOp.ADD, "a", changes=value_changes(first)),
                ExportItem(2, "person", ExportOp.ADD, "b;\n\"b'", changes=value_changes(second)),
            ]
        )
        target.close()
        assert [r.ok for r in results] == [True, True], [r.error for r in results]
        # a second step: multi-valued additions merged into cells written by the first
        more = {k: v for k, v in extra.items() if isinstance(v, list)}
        target = connector(Path(folder), separator, delimiter, quote, header)
        (result,) = target.export([ExportItem(3, "person", ExportOp.UPDATE, "a", "a", value_changes(more))])
        target.close()
        assert result.ok, result.error
        imported = read_pages(connector(Path(folder), separator, delimiter, quote, header).full_import())
        assert not imported.issues, imported.issues
        got = {r.anchor: r.attributes for r in imported.records}
        expected_first = {"id": "a", **first}
        for column, values in more.items():
            present = list(expected_first.get(column, []))
            expected_first[column] = present + [v for i, v in enumerate(values) if v not in present + values[:i]]
        assert got == {"a": expected_first, "b;\n\"b'": {"id": "b;\n\"b'", **second}}
