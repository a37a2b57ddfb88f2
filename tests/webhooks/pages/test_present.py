"""How a thread's facts read on a page (`webhooks/pages/present.py`): initials, numbers, times, statuses."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from webhooks.pages import present

LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)  # noon in Los Angeles


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Jane Doe", "JD"), ("Jane Q. Doe", "JD"), ("cher", "C"), ("  ", "?"), (None, "?"), ("Ann-Marie O'Neil", "AO")],
)
def test_initials(name: str | None, expected: str) -> None:
    assert present.initials(name) == expected


def test_phone_is_national_at_home_and_international_abroad() -> None:
    assert present.phone("+14158675309", "US") == "(415) 867-5309"
    assert present.phone("+442071838750", "US") == "+44 20 7183 8750"
    assert present.phone("not a number", "US") == "not a number"


def test_a_masked_number_keeps_only_its_last_two_digits() -> None:
    assert present.masked("+14158675309") == "•••• 09"
    assert present.masked("(415) 867-5309") == "•••• 09"


def test_when_is_in_the_firm_zone() -> None:
    assert present.when(datetime(2026, 11, 27, 17, 5, tzinfo=UTC), LA, NOW) == "9:05 AM"
    # 02:00 UTC on the 27th is still the 26th in Los Angeles.
    assert present.when(datetime(2026, 11, 27, 2, 0, tzinfo=UTC), LA, NOW) == "Nov 26"
    assert present.when(datetime(2025, 3, 1, 20, 0, tzinfo=UTC), LA, NOW) == "Mar 1, 2025"
    assert present.when(None, LA, NOW) == ""


def test_status_words() -> None:
    assert present.status_words("undelivered") == "Not delivered"
    assert present.status_words("scheduled") == "Held for quiet hours"
    assert present.status_words("partially_delivered") == "Partially delivered"
    assert present.status_words(None) == ""
