"""Fault injection: the failures a real Clio or Twilio, and the network in front of them, hand a client.

A test arms a `Fault` on the sandbox state; the next matching request(s) fail in that way. The
connection-level kinds (`drop`, `applied_lost`) close the real TCP socket without an answer, so a
client sees exactly what it would see in production: a `requests.exceptions.ConnectionError`.
Both stand-ins serve their API through `serve_with_faults`, so a fault fires the same way on either;
only the shape of the answer is each stand-in's own.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, Final, NoReturn

from werkzeug.wrappers import Response

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from connector.sandbox.stats import RequestStats

FAULT_KINDS: Final = ("status", "rate_limit", "slow", "drop", "applied_lost", "html", "broken_json", "repeat_token")
# Kinds answered before the request reaches the API (nothing is applied).
IMMEDIATE_KINDS: Final = frozenset({"status", "rate_limit", "html", "broken_json"})
JSON_MIMETYPE: Final = "application/json"
MAINTENANCE_PAGE: Final = (
    "<!DOCTYPE html>\n<html><head><title>Clio is down for scheduled maintenance</title></head>\n"
    "<body><h1>We'll be back shortly</h1><p>Clio is undergoing scheduled maintenance.</p></body></html>\n"
)
# A page cut off mid-record, as a proxy that gave up half-way through would deliver it.
BROKEN_JSON: Final = b'{"data":[{"id":10000001,"etag":"\\"9a103be2201ae758","name":"Jane Do'
SOCKET_KEY: Final = "werkzeug.socket"


class ConnectionDropped(ConnectionAbortedError):
    """Raised inside the WSGI app after the socket is shut; the server then writes nothing."""


@dataclass(frozen=True, slots=True)
class Fault:
    """One armed failure: which requests it hits, how often, and what the client sees.

    `path` is relative to the stand-in's API root (`/api/v4` for Clio, `/2010-04-01/Accounts/{AccountSid}`
    for Twilio) and may use `*` globs; `method` may be `*`. With a `probability` below 1 a matching request
    is hit only that often (drawn from its own generator, seeded by `seed` so a run can be repeated); a
    miss uses up none of its `times` and lets the next armed fault try, so a few such faults make a mix.
    """

    kind: str
    method: str = "GET"
    path: str = "/contacts.json"
    times: int = 1
    status: int = 500
    delay: float = 0.0
    retry_after: int = 1
    # A `status` answer that repeats the request body in its message, as some APIs' validation errors do.
    echo: bool = False
    probability: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if self.times < 1:
            raise ValueError("times must be at least 1")
        if not 100 <= self.status <= 599:
            raise ValueError("status must be an HTTP status code")
        if self.delay < 0 or self.retry_after < 0:
            raise ValueError("delay and retry_after must not be negative")
        if not 0 < self.probability <= 1:
            raise ValueError("probability must be above 0 and at most 1")

    def matches(self, method: str, path: str) -> bool:
        """True when this fault applies to a request (method case-insensitive, path glob)."""
        method_ok = self.method == "*" or self.method.upper() == method.upper()
        return method_ok and fnmatchcase(path, self.path)

    @classmethod
    def from_json(cls, payload: Mapping[str, Any]) -> Fault:
        """Build a fault from the control endpoint's JSON body, rejecting unknown keys."""
        known = {"kind", "method", "path", "times", "status", "delay", "retry_after", "echo", "probability", "seed"}
        unknown = sorted(set(payload) - known)
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(unknown)}")
        if "kind" not in payload:
            raise ValueError("fault needs a kind")
        return cls(
            kind=str(payload["kind"]),
            method=str(payload.get("method", "GET")),
            path=str(payload.get("path", "/contacts.json")),
            times=int(payload.get("times", 1)),
            status=int(payload.get("status", 500)),
            delay=float(payload.get("delay", 0.0)),
            retry_after=int(payload.get("retry_after", 1)),
            echo=bool(payload.get("echo", False)),
            probability=float(payload.get("probability", 1.0)),
            seed=None if payload.get("seed") is None else int(payload["seed"]),
        )

    def to_json(self) -> dict[str, Any]:
        """The fault as a JSON object (the shape `from_json` reads)."""
        return asdict(self)


