"""The firm's office schedule: the hours staff answer texts and the days the office is closed, read from settings."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
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


def test_business_time_counts_only_the_hours_the_office_answers() -> None:
    hours = dataclasses.replace(
        schedule.parse_office_hours("Mon-Fri 09:00-17:00"), closed=frozenset({date(2026, 12, 25)})
    )
    friday_night = datetime(2026, 11, 27, 23, 0, tzinfo=NY)
    monday = datetime(2026, 11, 30, 9, 5, tzinfo=NY)
    assert hours.business_time(friday_night, monday, NY) == timedelta(minutes=5)
    # Two whole days and a bit: Mon 16:00 → Wed 10:30 is 1 h + 8 h + 1.5 h.
    assert hours.business_time(
        datetime(2026, 11, 30, 16, 0, tzinfo=NY), datetime(2026, 12, 2, 10, 30, tzinfo=NY), NY
    ) == (timedelta(hours=10, minutes=30))
    # A closed day (Christmas, a Friday) counts nothing; backwards is nothing.
    assert hours.business_time(
        datetime(2026, 12, 25, 8, 0, tzinfo=NY), datetime(2026, 12, 25, 18, 0, tzinfo=NY), NY
    ) == (timedelta(0))
    assert hours.business_time(monday, friday_night, NY) == timedelta(0)


def test_the_reply_deadline_lands_inside_office_hours_across_nights_weekends_and_dst() -> None:
    hours = schedule.parse_office_hours("Mon-Fri 09:00-17:00")
    four = timedelta(hours=4)
    # Friday 15:00 + 4 business hours: 2 h on Friday, 2 h on Monday → Monday 11:00.
    assert hours.after(datetime(2026, 11, 27, 15, 0, tzinfo=NY), four, NY) == datetime(2026, 11, 30, 11, 0, tzinfo=NY)
    # A text at night starts its clock at opening.
    assert hours.after(datetime(2026, 11, 30, 2, 0, tzinfo=NY), four, NY) == datetime(2026, 11, 30, 13, 0, tzinfo=NY)
    # Over the November DST change (Sun 2026-11-01): Friday 16:00 + 4 h → Monday 12:00 New York time.
    deadline = hours.after(datetime(2026, 10, 30, 16, 0, tzinfo=NY), four, NY)
    assert deadline is not None
    assert deadline.astimezone(NY).replace(tzinfo=None) == datetime(2026, 11, 2, 12, 0)
    assert hours.business_time(datetime(2026, 10, 30, 16, 0, tzinfo=NY), deadline, NY) == four
    never = dataclasses.replace(schedule.parse_office_hours("Mon-Mon 09:00-10:00"), closed=frozenset())
    assert never.after(datetime(2026, 11, 30, 9, 0, tzinfo=NY), timedelta(hours=2), NY) == datetime(
        2026, 12, 7, 10, 0, tzinfo=NY
    )
