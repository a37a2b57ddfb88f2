"""The one retry policy: the same backoff for a CMS call retried in-process and an outbox job across rounds."""

from __future__ import annotations

import random
import statistics

import pytest

from connector.retry import CMS_CALLS, JOBS, Retry, RetryPolicy
from connector.settings import Settings


class Transient(Exception):
    """A failure worth another try."""


class Final(Exception):
    """A failure that will not go away."""


def classify(exc: BaseException) -> Retry | None:
    if isinstance(exc, Transient):
        return Retry(float(exc.args[0])) if exc.args else Retry()
    return None


def test_backoff_is_full_jitter_under_a_doubling_ceiling_and_a_cap() -> None:
    random.seed(7)
    policy = RetryPolicy(backoff_base=0.5, backoff_max=30.0)
    for attempt, ceiling in ((1, 0.5), (2, 1.0), (3, 2.0), (7, 30.0), (40, 30.0)):
        waits = [policy.backoff(attempt) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling * 0.8  # it really spreads up to the ceiling
    assert JOBS.backoff_max == 600.0 > CMS_CALLS.backoff_max == 30.0


def test_a_requested_wait_wins_over_backoff() -> None:
    assert JOBS.delay(5, retry_after=42.0).total_seconds() == 42.0
    assert 0 <= JOBS.delay(1).total_seconds() <= 0.5


def test_call_retries_what_classify_allows_and_sleeps_the_requested_wait() -> None:
    slept: list[float] = []
    outcomes = iter([Transient("3"), Transient(), "done"])

    def flaky() -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    policy = RetryPolicy(max_attempts=5, backoff_base=0.01, backoff_max=0.02)
    assert policy.call(flaky, classify=classify, sleep=slept.append) == "done"
    assert slept[0] == 3.0  # the far side's Retry-After
    assert 0 <= slept[1] <= 0.02  # then backoff


def test_call_gives_up_on_final_errors_at_once_and_on_waits_past_the_ceiling() -> None:
    slept: list[float] = []
    calls = 0

    def fails(exc: Exception) -> None:
        nonlocal calls
        calls += 1
        raise exc

    policy = RetryPolicy(max_attempts=5, retry_after_ceiling=60.0)
    with pytest.raises(Final):
        policy.call(lambda: fails(Final()), classify=classify, sleep=slept.append)
    with pytest.raises(Transient):
        policy.call(lambda: fails(Transient("600")), classify=classify, sleep=slept.append)
    assert (calls, slept) == (2, [])


def test_call_stops_after_max_attempts() -> None:
    calls = 0

    def always() -> None:
        nonlocal calls
        calls += 1
        raise Transient

    with pytest.raises(Transient):
        RetryPolicy(max_attempts=3, backoff_base=0.001).call(always, classify=classify, sleep=lambda _s: None)
    assert calls == 3


def test_at_the_default_tries_a_queued_job_outlasts_an_outage_of_about_forty_minutes() -> None:
    """What the README promises an admin: a Twilio or CMS outage shorter than that is ridden out, not dead-lettered."""
    random.seed(15)
    tries = Settings().outbox_max_attempts
    waited = sorted(sum(JOBS.delay(n).total_seconds() for n in range(1, tries)) / 60 for _ in range(2_000))
    assert 44 < statistics.mean(waited) < 52
    assert waited[20] > 25  # under 30 minutes about once in a hundred
    assert JOBS.delay(1).total_seconds() <= 0.5  # and the first tries still come within seconds
