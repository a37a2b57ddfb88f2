"""Prometheus metrics: every counter and histogram Matterline keeps, defined once, and how /metrics renders them.

The code calls a small function at each event (a text received, a send's outcome, a CMS call, a write that
landed); this module turns that into a metric, so no caller knows Prometheus's API or a metric's name. Labels
are only ever bounded values (a route's rule, an HTTP method and status, a result word, a Twilio error code),
never a phone number, a body or an id: a scrape must be safe to hand to a monitoring service.

The store's own figures (queue depth, dead letters, sync age, sessions) are not counted here: they are read
from the store at each scrape by a collector the web app passes to `exposition`, so every process, web or
worker, reports the same truth.

Several processes: prometheus_client reads PROMETHEUS_MULTIPROC_DIR when it is first imported; with it set,
each process writes its counters and histograms to files there and `exposition` adds them up with
`multiprocess.MultiProcessCollector`. Without it, the process's own default registry is rendered.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Final

import prometheus_client
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

__all__ = [
    "cms_rate_limited",
    "cms_request",
    "cms_waited",
    "delivery_status",
    "exposition",
    "observe_request",
    "text_received",
    "text_sent",
    "writeback_landed",
]

# `*_created` series double every counter's lines and mean nothing to an admin; the same in every process.
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]

MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
# A webhook answer is expected in tens of milliseconds; Twilio gives up on one after 15 seconds.
REQUEST_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# A closed conversation should be on the matter within minutes; a day means write-back is stuck.
LAG_BUCKETS: Final = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400)
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS: Final = Counter(
    "matterline_http_requests",
    "HTTP requests answered, by route (the URL rule, never the path with ids), method and status code.",
    ("route", "method", "status"),
)
HTTP_DURATION: Final = Histogram(
    "matterline_http_request_duration_seconds",
    "Seconds from a request's arrival to its answer, by route and method (Twilio gives up after 15 s).",
    ("route", "method"),
    buckets=REQUEST_BUCKETS,
)
TEXTS_RECEIVED: Final = Counter(
    "matterline_texts_received",
    "Inbound texts Twilio posted: stored (new, waiting for intake), opt_out / opt_in / help (a new keyword "
    "text, stored and answered), duplicate (a MessageSid already stored: nothing kept).",
    ("result",),
)
TEXTS_SENT: Final = Counter(
    "matterline_texts_sent",
    "Send attempts by outcome: sent (Twilio accepted it), adopted (an unanswered call Twilio had carried out), "
    "failed (Twilio refused it for good, twilio_code says why), retried (will try again), dead (out of tries), "
    "blocked (a guardrail stopped it at send), held (waiting for quiet hours or a guardrail).",
    ("result", "twilio_code"),
)
DELIVERY_STATUS: Final = Counter(
    "matterline_delivery_status",
    "Twilio delivery status callbacks applied (repeats not counted), by status and Twilio error code.",
    ("status", "twilio_code"),
)
WRITEBACK_LAG: Final = Histogram(
    "matterline_writeback_lag_seconds",
    "Seconds from a conversation window closing to its record (transcript or summary) landing in the CMS.",
    buckets=LAG_BUCKETS,
)
CMS_REQUESTS: Final = Counter(
    "matterline_cms_requests",
    "HTTP calls to the CMS by method and status code; status 'error' when no answer came (connection, timeout).",
    ("method", "status"),
)
CMS_RATE_LIMITED: Final = Counter(
    "matterline_cms_rate_limited",
    "Times the CMS answered 429 Too Many Requests.",
)
CMS_WAIT: Final = Counter(
    "matterline_cms_rate_limit_wait_seconds",
    "Seconds spent holding CMS calls back: pacing to the CMS's rate limit, or waiting out a Retry-After.",
)

# Twilio's status words (delivery.RANK); anything else is counted as "other", so labels stay bounded.
_STATUSES: Final = frozenset(
    {
        "accepted",
        "scheduled",
        "queued",
        "sending",
        "sent",
        "delivered",
        "undelivered",
        "failed",
        "canceled",
        "partially_delivered",
        "read",
        "receiving",
        "received",
    }
)


def _code(code: int | str | None) -> str:
    """A Twilio error code as a label: digits only, "" when there is none."""
    text = "" if code is None else str(code).strip()
    return text if text.isdigit() and len(text) <= 6 else ""


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """One HTTP request answered (called once per request by the request-logging middleware).

    `route` must be the URL rule (e.g. `/api/threads/<int:thread_id>`) or a fixed word for unmatched paths,
    never the raw path: a path can carry ids and would make a series per record.
    """
    verb = method.upper() if method.upper() in _METHODS else "OTHER"
    HTTP_REQUESTS.labels(route, verb, str(int(status))).inc()
    HTTP_DURATION.labels(route, verb).observe(max(0.0, seconds))


def text_received(result: str) -> None:
    """An inbound text was stored once (or found to be a duplicate): `result` as in the metric's help."""
    TEXTS_RECEIVED.labels(result).inc()


def text_sent(result: str, twilio_code: int | str | None = None) -> None:
    """One send attempt's outcome, with Twilio's error code when it gave one."""
    TEXTS_SENT.labels(result, _code(twilio_code)).inc()


def delivery_status(status: str, code: int | str | None = None) -> None:
    """A delivery status callback was applied."""
    word = status.strip().lower()
    DELIVERY_STATUS.labels(word if word in _STATUSES else "other", _code(code)).inc()


def cms_request(method: str, status: int | str) -> None:
    """One HTTP call to the CMS came back with `status`, or "error" when no answer came."""
    verb = method.upper() if method.upper() in _METHODS else "OTHER"
    CMS_REQUESTS.labels(verb, str(status)).inc()


def cms_rate_limited() -> None:
    """The CMS answered 429."""
    CMS_RATE_LIMITED.inc()


def cms_waited(seconds: float) -> None:
    """CMS calls were held back this long (the rate limiter's pause)."""
    if seconds > 0:
        CMS_WAIT.inc(seconds)


def writeback_landed(lag_seconds: float) -> None:
    """A record of a closed window landed in the CMS, `lag_seconds` after the window closed."""
    WRITEBACK_LAG.observe(max(0.0, lag_seconds))


class _Process(Collector):
    """This process's default registry, borrowed for one scrape (the store collector is never added to it)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def multiprocess_dir() -> str | None:
    """Where the processes' metric files are, when several processes share them."""
    return os.environ.get(MULTIPROC_ENV) or None


def exposition(store_collector: Collector | None = None) -> tuple[bytes, str]:
    """The scrape: every process's counters (or this process's) plus the store's gauges, as text.

    A fresh registry per scrape: the store collector belongs to one app (tests build several), so it is
    never registered on the global default registry.

    Returns:
        The body and its content type (Prometheus's text format).
    """
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Process())
    if store_collector is not None:
        registry.register(store_collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST
