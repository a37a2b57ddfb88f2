"""The one retry policy: bounded attempts and time, full-jitter exponential backoff, a far side's wait honoured.

Two things retry. A CMS call is retried in-process, a few times within seconds (`CMS_CALLS`). An outbox
job (a text, a CMS write) is retried across worker rounds, over minutes, until it is dead-lettered
(`JOBS`). Both draw their waits from the same `RetryPolicy.delay`, so "how long after the third
failure" has one answer per policy, and a `Retry-After` wins over backoff in both.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    before_sleep_log,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

from connector import const

__all__ = ["CMS_CALLS", "JOBS", "Retry", "RetryPolicy"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Retry:
    """A failure's answer to "try again?": `after` is the wait the far side asked for (None: back off).

    `held` says a shared limiter already holds every request for that long, so the retry sleeps no more.
    """

    after: float | None = None
    held: bool = False


Classify = Callable[[BaseException], Retry | None]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try. Tests pass a `sleep` that records instead of sleeping."""

    max_attempts: int = const.RETRY_MAX_ATTEMPTS
    max_seconds: float = const.RETRY_MAX_SECONDS
    backoff_base: float = const.RETRY_BACKOFF_BASE
    backoff_max: float = const.RETRY_BACKOFF_MAX
    # A requested wait beyond this is "come back later": not slept through in-process.
    retry_after_ceiling: float = const.RETRY_AFTER_CEILING

    def backoff(self, attempt: int) -> float:
        """Full jitter: a random wait up to `base * 2**(attempt - 1)`, capped at `backoff_max` (AWS's advice)."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** max(0, attempt - 1))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not security

    def delay(self, attempt: int, retry_after: float | None = None) -> timedelta:
        """How long to wait after failed attempt number `attempt`: what the far side asked for, else backoff."""
        return timedelta(seconds=retry_after if retry_after is not None else self.backoff(attempt))

    def call(self, fn: Callable[[], T], *, classify: Classify, sleep: Callable[[float], None] = time.sleep) -> T:
        """Run `fn`, retrying failures `classify` calls retryable; the last error is re-raised when retries run out.

        A failure whose requested wait exceeds `retry_after_ceiling` is not retried here: the caller
        defers the work instead of holding a thread that long.
        """

        def retryable(exc: BaseException) -> bool:
            verdict = classify(exc)
            return verdict is not None and (verdict.after is None or verdict.after <= self.retry_after_ceiling)

        def wait(state: RetryCallState) -> float:
            outcome = state.outcome
            exc = outcome.exception() if outcome is not None else None
            verdict = classify(exc) if exc is not None else None
            if verdict is not None and verdict.held:
                return 0.0
            return self.delay(state.attempt_number, verdict.after if verdict else None).total_seconds()

        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts) | stop_after_delay(self.max_seconds),
            wait=wait,
            retry=retry_if_exception(retryable),
            reraise=True,
            sleep=sleep,
            before_sleep=before_sleep_log(const.LOGGER, logging.WARNING),
        )
        return retrying(fn)


# A CMS request, retried in-process: seconds, a handful of tries.
CMS_CALLS: Final = RetryPolicy()
# An outbox job, retried across worker rounds until MATTERLINE_OUTBOX_MAX_ATTEMPTS: minutes between tries.
JOBS: Final = RetryPolicy(backoff_max=const.JOB_BACKOFF_MAX)
