"""`GET /metrics`: Prometheus's scrape, for the firm's monitoring only.

Off unless the admin says who may read it (MATTERLINE_METRICS_TOKEN, MATTERLINE_METRICS_ALLOW): then a
404, as if there were no such page. When on, a scraper sends `Authorization: Bearer <token>` or calls from
an allowed address (the client's address after MATTERLINE_PROXY_HOPS, so behind a proxy it is the
scraper's, not the proxy's); anyone else gets a 401. The figures hold no phone number, body or name, but
queue depths and traffic are still the firm's business.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Iterable
from typing import Final

from flask import Blueprint, Response, g, request
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from connector import metrics
from connector.errors import Kind, MatterlineError, not_found
from connector.queries import operations
from connector.settings import Settings
from webhooks.state import app_state

__all__ = ["PATH", "StoreCollector", "blueprint"]

LOGGER: Final = logging.getLogger("matterline.webhooks.metrics")
PATH: Final = "/metrics"

blueprint = Blueprint("metrics", __name__)


class StoreCollector(Collector):
    """The store's figures as gauges, read when Prometheus scrapes (`connector.queries.operations`).

    A store that cannot answer leaves these gauges out of that scrape (and logs it) rather than failing it,
    so the process counters still arrive; alert on the gauges being absent.
    """

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings

    def collect(self) -> Iterable[Metric]:
        try:
            ops = operations.snapshot(self._engine, self._settings)
        except SQLAlchemyError as exc:  # its text can hold the database URL: the type only
            LOGGER.warning("metrics.store_unreadable error=%s", type(exc).__name__)
            return []
        return _gauges(ops)


def _gauges(ops: operations.Operations) -> list[Metric]:
    jobs = GaugeMetricFamily(
        "matterline_outbox_jobs", "Outbox jobs waiting (pending) or given up (dead), by kind.", labels=("kind", "state")
    )
    oldest = GaugeMetricFamily(
        "matterline_outbox_oldest_seconds",
        "pending: seconds the most overdue job has been due and not done (held texts are not overdue); "
        "dead: age of the oldest dead job. 0 when none.",
        labels=("kind", "state"),
    )
    for figure in ops.outbox:
        jobs.add_metric((figure.kind, figure.state), figure.jobs)
        oldest.add_metric((figure.kind, figure.state), figure.oldest_seconds)
    dead = GaugeMetricFamily(
        "matterline_dead_letters",
        "Jobs that ran out of tries and wait for an admin (Admin > Outbox, or `matterline outbox list --dead`).",
        labels=("kind",),
    )
    for kind, count in sorted(ops.dead_letters.items()):
        dead.add_metric((kind,), count)
    pending = GaugeMetricFamily(
        "matterline_writeback_pending_oldest_seconds",
        "Seconds since the oldest conversation window with a record not yet in the CMS closed; 0 when none.",
        value=ops.writeback_pending_oldest_seconds,
    )
    sync = GaugeMetricFamily(
        "matterline_sync_age_seconds",
        "Seconds since the last completed sync from the CMS, by resource (absent: never synced).",
        labels=("resource",),
    )
    for resource, age in sorted(ops.sync_age_seconds.items()):
        sync.add_metric((resource,), age)
    backlog = GaugeMetricFamily(
        "matterline_intake_backlog",
        "Inbound texts stored and not yet taken in by the worker.",
        value=ops.intake_backlog,
    )
    backlog_age = GaugeMetricFamily(
        "matterline_intake_oldest_seconds",
        "Seconds the oldest text waiting for intake has waited; 0 when none (a stuck worker shows here).",
        value=ops.intake_oldest_seconds,
    )
    live = GaugeMetricFamily(
        "matterline_sessions", "Staff sign-in sessions neither ended nor expired.", value=ops.sessions
    )
    return [jobs, oldest, dead, pending, sync, backlog, backlog_age, live]


def _allowed_address(networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


def _authorize(settings: Settings) -> None:
    """Refuse unless the caller holds the token or calls from an allowed address.

    Raises:
        MatterlineError: not_found when metrics are off; unauthenticated otherwise.
    """
    if not settings.metrics_token and not settings.metrics_allow:
        raise not_found("no such page (metrics are off: set MATTERLINE_METRICS_TOKEN or MATTERLINE_METRICS_ALLOW)")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    sent = scheme.lower() == "bearer" and bool(token.strip())
    if sent and settings.metrics_token and hmac.compare_digest(token.strip().encode(), settings.metrics_token.encode()):
        return
    if _allowed_address(settings.metrics_allow):
        return
    g.metrics_token_rejected = sent
    raise MatterlineError(
        Kind.UNAUTHENTICATED,
        "invalid_token" if sent else "unauthorized",
        "the metrics token is wrong" if sent else "metrics need Authorization: Bearer <MATTERLINE_METRICS_TOKEN>",
    )


@blueprint.get(PATH)
def scrape() -> Response:
    """The scrape in Prometheus's text format: the processes' counters plus the store's gauges."""
    state = app_state()
    _authorize(state.settings)
    body, content_type = metrics.exposition(StoreCollector(state.engine, state.settings))
    response = Response(body, status=200, content_type=content_type)
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.after_request
def _challenge(response: Response) -> Response:
    """Say how to authenticate on a 401 (RFC 6750)."""
    if response.status_code == 401:
        bad = g.get("metrics_token_rejected", False)
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics", error="invalid_token"' if bad else "Bearer"
        response.headers["Cache-Control"] = "no-store"
    return response
