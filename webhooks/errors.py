"""Every error the app answers, in one shape: `{"error": {"code", "message", "details"}}` with its status.

A `MatterlineError` from any service or view becomes its kind's HTTP status here and nowhere else;
Werkzeug's own errors (unknown path, wrong method, oversized body, an unexpected exception) get the same
shape. Callers under /api, /webhooks and the health checks are machines and always get JSON; a person's
browser elsewhere gets the same thing as a page (templates/errors/error.html), titled by its status.
"""

from __future__ import annotations

import json
from typing import Any, Final

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from connector.errors import Kind, MatterlineError
from webhooks.state import MAX_CONTENT_LENGTH

__all__ = ["STATUS", "error_json", "error_response", "install", "status_line"]

# The one table from a refusal's kind to the status that says it over HTTP.
STATUS: Final[dict[Kind, int]] = {
    Kind.MALFORMED: 400,
    Kind.UNAUTHENTICATED: 401,
    Kind.FORBIDDEN: 403,
    Kind.NOT_FOUND: 404,
    Kind.CONFLICT: 409,
    Kind.TOO_LARGE: 413,
    Kind.UNSUPPORTED: 415,
    Kind.INVALID: 422,
    Kind.UNAVAILABLE: 503,
}

# Stable codes for the statuses Werkzeug raises itself.
_HTTP_CODES: Final[dict[int, str]] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "too_many_requests",
    500: "internal_error",
    503: "not_ready",
}
_REASONS: Final[dict[int, str]] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
# Where the callers are machines: never an HTML page there.
_MACHINE_PREFIXES: Final = ("/api", "/webhooks", "/healthz", "/readyz")
INTERNAL_MESSAGE: Final = "internal error; the server log has the details"


def status_line(status: int) -> str:
    """`404 Not Found`, for a WSGI answer given without Flask."""
    return f"{status} {_REASONS.get(status, 'Error')}"


def error_json(code: str, message: str, details: Any = None) -> str:
    """The error body as JSON text (for the WSGI fast path, which answers without Flask)."""
    return json.dumps({"error": {"code": code, "message": message, "details": details}})


def _wants_html() -> bool:
    if request.path.startswith(_MACHINE_PREFIXES):
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html" and request.accept_mimetypes[best] > request.accept_mimetypes["application/json"]


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    """The error as JSON (or, for a person's browser outside /api and /webhooks, as a page), with `status`."""
    if _wants_html():
        title = _REASONS.get(status, "Error").capitalize()  # "Not found", as a sentence
        page = render_template("errors/error.html", title=title, message=message, code=code, status=status)
        response = Response(page, status=status, mimetype="text/html")
    else:
        response = jsonify({"error": {"code": code, "message": message, "details": details}})
        response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _refusal(exc: MatterlineError) -> Response:
    return error_response(STATUS[exc.kind], exc.code, exc.message, exc.details)


def _http_error(exc: HTTPException) -> Response:
    """Werkzeug's own errors (routing, body size, unhandled exceptions) in the same shape.

    For a 500, Flask has already logged the traceback; the caller gets a fixed message only, because
    an exception's text can carry a database URL or a token.
    """
    status = exc.code or 500
    code = _HTTP_CODES.get(status, "error")
    details: Any = None
    if status >= 500:
        message = INTERNAL_MESSAGE
    elif status == 413:
        message = f"the request body is larger than {MAX_CONTENT_LENGTH} bytes"
        details = {"max_bytes": MAX_CONTENT_LENGTH}
    else:
        message = exc.description or exc.name
    allowed: list[str] = []
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        allowed = sorted(exc.valid_methods)
        details = {"allowed": allowed}
    response = error_response(status, code, message, details)
    if allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response


def install(app: Flask) -> None:
    """Answer every refusal and every Werkzeug error of `app` in this module's shape."""
    app.register_error_handler(MatterlineError, _refusal)
    app.register_error_handler(HTTPException, _http_error)
