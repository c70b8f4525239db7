"""The ``service:`` section: schedules (durations and cron), the token reference and the listening address."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from idsync.config import ConfigError, WorkspaceConfig, load_config_text
from idsync.config.models import ServiceConfig
from idsync.config.schedule import Cron, format_duration, parse_duration


class _Csv(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    path: str = "x.csv"


def _lookup(name: str) -> type[BaseModel]:
    return _Csv


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("1h30m", 5400), ("90s", 90), ("2d", 172800), ("1h 5m", 3900), (45, 45), ("120", 120)],
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10x", "-5", "0s", "m30", "1.5h", "\u00b2"])
def test_bad_durations_say_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_format_duration() -> None:
    assert [format_duration(s) for s in (1800, 5400, 90, 59, 86400)] == ["30m", "1h30m", "1m30s", "59s", "1d"]


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_cron_next_firing() -> None:
    utc = ZoneInfo("UTC")
    office = Cron.parse("*/15 9-17 * * mon-fri")
    saturday_noon = _utc(2026, 11, 28, 12, 0)
    assert office.next_after(saturday_noon, utc) == _utc(2026, 11, 30, 9, 0)
    assert office.next_after(_utc(2026, 11, 30, 9, 0), utc) == _utc(2026, 11, 30, 9, 15)
    assert office.next_after(_utc(2026, 11, 30, 17, 45), utc) == _utc(2026, 12, 1, 9, 0)
    # both day fields restricted: either one fires (the 13th, and every Friday), as cron does
    friday_or_13th = Cron.parse("0 0 13 * fri")
    assert friday_or_13th.next_after(_utc(2026, 11, 10, 0, 0), utc) == _utc(2026, 11, 13, 0, 0)
    assert friday_or_13th.next_after(_utc(2026, 11, 13, 0, 0), utc) == _utc(2026, 11, 20, 0, 0)
    assert Cron.parse("0 0 1 jan,jul *").next_after(_utc(2026, 2, 1, 0, 0), utc) == _utc(2026, 7, 1, 0, 0)
    assert Cron.parse("30 4 * * 7").next_after(_utc(2026, 11, 26, 0, 0), utc) == _utc(2026, 11, 29, 4, 30)
    # a wall-clock time that a daylight-saving jump skips does not exist: the next day's
    berlin = ZoneInfo("Europe/Berlin")
    fired = Cron.parse("30 2 * * *").next_after(_utc(2026, 3, 28, 12, 0), berlin)
    assert fired == datetime(2026, 3, 30, 2, 30, tzinfo=berlin)
    assert fired.astimezone(UTC) == _utc(2026, 3, 30, 0, 30)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("* * * *", "five"),
        ("61 * * * *", "minute: '61' is outside 0-59"),
        ("0 5-2 * * *", "runs backwards"),
        ("*/0 * * * *", "step"),
        ("0 0 * foo *", "month: 'foo' is not a number or a name"),
        ("0 0 31 2 *", "never fires"),
        ("\u00b2 * * * *", "minute: '\u00b2' is not a number"),  # a digit to isdigit(), not to int()
        ("*/\u00b3 * * * *", "step"),
    ],
)
def test_bad_cron_expressions_name_the_field(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Cron.parse(text).next_after(_utc(2026, 1, 1, 0, 0), ZoneInfo("UTC"))


def test_defaults_keep_existing_workspaces_valid() -> None:
    service = WorkspaceConfig().service
    assert service.bind == "127.0.0.1" and service.port == 8470 and service.token is None
    (cycle,) = service.schedules.values()
    assert cycle.profile == "cycle" and cycle.interval == 1800


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"schedules": {"fast": {"every": "30s"}}}, "shorter than one minute"),
        ({"schedules": {"both": {"every": "5m", "cron": "0 * * * *"}}}, "either 'every' or 'cron'"),
        ({"token": "s3cret-in-clear"}, "secrets must be references"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"tls_cert": "cert.pem"}, "go together"),
        ({"port": 0}, "greater than or equal to 1"),
        ({"listen": "0.0.0.0"}, "Extra inputs"),
    ],
)
def test_bad_service_settings(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ServiceConfig.model_validate(data)


def test_short_intervals_in_a_lab_and_token_references() -> None:
    service = ServiceConfig.model_validate(
        {"allow_short_intervals": True, "token": "${env:TOKEN}", "schedules": {"fast": {"every": "2s"}}}
    )
    assert service.schedules["fast"].interval == 2 and service.token == "${env:TOKEN}"


def test_a_bad_cron_fails_validation_with_its_line(tmp_path: Path) -> None:
    text = "service:\n  schedules:\n    nightly:\n      profile: full\n      cron: '0 25 * * *'\n"
    with pytest.raises(ConfigError) as info:
        load_config_text(text, "idsync.yaml", tmp_path, _lookup)
    (issue,) = info.value.issues
    assert "hour: '25' is outside 0-23" in str(issue)
    assert issue.position is not None and issue.position.line == 5
