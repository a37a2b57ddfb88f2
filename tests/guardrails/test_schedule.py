"""The firm's office schedule: the hours staff answer texts and the days the office is closed, read from settings."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from connector.guardrails import schedule
from connector.settings import SettingsError
from tests.support.firm import settings

NY = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (datetime(2026, 11, 24, 9, 0, tzinfo=NY), True),  # Tuesday, opening time
        (datetime(2026, 11, 24, 16, 59, tzinfo=NY), True),
        (datetime(2026, 11, 24, 17, 0, tzinfo=NY), False),  # closing time
        (datetime(2026, 11, 28, 11, 0, tzinfo=NY), False),  # Saturday
        (datetime(2026, 11, 23, 8, 59, tzinfo=NY), False),  # Monday, before opening
    ],
)
def test_office_hours(moment: datetime, open_: bool) -> None:
    assert schedule.parse_office_hours("Mon-Fri 09:00-17:00").open_at(moment) is open_


def test_a_holiday_is_after_hours_all_day() -> None:
    hours = settings(MATTERLINE_OFFICE_CLOSED="2026-12-25, 2027-01-01").office
    assert hours.open_at(datetime(2026, 12, 25, 11, 0, tzinfo=NY)) is False  # a Friday
    assert hours.open_at(datetime(2026, 12, 24, 11, 0, tzinfo=NY)) is True
    with pytest.raises(SettingsError, match="MATTERLINE_OFFICE_CLOSED"):
        settings(MATTERLINE_OFFICE_CLOSED="Christmas")


@pytest.mark.parametrize("text", ["Monday-Friday 9-5", "Mon-Fri", "Mon-Xyz 09:00-17:00", "Mon-Fri 17:00-09:00"])
def test_office_hours_that_cannot_be_read_say_so(text: str) -> None:
    with pytest.raises(ValueError, match="'"):
        schedule.parse_office_hours(text)


def test_bad_guardrail_settings_stop_the_program_naming_each() -> None:
    with pytest.raises(SettingsError) as raised:
        settings(
            MATTERLINE_QUIET_HOURS="8am-8pm",
            MATTERLINE_QUIET_HOURS_BY_STATE="ZZ=09:00-20:00",
            MATTERLINE_OFFICE_HOURS="weekdays",
        )
    text = str(raised.value)
    for name in ("MATTERLINE_QUIET_HOURS", "MATTERLINE_QUIET_HOURS_BY_STATE", "MATTERLINE_OFFICE_HOURS"):
        assert name in text


def test_office_days_may_run_over_the_weekend() -> None:
    hours = schedule.parse_office_hours("Sat-Tue 10:00-14:00")
    assert hours.open_at(datetime(2026, 11, 29, 11, 0, tzinfo=NY)) is True  # Sunday
    assert hours.open_at(datetime(2026, 11, 24, 13, 59, tzinfo=NY)) is True  # Tuesday
    assert hours.open_at(datetime(2026, 11, 25, 11, 0, tzinfo=NY)) is False  # Wednesday
    assert hours.open_at(datetime(2026, 11, 27, 11, 0, tzinfo=NY)) is False  # Friday


def test_closed_days_are_a_comma_list_of_dates() -> None:
    assert schedule.parse_closed_days(" 2026-12-25, ,2027-01-01 ") == {date(2026, 12, 25), date(2027, 1, 1)}
    assert schedule.parse_closed_days("") == frozenset()
    with pytest.raises(ValueError, match="'25/12/2026' is not a date"):
        schedule.parse_closed_days("2026-12-24,25/12/2026")
