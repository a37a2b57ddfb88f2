"""`/api/intake`: texts intake set aside (stored, not threaded) with the reason, and putting them back."""

from __future__ import annotations

from typing import Final

from flask import Response

from connector import queries, services
from connector.queries.intake import SetAside
from connector.staff.users import ADMIN_ROLES
from webhooks.api.bodies import IntakeRetryBody
from webhooks.api.routing import Call, Route, json_response
from webhooks.state import app_state

__all__ = ["ROUTES"]


def _list(call: Call) -> Response:
    """Texts intake could not take in, oldest first, each with the reason."""
    return json_response({"set_aside": queries.intake.listing(app_state().engine)})


def _retry(call: Call) -> Response:
    """Let intake take set-aside texts again (once their cause is fixed); audited."""
    ids = services.intake.retry(app_state().engine, call.body["message_ids"], actor=call.actor)
    return json_response({"retried": ids})


ROUTES: Final[tuple[Route, ...]] = (
    Route(
        "GET",
        "/intake/set-aside",
        _list,
        "listSetAside",
        "Texts intake set aside",
        (200, "Stored but not threaded, each with why.", {"set_aside": list[SetAside]}),
        description="Admins only. A text set aside holds up nothing: every other text and step goes on.",
        roles=ADMIN_ROLES,
        tags=("intake",),
    ),
    Route(
        "POST",
        "/intake/retry",
        _retry,
        "retrySetAside",
        "Retry set-aside texts",
        (200, "The texts put back for intake.", {"retried": list[int]}),
        description=(
            "Admins only. 409 `not_set_aside` for a named text that is not set aside. Audited as `intake_retry`."
        ),
        body=IntakeRetryBody,
        errors=(409,),
        roles=ADMIN_ROLES,
        tags=("intake",),
    ),
)
