"""A settable clock for the stand-ins' state: a test moves `now` to let a token, a code or a nonce expire."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["SettableClock"]


class SettableClock:
    """Stands still at a fixed instant until a test moves `now`."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now
