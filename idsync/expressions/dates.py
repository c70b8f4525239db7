"""Date and time support: .NET custom format strings, the loose parsing CDate does, AD's FILETIME numbers and
VBA's DateAdd/DateDiff arithmetic.

Both Microsoft expression languages run on .NET in UTC with the en-US culture, so their documented outputs
("3/16/2020 7:00:00 AM", "yyyyMMddHHmmss.0Z") are .NET's. Reproducing .NET's format language here, rather than
translating to strftime, is what lets an expression copied from a Microsoft rule give the documented result.
Every datetime in here is in UTC. What .NET calls a DateTime's Kind rides on its tzinfo: ``UTC`` for Kind Utc,
``LOCAL`` (the service's own zone, which is UTC too) for Kind Local and none for Kind Unspecified, so that K writes
"Z", "+00:00" or nothing as .NET does. Only FormatDateTime's parsing (DateTime.ParseExact under DateTimeStyles)
gives the last two.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from enum import IntFlag

from idsync.expressions.errors import EvalFault

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)

# .NET's standard (one-letter) format strings, en-US culture.
_STANDARD_FORMATS = {
    "d": "M/d/yyyy",
    "D": "dddd, MMMM d, yyyy",
    "f": "dddd, MMMM d, yyyy h:mm tt",
    "F": "dddd, MMMM d, yyyy h:mm:ss tt",
    "g": "M/d/yyyy h:mm tt",
    "G": "M/d/yyyy h:mm:ss tt",
    "m": "MMMM d",
    "M": "MMMM d",
    "o": "yyyy-MM-ddTHH:mm:ss.fffffffK",
    "O": "yyyy-MM-ddTHH:mm:ss.fffffffK",
    "r": "ddd, dd MMM yyyy HH:mm:ss 'GMT'",
    "R": "ddd, dd MMM yyyy HH:mm:ss 'GMT'",
    "s": "yyyy-MM-ddTHH:mm:ss",
    "t": "h:mm tt",
    "T": "h:mm:ss tt",
    "u": "yyyy-MM-dd HH:mm:ssZ",
    "y": "MMMM yyyy",
    "Y": "MMMM yyyy",
}

_SPECIFIER_LETTERS = frozenset("dfFghHKmMstyz")

LOCAL = timezone(timedelta(0), "local")
"""The zone of a DateTime of Local kind. Microsoft's services run in UTC, so local time is UTC time; what differs
is only how K writes it ("+00:00", not "Z")."""


class DateTimeStyles(IntFlag):
    """.NET's System.Globalization.DateTimeStyles, with its values, as Entra's FormatDateTime passes them to
    DateTime.ParseExact."""

    NONE = 0
    ALLOW_LEADING_WHITE = 1
    ALLOW_TRAILING_WHITE = 2
    ALLOW_INNER_WHITE = 4
    ALLOW_WHITE_SPACES = 7
    NO_CURRENT_DATE_DEFAULT = 8
    ADJUST_TO_UNIVERSAL = 16
    ASSUME_LOCAL = 32
    ASSUME_UNIVERSAL = 64
    ROUNDTRIP_KIND = 128


DEFAULT_STYLES = (
    DateTimeStyles.ROUNDTRIP_KIND | DateTimeStyles.ALLOW_LEADING_WHITE | DateTimeStyles.ALLOW_TRAILING_WHITE
)
"""What Entra uses when the dateTimeStyles argument is left empty (its reference says so)."""

_STYLE_NAMES = {name.replace("_", "").lower(): m for name, m in DateTimeStyles.__members__.items()}


def parse_styles(text: str) -> DateTimeStyles:
    """A DateTimeStyles value as .NET's Enum.Parse reads it ("AssumeUniversal, AdjustToUniversal", names
    in any case, with or without "DateTimeStyles."), checked as ParseExact checks it."""
    styles = DateTimeStyles.NONE
    for part in text.split(","):
        name = part.strip().removeprefix("DateTimeStyles.")
        if not name:
            continue
        member = _STYLE_NAMES.get(name.lower())
        if member is None:
            raise EvalFault(f"{name!r} is not a DateTimeStyles value")
        styles |= member
    assume = DateTimeStyles.ASSUME_LOCAL | DateTimeStyles.ASSUME_UNIVERSAL
    if styles & assume == assume:
        raise EvalFault("the DateTimeStyles AssumeLocal and AssumeUniversal cannot be used together")
    if styles & DateTimeStyles.ROUNDTRIP_KIND and styles & (assume | DateTimeStyles.ADJUST_TO_UNIVERSAL):
        raise EvalFault(
            "the DateTimeStyles RoundtripKind cannot be used with AssumeLocal, AssumeUniversal or AdjustToUniversal"
        )
    return styles


def utc(value: datetime) -> datetime:
    """The same instant in UTC; naive datetimes are taken to be UTC already."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_us(value: datetime) -> str:
    """The en-US rendering both products document for a DateTime: ``M/d/yyyy h:mm:ss tt``."""
    v = utc(value)
    hour = v.hour % 12 or 12
    return f"{v.month}/{v.day}/{v.year} {hour}:{v.minute:02d}:{v.second:02d} {'PM' if v.hour >= 12 else 'AM'}"


