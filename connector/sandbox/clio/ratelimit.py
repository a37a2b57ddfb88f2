"""Clio's per-token rate limit in fixed windows, so a client's 429 handling meets real windows and headers."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The rate-limit verdict for one request and the header values that report it."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    retry_after: int


class SandboxRateLimiter:
    """Fixed windows aligned to multiples of the window on the epoch clock, counted per access token."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.limit: int | None = None
        self.window = 60.0
        self._counts: dict[str, tuple[float, int]] = {}

    def configure(self, limit: int | None, window_seconds: float = 60.0) -> None:
        """Set (or with None, lift) the limit; counting restarts."""
        if limit is not None and limit < 1:
            raise ValueError("rate limit must be at least 1 request per window")
        if window_seconds <= 0:
            raise ValueError("rate window must be positive")
        with self._lock:
            self.limit, self.window = limit, float(window_seconds)
            self._counts.clear()

    def hit(self, key: str) -> RateDecision | None:
        """Count one request for a token; None when no limit is configured."""
        with self._lock:
            if self.limit is None:
                return None
            now = self._clock()
            start = math.floor(now / self.window) * self.window
            window_start, used = self._counts.get(key, (start, 0))
            used = used + 1 if window_start == start else 1
            self._counts[key] = (start, used)
            end = start + self.window
            return RateDecision(
                allowed=used <= self.limit,
                limit=self.limit,
                remaining=max(self.limit - used, 0),
                reset=math.ceil(end),
                retry_after=max(1, math.ceil(end - now)),
            )
