"""The unauthenticated `/_sandbox/` control calls both stand-ins take: where they live and the JSON they carry."""

from __future__ import annotations

import json
from typing import Any, Final

from werkzeug.wrappers import Request

CONTROL_PREFIX: Final = "/_sandbox/"


def control_payload(request: Request) -> dict[str, Any]:
    """The JSON object a `/_sandbox/` control call carries (empty body means `{}`).

    Raises:
        ValueError: the body is not JSON.
        TypeError: the body is JSON but not an object.
    """
    try:
        body = json.loads(request.get_data(as_text=True) or "{}")
    except ValueError as exc:
        raise ValueError("body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise TypeError("body must be a JSON object")
    return body