# --------------------------------------------------------------------------------------------------------------
# .NET custom format strings


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # a specifier letter, or "" for literal text
    count: int
    text: str = ""


def _tokenize(fmt: str) -> list[_Token]:
    if len(fmt) == 1:
        if fmt in _STANDARD_FORMATS:
            fmt = _STANDARD_FORMATS[fmt]
        else:
            raise EvalFault(f"{fmt!r} is not a .NET date/time format")
    tokens: list[_Token] = []
    i = 0
    n = len(fmt)
    while i < n:
        ch = fmt[i]
        if ch in _SPECIFIER_LETTERS:
            j = i
            while j < n and fmt[j] == ch:
                j += 1
            tokens.append(_Token(ch, j - i))
            i = j
        elif ch in "'\"":
            end = fmt.find(ch, i + 1)
            if end < 0:
                raise EvalFault(f"format {fmt!r} has an unterminated quoted literal")
            tokens.append(_Token("", 0, fmt[i + 1 : end]))
            i = end + 1
        elif ch == "\\":
            if i + 1 >= n:
                raise EvalFault(f"format {fmt!r} ends with a backslash")
            tokens.append(_Token("", 0, fmt[i + 1]))
            i += 2
        elif ch == "%":
            i += 1  # "%d" means the custom specifier d, not the standard format
        else:
            tokens.append(_Token("", 0, ch))
            i += 1
    return tokens


def _offset_parts(value: datetime) -> tuple[str, int, int]:
    off = value.utcoffset() or timedelta(0)
    total = int(off.total_seconds()) // 60
    sign = "-" if total < 0 else "+"
    total = abs(total)
    return sign, total // 60, total % 60


_Formatter = Callable[[datetime], str]


def _literal(text: str) -> _Formatter:
    return lambda v: text


def _offset(style: int) -> _Formatter:
    def offset(v: datetime) -> str:
        sign, hh, mm = _offset_parts(v)
        if style == 1:
            return f"{sign}{hh}"
        if style == 2:
            return f"{sign}{hh:02d}"
        if style == 3:
            return f"{sign}{hh:02d}:{mm:02d}"
        if v.tzinfo is None:
            return ""  # K of a time of no known zone (.NET's Unspecified kind)
        return "Z" if v.tzinfo is UTC else f"{sign}{hh:02d}:{mm:02d}"

    return offset


def _fraction(count: int, trim: bool) -> _Formatter:
    def fraction(v: datetime) -> str:
        digits = f"{v.microsecond:06d}0"[:count]
        return digits.rstrip("0") if trim else digits

    return fraction


