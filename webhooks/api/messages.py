"""`/api/threads/<id>/messages` and `/api/messages`: a thread's texts, sending, cancelling, moving one."""

from __future__ import annotations

from typing import Any, Final

from flask import Response

from connector import queries, services
from connector.queries.messages import MessageView
from connector.services.messages import Queued
from connector.staff.users import COUNSEL_ROLES
from webhooks.api.bodies import ReasonBody, RefileBody, SendBody
from webhooks.api.routing import Call, IntParam, Param, Route, json_response
from webhooks.api.threads import PAGE
from webhooks.state import app_state

__all__ = ["ROUTES", "SEND_DESCRIPTION", "send"]

SEND_DESCRIPTION: Final = (
    "The message and its outbox job are stored in one transaction. The answer gives the encoding "
    "(GSM-7 or UCS-2) and the number of SMS segments. Guardrails, in order: 409 `recipient_opted_out`; "
    "409 `consent_required` (no consent on record and the client has not texted this number lately); "
    "422 `content_rule` with every finding in `details.findings` (a block cannot be sent; a warning "
    "goes with `override_reason`, audited as `override`); quiet hours: outside the recipient's "
    "08:00-20:00 the text is stored as `scheduled` and `scheduled_for` says when it goes, unless an "
    "attorney or admin gives `quiet_hours_reason` (audited). Refusals are audited as `send_blocked`. "
    "Client work only: 422 `marketing_refused` for a text that reads as a promotion (an offer or discount, "
    "a referral or review request, a marketing link, a newsletter); 409 `bulk_refused` for several recipients "
    "in one request, or the same text sent to 3 or more other numbers in the last 10 minutes: those belong in "
    "the firm's marketing tool. `purpose` `notice` needs `template` (422 `template_required`); `reminder` is "
    "refused (422 `reminder_refused`). "
    "Also 422 `body_too_long` (over 1,600 characters), `empty_message`, `bad_media`, `empty_reason`."
)
_SENT: Final = (201, "Stored and queued; the worker sends it.", {"message": Queued})


def send(call: Call, **target: Any) -> Response:
    """Store the text and its outbox job in one transaction, or say why not."""
    state = app_state()
    queued = services.messages.send(
        state.engine,
        state.settings,
        body=call.body["body"],
        media_urls=call.body["media_urls"],
        actor=call.actor,
        override_reason=call.body["override_reason"],
        quiet_hours_reason=call.body["quiet_hours_reason"],
        purpose=call.body["purpose"],
        template=call.body["template"],
        to=call.body["to"],
        **target,
    )
    return json_response({"message": queued}, 201)


def _list(call: Call, thread_id: int) -> Response:
    """A page of a thread's messages, newest first."""
    views, before = queries.messages.listing(
        app_state().engine, thread_id, before_id=call.query["before"], limit=call.query["limit"]
    )
    return json_response({"messages": views, "next_before": before})


def _send_in_thread(call: Call, thread_id: int) -> Response:
    """Reply in a thread, to its client phone, filed to the thread's matter."""
    return send(call, thread_id=thread_id)


def _cancel(call: Call, message_id: int) -> Response:
    """Take back a text that has not gone; its author, an attorney or an admin."""
    engine = app_state().engine
    services.messages.cancel(engine, message_id, reason=call.body["reason"], actor=call.actor)
    return json_response({"message": queries.messages.get(engine, message_id)})


def _refile(call: Call, message_id: int) -> Response:
    """Move one message to another matter."""
    state = app_state()
    view = services.messages.refile(
        state.engine, state.settings, message_id, call.body["matter_cms_id"], actor=call.actor
    )
    return json_response({"message": view})


ROUTES: Final[tuple[Route, ...]] = (
    Route(
        "GET",
        "/threads/<int:thread_id>/messages",
        _list,
        "listMessages",
        "A thread's messages",
        (
            200,
            "A page of messages, newest first; pass `next_before` back as `before` for older ones (null: no more).",
            {"messages": list[MessageView], "next_before": int | None},
        ),
        params=(Param("before", IntParam(1), "Only messages older than this message id."), PAGE),
        errors=(404,),
        tags=("messages",),
    ),
    Route(
        "POST",
        "/threads/<int:thread_id>/messages",
        _send_in_thread,
        "sendInThread",
        "Send a text in a thread",
        _SENT,
        description=SEND_DESCRIPTION,
        body=SendBody,
        errors=(403, 404, 409, 422, 503),
        tags=("messages",),
    ),
    Route(
        "POST",
        "/messages/<int:message_id>/cancel",
        _cancel,
        "cancelMessage",
        "Cancel a text that has not gone",
        (200, "The text, now `canceled`; its outbox job is done.", {"message": MessageView}),
        description=(
            "A text still queued or held for quiet hours (`scheduled`). Its author, attorneys and admins only "
            "(403 `forbidden_role`). 409 `not_cancelable` once a send attempt has started or it went. Audited as "
            "`send_canceled`; the conversation's record shows it as not sent, without its text."
        ),
        body=ReasonBody,
        errors=(403, 404, 409, 422),
        tags=("messages",),
    ),
    Route(
        "POST",
        "/messages/<int:message_id>/refile",
        _refile,
        "refileMessage",
        "Move a message to another matter",
        (200, "The message as it is now.", {"message": MessageView}),
        description=(
            "Roles: admin and attorney only (staff get 403 `forbidden_role`). Records a filing decision with "
            "rule `manual`. Audited as `refile`. 422 `unknown_matter` when the matter is not in the store."
        ),
        body=RefileBody,
        errors=(404, 422),
        roles=COUNSEL_ROLES,
        tags=("filing",),
    ),
)
