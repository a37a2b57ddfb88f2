"""What a CMS answer means for the caller: one table decides retry, wait, fix-your-config or give up."""

from __future__ import annotations

from enum import Enum

from connector.retry import Retry


class Action(Enum):
    """What to do about a failed call."""

    RETRY = "retry"  # transient: try again with backoff
    RATE_LIMITED = "rate_limited"  # wait as the CMS says, then try again
    FIX_CONFIG = "fix_config"  # credentials, permissions or API version: an admin must act
    FATAL = "fatal"  # the request itself is wrong; trying again gives the same answer


# Every status Matterline has a considered answer for; others fall back by class (see `classify`).
STATUS_ACTIONS: dict[int, Action] = {
    400: Action.FATAL,
    401: Action.FIX_CONFIG,
    402: Action.FIX_CONFIG,  # the firm's CMS plan lacks API access
    403: Action.FIX_CONFIG,
    404: Action.FATAL,
    405: Action.FATAL,
    408: Action.RETRY,
    409: Action.FATAL,
    410: Action.FIX_CONFIG,  # Clio: the pinned X-API-VERSION is no longer served
    412: Action.FATAL,  # stale ETag: the caller re-reads and merges
    413: Action.FATAL,
    422: Action.FATAL,
    423: Action.RETRY,
    425: Action.RETRY,
    429: Action.RATE_LIMITED,
    500: Action.RETRY,
    502: Action.RETRY,
    503: Action.RETRY,
    504: Action.RETRY,
    507: Action.RETRY,
    520: Action.RETRY,
    521: Action.RETRY,
    522: Action.RETRY,
    523: Action.RETRY,
    524: Action.RETRY,
}


def classify(status: int) -> Action:
    """The action for an HTTP status that is not a success."""
    if status in STATUS_ACTIONS:
        return STATUS_ACTIONS[status]
    if status >= 500:
        return Action.RETRY
    return Action.FATAL


class CmsError(Exception):
    """A CMS call that did not succeed. The message names the endpoint and never holds a secret."""

    action = Action.FATAL

    def __init__(self, endpoint: str, message: str, *, status: int | None = None) -> None:
        self.endpoint = endpoint
        self.status = status
        self.reason = message
        prefix = f"{endpoint}: HTTP {status}: " if status is not None else f"{endpoint}: "
        super().__init__(prefix + message)


class RetryableError(CmsError):
    """Transient: a 5xx, a timeout, a dropped connection, or an unreadable body."""

    action = Action.RETRY


class RateLimitedError(RetryableError):
    """The CMS said slow down; `retry_after` is how long it asked for, in seconds."""

    action = Action.RATE_LIMITED

    def __init__(
        self, endpoint: str, message: str, *, status: int | None = 429, retry_after: float, paused: bool = False
    ) -> None:
        super().__init__(endpoint, message, status=status)
        self.retry_after = retry_after
        # True when a shared rate limiter already holds every request until then: nobody sleeps twice.
        self.paused = paused


class ConfigError(CmsError):
    """The connection needs an admin: bad or expired credentials, missing permissions, retired API version."""

    action = Action.FIX_CONFIG

    @property
    def code(self) -> str:
        """A stable key for the admin: `invalid_auth` for credentials and permissions."""
        return "invalid_auth" if self.status in (None, 400, 401, 403) else "invalid_config"


class FatalError(CmsError):
    """The CMS refused the request as made; repeating it will not help."""


class AmbiguousWriteError(CmsError):
    """A create whose outcome is unknown (timeout, dropped connection, 5xx after sending).

    The write may have been applied. Creates are not idempotent, so the caller must look the record up by
    its idempotency marker before writing again; this client never retries it blindly.
    """

    action = Action.RETRY


class PaginationLoopError(FatalError):
    """A page pointed back at a page already read; following it would loop forever."""


def retry_verdict(exc: BaseException) -> Retry | None:
    """Whether a failed CMS call may be repeated in-process, and after what wait.

    A rate limit asks for its `Retry-After` (nothing more when the shared limiter already holds every
    request); other transient failures back off. An ambiguous create is never repeated blindly: the
    write-back looks its marker up first, in a later attempt.
    """
    if isinstance(exc, RateLimitedError):
        return Retry(exc.retry_after, held=exc.paused)
    if isinstance(exc, RetryableError):
        return Retry()
    return None