def _formatter(tok: _Token) -> _Formatter:
    """One token of a .NET format as a function of the datetime, chosen once when the format is tokenized."""
    k, c = tok.kind, tok.count
    table: dict[tuple[str, int], _Formatter] = {
        ("y", 1): lambda v: str(v.year % 100),
        ("y", 2): lambda v: f"{v.year % 100:02d}",
        ("M", 1): lambda v: str(v.month),
        ("M", 2): lambda v: f"{v.month:02d}",
        ("M", 3): lambda v: MONTHS[v.month - 1][:3],
        ("d", 1): lambda v: str(v.day),
        ("d", 2): lambda v: f"{v.day:02d}",
        ("d", 3): lambda v: DAYS[v.weekday()][:3],
        ("H", 1): lambda v: str(v.hour),
        ("H", 2): lambda v: f"{v.hour:02d}",
        ("h", 1): lambda v: str(v.hour % 12 or 12),
        ("h", 2): lambda v: f"{v.hour % 12 or 12:02d}",
        ("m", 1): lambda v: str(v.minute),
        ("m", 2): lambda v: f"{v.minute:02d}",
        ("s", 1): lambda v: str(v.second),
        ("s", 2): lambda v: f"{v.second:02d}",
        ("t", 1): lambda v: "P" if v.hour >= 12 else "A",
        ("t", 2): lambda v: "PM" if v.hour >= 12 else "AM",
    }
    if k == "":
        return _literal(tok.text)
    if k == "y" and c >= 3:
        return lambda v: f"{v.year:0{c}d}"
    if k == "M" and c >= 4:
        return lambda v: MONTHS[v.month - 1]
    if k == "d" and c >= 4:
        return lambda v: DAYS[v.weekday()]
    if k in "fF":
        return _fraction(min(c, 7), k == "F")
    if k == "g":
        return _literal("A.D.")
    if k == "z":
        return _offset(min(c, 3))
    if k == "K":
        return _offset(4)
    return table[(k, min(c, 3 if k in "dM" else 2))]  # ddd and MMM are the abbreviated names


_Setter = Callable[[str, dict[str, int]], None]


@dataclass(frozen=True, slots=True)
class DateFormat:
    """One .NET custom (or standard) date/time format string, tokenized and turned into a parser once."""

    text: str
    formatters: tuple[_Formatter, ...]
    pattern: re.Pattern[str]
    inner_white: re.Pattern[str]
    """The pattern under AllowInnerWhite: white space allowed between any two elements, spaces optional."""
    setters: tuple[_Setter, ...]
    optional_fractions: frozenset[int] = frozenset()
    """Where the F specifiers are: when one writes nothing, .NET drops the "." written just before it too
    ("hh:mm:ss.F" gives "07:27:15" for a whole second)."""

    @classmethod
    def of(cls, text: str) -> DateFormat:
        if text == "":
            raise EvalFault("the date/time format is empty")
        tokens = tuple(_tokenize(text))
        parts: list[str] = []
        setters: list[_Setter] = []
        for i, tok in enumerate(tokens):
            regex, setter = _parse_piece(tok)
            if tok.kind == "F" and i > 0 and tokens[i - 1].kind == "" and tokens[i - 1].text == ".":
                # ParseExact reads ".FFF" as optional: "13:45:30" matches "HH:mm:ss.FFF" as well
                parts[-1] = r"(?:\."
                regex += ")?"
            parts.append(regex)
            if setter is not None:
                setters.append(setter)
        formatters = tuple(_formatter(t) for t in tokens)
        fractions = frozenset(i for i, t in enumerate(tokens) if t.kind == "F")
        pattern = re.compile("".join(parts), re.IGNORECASE)
        inner = re.compile(r"\s*".join(p for p in parts if p != re.escape(" ")), re.IGNORECASE)
        return cls(text, formatters, pattern, inner, tuple(setters), fractions)

    def format(self, value: datetime) -> str:
        """``value`` written in this format; its kind (see the module's docstring) decides what K writes."""
        v = value if value.tzinfo is None or value.tzinfo is LOCAL else utc(value)
        if not self.optional_fractions:
            return "".join([f(v) for f in self.formatters])
        out = ""
        for i, f in enumerate(self.formatters):
            piece = f(v)
            if not piece and i in self.optional_fractions and out.endswith("."):
                out = out[:-1]
            out += piece
        return out

    def parse(self, text: str, styles: DateTimeStyles = DEFAULT_STYLES, now: datetime | None = None) -> datetime:
        """``text`` read exactly as this format describes it, as DateTime.ParseExact reads it under ``styles``:
        white space only where they allow it, the date of ``now`` (the run's time) for a time alone unless
        NoCurrentDateDefault, and the kind of the result from the zone the text names (Z, an offset or none)."""
        if styles & DateTimeStyles.ALLOW_LEADING_WHITE:
            text = text.lstrip()
        if styles & DateTimeStyles.ALLOW_TRAILING_WHITE:
            text = text.rstrip()
        pattern = self.inner_white if styles & DateTimeStyles.ALLOW_INNER_WHITE else self.pattern
        m = pattern.fullmatch(text)
        if m is None:
            raise EvalFault(f"{text!r} does not match the date/time format {self.text!r}")
        fields: dict[str, int] = {}
        for group, setter in zip(m.groups(), self.setters, strict=True):
            if group is not None:
                setter(group, fields)
        if not {"year", "month", "day"} <= fields.keys():
            _default_date(fields, styles, now)
        value = _build(fields, text)
        if "offset" not in fields:
            if styles & (DateTimeStyles.ASSUME_LOCAL | DateTimeStyles.ASSUME_UNIVERSAL):
                return value if styles & DateTimeStyles.ADJUST_TO_UNIVERSAL else value.replace(tzinfo=LOCAL)
            return value.replace(tzinfo=None)
        if styles & DateTimeStyles.ADJUST_TO_UNIVERSAL or (styles & DateTimeStyles.ROUNDTRIP_KIND and "utc" in fields):
            return value
        return value.replace(tzinfo=LOCAL)  # an offset, or Z without RoundtripKind: converted to local time


