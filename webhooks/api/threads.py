"""`/api/threads`: the firm inbox, and what staff do to a conversation (assign, read, urgent, file, close)."""

from __future__ import annotations

from typing import Final

from flask import Response

from connector import queries, services
from connector.queries.coverage import Cover
from connector.queries.threads import ThreadView
from connector.staff.users import COUNSEL_ROLES
from connector.writeback.windows import Closed
from webhooks.api.bodies import AssignBody, ReadBody, RefileBody, UnreadBody, UrgentBody
from webhooks.api.routing import Call, FlagsParam, IntParam, Param, Route, TextParam, json_response
from webhooks.state import app_state

__all__ = ["PAGE", "ROUTES"]

PAGE: Final = Param("limit", IntParam(1, queries.threads.MAX_LIMIT, queries.threads.DEFAULT_LIMIT), "Page size.")
_ONE: Final = {"thread": ThreadView}


def _list(call: Call) -> Response:
    """A page of the firm inbox, newest activity first."""
    filters: frozenset[str] = call.query["filter"]
    views, cursor = queries.threads.listing(
        app_state().engine,
        user_id=call.who.id,
        mine="mine" in filters,
        unassigned="unassigned" in filters,
        unread="unread" in filters,
        needs_filing="needs_filing" in filters,
        urgent="urgent" in filters,
        waiting="waiting" in filters,
        opted_out="opted_out" in filters,
        q=call.query["q"],
        region=app_state().settings.default_region,
        matter_cms_id=call.query["matter"],
        client_cms_id=call.query["client"],
        before=call.query["cursor"],
        limit=call.query["limit"],
    )
    return json_response({"threads": views, "next_cursor": cursor})


def _get(call: Call, thread_id: int) -> Response:
    """One thread with the caller's unread count."""
    return json_response({"thread": queries.threads.require(app_state().engine, thread_id, call.who.id)})


def _assign(call: Call, thread_id: int) -> Response:
    """Give the thread to a person, or to nobody."""
    done = services.threads.assign(app_state().engine, thread_id, call.body["assignee"], actor=call.actor)
    return json_response({"thread": done.thread, "covering_for": done.covering_for})


def _read(call: Call, thread_id: int) -> Response:
    """Mark the thread read for the caller (their unread count only; colleagues keep theirs)."""
    engine = app_state().engine
    mark = services.threads.mark_read(engine, thread_id, actor=call.actor, up_to_message_id=call.body["message_id"])
    return json_response(
        {"thread": queries.threads.require(engine, thread_id, call.who.id), "last_read_message_id": mark}
    )


def _unread(call: Call, thread_id: int) -> Response:
    """Mark the thread unread for the caller from a message on (their unread count only)."""
    engine = app_state().engine
    mark = services.threads.mark_unread(engine, thread_id, actor=call.actor, from_message_id=call.body["message_id"])
    return json_response(
        {"thread": queries.threads.require(engine, thread_id, call.who.id), "last_read_message_id": mark}
    )


def _urgent(call: Call, thread_id: int) -> Response:
    """Flag the thread urgent or clear the flag."""
    view = services.threads.set_urgent(app_state().engine, thread_id, call.body["urgent"], actor=call.actor)
    return json_response({"thread": view})


def _refile(call: Call, thread_id: int) -> Response:
    """File the thread to a matter: it becomes the thread's matter and its unfiled texts move there."""
    state = app_state()
    view, moved = services.threads.refile(
        state.engine, state.settings, thread_id, call.body["matter_cms_id"], actor=call.actor
    )
    return json_response({"thread": view, "messages_filed": moved})


def _file(call: Call, thread_id: int) -> Response:
    """Close the thread's conversation windows now; their transcripts and summaries are queued."""
    state = app_state()
    closed = services.threads.close_windows(state.engine, state.settings, actor=call.actor, thread_id=thread_id)
    return json_response({"windows": closed})


