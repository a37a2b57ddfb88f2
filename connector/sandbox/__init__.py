"""Local stand-ins: the sandbox CMS (Clio Manage API v4) and the sandbox Twilio (Api v2010 Messages).

Nothing may call a real CMS or real Twilio; the demo, the tests and the benchmarks talk to these.
"""

from __future__ import annotations

from connector.sandbox.clio import (
    API_PREFIX,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    DEFAULT_TOKEN,
    ApiError,
    ClioApp,
    ClioState,
    FieldSelection,
    RateLimiter,
    RecordedRequest,
    RecordNotFound,
    SandboxStats,
    create_app,
    parse_fields,
)
from connector.sandbox.faults import FAULT_KINDS, Fault, FaultQueue
from connector.sandbox.firm import Firm, generate_firm
from connector.sandbox.server import SandboxServer, WsgiServerThread
from connector.sandbox.twilio import (
    CREATE_PARAMS,
    SANDBOX_ACCOUNT_SID,
    SANDBOX_AUTH_TOKEN,
    SANDBOX_FIRM_NUMBER,
    SANDBOX_MESSAGING_SERVICE_SID,
    SANDBOX_POOL_NUMBERS,
    MediaItem,
    QueuedCallback,
    TwilioApiError,
    TwilioApp,
    TwilioRequest,
    TwilioState,
    TwilioStats,
    build_inbound,
    count_segments,
    create_twilio_app,
    post_signed,
    twilio_fault,
    twilio_signature,
)
from connector.sandbox.twilio_server import TwilioServer

__all__ = [
    "API_PREFIX",
    "CREATE_PARAMS",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_REFRESH_TOKEN",
    "DEFAULT_TOKEN",
    "FAULT_KINDS",
    "SANDBOX_ACCOUNT_SID",
    "SANDBOX_AUTH_TOKEN",
    "SANDBOX_FIRM_NUMBER",
    "SANDBOX_MESSAGING_SERVICE_SID",
    "SANDBOX_POOL_NUMBERS",
    "ApiError",
    "ClioApp",
    "ClioState",
    "Fault",
    "FaultQueue",
    "FieldSelection",
    "Firm",
    "MediaItem",
    "QueuedCallback",
    "RateLimiter",
    "RecordNotFound",
    "RecordedRequest",
    "SandboxServer",
    "SandboxStats",
    "TwilioApiError",
    "TwilioApp",
    "TwilioRequest",
    "TwilioServer",
    "TwilioState",
    "TwilioStats",
    "WsgiServerThread",
    "build_inbound",
    "count_segments",
    "create_app",
    "create_twilio_app",
    "generate_firm",
    "parse_fields",
    "post_signed",
    "twilio_fault",
    "twilio_signature",
]