class _Armed:
    """A fault plus how many more requests it will hit, and the draws that decide whether it hits this one."""

    __slots__ = ("_draws", "fault", "remaining")

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.remaining = fault.times
        self._draws = random.Random(fault.seed)

    def hits(self, method: str, path: str) -> bool:
        """True when the fault matches the request and, for a probabilistic one, the draw says so."""
        if not self.fault.matches(method, path):
            return False
        return self.fault.probability >= 1 or self._draws.random() < self.fault.probability


class FaultQueue:
    """Armed faults in the order they were added; thread-safe, since the server is threaded."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[_Armed] = []

    def add(self, fault: Fault) -> None:
        """Arm a fault behind any already armed."""
        with self._lock:
            self._armed.append(_Armed(fault))

    def take(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first armed fault matching this request, if any."""
        with self._lock:
            for armed in self._armed:
                if armed.hits(method, path):
                    armed.remaining -= 1
                    if armed.remaining <= 0:
                        self._armed.remove(armed)
                    return armed.fault
        return None

    def clear(self) -> None:
        """Disarm everything."""
        with self._lock:
            self._armed.clear()

    def pending(self) -> list[tuple[Fault, int]]:
        """Each armed fault with its remaining uses."""
        with self._lock:
            return [(armed.fault, armed.remaining) for armed in self._armed]

    def __len__(self) -> int:
        with self._lock:
            return len(self._armed)


def garbled_response(fault: Fault) -> Response | None:
    """The answer for `html` and `broken_json`, the same from either stand-in; None for every other kind."""
    if fault.kind == "html":
        return Response(MAINTENANCE_PAGE, status=200, mimetype="text/html")
    if fault.kind == "broken_json":
        return Response(BROKEN_JSON, status=200, mimetype=JSON_MIMETYPE)
    return None


def pause(fault: Fault) -> None:
    """Hold a `slow` request for its delay before it is served normally."""
    if fault.kind == "slow" and fault.delay > 0:
        time.sleep(fault.delay)


def drop_connection(environ: WSGIEnvironment) -> NoReturn:
    """Close the client's TCP connection without a byte of response, then abort the WSGI call.

    Werkzeug's dev server puts the socket in the environ and treats a `ConnectionError` from the app
    as a dropped connection, so nothing is written afterwards.
    """
    sock = environ.get(SOCKET_KEY)
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    raise ConnectionDropped("sandbox fault: connection dropped")


def serve_with_faults(
    faults: FaultQueue,
    stats: RequestStats,
    method: str,
    path: str,
    environ: WSGIEnvironment,
    *,
    answer: Callable[[Fault], Response | None],
    serve: Callable[[Fault | None], Response],
) -> Response:
    """Serve one API request under the first armed fault it matches (if any), the same way for both stand-ins.

    `drop` closes the socket unanswered and `slow` waits; then `answer` gives the stand-in's own reply for
    the kinds that never reach the API (None lets the request through). `serve` answers the request and
    is told which fault fired (`repeat_token` changes the answer); after `applied_lost` the request is
    applied and the connection dropped before the reply. Counts `faults_fired` and `rate_limited`.
    """
    fault = faults.take(method, path)
    if fault is not None:
        stats.bump("faults_fired")
        if fault.kind == "drop":
            drop_connection(environ)
        pause(fault)
        if fault.kind == "rate_limit":
            stats.bump("rate_limited")
        early = answer(fault)
        if early is not None:
            return early
    response = serve(fault)
    if fault is not None and fault.kind == "applied_lost":
        drop_connection(environ)
    return response
