"""`/api/clients`: the synced clients and contacts with their numbers, and the numbers sync could not read."""

from __future__ import annotations

from typing import Final

from flask import Response

from connector import queries
from connector.queries.clients import ClientView
from webhooks.api.routing import BoolParam, Call, IntParam, Param, Route, TextParam, json_response
from webhooks.state import app_state

__all__ = ["ROUTES"]


def _list(call: Call) -> Response:
    """Contacts by store id; filtered and paged in SQL."""
    rows = queries.clients.listing(
        app_state().engine,
        cms_id=call.query["cms_id"],
        unparseable=call.query["unparseable"],
        after=call.query["after"],
        limit=call.query["limit"],
    )
    return json_response({"clients": rows})


ROUTES: Final[tuple[Route, ...]] = (
    Route(
        "GET",
        "/clients",
        _list,
        "listClients",
        "The synced clients and contacts",
        (
            200,
            "Contacts by store id, each with the numbers Matterline can text and those it kept unread.",
            {"clients": list[ClientView]},
        ),
        params=(
            Param("cms_id", TextParam(64), "Only the contact with this CMS id."),
            Param("unparseable", BoolParam(False), "Only contacts with a number that could not be read."),
            Param("after", IntParam(0), "Only contacts after this store id (the last `id` of the previous page)."),
            Param("limit", IntParam(1, 500, 100), "Page size."),
        ),
        tags=("directory",),
    ),
)