def _default_date(fields: dict[str, int], styles: DateTimeStyles, now: datetime | None) -> None:
    """.NET's defaults for a date the text leaves out: today (in the zone the text names) when it gives none
    of year, month and day, unless NoCurrentDateDefault asks for 1/1/0001; else the current year, month 1,
    day 1."""
    if not fields.keys() & {"year", "month", "day"} and styles & DateTimeStyles.NO_CURRENT_DATE_DEFAULT:
        return
    today = (now or datetime.now(UTC)) + timedelta(minutes=fields.get("offset", 0))
    if not fields.keys() & {"year", "month", "day"}:
        fields.update(year=today.year, month=today.month, day=today.day)
    fields.setdefault("year", today.year)


def _set(name: str) -> _Setter:
    def setter(text: str, fields: dict[str, int]) -> None:
        fields[name] = int(text)

    return setter


def _set_year2(text: str, fields: dict[str, int]) -> None:
    year = int(text)
    fields["year"] = year + (2000 if year <= 49 else 1900)  # .NET's TwoDigitYearMax of 2049


def _set_month_name(text: str, fields: dict[str, int]) -> None:
    low = text.lower()
    for i, name in enumerate(MONTHS):
        if name.lower() == low or name[:3].lower() == low:
            fields["month"] = i + 1
            return
    raise EvalFault(f"{text!r} is not a month name")  # pragma: no cover - the regex only admits names


def _set_fraction(text: str, fields: dict[str, int]) -> None:
    fields["microsecond"] = int((text + "000000")[:6]) if text else 0


def _set_ampm(text: str, fields: dict[str, int]) -> None:
    fields["pm"] = 1 if text.upper().startswith("P") else 0


def _set_offset(text: str, fields: dict[str, int]) -> None:
    if text.upper() == "Z":
        fields["offset"] = 0
        fields["utc"] = 1
        return
    sign = -1 if text[0] == "-" else 1
    body = text[1:].replace(":", "")
    hours = int(body[:-2]) if len(body) > 2 else int(body)
    minutes = int(body[-2:]) if len(body) > 2 else 0
    fields["offset"] = sign * (hours * 60 + minutes)


_MONTH_ALTERNATION = "|".join([*MONTHS, *(m[:3] for m in MONTHS)])
_DAY_ALTERNATION = "|".join([*DAYS, *(d[:3] for d in DAYS)])


_HOURS_MINUTES = r"[+-]\d{1,2}:?\d{2}"
"""An offset as ParseExact reads zzz and K: the hours may have one digit and the colon may be left out
("+5:30", "-0800", "-08:00")."""


