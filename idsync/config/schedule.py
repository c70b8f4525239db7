"""Schedule syntax for the service: durations (``30m``, ``1h30m``, ``90s``) and five-field cron expressions.

Both are parsed when the configuration loads, so a typo in a schedule fails validation with its line and column
instead of surfacing at three in the morning. Cron follows Vixie cron: minute, hour, day of month, month, day of
week; ``*``, lists, ranges, steps and English month and day names; when both day fields are restricted, a day
matching either one fires (as cron does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


def parse_duration(value: str | int | float) -> float:
    """Seconds in ``value``: a number of seconds, or ``1d2h30m15s`` with any of the parts (``30m``, ``2h``)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = value.strip().lower().replace(" ", "")
        if text.isdecimal():
            seconds = float(text)
        else:
            match = DURATION.match(text)
            if not text or match is None or not any(match.groups()):
                raise ValueError(f"{value!r} is not a duration; write for example 30m, 2h, 1h30m or 90s")
            days, hours, minutes, secs = (int(g) if g else 0 for g in match.groups())
            seconds = float(((days * 24 + hours) * 60 + minutes) * 60 + secs)
    if seconds <= 0:
        raise ValueError(f"{value!r}: a duration must be positive")
    return seconds


def format_duration(seconds: float) -> str:
    left = int(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    if left or not parts:
        parts.append(f"{left}s")
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed cron expression; ``next_after`` finds the next minute it fires."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    """0 = Sunday ... 6 = Saturday (7 is read as Sunday too)."""
    any_day: bool
    any_weekday: bool

    @classmethod
    def parse(cls, text: str) -> Cron:
        fields = text.split()
        if len(fields) != 5:
            raise ValueError(
                f"cron {text!r} has {len(fields)} fields; it needs five: minute hour day-of-month month day-of-week"
            )
        minute, hour, day, month, weekday = fields
        weekdays = _field(weekday, 0, 7, "day of week", DAYS)
        return cls(
            text,
            _field(minute, 0, 59, "minute"),
            _field(hour, 0, 23, "hour"),
            _field(day, 1, 31, "day of month"),
            _field(month, 1, 12, "month", MONTHS, offset=1),
            frozenset(d % 7 for d in weekdays),
            day == "*",
            weekday == "*",
        )

    def _day_matches(self, when: datetime) -> bool:
        in_days = when.day in self.days
        in_weekdays = (when.isoweekday() % 7) in self.weekdays
        if self.any_day and self.any_weekday:
            return True
        if self.any_day:
            return in_weekdays
        if self.any_weekday:
            return in_days
        return in_days or in_weekdays

    def next_after(self, moment: datetime, zone: tzinfo) -> datetime:
        """The first firing strictly after ``moment`` (an aware datetime), read on the wall clock of ``zone``."""
        local = moment.astimezone(zone).replace(second=0, microsecond=0, tzinfo=None) + timedelta(minutes=1)
        limit = local + timedelta(days=366 * 5)
        while local < limit:
            if local.month not in self.months:
                local = _first_of_next_month(local)
                continue
            if not self._day_matches(local):
                local = (local + timedelta(days=1)).replace(hour=0, minute=0)
                continue
            if local.hour not in self.hours:
                local = (local + timedelta(hours=1)).replace(minute=0)
                continue
            if local.minute not in self.minutes:
                local += timedelta(minutes=1)
                continue
            aware = local.replace(tzinfo=zone)
            # a wall-clock minute skipped by a daylight-saving jump does not exist: move on
            if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local:
                return aware
            local += timedelta(minutes=1)
        raise ValueError(f"cron {self.text!r} never fires (no such date in the next five years)")


def _first_of_next_month(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return moment.replace(year=year, month=month, day=1, hour=0, minute=0)


def _number(text: str, names: list[str] | None, offset: int, what: str) -> int:
    if names is not None and text.lower() in names:
        return names.index(text.lower()) + offset
    if not text.isdecimal():
        raise ValueError(f"{what}: {text!r} is not a number" + (f" or a name ({', '.join(names)})" if names else ""))
    return int(text)


def _field(
    text: str, low: int, high: int, what: str, names: list[str] | None = None, offset: int = 0
) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdecimal() or int(step_text) == 0:
                raise ValueError(f"{what}: the step in {part!r} must be a positive number")
            step = int(step_text)
        if span == "*":
            start, end = low, high
        elif "-" in span:
            a, _, b = span.partition("-")
            start, end = _number(a, names, offset, what), _number(b, names, offset, what)
        else:
            start = _number(span, names, offset, what)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high):
            raise ValueError(f"{what}: {part!r} is outside {low}-{high}")
        if start > end:
            raise ValueError(f"{what}: the range {part!r} runs backwards")
        values.update(range(start, end + 1, step))
    return frozenset(values)
