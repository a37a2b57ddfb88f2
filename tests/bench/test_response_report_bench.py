"""Response-time report benchmark (`make bench`): the report on a seeded month of realistic traffic.

400 threads and about 3,000 texts over four weeks, with the week before as a lead-in
(tests/support/response_traffic.month_of_traffic): four people answering at their own pace, clients texting
in office hours and out of them, automatic replies, reminders, keywords, a few waits never answered. Prints
the firm's and each person's medians and 90th percentiles by week (the figure for the lead's note), checks
them against the month's own record of its waits, and times the report on SQLite and (with
MATTERLINE_TEST_DATABASE_URL) PostgreSQL, against a baseline of the same report over a 20-thread month in the
same run. No timed asserts.
"""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter

import pytest

from connector.queries.response_times import Line, ResponseReport, report, spoken
from connector.store import make_engine, upgrade
from tests.support import firm
from tests.support.response_traffic import add_staff, expected, month_of_traffic, seed_traffic
from tests.support.stores import empty_store_url

pytestmark = pytest.mark.bench

START = date(2026, 10, 5)  # a Monday
DAYS = 28
RUNS = 15


def _print(found: ResponseReport, backend: str) -> None:
    print(f"\n[{backend}] first-response times, {found.start} to {found.end} ({found.timezone})")
    print(f"[{backend}]   {'':<24}{'answered':>9}{'unanswered':>11}  office median / p90     clock median / p90")
    for line in (found.firm, *found.people):
        _line(line, backend)


def _line(line: Line, backend: str) -> None:
    print(f"[{backend}]   {line.name}")
    for figures in (*line.weeks, line.total):
        label = f"week of {figures.week}" if figures.week else "whole month"
        office = f"{spoken(figures.median_business_minutes)} / {spoken(figures.p90_business_minutes)}"
        clock = f"{spoken(figures.median_clock_minutes)} / {spoken(figures.p90_clock_minutes)}"
        print(f"[{backend}]     {label:<22}{figures.answered:>9}{figures.unanswered:>11}  {office:<22}  {clock}")


def _timed(fn: object) -> tuple[float, float]:
    samples = []
    for _ in range(RUNS):
        started = perf_counter()
        fn()  # type: ignore[operator]
        samples.append((perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[-1]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_report_on_a_seeded_month(backend: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    settings = firm.settings()
    end = START + timedelta(days=DAYS - 1)
    timings: dict[str, tuple[float, float, int]] = {}
    for label, threads in (("baseline", 20), ("month", 400)):
        with empty_store_url(backend, tmp_path_factory) as url:
            engine = make_engine(url)
            upgrade(engine)
            exchanges, assignees = month_of_traffic(START, settings.office, settings.zone, threads=threads, days=DAYS)
            seeded = seed_traffic(engine, exchanges, add_staff(engine), assignees=assignees)
            found = report(engine, settings, start=START, end=end)
            begins = datetime.combine(START, time(0), settings.zone).astimezone(UTC)
            whole = expected(exchanges, settings.office, settings.zone, begins=begins)
            assert (found.firm.total.answered, found.firm.total.unanswered) == (whole.answered, whole.unanswered)
            assert found.firm.total.median_clock_minutes == whole.median_clock
            median, worst = _timed(lambda: report(engine, settings, start=START, end=end))  # noqa: B023
            timings[label] = (median, worst, seeded.texts)
            if label == "month":
                print(f"\n[{backend}] {threads} threads, {seeded.texts:,} texts, {len(exchanges):,} waits")
                _print(found, backend)
            engine.dispose()
    base = timings["baseline"][0]
    for median, worst, texts in timings.values():
        print(
            f"[{backend}] report over {texts:,} texts: median {median:7.1f} ms, slowest {worst:7.1f} ms "
            f"(ratio to baseline {median / base:5.1f})"
        )