def _parse_piece(tok: _Token) -> tuple[str, _Setter | None]:
    k, c = tok.kind, tok.count
    if k == "":
        if tok.text == "Z":
            return "(Z)", _set_offset  # a literal Z still means UTC
        return re.escape(tok.text), None
    if k == "y":
        if c == 2:
            return r"(\d{2})", _set_year2
        if c == 1:
            return r"(\d{1,2})", _set_year2
        return rf"(\d{{{c},5}})", _set("year")
    if k == "M":
        if c <= 2:
            return (r"(\d{1,2})" if c == 1 else r"(\d{2})"), _set("month")
        return f"({_MONTH_ALTERNATION})", _set_month_name
    if k == "d":
        if c <= 2:
            return (r"(\d{1,2})" if c == 1 else r"(\d{2})"), _set("day")
        return f"(?:{_DAY_ALTERNATION})", None
    if k in "hH":
        return (r"(\d{1,2})" if c == 1 else r"(\d{2})"), _set("hour12" if k == "h" else "hour")
    if k == "m":
        return (r"(\d{1,2})" if c == 1 else r"(\d{2})"), _set("minute")
    if k == "s":
        return (r"(\d{1,2})" if c == 1 else r"(\d{2})"), _set("second")
    if k == "f":
        return rf"(\d{{{min(c, 7)}}})", _set_fraction
    if k == "F":
        return rf"(\d{{0,{min(c, 7)}}})", _set_fraction
    if k == "t":
        return ("([AP])" if c == 1 else "([AP]M)"), _set_ampm
    if k == "g":
        return r"(?:A\.D\.|AD)", None
    if k == "z":
        if c == 1:
            return r"([+-]\d{1,2})", _set_offset
        if c == 2:
            return r"([+-]\d{2})", _set_offset
        return rf"({_HOURS_MINUTES})", _set_offset
    if k == "K":
        return rf"(Z|{_HOURS_MINUTES})?", _set_offset
    raise AssertionError(k)  # pragma: no cover


def _zone(minutes: int) -> timezone:
    return UTC if minutes == 0 else timezone(timedelta(minutes=minutes))


def _build(fields: dict[str, int], original: str) -> datetime:
    hour = fields.get("hour", 0)
    if "hour12" in fields:
        hour = fields["hour12"] % 12
        if fields.get("pm"):
            hour += 12
    elif fields.get("pm") and hour < 12:
        hour += 12
    try:
        value = datetime(
            fields.get("year", 1),
            fields.get("month", 1),
            fields.get("day", 1),
            hour,
            fields.get("minute", 0),
            fields.get("second", 0),
            fields.get("microsecond", 0),
            tzinfo=_zone(fields.get("offset", 0)),
        )
    except ValueError as exc:
        raise EvalFault(f"{original!r} is not a valid date/time ({exc})") from None
    return value if value.tzinfo is UTC else value.astimezone(UTC)


# --------------------------------------------------------------------------------------------------------------
# CDate: the loose parsing of "a string with a date, time, and optionally time zone"

_ZONE = r"(?:\s*(?P<zone>Z|GMT|UTC|[+-]\d{1,2}(?::?\d{2})?))?"
_TIME = (
    r"(?:(?:T|\s+)(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?"
    r"(?:\s*(?P<ampm>[AaPp][Mm]))?)?"
)
_LOOSE_FORMATS = (
    re.compile(r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})" + _TIME + _ZONE),
    re.compile(r"(?P<year>\d{4})/(?P<month>\d{1,2})/(?P<day>\d{1,2})" + _TIME + _ZONE),
    re.compile(r"(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4})" + _TIME + _ZONE),
    re.compile(
        r"(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})(?P<hour>\d{2})(?P<minute>\d{2})(?P<second>\d{2})"
        r"(?:[.,](?P<fraction>\d+))?" + _ZONE
    ),
    re.compile(
        r"(?:(?:" + _DAY_ALTERNATION + r"),?\s+)?(?P<monthname>" + _MONTH_ALTERNATION + r")\.?\s+(?P<day>\d{1,2}),?"
        r"\s+(?P<year>\d{4})" + _TIME + _ZONE,
        re.IGNORECASE,
    ),
    re.compile(
        r"(?:(?:" + _DAY_ALTERNATION + r"),?\s+)?(?P<day>\d{1,2})\s+(?P<monthname>" + _MONTH_ALTERNATION + r")\.?,?"
        r"\s+(?P<year>\d{4})" + _TIME + _ZONE,
        re.IGNORECASE,
    ),
)


def parse_loose(text: str) -> datetime:
    """What CDate accepts: ISO 8601 dates with optional time and offset ("2020-03-16-07:00",
    "2009-06-15T01:45:30-07:00"), en-US "12/25/2007 5:41:18 PM", LDAP generalized time, month names (RFC 1123's
    "Mon, 15 Jun 2009 13:45:30 GMT", what FormatDateTime's "r" writes), and an offset in hours
    ("2013-01-10 4:00 PM -8"). Without an offset the value is UTC."""
    s = text.strip()
    for pattern in _LOOSE_FORMATS:
        m = pattern.fullmatch(s)
        if m is not None:
            return _from_loose_match(m, text)
    raise EvalFault(f"{text!r} is not a date/time")


