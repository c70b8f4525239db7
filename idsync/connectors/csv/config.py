"""Configuration of a CSV connector: which file, which column is the anchor, and how cells are typed.

Every column not listed in ``columns`` is a single-valued string, so the common HR file needs no more than
``path``, ``object_type`` and ``anchor``. A file that holds several object types (people and the departments
that list them as members, so the members resolve within one connector) names its type column instead, as
MIM's delimited-text management agent does.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from idsync.connectors.config import ConnectorConfig
from idsync.model import AttributeSpec, AttributeType, ObjectTypeSchema

READ_ENCODING = "utf-8-sig"
"""Excel and most HR tools write a byte-order mark; ``utf-8-sig`` reads files with and without one."""
WRITE_ENCODING = "utf-8"


def parse_type_spec(column: str, spec: str) -> AttributeSpec:
    """``integer``, ``reference[]`` … -> an attribute spec. The ``[]`` suffix makes the column multi-valued."""
    text = spec.strip()
    multivalued = text.endswith("[]")
    if multivalued:
        text = text[:-2].strip()
    try:
        kind = AttributeType(text)
    except ValueError:
        known = ", ".join(t.value for t in AttributeType)
        raise ValueError(
            f"column {column!r}: unknown type {spec!r} (one of {known}, with [] for a multi-valued column)"
        ) from None
    return AttributeSpec(column, kind, multivalued)


def _single_character(name: str, value: str, forbidden: str) -> str:
    if len(value) != 1:
        raise ValueError(f"{name} must be exactly one character, not {value!r}")
    if value in forbidden:
        raise ValueError(f"{name} cannot be {value!r}")
    return value


class ColumnGroups(BaseModel):
    """Group objects derived from a column of the file: one per distinct value (a department, a location), whose
    members are the rows holding it - so an HR extract gives a group per department with no second file, and the
    members are references within this connector, which the engine resolves like any other. Read-only: they
    change when the rows do. Memory: one anchor per member row, held until the end of the import."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str
    object_type: str
    name: str = "name"
    """The attribute holding the column's value."""
    members: str = "members"
    """The multi-valued reference attribute holding the anchors of the member rows."""
    where: dict[str, list[str]] = Field(default_factory=dict)
    """Only rows whose columns hold one of these values are members (``{status: [active]}``); a value no such row
    holds still has its group, empty."""

    def qualifies(self, cell: Callable[[str], str]) -> bool:
        return all(cell(column) in accepted for column, accepted in self.where.items())

    def anchor(self, value: str) -> str:
        return f"{self.object_type}:{value}"

    def object_schema(self) -> ObjectTypeSchema:
        return ObjectTypeSchema(
            self.object_type,
            {
                self.name: AttributeSpec(self.name, required=True),
                self.members: AttributeSpec(self.members, AttributeType.REFERENCE, multivalued=True),
            },
        )


