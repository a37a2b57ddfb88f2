"""`/api/guardrails/check`: what the content rules find in a draft, so a composer warns as the person types."""

from __future__ import annotations

from typing import Final

from flask import Response

from connector import services
from connector.guardrails.content import FindingView
from webhooks.api.bodies import CheckBody
from webhooks.api.routing import Call, Route, json_response
from webhooks.state import app_state

__all__ = ["ROUTES"]


def _check(call: Call) -> Response:
    """What the content rules find in a draft, so a composer can warn while the user types; sends nothing."""
    return json_response(services.messages.check_draft(app_state().engine, app_state().settings, call.body["body"]))


ROUTES: Final[tuple[Route, ...]] = (
    Route(
        "POST",
        "/guardrails/check",
        _check,
        "checkDraft",
        "Check a draft against the content rules",
        (
            200,
            "Every finding; `sendable` is false when a rule blocks, `needs_override_reason` when one warns.",
            {"findings": list[FindingView], "sendable": bool, "needs_override_reason": bool},
        ),
        description="Sends and stores nothing, so a composer can call it as the user types.",
        body=CheckBody,
        errors=(503,),
        tags=("guardrails",),
    ),
)
