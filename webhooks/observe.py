"""Every HTTP request as one log line and one metrics observation, under a request id the caller can quote.

The outermost wrapper of the app but for ProxyFix (which must run first so REMOTE_ADDR is the client's):
it sees the inbound text endpoint that answers before Flask as well as every Flask view. The id comes
from an `X-Request-Id` the proxy set (when it looks like one) or is made here; it is the `request_id`
of every line logged while the request runs and is returned in the response's `X-Request-Id`.

The line names the route by its URL rule (`/api/threads/<int:thread_id>`), never the path, which can
hold ids and numbers; it carries no query string, no header and no body. The time runs until the app
starts its response, when every Matterline response has its body made (a raw WSGI app that starts it
only while its body is read is timed until the server closes the body). Health probes log at DEBUG so
a load balancer's polling stays out of the INFO journal (they are still counted in the metrics).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Final

from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule

from connector import logs, metrics

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["HEADER", "RequestLog", "current_request_id", "install"]

LOGGER: Final = logging.getLogger("matterline.webhooks.requests")
HEADER: Final = "X-Request-Id"
UNMATCHED: Final = "unmatched"
_ENVIRON_HEADER: Final = "HTTP_X_REQUEST_ID"
# What a caller's id may be (it lands in log lines and audit entries): short and plain.
_VALID_ID: Final = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
# Polled by load balancers and scrapers: DEBUG while they answer well, INFO when they do not.
_QUIET: Final = frozenset({"/healthz", "/readyz", "/metrics"})


def install(app: Flask) -> None:
    """Wrap `app.wsgi_app` (call it after every other wrapper but ProxyFix)."""
    app.wsgi_app = RequestLog(app.wsgi_app, app.url_map)  # type: ignore[method-assign]


def static_routes(url_map: Map) -> frozenset[str]:
    """The rules without a variable part: a path equal to one of them is that route, no matching needed (the
    webhooks, which carry most of the traffic, are such rules)."""
    return frozenset(rule.rule for rule in url_map.iter_rules() if not rule.arguments)


def current_request_id() -> str:
    """The id of the request being answered (the one its log lines carry and its answer returns), for the
    audit entries it writes; a fresh one outside a request."""
    return logs.request_id.get() or uuid.uuid4().hex


def request_id_for(environ: WSGIEnvironment) -> str:
    """The caller's `X-Request-Id` when it is 1-64 safe characters, else a fresh one."""
    offered = environ.get(_ENVIRON_HEADER)
    if isinstance(offered, str) and _VALID_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


def route_of(url_map: Map, environ: WSGIEnvironment) -> str:
    """The URL rule the request matches (`/api/threads/<int:thread_id>`), or "unmatched"."""
    try:
        rule, _ = url_map.bind_to_environ(environ).match(return_rule=True)
    except HTTPException:  # NotFound, MethodNotAllowed, a slash redirect
        return UNMATCHED
    return rule.rule if isinstance(rule, Rule) else UNMATCHED


class RequestLog:
    """The WSGI middleware: request id in, `X-Request-Id` out, one `request` line and observation after."""

    def __init__(self, inner: WSGIApplication, url_map: Map) -> None:
        self._inner = inner
        self._url_map = url_map
        self._static: frozenset[str] | None = None  # read on first use: blueprints may register after install

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        rid = request_id_for(environ)
        token = logs.request_id.set(rid)
        started = time.perf_counter()
        seen: list[int] = []

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen.append(int(status.split(" ", 1)[0]))
            headers = [(k, v) for k, v in headers if k.lower() != HEADER.lower()]
            headers.append((HEADER, rid))
            return start_response(status, headers, exc_info)

        try:
            body = self._inner(environ, start)
        except BaseException:
            self._done(environ, rid, 500, started)
            raise
        else:
            if seen:  # Flask and the text endpoint answer with the status set and the body made: done now
                self._done(environ, rid, seen[-1], started)
                return body
            # An app that starts its response only when the body is read: done when the server closes it.
            return _Deferred(body, lambda: self._done(environ, rid, seen[-1] if seen else 500, started))
        finally:
            logs.request_id.reset(token)

    def _done(self, environ: WSGIEnvironment, rid: str, status: int, started: float) -> None:
        seconds = time.perf_counter() - started
        method = str(environ.get("REQUEST_METHOD", "GET"))
        if self._static is None:
            self._static = static_routes(self._url_map)
        path = environ.get("PATH_INFO")
        route = path if path in self._static else route_of(self._url_map, environ)
        level = logging.DEBUG if route in _QUIET and status < 400 else logging.INFO
        ms = round(seconds * 1000, 1)
        # The id is named here too: a deferred body is closed after the call has cleared the context.
        logs.log_event(LOGGER, level, "request", method=method, route=route, status=status, ms=ms, request_id=rid)
        metrics.observe_request(route, method, status, seconds)


class _Deferred:
    """A body whose status is not known yet, passed through; the request is done when the server closes it."""

    def __init__(self, inner: Iterable[bytes], done: Callable[[], None]) -> None:
        self._inner = inner
        self._done = done

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._inner)

    def close(self) -> None:
        try:
            closer = getattr(self._inner, "close", None)
            if closer is not None:
                closer()
        finally:
            self._done()