class CsvConfig(ConnectorConfig):
    type: Literal["csv"] = "csv"
    path: str
    """The file; a relative path is resolved against the workspace folder."""
    object_type: str | None = None
    """The object type of every row. Give either this or ``object_type_column``."""
    object_type_column: str | None = None
    """The column naming each row's object type, one of ``object_types``; the anchor stays unique across types."""
    object_types: list[str] = Field(default_factory=list)
    """With ``object_type_column``: the object types the file holds."""
    anchor: str
    """The column holding each row's immutable key (an employee number)."""
    identifier: str | None = None
    """The column shown as the object's identifier; the anchor column when not set."""
    delimiter: str = ","
    quote_char: str | None = '"'
    """The text qualifier around a field that holds the delimiter, a quote or a line break (MIM's delimited-text
    agent's "text qualifier"); ``null``: fields are never quoted, so a value holding the delimiter or a line
    break cannot be written."""
    header: bool = True
    """The first row names the columns (MIM's "use first row for header names"); with ``false`` the file has no
    header row and ``column_names`` gives the columns in order."""
    column_names: list[str] | None = None
    """With ``header: false``: the file's columns, in order. The file cannot gain a column: an export writes only
    these."""
    encoding: str | None = None
    """Text encoding; when not set, files are read as ``utf-8-sig`` (with or without a BOM) and written as
    ``utf-8``."""
    multivalue_separator: str = ";"
    columns: dict[str, str] = Field(default_factory=dict)
    """Column -> type: ``string``, ``integer``, ``boolean``, ``datetime``, ``binary``, ``reference``, with ``[]``
    for multi-valued (``reference[]``). Unlisted columns are single-valued strings."""
    attributes: list[str] | None = None
    """Only these columns are imported (the anchor and identifier columns always are)."""
    page_size: int = Field(default=1000, ge=1, le=100_000)
    missing_ok: bool = False
    """A missing file reads as empty: for a target file idsync creates on its first export. Off by default,
    because a source file that failed to arrive must stop the import, not delete every object."""
    groups: list[ColumnGroups] = Field(default_factory=list)
    """Group objects derived from columns (a group per department); see :class:`ColumnGroups`."""

    @field_validator("delimiter")
    @classmethod
    def _check_delimiter(cls, value: str) -> str:
        return _single_character("delimiter", value, '"\r\n\\')

    @field_validator("multivalue_separator")
    @classmethod
    def _check_separator(cls, value: str) -> str:
        return _single_character("multivalue_separator", value, '"\r\n\\')

    @field_validator("quote_char")
    @classmethod
    def _check_quote_char(cls, value: str | None) -> str | None:
        return None if value is None else _single_character("quote_char", value, "\r\n\\")

    @field_validator("encoding")
    @classmethod
    def _check_encoding(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(f"unknown text encoding {value!r}") from None
        return value

    @field_validator("path", "object_type", "object_type_column", "anchor", "identifier")
    @classmethod
    def _check_not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return value

    @model_validator(mode="after")
    def _check_columns(self) -> CsvConfig:
        self._check_header()
        if self.quote_char is not None and self.quote_char in (self.delimiter, self.multivalue_separator):
            raise ValueError(f"quote_char {self.quote_char!r} is also the delimiter or the multivalue_separator")
        if (self.object_type is None) == (self.object_type_column is None):
            raise ValueError("give either object_type (one type for every row) or object_type_column")
        if self.object_type_column is not None:
            if not self.object_types:
                raise ValueError("object_type_column needs object_types: the types its rows may name")
            column = self.object_type_column
            if column in (self.anchor, self.identifier_column) or column in self.columns:
                raise ValueError(f"column {column!r} is the object type column and holds nothing else")
        elif self.object_types:
            raise ValueError("object_types needs object_type_column (with object_type, every row has that type)")
        _ = self.specs
        types = [self.object_type, *(g.object_type for g in self.groups)]
        if len(set(types)) != len(types):
            raise ValueError(f"groups: each needs an object_type of its own, not one of {types}")
        for group in self.groups:
            if group.name == group.members:
                raise ValueError(f"groups: {group.object_type}: 'name' and 'members' name the same attribute")
            if self.specs.get(group.column, AttributeSpec(group.column)).multivalued:
                raise ValueError(f"groups: {group.object_type}: the column {group.column!r} is multi-valued")
        return self

    def _check_header(self) -> None:
        """Without a header row the configured names are the file's only columns: every column a setting names
        must be one of them."""
        if self.header:
            if self.column_names is not None:
                raise ValueError("column_names is for a file without a header row (header: false)")
            return
        if not self.column_names:
            raise ValueError("header: false needs column_names: the file's columns, in order")
        names = self.column_names
        if any(not n.strip() for n in names):
            raise ValueError("column_names: a column name must not be empty")
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"column_names: {', '.join(map(repr, twice))} appears twice")
        named = {
            "anchor": [self.anchor],
            "identifier": [self.identifier_column],
            "object_type_column": [self.object_type_column] if self.object_type_column else [],
            "columns": list(self.columns),
            "attributes": self.attributes or [],
            "groups": [c for g in self.groups for c in [g.column, *g.where]],
        }
        for setting, columns in named.items():
            missing = [c for c in columns if c not in names]
            if missing:
                raise ValueError(
                    f"{setting}: {', '.join(map(repr, missing))} is not one of column_names ({', '.join(names)})"
                )

    def csv_format(self) -> dict[str, Any]:
        """The ``csv`` module's reader and writer settings for this file."""
        if self.quote_char is None:
            return {"delimiter": self.delimiter, "quoting": csv.QUOTE_NONE, "quotechar": None}
        return {"delimiter": self.delimiter, "quotechar": self.quote_char}

    @property
    def types(self) -> list[str]:
        """The object types this file holds."""
        return [self.object_type] if self.object_type is not None else list(self.object_types)

    @cached_property
    def specs(self) -> dict[str, AttributeSpec]:
        """Column -> spec; unlisted columns are added as they are asked for (a plain dict: hot in import)."""
        specs = {column: parse_type_spec(column, spec) for column, spec in self.columns.items()}
        for key in {self.anchor, self.identifier_column}:
            found = specs.get(key, AttributeSpec(key))
            if found.multivalued:
                raise ValueError(f"column {key!r} is the anchor or identifier and cannot be multi-valued")
            specs[key] = AttributeSpec(key, found.type, required=True)
        return specs

    @property
    def identifier_column(self) -> str:
        return self.identifier or self.anchor

    @property
    def read_encoding(self) -> str:
        return self.encoding or READ_ENCODING

    @property
    def write_encoding(self) -> str:
        return self.encoding or WRITE_ENCODING

    def spec(self, column: str) -> AttributeSpec:
        specs = self.specs
        found = specs.get(column)
        if found is None:
            found = specs[column] = AttributeSpec(column)
        return found

    def imports(self, column: str) -> bool:
        """Whether ``column`` is read into the object's attributes."""
        if column == self.object_type_column:
            return False
        if self.column_names is not None and column not in self.column_names:
            return False
        if self.attributes is None or column in (self.anchor, self.identifier_column):
            return True
        return column in self.attributes

    def initial_header(self) -> list[str]:
        """The columns of a file this connector creates: keys first, then the configured ones (the configured
        names, in order, for a file without a header row)."""
        if self.column_names is not None:
            return list(self.column_names)
        header = [self.object_type_column] if self.object_type_column else []
        for column in [self.anchor, self.identifier_column, *self.columns, *(self.attributes or [])]:
            if column not in header:
                header.append(column)
        return header

    def object_schema(self, object_type: str, header: list[str] | None) -> ObjectTypeSchema:
        names = [c for c in [*self.initial_header(), *(header or [])] if c and self.imports(c)]
        return ObjectTypeSchema(object_type, {name: self.spec(name) for name in dict.fromkeys(names)})

    def resolve_path(self, workspace: str) -> Path:
        path = Path(self.path).expanduser()
        return path if path.is_absolute() else Path(workspace) / path

    def fingerprint(self) -> str:
        """What changes how the same bytes import: part of the watermark, so a config change is a change."""
        text = "\x1f".join(
            [
                self.object_type or f"{self.object_type_column}={self.object_types!r}",
                self.anchor,
                self.identifier_column,
                self.delimiter,
                *([] if self.quote_char == '"' else [f"quote={self.quote_char!r}"]),
                *([] if self.column_names is None else [f"names={self.column_names!r}"]),
                self.read_encoding,
                self.multivalue_separator,
                repr(sorted(self.columns.items())),
                repr(self.attributes),
                *([repr([g.model_dump() for g in self.groups])] if self.groups else []),
            ]
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
