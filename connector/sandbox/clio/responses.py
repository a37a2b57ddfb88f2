"""Clio's answer shapes: the compact JSON envelope, its error object, and the injected faults' answers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from werkzeug.wrappers import Response

from connector.sandbox.faults import JSON_MIMETYPE, Fault, garbled_response

ERROR_TYPES: Final[dict[int, str]] = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Gone",
    412: "PreconditionFailed",
    422: "UnprocessableEntity",
    429: "RateLimited",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


def error_body(status: int, message: str) -> dict[str, Any]:
    """Clio's error object: `{"error": {"type": ..., "message": ...}}`."""
    return {"error": {"type": ERROR_TYPES.get(status, "Error"), "message": message}}


def json_response(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A compact `application/json` response."""
    body = json.dumps(payload, separators=(",", ":"))
    return Response(body, status=status, mimetype=JSON_MIMETYPE, headers=dict(headers or {}))


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """A Clio-shaped error response."""
    return json_response(error_body(status, message), status, headers)


def fault_response(fault: Fault, retry_header: str = "Retry-After", sent: str = "") -> Response | None:
    """The answer for kinds that never reach the API (`sent`: the request body, for an echoing fault)."""
    if fault.kind == "status":
        echoed = f": {sent}" if fault.echo else ""
        return error_response(fault.status, f"Sandbox fault: injected {fault.status} response{echoed}")
    if fault.kind == "rate_limit":
        message = f"Rate limit exceeded. Retry in {fault.retry_after} seconds."
        return error_response(429, message, {retry_header: str(fault.retry_after)})
    return garbled_response(fault)
