"""The response-time report: waits counted by hand (tests/support/response_traffic.hand_counted) read back by
week in the firm's zone, for the firm and each person; nearest-rank statistics; the default period."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine

from connector.errors import MatterlineError
from connector.queries.response_times import Figures, nearest_rank, period, report, spoken
from tests.support import firm
from tests.support.response_traffic import STAFF, add_staff, hand_counted, seed_traffic

MON_9, MON_16 = date(2026, 11, 9), date(2026, 11, 16)


def _numbers(figures: Figures) -> tuple[object, ...]:
    return (
        figures.week,
        figures.answered,
        figures.unanswered,
        figures.median_business_minutes,
        figures.p90_business_minutes,
        figures.median_clock_minutes,
        figures.p90_clock_minutes,
    )


def test_waits_counted_by_hand_read_back_by_week_for_the_firm_and_each_person(engine: Engine) -> None:
    settings = firm.settings()
    staff = add_staff(engine, STAFF[:2])
    exchanges, assignees = hand_counted()
    seed_traffic(engine, exchanges, staff, assignees=assignees)

    found = report(engine, settings, start=MON_9, end=date(2026, 11, 22))

    assert found.weeks == (MON_9, MON_16)
    assert [_numbers(week) for week in found.firm.weeks] == [
        (MON_9, 4, 0, 10.0, 60.0, 575.0, 3900.0),
        (MON_16, 2, 2, 20.0, 30.0, 30.0, 570.0),
    ]
    assert _numbers(found.firm.total) == (None, 6, 2, 20.0, 60.0, 570.0, 3900.0)
    avery, blake = found.people
    assert (avery.user_id, avery.name, blake.user_id, blake.name) == (
        staff[0],
        "Avery Attorney",
        staff[1],
        "Blake Partner",
    )
    assert [(w.answered, w.unanswered) for w in avery.weeks] == [(3, 0), (1, 0)]
    assert _numbers(avery.total) == (None, 4, 0, 10.0, 60.0, 575.0, 3900.0)
    # Blake answered one wait each week and has the unanswered one of his thread; the unassigned one is nobody's.
    assert [_numbers(w) for w in blake.weeks] == [
        (MON_9, 1, 0, 45.0, 45.0, 45.0, 45.0),
        (MON_16, 1, 1, 30.0, 30.0, 30.0, 30.0),
    ]

    # One week alone: the waits of the other are not in it, and nor is anyone with nothing in it.
    first = report(engine, settings, start=MON_9, end=date(2026, 11, 15))
    assert (first.weeks, first.firm.total.answered, first.firm.total.unanswered) == ((MON_9,), 4, 0)
    empty = report(engine, settings, start=date(2026, 1, 5), end=date(2026, 1, 11))
    assert empty.empty
    assert empty.people == ()
    with pytest.raises(MatterlineError) as refused:
        report(engine, settings, start=MON_16, end=MON_9)
    assert refused.value.code == "invalid_period"


def test_percentiles_are_nearest_rank_and_durations_read_as_people_say_them() -> None:
    waits = [30.0, 10.0, 20.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0]
    assert (nearest_rank(waits, 50), nearest_rank(waits, 90)) == (50.0, 90.0)
    assert (nearest_rank([1.0, 2.0, 3.0, 4.0], 50), nearest_rank([7.0], 90), nearest_rank([], 50)) == (2.0, 7.0, None)
    assert [spoken(m) for m in (80, 45, 60, 3900, 1440, 0.2, None)] == [
        "1 h 20 m",
        "45 m",
        "1 h",
        "2 d 17 h",
        "1 d",
        "under 1 m",
        "—",
    ]


def test_the_default_period_is_the_last_four_whole_weeks_in_the_firm_zone() -> None:
    settings = firm.settings()
    # Monday 7 December 2026, 3 am in UTC: still Sunday the 6th in New York, so this week began on Nov 30.
    now = datetime(2026, 12, 7, 3, tzinfo=UTC)
    assert period(settings, now=now) == (date(2026, 11, 2), date(2026, 11, 29))
    assert period(settings, date(2026, 11, 20), now=now) == (date(2026, 11, 20), date(2026, 12, 6))
    assert period(settings, None, date(2026, 11, 28), now=now) == (date(2026, 11, 1), date(2026, 11, 28))
