"""Pacing by the CMS's rate-limit headers."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from connector.cms.ratelimit import RateLimiter, RateLimitHeaders, parse_retry_after

CLIO = RateLimitHeaders(
    limit="X-RateLimit-Limit",
    remaining="X-RateLimit-Remaining",
    reset="X-RateLimit-Reset",
    retry_after=("Retry-After", "Retry-At"),
)


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_given_window_allowance_used_when_next_request_then_waits_for_reset() -> None:
    clock = FakeClock(1000.0)
    limiter = RateLimiter(CLIO, clock=clock, sleep=clock.sleep)
    limiter.before_request()
    limiter.observe({"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "2", "X-RateLimit-Reset": "1060"})
    limiter.before_request()  # remaining 2 -> 1
    limiter.before_request()  # remaining 1 -> 0
    assert clock.slept == []
    limiter.before_request()  # nothing left in this window
    assert clock.slept == [pytest.approx(60.05)]
    assert limiter.waits == 1


def test_given_headers_with_room_when_requests_then_no_wait() -> None:
    clock = FakeClock(1000.0)
    limiter = RateLimiter(CLIO, clock=clock, sleep=clock.sleep)
    for remaining in range(40, 30, -1):
        limiter.before_request()
        limiter.observe({"X-RateLimit-Remaining": str(remaining), "X-RateLimit-Reset": "1060"})
    assert clock.slept == []


def test_given_a_reserve_when_other_processes_share_the_token_then_stops_early() -> None:
    clock = FakeClock(1000.0)
    limiter = RateLimiter(CLIO, reserve=1, clock=clock, sleep=clock.sleep)
    limiter.observe({"X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "1010"})
    limiter.before_request()
    assert clock.slept == [pytest.approx(10.05)]


def test_given_a_pause_when_next_request_then_waits_it_out() -> None:
    clock = FakeClock(1000.0)
    limiter = RateLimiter(CLIO, clock=clock, sleep=clock.sleep)
    limiter.pause(7)
    limiter.before_request()
    assert clock.slept == [pytest.approx(7)]
    limiter.before_request()
    assert clock.slept == [pytest.approx(7)]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "12"}, 12.0),
        ({"Retry-At": "1030"}, 1030.0),  # small numbers are delays
        ({"Retry-At": "1700000030"}, 30.0),  # epoch seconds
        ({"Retry-After": format_datetime(datetime.fromtimestamp(1700000045, UTC), usegmt=True)}, 45.0),
        ({}, 20.0),  # falls back to the window reset
    ],
)
def test_retry_after_forms(headers: dict[str, str], expected: float) -> None:
    clock = FakeClock(1_700_000_000.0)
    limiter = RateLimiter(CLIO, clock=clock, sleep=clock.sleep)
    limiter.observe({"X-RateLimit-Reset": "1700000020"})
    assert limiter.retry_after(headers) == pytest.approx(expected)


def test_parse_retry_after_rejects_garbage() -> None:
    assert parse_retry_after("soon", 0.0) is None
