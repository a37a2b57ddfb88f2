"""`/api/optouts`: the opt-out ledger's current state per number."""

from __future__ import annotations

from typing import Final

from flask import Response

from connector import queries
from connector.guardrails.optouts import OptOutState
from webhooks.api.routing import BoolParam, Call, Param, Route, json_response
from webhooks.state import app_state

__all__ = ["ROUTES"]


def _list(call: Call) -> Response:
    """The opt-out ledger's current state per number (the firm's record of who said stop)."""
    return json_response(
        {"optouts": queries.optouts.listing(app_state().engine, only_opted_out=call.query["opted_out"])}
    )


ROUTES: Final[tuple[Route, ...]] = (
    Route(
        "GET",
        "/optouts",
        _list,
        "listOptOuts",
        "The opt-out ledger",
        (200, "Every number in the ledger with its current state.", {"optouts": list[OptOutState]}),
        params=(Param("opted_out", BoolParam(False), "Only numbers that are opted out now."),),
        tags=("opt-outs",),
    ),
)
