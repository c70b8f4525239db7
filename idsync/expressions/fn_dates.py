"""Date and time functions. Inside an evaluation a DateTime is a UTC ``datetime``; it becomes text only when it
leaves the expression or meets a text function."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from idsync.expressions.dates import (
    CONNECT_INTERVALS,
    DEFAULT_STYLES,
    ENTRA_INTERVALS,
    DateFormat,
    DateTimeStyles,
    date_add,
    date_diff,
    from_filetime,
    parse_styles,
    to_filetime,
)
from idsync.expressions.errors import ArgumentFault, EvalFault
from idsync.expressions.library import BuildInfo, Closure, Compiled, FunctionSpec, check_constant, vet_argument
from idsync.expressions.values import EvalContext, as_datetime, integer, text_or_empty


def now(ctx: EvalContext | None) -> datetime:
    return ctx.now if ctx is not None else datetime.now(UTC)


def _interval(value: Any, allowed: Collection[str]) -> str:
    unit = text_or_empty(value).lower()
    if unit not in allowed:
        raise EvalFault(f"interval must be one of {', '.join(sorted(allowed))}, got {value!r}")
    return unit


def _date_add(allowed: Collection[str]) -> Any:
    def date_add_(interval: Any, amount: Any, value: Any) -> datetime | None:
        unit = _interval(interval, allowed)
        if value is None:
            return None
        return date_add(unit, integer(amount), as_datetime(value))

    return date_add_


def _date_diff(interval: Any, date1: Any, date2: Any) -> int | None:
    unit = _interval(interval, ENTRA_INTERVALS)
    if date1 is None or date2 is None:
        return None
    return date_diff(unit, as_datetime(date1), as_datetime(date2))


def date_from_num(value: Any) -> datetime | None:
    return None if value is None else from_filetime(integer(value))


def num_from_date(value: Any) -> int | None:
    return None if value is None else to_filetime(as_datetime(value))


def _styles(value: Any) -> DateTimeStyles:
    """The dateTimeStyles argument; left empty, Entra's default."""
    text = text_or_empty(value)
    return parse_styles(text) if text.strip() else DEFAULT_STYLES


class _Formats:
    """Date formats tokenized once per call site: constants at compile time, others on first use."""

    def __init__(self) -> None:
        self.cache: dict[str, DateFormat] = {}

    def get(self, fmt: Any) -> DateFormat:
        key = text_or_empty(fmt)
        found = self.cache.get(key)
        if found is None:
            found = DateFormat.of(key)
            if len(self.cache) < 64:
                self.cache[key] = found
        return found


def _build_format_entra(info: BuildInfo, args: Sequence[Compiled]) -> Closure:
    """FormatDateTime(source[, dateTimeStyles], inputFormat, outputFormat): app provisioning documents four
    arguments, cloud sync three; both are accepted. The source is read as DateTime.ParseExact reads it under the
    styles (by default RoundtripKind, AllowLeadingWhite and AllowTrailingWhite), which decide the kind K writes."""
    styles_arg = args[1] if len(args) == 4 else None
    fixed_styles = DEFAULT_STYLES
    if styles_arg is not None and styles_arg.const:
        fixed_styles = vet_argument(1, _styles, styles_arg.value)
    styles_fn = styles_arg.fn if styles_arg is not None and not styles_arg.const else None
    first = len(args) - 2
    source, in_fmt, out_fmt = args[0].fn, args[first], args[first + 1]
    if in_fmt.const and in_fmt.value is None:
        raise ArgumentFault("the input format is empty", first)
    formats = _Formats()
    for index in (first, first + 1):
        if args[index].const:
            vet_argument(index, formats.get, args[index].value)
    in_fn, out_fn = in_fmt.fn, out_fmt.fn

    def format_date_time(a: Any, c: Any) -> Any:
        value = source(a, c)
        if value is None:
            return None
        if isinstance(value, datetime):
            return formats.get(out_fn(a, c)).format(value)
        styles = fixed_styles if styles_fn is None else _styles(styles_fn(a, c))
        parsed = formats.get(in_fn(a, c)).parse(text_or_empty(value), styles, now(c))
        return formats.get(out_fn(a, c)).format(parsed)

    return format_date_time


