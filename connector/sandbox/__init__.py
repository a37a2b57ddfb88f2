"""The sandbox CMS: a local stand-in that speaks Clio Manage API v4 (nothing may call a real CMS)."""

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
from connector.sandbox.server import SandboxServer

__all__ = [
    "API_PREFIX",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_REFRESH_TOKEN",
    "DEFAULT_TOKEN",
    "FAULT_KINDS",
    "ApiError",
    "ClioApp",
    "ClioState",
    "Fault",
    "FaultQueue",
    "FieldSelection",
    "Firm",
    "RateLimiter",
    "RecordNotFound",
    "RecordedRequest",
    "SandboxServer",
    "SandboxStats",
    "create_app",
    "generate_firm",
    "parse_fields",
]