def _from_loose_match(m: re.Match[str], original: str) -> datetime:
    g = m.groupdict()
    fields: dict[str, int] = {"year": int(g["year"]), "day": int(g["day"])}
    if g.get("monthname"):
        _set_month_name(g["monthname"], fields)
    else:
        fields["month"] = int(g["month"])
    if g.get("hour") is not None:
        fields["hour"] = int(g["hour"])
        fields["minute"] = int(g["minute"])
        if g.get("second"):
            fields["second"] = int(g["second"])
        if g.get("fraction"):
            _set_fraction(g["fraction"], fields)
        if g.get("ampm"):
            if fields["hour"] > 12:
                raise EvalFault(f"{original!r} has an hour over 12 with AM/PM")
            fields["hour12"] = fields.pop("hour")
            _set_ampm(g["ampm"], fields)
    zone = g.get("zone")
    if zone and zone.upper() not in ("Z", "GMT", "UTC"):
        _set_offset(zone, fields)
    return _build(fields, original)


# --------------------------------------------------------------------------------------------------------------
# AD's FILETIME numbers (100-nanosecond intervals since 1601-01-01 UTC)


def from_filetime(value: int) -> datetime:
    try:
        return _FILETIME_EPOCH + timedelta(microseconds=value // 10)
    except OverflowError:
        raise EvalFault(f"{value} is outside the range of dates (AD uses 9223372036854775807 for never)") from None


def to_filetime(value: datetime) -> int:
    delta = utc(value) - _FILETIME_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


# --------------------------------------------------------------------------------------------------------------
# VBA's DateAdd and DateDiff

ENTRA_INTERVALS = frozenset({"yyyy", "m", "d", "ww", "h", "n", "s"})
CONNECT_INTERVALS = frozenset({"yyyy", "q", "m", "y", "d", "w", "ww", "h", "n", "s"})


def _add_months(value: datetime, months: int) -> datetime:
    index = value.year * 12 + (value.month - 1) + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise EvalFault("the result is outside the range of dates")
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)


def date_add(interval: str, amount: int, value: datetime) -> datetime:
    unit = interval.lower()
    try:
        if unit == "yyyy":
            return _add_months(value, 12 * amount)
        if unit == "q":
            return _add_months(value, 3 * amount)
        if unit == "m":
            return _add_months(value, amount)
        if unit in ("d", "y", "w"):
            return value + timedelta(days=amount)
        if unit == "ww":
            return value + timedelta(weeks=amount)
        if unit == "h":
            return value + timedelta(hours=amount)
        if unit == "n":
            return value + timedelta(minutes=amount)
        if unit == "s":
            return value + timedelta(seconds=amount)
    except OverflowError:
        raise EvalFault("the result is outside the range of dates") from None
    raise EvalFault(f"unknown interval {interval!r}")


def _sunday_on_or_before(value: datetime) -> datetime:
    day = value.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def date_diff(interval: str, first: datetime, second: datetime) -> int:
    """How many interval boundaries lie between the two dates, as VBA counts them (calendar years, months,
    days, Sunday-started weeks, clock hours...); positive when ``second`` is later."""
    a, b = utc(first), utc(second)
    unit = interval.lower()
    if unit == "yyyy":
        return b.year - a.year
    if unit == "q":
        return (b.year * 4 + (b.month - 1) // 3) - (a.year * 4 + (a.month - 1) // 3)
    if unit == "m":
        return (b.year * 12 + b.month) - (a.year * 12 + a.month)
    if unit in ("d", "y"):
        return (b.date() - a.date()).days
    if unit == "w":
        days = (b.date() - a.date()).days
        return int(days / 7)
    if unit == "ww":
        return (_sunday_on_or_before(b) - _sunday_on_or_before(a)).days // 7
    seconds = {"h": 3600, "n": 60, "s": 1}.get(unit)
    if seconds is None:
        raise EvalFault(f"unknown interval {interval!r}")
    ta = int((a - _FILETIME_EPOCH).total_seconds()) // seconds
    tb = int((b - _FILETIME_EPOCH).total_seconds()) // seconds
    return tb - ta
