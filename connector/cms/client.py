"""The one HTTP session to the CMS: timeouts, credentials, pacing, retries and error classes in one place."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from connector import const, metrics
from connector.cms.auth import Credentials
from connector.cms.errors import (
    Action,
    AmbiguousWriteError,
    CmsError,
    ConfigError,
    FatalError,
    RateLimitedError,
    RetryableError,
    classify,
    retry_verdict,
)
from connector.cms.ratelimit import RateLimiter
from connector.retry import CMS_CALLS, RetryPolicy
from mappings.fieldpath import FieldPath

# Methods whose repetition cannot create a second record.
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"})
_MAX_MESSAGE = 300


@dataclass(frozen=True, slots=True)
class CmsResponse:
    """A successful answer: JSON body (None for 204), headers and the URL actually fetched."""

    status: int
    body: Any
    headers: Mapping[str, str]
    url: str
    links: Mapping[str, Mapping[str, str]]


@dataclass
class ClientStats:
    """Counters the sync report and the benchmarks read."""

    requests: int = 0
    rate_limited: int = 0
    retries: int = 0
    refreshes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def bump(self, name: str) -> None:
        """Add one to counter `name`."""
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)


class CmsClient:
    """Calls one CMS. Creates (POST) are never retried after they may have reached the CMS."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        headers: Mapping[str, str] | None = None,
        error_message_paths: tuple[FieldPath, ...] = (),
        limiter: RateLimiter | None = None,
        policy: RetryPolicy = CMS_CALLS,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: tuple[float, float] = const.HTTP_TIMEOUT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._origin = urlsplit(self.base_url)[:2]
        self.credentials = credentials
        self.session = session or requests.Session()
        self.session.headers.update({"User-Agent": const.USER_AGENT, **(headers or {})})
        self._error_paths = error_message_paths
        self.limiter = limiter or RateLimiter()
        self.policy = policy
        self._sleep = sleep
        self._timeout = timeout
        self.stats = ClientStats()

    def url_for(self, path_or_url: str) -> str:
        """An absolute URL on the CMS; a URL the CMS handed back must stay on the CMS's own host.

        Raises:
            FatalError: the URL points elsewhere, where the bearer token must not be sent.
        """
        if "://" not in path_or_url:
            return self.base_url + "/" + path_or_url.lstrip("/")
        url = urljoin(self.base_url + "/", path_or_url)
        if urlsplit(url)[:2] != self._origin:
            raise FatalError(_endpoint("GET", url), "the CMS pointed at another host; refusing to follow")
        return url

    def get(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> CmsResponse:
        """GET with retries."""
        return self.request("GET", path_or_url, params=params)

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> CmsResponse:
        """Send one logical request, retrying what is safe to retry.

        Raises:
            RateLimitedError: still rate limited when retries ran out (or asked to wait too long).
            RetryableError: a transient failure outlasted the retry policy.
            AmbiguousWriteError: a create may or may not have been applied; reconcile before writing again.
            ConfigError: credentials, permissions or API version need an admin.
            FatalError: the CMS refused the request.
        """
        method = method.upper()
        url = self.url_for(path_or_url)
        attempts = 0

        def attempt() -> CmsResponse:
            nonlocal attempts
            attempts += 1
            if attempts > 1:
                self.stats.bump("retries")
            return self._send(method, url, params, json)

        return self.policy.call(attempt, classify=retry_verdict, sleep=self._sleep)

    def _send(self, method: str, url: str, params: Mapping[str, Any] | None, body: Any) -> CmsResponse:
        endpoint = _endpoint(method, url)
        response = self._exchange(method, url, params, body, endpoint)
        if response.status_code == 401 and self.credentials.refresh():
            self.stats.bump("refreshes")
            response = self._exchange(method, url, params, body, endpoint)
        return self._interpret(method, response, endpoint)

    def _exchange(
        self, method: str, url: str, params: Mapping[str, Any] | None, body: Any, endpoint: str
    ) -> requests.Response:
        authorization = self.credentials.authorization()
        if authorization is None and not self.credentials.refresh():
            raise ConfigError(endpoint, "no CMS credentials configured (MATTERLINE_CMS_ACCESS_TOKEN or OAuth)")
        if authorization is None:
            self.stats.bump("refreshes")
            authorization = self.credentials.authorization()
        self.limiter.before_request()
        self.stats.bump("requests")
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                json=body,
                headers={"Authorization": authorization or ""},
                timeout=self._timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            metrics.cms_request(method, "error")
            raise _transport_error(method, endpoint, exc) from None
        metrics.cms_request(method, response.status_code)
        return response

    def _interpret(self, method: str, response: requests.Response, endpoint: str) -> CmsResponse:
        self.limiter.observe(response.headers)
        status = response.status_code
        if 200 <= status < 300:
            self.limiter.available()
            return CmsResponse(status, self._decode(response, endpoint), response.headers, response.url, response.links)
        message = self._cms_message(response)
        action = classify(status)
        if action is Action.RATE_LIMITED:
            self.stats.bump("rate_limited")
            metrics.cms_rate_limited()
            wait = self.limiter.retry_after(response.headers)
            self.limiter.pause(wait)
            raise RateLimitedError(endpoint, message, status=status, retry_after=wait, paused=True)
        if action is Action.RETRY:
            retry_after = self.limiter.retry_after(response.headers) if _has_retry_after(response) else None
            if retry_after is not None:
                self.limiter.pause(retry_after)
            elif status == 503:  # the whole service is down, not this one request
                self.limiter.unavailable()
            if method not in _IDEMPOTENT:
                raise AmbiguousWriteError(endpoint, message, status=status)
            raise RetryableError(endpoint, message, status=status)
        if action is Action.FIX_CONFIG:
            raise ConfigError(endpoint, message, status=status)
        raise FatalError(endpoint, message, status=status)

    def _decode(self, response: requests.Response, endpoint: str) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        content_type = response.headers.get("Content-Type", "")
        if "json" not in content_type:
            kind = content_type.split(";")[0] or "no content type"
            raise RetryableError(endpoint, f"answered {kind}, not JSON", status=response.status_code)
        try:
            return response.json()
        except ValueError:
            raise RetryableError(endpoint, "answered malformed JSON", status=response.status_code) from None

    def _cms_message(self, response: requests.Response) -> str:
        """The CMS's own explanation, trimmed; the body is the CMS's words, never our credentials."""
        try:
            body = response.json()
        except ValueError:
            return response.reason or "error"
        for path in self._error_paths:
            value = path.get(body)
            if isinstance(value, str) and value:
                return value[:_MAX_MESSAGE]
        return response.reason or "error"


def _endpoint(method: str, url: str) -> str:
    return f"{method} {urlsplit(url).path}"


def _has_retry_after(response: requests.Response) -> bool:
    return "Retry-After" in response.headers or "Retry-At" in response.headers


def _transport_error(method: str, endpoint: str, exc: Exception) -> CmsError:
    """A connection that never opened is safe to retry; one that broke after sending is not, for creates."""
    kind = type(exc).__name__
    never_sent = isinstance(exc, requests.ConnectTimeout) or (
        isinstance(exc, requests.ConnectionError) and "NewConnectionError" in repr(exc)
    )
    if method in _IDEMPOTENT or never_sent:
        return RetryableError(endpoint, f"connection failed ({kind})")
    return AmbiguousWriteError(endpoint, f"connection failed after sending ({kind}); outcome unknown")