ROUTES: Final[tuple[Route, ...]] = (
    Route(
        "GET",
        "/threads",
        _list,
        "listThreads",
        "List threads",
        (
            200,
            "A page of threads, newest activity first; `next_cursor` is null on the last page.",
            {"threads": list[ThreadView], "next_cursor": str | None},
        ),
        description=(
            "Keyset-paged: pass `next_cursor` back as `cursor` for the next page; pages never repeat or skip "
            "a thread whose activity did not change. Filters combine with AND. `unread` counts the caller's "
            "unread inbound texts. Threads with no message yet are not listed."
        ),
        params=(
            Param(
                "filter",
                FlagsParam(queries.threads.FILTERS),
                "mine: assigned to the caller; unassigned: assigned to nobody; unread: the caller has unread "
                "inbound texts in it; needs_filing: no matter yet; urgent: flagged urgent; waiting: the newest "
                "text is the client's (or only an automatic reply followed it); opted_out: the client's number "
                "is opted out now. Repeat it or give a comma-separated list.",
            ),
            Param(
                "q",
                TextParam(queries.threads.SEARCH_MAX),
                "Search: the client's name, their number (any format, or a run of its digits), the matter "
                f"number, or words of the {queries.threads.TEXT_SEARCH_WINDOW:,} newest texts. Case is "
                "ignored; `%` and `_` match themselves.",
            ),
            Param("matter", TextParam(64), "Threads about this matter (CMS id), now or in any filed text."),
            Param("client", TextParam(64), "Threads with this client (CMS id)."),
            Param("cursor", TextParam(512), "The `next_cursor` of the previous page."),
            PAGE,
        ),
        tags=("threads",),
    ),
    Route(
        "GET",
        "/threads/<int:thread_id>",
        _get,
        "getThread",
        "One thread",
        (200, "The thread.", _ONE),
        errors=(404,),
        tags=("threads",),
    ),
    Route(
        "POST",
        "/threads/<int:thread_id>/assign",
        _assign,
        "assignThread",
        "Assign a thread",
        (
            200,
            "The thread as it is now and, when the person asked for is away, who they are (`covering_for`): "
            "the thread went to whoever covers for them (`thread.assignee`).",
            {"thread": ThreadView, "covering_for": Cover | None},
        ),
        description=(
            "Audited as `assign` (with `covering_for` when the person asked for is away). 422 `unknown_user` "
            "when the assignee is unknown or disabled."
        ),
        body=AssignBody,
        errors=(404, 422),
        tags=("threads",),
    ),
    Route(
        "POST",
        "/threads/<int:thread_id>/read",
        _read,
        "markThreadRead",
        "Mark a thread read",
        (
            200,
            "The thread with the caller's new unread count, and the caller's read mark.",
            {"thread": ThreadView, "last_read_message_id": int},
        ),
        description=(
            "Read state is per person. The mark only moves forward. Audited as `read`. "
            "422 `invalid_message` when `message_id` is not in the thread."
        ),
        body=ReadBody,
        errors=(404, 422),
        tags=("threads",),
    ),
    Route(
        "POST",
        "/threads/<int:thread_id>/unread",
        _unread,
        "markThreadUnread",
        "Mark a thread unread",
        (
            200,
            "The thread with the caller's new unread count, and the caller's read mark.",
            {"thread": ThreadView, "last_read_message_id": int},
        ),
        description=(
            "Read state is per person. The mark only moves back, so the message (by default the newest client "
            "text) and every later one count as unread for the caller. Audited as `unread`. 422 "
            "`invalid_message` when `message_id` is not in the thread or the thread has no client text."
        ),
        body=UnreadBody,
        errors=(404, 422),
        tags=("threads",),
    ),
    Route(
        "POST",
        "/threads/<int:thread_id>/urgent",
        _urgent,
        "setThreadUrgent",
        "Flag or clear urgent",
        (200, "The thread as it is now.", _ONE),
        description="Audited as `urgent`.",
        body=UrgentBody,
        errors=(404,),
        tags=("threads",),
    ),
    Route(
        "POST",
        "/threads/<int:thread_id>/refile",
        _refile,
        "refileThread",
        "File a thread to a matter",
        (
            200,
            "The thread as it is now, and how many unfiled messages moved with it.",
            {"thread": ThreadView, "messages_filed": int},
        ),
        description=(
            "Roles: admin and attorney only (staff get 403 `forbidden_role`). The matter becomes the thread's "
            "matter and its unfiled texts are filed there with rule `manual`. Audited as `refile`. "
            "422 `unknown_matter` when the matter is not in the store."
        ),
        body=RefileBody,
        errors=(404, 422),
        roles=COUNSEL_ROLES,
        tags=("filing",),
    ),
    Route(
        "POST",
        "/threads/<int:thread_id>/file",
        _file,
        "fileThread",
        "Close a thread's conversation windows now",
        (
            200,
            "The windows closed; each queued a transcript (in parts when long) and a summary for the CMS.",
            {"windows": list[Closed]},
        ),
        description=(
            "Filed texts not yet in a window are closed into one window per matter. Texts waiting in needs "
            "filing stay until they are filed. Audited as `window_closed`."
        ),
        errors=(404,),
        tags=("write-back",),
    ),
)
