"""`/api/writebacks`: the records for the CMS, and staff's review of a summary before it is filed."""

from __future__ import annotations

from typing import Final

from flask import Response

from connector import queries, services
from connector.queries.writebacks import WritebackRecord, WritebackView
from webhooks.api.bodies import SummaryEditBody
from webhooks.api.routing import Call, IntParam, Param, Route, TextParam, json_response
from webhooks.state import app_state

__all__ = ["ROUTES"]

_ONE: Final = {"writeback": WritebackRecord}


def _list(call: Call) -> Response:
    """Records for the CMS, optionally only one state or one matter; filtered and paged in SQL."""
    rows = queries.writebacks.listing(
        app_state().engine,
        state=call.query["state"],
        matter_cms_id=call.query["matter"],
        after=call.query["after"],
        limit=call.query["limit"],
    )
    return json_response({"writebacks": rows})


def _get(call: Call, writeback_id: int) -> Response:
    """One record with its text."""
    return json_response({"writeback": queries.writebacks.get(app_state().engine, writeback_id)})


def _edit(call: Call, writeback_id: int) -> Response:
    """Edit a summary before it is written."""
    record = services.summaries.edit(
        app_state().engine, writeback_id, subject=call.body.get("subject"), body=call.body.get("body"), actor=call.actor
    )
    return json_response({"writeback": record})


def _file(call: Call, writeback_id: int) -> Response:
    """Queue a reviewed summary draft for the CMS."""
    return json_response({"writeback": services.summaries.file(app_state().engine, writeback_id, actor=call.actor)})


ROUTES: Final[tuple[Route, ...]] = (
    Route(
        "GET",
        "/writebacks",
        _list,
        "listWritebacks",
        "Records for the CMS",
        (
            200,
            "Transcripts, summaries, corrections and tasks with their state, by id.",
            {"writebacks": list[WritebackView]},
        ),
        params=(
            Param(
                "state",
                TextParam(16, queries.writebacks.STATES),
                "Only this state: draft, pending, written, dead or withdrawn.",
            ),
            Param("matter", TextParam(64), "Only this matter (CMS id)."),
            Param("after", IntParam(0), "Only records after this id (the last `id` of the previous page)."),
            Param("limit", IntParam(1, 500, 100), "Page size."),
        ),
        tags=("write-back",),
    ),
    Route(
        "GET",
        "/writebacks/<int:writeback_id>",
        _get,
        "getWriteback",
        "One record for the CMS, with its text",
        (200, "The record.", _ONE),
        errors=(404,),
        tags=("write-back",),
    ),
    Route(
        "PATCH",
        "/writebacks/<int:writeback_id>",
        _edit,
        "editWriteback",
        "Edit a summary before it is written",
        (200, "The summary as it is now.", _ONE),
        description=(
            "Summaries only (transcripts are the record as sent). Allowed while a draft, or queued but not yet "
            "being written; 409 `in_flight` once the write may be under way, `already_written` after. Audited as "
            "`summary_edit`."
        ),
        body=SummaryEditBody,
        errors=(404, 409),
        tags=("write-back",),
    ),
    Route(
        "POST",
        "/writebacks/<int:writeback_id>/file",
        _file,
        "fileWriteback",
        "Queue a reviewed summary draft",
        (200, "The summary, now queued for the CMS.", _ONE),
        description="With MATTERLINE_SUMMARY_REVIEW=true summaries wait as drafts until filed. Audited.",
        errors=(404, 409),
        tags=("write-back",),
    ),
)
