"""Request counters a benchmark or test reads back: counted the same way by both stand-ins, each naming its own."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any, ClassVar


class RequestStats:
    """Counters a benchmark or test reads back from a stand-in: `COUNTERS` plus requests per endpoint.

    Each stand-in names its counters once (as `COUNTERS` and as annotations, so they are typed);
    counting, resetting and the JSON snapshot are shared.
    """

    COUNTERS: ClassVar[tuple[str, ...]] = ("total_requests",)
    total_requests: int

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_endpoint: Counter[tuple[str, str]] = Counter()
        for name in self.COUNTERS:
            setattr(self, name, 0)

    def request(self, method: str, template: str) -> None:
        """Count one request against its (method, path template)."""
        with self._lock:
            self.total_requests += 1
            self.by_endpoint[(method, template)] += 1

    def bump(self, name: str) -> None:
        """Count one event named in `COUNTERS`."""
        if name not in self.COUNTERS:
            raise ValueError(f"unknown counter {name!r}")
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def reset(self) -> None:
        """Zero every counter (a benchmark phase starts clean)."""
        with self._lock:
            for name in self.COUNTERS:
                setattr(self, name, 0)
            self.by_endpoint.clear()

    def snapshot(self) -> dict[str, Any]:
        """The counters as JSON-ready data; endpoints keyed like `"GET /contacts.json"`."""
        with self._lock:
            counts: dict[str, Any] = {name: getattr(self, name) for name in self.COUNTERS}
            counts["by_endpoint"] = {f"{m} {p}": n for (m, p), n in sorted(self.by_endpoint.items())}
            return counts


class SandboxStats(RequestStats):
    """Counters a benchmark or test reads back: requests, per endpoint, 429s, refreshes, faults."""

    COUNTERS: ClassVar[tuple[str, ...]] = ("total_requests", "rate_limited", "refreshes", "faults_fired")
    rate_limited: int
    refreshes: int
    faults_fired: int


class TwilioStats(RequestStats):
    """Counters a benchmark or test reads back: creates, lists, callbacks, inbound posts, faults."""

    COUNTERS: ClassVar[tuple[str, ...]] = (
        "total_requests",
        "creates",
        "rejected",
        "lists",
        "fetches",
        "deletes",
        "media_fetches",
        "callbacks_sent",
        "callbacks_failed",
        "inbound_sent",
        "faults_fired",
        "rate_limited",
        "auth_failures",
    )
    creates: int
    rejected: int
    lists: int
    fetches: int
    deletes: int
    media_fetches: int
    callbacks_sent: int
    callbacks_failed: int
    inbound_sent: int
    faults_fired: int
    rate_limited: int
    auth_failures: int
