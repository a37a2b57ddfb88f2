"""Pace requests by the CMS's own rate-limit headers so that the limit is reached but not tripped."""

from __future__ import annotations

import email.utils
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from connector import const, metrics
from connector.const import LOGGER

# A request sent exactly at the reset instant can still land in the old window.
_RESET_MARGIN = 0.05
# Epoch-looking numbers in Retry-At are timestamps, small ones are delays.
_EPOCH_THRESHOLD = 1_000_000_000


@dataclass(frozen=True, slots=True)
class RateLimitHeaders:
    """Header names and the meaning of the reset value; empty names mean the vendor sends none."""

    limit: str = ""
    remaining: str = ""
    reset: str = ""
    reset_format: str = "epoch_seconds"
    retry_after: tuple[str, ...] = ("Retry-After",)


def parse_retry_after(value: str, now: float) -> float | None:
    """Seconds to wait from a Retry-After/Retry-At value: delay seconds, epoch seconds, or an HTTP date."""
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None:
        return max(0.0, number - now) if number > _EPOCH_THRESHOLD else max(0.0, number)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            return None
    return max(0.0, when.timestamp() - now)


@dataclass
class RateLimiter:
    """Shared by every request of one client; thread-safe.

    With a fixed window, the fastest polite pace is to use the window's allowance and then wait for the
    reset the CMS announced; one request of slack is kept back when other processes may share the token.
    """

    headers: RateLimitHeaders = field(default_factory=RateLimitHeaders)
    reserve: int = 0
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    remaining: int | None = None
    limit: int | None = None
    reset_at: float | None = None
    paused_until: float = 0.0
    unavailable_streak: int = 0
    waits: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def before_request(self) -> None:
        """Block until a request may be sent without tripping the limit."""
        with self._lock:
            now = self.clock()
            delay = max(0.0, self.paused_until - now)
            if self.remaining is not None and self.remaining <= self.reserve and self.reset_at is not None:
                delay = max(delay, self.reset_at - now + _RESET_MARGIN)
            if delay > 0:
                self.waits += 1
                LOGGER.debug("rate limit: waiting %.2fs", delay)
                self.sleep(delay)
                metrics.cms_waited(delay)
                now = self.clock()
                if self.reset_at is not None and now >= self.reset_at:
                    self.remaining, self.reset_at = None, None
            if self.remaining is not None:
                self.remaining -= 1

    def observe(self, response_headers: Mapping[str, str]) -> None:
        """Learn the window from a response's headers."""
        names = self.headers
        with self._lock:
            limit = _int(response_headers.get(names.limit)) if names.limit else None
            remaining = _int(response_headers.get(names.remaining)) if names.remaining else None
            reset = _float(response_headers.get(names.reset)) if names.reset else None
            if limit is not None:
                self.limit = limit
            if remaining is not None:
                self.remaining = remaining
            if reset is not None:
                self.reset_at = reset if names.reset_format == "epoch_seconds" else self.clock() + reset

    def retry_after(self, response_headers: Mapping[str, str]) -> float:
        """How long a 429 asked us to wait (falling back to the window reset, then to one second)."""
        now = self.clock()
        for name in self.headers.retry_after:
            value = response_headers.get(name)
            if value:
                parsed = parse_retry_after(value, now)
                if parsed is not None:
                    return parsed
        if self.reset_at is not None and self.reset_at > now:
            return self.reset_at - now
        return 1.0

    def paused_for(self) -> float:
        """Seconds left of a pause the CMS asked for (0 when none is in force)."""
        with self._lock:
            return max(0.0, self.paused_until - self.clock())

    def unavailable(self) -> float:
        """A 503 that named no wait: hold every request, longer for each one in a row; the pause in seconds."""
        with self._lock:
            self.unavailable_streak += 1
            seconds: float = min(
                const.RETRY_BACKOFF_MAX, const.UNAVAILABLE_PAUSE * 2.0 ** (self.unavailable_streak - 1)
            )
            self.paused_until = max(self.paused_until, self.clock() + seconds)
            return seconds

    def available(self) -> None:
        """An answer came back: the next 503 starts its pause short again."""
        self.unavailable_streak = 0

    def pause(self, seconds: float) -> None:
        """Hold every request until `seconds` from now (after a 429 or 503 with Retry-After)."""
        with self._lock:
            self.paused_until = max(self.paused_until, self.clock() + seconds)


def _int(value: str | None) -> int | None:
    number = _float(value)
    return None if number is None else math.floor(number)


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None
