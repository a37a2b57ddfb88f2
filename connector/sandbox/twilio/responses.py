"""Twilio's answer shapes: plain JSON, and the legacy error body `{code, message, more_info, status}`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Response

from connector.sandbox.faults import JSON_MIMETYPE
from connector.sandbox.twilio.constants import MORE_INFO


class TwilioApiError(Exception):
    """A request Twilio refuses: HTTP status plus Twilio's numeric error code and message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        """Twilio's legacy error object, as Api v2010 answers it."""
        return error_body(self.status, self.code, self.message)


def error_body(status: int, code: int, message: str) -> dict[str, Any]:
    """`{"code", "message", "more_info", "status"}`: the body every Api v2010 error carries."""
    return {"code": code, "message": message, "more_info": MORE_INFO.format(code=code), "status": status}


def twilio_error_response(status: int, code: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """A Twilio-shaped JSON error response."""
    return _json(error_body(status, code, message), status, headers)


def _json(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps(payload), status=status, mimetype=JSON_MIMETYPE, headers=dict(headers or {}))