def _build_format_connect(info: BuildInfo, args: Sequence[Compiled]) -> Closure:
    formats = _Formats()
    if args[1].const:
        vet_argument(1, formats.get, args[1].value)
    source, fmt = args[0].fn, args[1].fn

    def format_date_time(a: Any, c: Any) -> Any:
        value = source(a, c)
        if value is None:
            return None
        return formats.get(fmt(a, c)).format(as_datetime(value))

    return format_date_time


NOW = FunctionSpec(
    "Now",
    "Now()",
    "The current UTC date and time (fixed for the whole run, so that a run is reproducible).",
    "Now()",
    "date/time",
    0,
    0,
    impl=now,
    context=True,
    deterministic=False,
)
DATE_ADD_ENTRA = FunctionSpec(
    "DateAdd",
    "DateAdd(interval, value, dateTime)",
    "dateTime plus value intervals (yyyy, m, d, ww, h, n or s); value may be negative.",
    'DateAdd("d", 7, CDate([StatusHireDate]))',
    "date/time",
    3,
    3,
    impl=_date_add(ENTRA_INTERVALS),
    numbers=frozenset({1}),
    check=check_constant(0, lambda v: _interval(v, ENTRA_INTERVALS)),
)
DATE_ADD_CONNECT = FunctionSpec(
    "DateAdd",
    "DateAdd(interval, value, date)",
    "date plus value intervals (yyyy, q, m, y, d, w, ww, h, n or s); value may be negative.",
    'DateAdd("m", 3, CDate("2001-01-01"))',
    "date/time",
    3,
    3,
    impl=_date_add(CONNECT_INTERVALS),
    numbers=frozenset({1}),
    check=check_constant(0, lambda v: _interval(v, CONNECT_INTERVALS)),
)
DATE_DIFF = FunctionSpec(
    "DateDiff",
    "DateDiff(interval, date1, date2)",
    "How many intervals (yyyy, m, d, ww, h, n or s) from date1 to date2, counted as VBA does.",
    'DateDiff("d", Now(), CDate([StatusHireDate]))',
    "date/time",
    3,
    3,
    impl=_date_diff,
    check=check_constant(0, lambda v: _interval(v, ENTRA_INTERVALS)),
)
DATE_FROM_NUM = FunctionSpec(
    "DateFromNum",
    "DateFromNum(value)",
    "The DateTime of an AD date number (100-nanosecond intervals since 1601).",
    "DateFromNum([lastLogonTimestamp])",
    "date/time",
    1,
    1,
    impl=date_from_num,
    numbers=frozenset({0}),
)
NUM_FROM_DATE = FunctionSpec(
    "NumFromDate",
    "NumFromDate(value)",
    "The AD date number (as accountExpires holds it) of a DateTime or an ISO 8601 date.",
    'NumFromDate("2012-01-01 23:00:00")',
    "date/time",
    1,
    1,
    impl=num_from_date,
)
FORMAT_DATE_TIME_ENTRA = FunctionSpec(
    "FormatDateTime",
    "FormatDateTime(source[, dateTimeStyles], inputFormat, outputFormat)",
    "The date in source (read with the .NET inputFormat) written with the .NET outputFormat.",
    'FormatDateTime([extensionAttribute1], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")',
    "date/time",
    3,
    4,
    build=_build_format_entra,
    empty_ok=frozenset({1}),
    deterministic=False,  # a time without a date is read on the run's date
)
FORMAT_DATE_TIME_CONNECT = FunctionSpec(
    "FormatDateTime",
    "FormatDateTime(value, format)",
    "The DateTime written with a .NET custom or standard date/time format.",
    'FormatDateTime(CDate("12/25/2007"), "yyyy-MM-dd")',
    "date/time",
    2,
    2,
    build=_build_format_connect,
)
