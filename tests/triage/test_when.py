"""Dates in a text read against the moment it arrived: the bucket the classifier sees is right for the
weekday, the month's turn, Spanish, and texting spellings."""

from __future__ import annotations

from datetime import datetime

import pytest

from connector.triage.when import read

FRIDAY_EVENING = datetime(2026, 12, 4, 17, 30)
TUESDAY_NIGHT = datetime(2026, 12, 1, 22, 10)


@pytest.mark.parametrize(
    ("text", "at", "days", "bucket"),
    [
        ("hearing tomorrow at 9", TUESDAY_NIGHT, 1, "when:tomorrow"),
        ("court is monday", FRIDAY_EVENING, 3, "when:next_business_day"),  # the next business day
        ("court is monday", TUESDAY_NIGHT, 6, "when:this_week"),
        ("sentencing is next wednesday", TUESDAY_NIGHT, 8, "when:later"),  # not tomorrow: a week on
        ("the hearing is next month", FRIDAY_EVENING, 30, "when:later"),
        ("they came tonight", FRIDAY_EVENING, 0, "when:today"),
        ("tengo cita con migracion manana", TUESDAY_NIGHT, 1, "when:tomorrow"),
        ("la audiencia es el 14 de diciembre", FRIDAY_EVENING, 10, "when:later"),
        ("audiencia el lunes", FRIDAY_EVENING, 3, "when:next_business_day"),
        ("eviction on the 7th", FRIDAY_EVENING, 3, "when:next_business_day"),
        ("the 2nd", FRIDAY_EVENING, 29, "when:later"),  # the 2nd has passed: next month's
        ("answer due 12/8", FRIDAY_EVENING, 4, "when:this_week"),
        ("response due in 3 days", FRIDAY_EVENING, 3, "when:next_business_day"),
        ("check in tmrw 8am", TUESDAY_NIGHT, 1, "when:tomorrow"),
        ("he got arrested last night", FRIDAY_EVENING, -1, "when:past"),
        ("mediation march 3", FRIDAY_EVENING, 89, "when:later"),  # next year's March
    ],
)
def test_a_named_date_is_read_against_the_arrival(text: str, at: datetime, days: int, bucket: str) -> None:
    reading = read(text, at)
    assert reading is not None
    assert (reading.days, reading.bucket) == (days, bucket)


def test_the_nearest_date_still_ahead_wins_and_no_date_reads_nothing() -> None:
    reading = read("he was picked up yesterday and the bail hearing is tomorrow", FRIDAY_EVENING)
    assert reading is not None
    assert (reading.days, reading.phrase) == (1, "tomorrow")
    assert read("can you call me when you get a chance", FRIDAY_EVENING) is None
    assert read("I sat in the car and watched the sun", FRIDAY_EVENING) is None  # "sat", "sun": not days
