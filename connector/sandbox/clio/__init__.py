"""The sandbox Clio Manage v4: in-memory firm state plus a WSGI app that speaks the v4 API.

Nothing in Matterline may call a real CMS, so the demo, the tests and the benchmarks talk to this
stand-in. It keeps Clio's shapes and quirks (the `data` envelope, `fields=` selection, cursor paging
through `meta.paging.next`, lowercase status filters, the two 401 body shapes, rate-limit headers,
webhooks with a handshake and HMAC signatures) because a client that works here must work there.
"""

from __future__ import annotations

from connector.sandbox.clio.app import ClioApp, create_sandbox_app
from connector.sandbox.clio.constants import (
    API_PREFIX,
    API_VERSION,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    DEFAULT_TOKEN,
    OAUTH_PATH,
)
from connector.sandbox.clio.errors import RecordNotFound, SandboxError
from connector.sandbox.clio.fields import FieldSelection, parse_fields
from connector.sandbox.clio.oauth import OAuthError
from connector.sandbox.clio.ratelimit import SandboxRateLimiter
from connector.sandbox.clio.state import ClioState
from connector.sandbox.clio.store import RecordedRequest
from connector.sandbox.stats import SandboxStats

__all__ = [
    "API_PREFIX",
    "API_VERSION",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_REFRESH_TOKEN",
    "DEFAULT_TOKEN",
    "OAUTH_PATH",
    "ClioApp",
    "ClioState",
    "FieldSelection",
    "OAuthError",
    "RecordNotFound",
    "RecordedRequest",
    "SandboxError",
    "SandboxRateLimiter",
    "SandboxStats",
    "create_sandbox_app",
    "parse_fields",
]
