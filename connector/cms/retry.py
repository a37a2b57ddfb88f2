"""The one retry policy: bounded attempts and time, full-jitter exponential backoff, Retry-After honoured."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    before_sleep_log,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from connector import const
from connector.cms.errors import RateLimitedError, RetryableError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try. Tests pass a `sleep` that records instead of sleeping."""

    max_attempts: int = const.RETRY_MAX_ATTEMPTS
    max_seconds: float = const.RETRY_MAX_SECONDS
    backoff_base: float = const.RETRY_BACKOFF_BASE
    backoff_max: float = const.RETRY_BACKOFF_MAX
    retry_after_ceiling: float = const.RETRY_AFTER_CEILING

    def wait_seconds(self, state: RetryCallState) -> float:
        """Retry-After when the CMS gave one, else full-jitter exponential backoff."""
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, RateLimitedError):
            return 0.0 if exc.paused else min(exc.retry_after, self.retry_after_ceiling)
        jitter = wait_random_exponential(multiplier=self.backoff_base, max=self.backoff_max)
        return float(jitter(state))

    def should_retry(self, exc: BaseException) -> bool:
        """Transient errors are retried; a Retry-After beyond the ceiling is left to a later run."""
        if isinstance(exc, RateLimitedError):
            return exc.retry_after <= self.retry_after_ceiling
        return isinstance(exc, RetryableError)

    def call(self, fn: Callable[[], T], *, sleep: Callable[[float], None] = time.sleep) -> T:
        """Run `fn` under this policy; the last error is re-raised when retries run out."""
        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts) | stop_after_delay(self.max_seconds),
            wait=self.wait_seconds,
            retry=retry_if_exception(self.should_retry),
            reraise=True,
            sleep=sleep,
            before_sleep=before_sleep_log(const.LOGGER, logging.WARNING),
        )
        return retrying(fn)


DEFAULT_POLICY = RetryPolicy()
