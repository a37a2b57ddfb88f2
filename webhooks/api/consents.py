"""`/api/consents`: the consent ledger, and recording a client's consent or its withdrawal."""

from __future__ import annotations

from typing import Final

from flask import Response

from connector import queries, services
from connector.guardrails.consent import ConsentRow
from webhooks.api.bodies import ConsentBody
from webhooks.api.routing import Call, Param, Route, TextParam, json_response
from webhooks.state import app_state

__all__ = ["ROUTES"]


def _list(call: Call) -> Response:
    """The consent ledger, oldest first; one number's with `phone`."""
    state = app_state()
    rows = queries.consents.listing(state.engine, call.query["phone"], region=state.settings.default_region)
    return json_response({"consents": rows})


def _record(call: Call) -> Response:
    """Append a grant or a withdrawal to the ledger, captured by the caller; audited."""
    state = app_state()
    body = call.body
    action = services.consents.record if body["action"] == "grant" else services.consents.withdraw
    row = action(
        state.engine,
        state.settings,
        body["phone"],
        method=body["method"],
        scope=body["scope"],
        source=body["source"],
        matter_cms_id=body["matter_cms_id"],
        actor=call.actor,
    )
    return json_response({"consent": row}, 201)


ROUTES: Final[tuple[Route, ...]] = (
    Route(
        "GET",
        "/consents",
        _list,
        "listConsents",
        "The consent ledger",
        (200, "Ledger rows, oldest first.", {"consents": list[ConsentRow]}),
        params=(Param("phone", TextParam(40), "Only this number's rows (any readable format)."),),
        errors=(422,),
        tags=("guardrails",),
    ),
    Route(
        "POST",
        "/consents",
        _record,
        "recordConsent",
        "Record consent or its withdrawal",
        (201, "The ledger row (append-only).", {"consent": ConsentRow}),
        description="The caller is recorded as who captured it; audited as `consent` or `consent_revoked`.",
        body=ConsentBody,
        errors=(422,),
        tags=("guardrails",),
    ),
)
