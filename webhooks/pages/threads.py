"""A conversation: its texts oldest first, what staff do to it (by role, as in the API), the composer, who
else is viewing it, and MMS images through the app (never a Twilio URL in the page). Beside each client
text, what triage decided and why, and the correction when it was wrong (the same service the API calls).

Actions are htmx POSTs that swap the thread's facts panel; without script the same forms post and come
back to the page (PRG). Refusals from the services show their message in an alert, with their status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from connector import queries, services
from connector.errors import MatterlineError, not_found
from connector.messaging.media import MediaError
from connector.services.presence import Viewer
from connector.staff.users import Actor, User
from connector.triage.judge import SITUATIONS
from webhooks.api.routing import store_int
from webhooks.errors import STATUS
from webhooks.pages.compose import ComposeTarget, composer_for
from webhooks.pages.present import day
from webhooks.pages.render import fragment, frame, page, person_page, poll_answer
from webhooks.state import app_state

__all__ = ["blueprint"]

blueprint = Blueprint("threads", __name__)

_INLINE_TYPES: Final = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def _actor(user: User) -> Actor:
    return Actor.of(user, request.headers.get("X-Request-ID"))


def _presence(user: User, thread_id: int) -> tuple[Viewer, ...]:
    """Record the viewer and fold who else is here into the poll's stamp, so a change redraws the list."""
    viewers = services.presence.here(app_state().engine, thread_id, user.id)
    frame(user).stamp_extra = "p" + ".".join(str(v.user_id) for v in viewers)
    return viewers


def _before() -> int | None:
    """The page of earlier texts asked for (`?before=`), or None for the newest."""
    raw = request.args.get("before")
    before = store_int(raw, 1) if raw is not None else None
    if raw is not None and before is None:
        raise not_found("no such page of this thread")
    return before


def _context(user: User, thread_id: int, before: int | None = None, **extra: Any) -> dict[str, Any]:
    state = app_state()
    conversation = queries.conversation.load(state.engine, state.settings, thread_id, user.id, before=before)
    return {
        "conversation": conversation,
        "thread": conversation.thread,
        # Who the thread is with that is away now, and who covers (its assignee, its matter's attorney).
        "covering": queries.coverage.for_thread(state.engine, conversation.thread),
        "zone": state.settings.zone,
        # The reminders still to go to the thread's client (the facts panel lists them).
        "reminders": queries.reminders.upcoming(state.engine, conversation.thread.client_phone),
        # The triage correction form's choices and its note's limit, as the service checks them.
        "situations": SITUATIONS,
        "note_max": services.triage.NOTE_MAX,
        # A page of earlier texts polls for that page: a redraw never swaps what is being read for the newest.
        "poll_url": url_for("threads.poll", thread_id=thread_id, before=before),
        **extra,
    }


@blueprint.get("/inbox/<int:thread_id>")
@person_page
def show(user: User, thread_id: int) -> Response:
    """The thread page; viewing its newest texts marks them read for the person."""
    before = _before()
    if before is None:
        services.threads.mark_read(app_state().engine, thread_id, actor=_actor(user))
    viewers = _presence(user, thread_id)
    context = _context(user, thread_id, before)
    composer = composer_for(user, ComposeTarget(thread_id, None, None), gate=context["conversation"].gate)
    return page(user, "threads/show.html", viewers=viewers, composer=composer, **context)


@blueprint.get("/inbox/<int:thread_id>/poll")
@person_page
def poll(user: User, thread_id: int) -> Response:
    """Nothing (204) while nothing changed; else the texts, the facts and who is here, swapped out of band."""
    before = _before()
    viewers = _presence(user, thread_id)
    if request.args.get("stamp") == frame(user).stamp:
        return Response(status=204)
    return poll_answer(user, "threads/changes.html", viewers=viewers, **_context(user, thread_id, before))


def _acted(user: User, thread_id: int, action: Any, said: Callable[[Any], str | None] | None = None) -> BaseResponse:
    """Run one service call; answer with the facts panel (htmx) or back to the page (PRG), or the refusal.

    `said` turns the service's answer into a sentence the panel shows (htmx only: a redirect has no room).
    """
    try:
        done = action()
    except MatterlineError as exc:
        status = STATUS[exc.kind]
        context = _context(user, thread_id, error=exc.message)
        if request.headers.get("HX-Request") == "true":
            return fragment(user, "threads/facts.html", status=status, **context)
        viewers = _presence(user, thread_id)
        composer = composer_for(user, ComposeTarget(thread_id, None, None))
        return page(user, "threads/show.html", status=status, viewers=viewers, composer=composer, **context)
    if request.headers.get("HX-Request") == "true":
        notice = said(done) if said is not None else None
        response = fragment(user, "threads/facts.html", notice=notice, **_context(user, thread_id))
        response.headers["HX-Trigger"] = "ml:poll"  # the poller redraws the texts (a canceled one, say) now
        return response
    return redirect(url_for("threads.show", thread_id=thread_id), 303)


@blueprint.post("/inbox/<int:thread_id>/assign")
@person_page
def assign(user: User, thread_id: int) -> BaseResponse:
    """Give the thread to a person, or to nobody."""
    raw = request.form.get("assignee", "").strip()
    assignee = store_int(raw, 1) if raw else None
    state = app_state()
    return _acted(
        user,
        thread_id,
        lambda: services.threads.assign(state.engine, thread_id, assignee or raw or None, actor=_actor(user)),
        lambda done: _covered(done, state.settings.zone),
    )


def _covered(done: services.threads.Assigned, zone: ZoneInfo) -> str | None:
    """What an assignment to someone away says: who got the thread instead."""
    away = done.covering_for
    if away is None:
        return None
    return (
        f"{away.name} is away until {day(away.until, zone)}, so the thread went to "
        f"{away.backup_name or done.thread.assignee}, who is covering."
    )


@blueprint.post("/inbox/<int:thread_id>/read")
@person_page
def read(user: User, thread_id: int) -> BaseResponse:
    """Mark the thread read for the person."""
    engine = app_state().engine
    return _acted(user, thread_id, lambda: services.threads.mark_read(engine, thread_id, actor=_actor(user)))


@blueprint.post("/inbox/<int:thread_id>/unread")
@person_page
def unread(user: User, thread_id: int) -> BaseResponse:
    """Mark the thread unread for the person from the newest client text on."""
    engine = app_state().engine
    return _acted(user, thread_id, lambda: services.threads.mark_unread(engine, thread_id, actor=_actor(user)))


@blueprint.post("/inbox/<int:thread_id>/urgent")
@person_page
def urgent(user: User, thread_id: int) -> BaseResponse:
    """Flag the thread urgent, or clear the flag."""
    engine = app_state().engine
    flag = request.form.get("urgent") == "1"
    return _acted(user, thread_id, lambda: services.threads.set_urgent(engine, thread_id, flag, actor=_actor(user)))


@blueprint.post("/inbox/<int:thread_id>/refile")
@person_page
def refile(user: User, thread_id: int) -> BaseResponse:
    """File the thread to a matter (attorneys and admins; the service refuses anyone else)."""
    state = app_state()
    matter = request.form.get("matter_cms_id", "").strip()
    return _acted(
        user,
        thread_id,
        lambda: services.threads.refile(state.engine, state.settings, thread_id, matter, actor=_actor(user)),
    )


@blueprint.post("/messages/<int:message_id>/cancel")
@person_page
def cancel(user: User, message_id: int) -> BaseResponse:
    """Take back a text that has not gone (its author, attorneys and admins)."""
    engine = app_state().engine
    view = queries.messages.get(engine, message_id)
    if view is None or view.thread_id is None:
        raise not_found(f"no message {message_id}")
    reason = request.form.get("reason", "").strip() or "canceled from the thread page"
    return _acted(
        user, view.thread_id, lambda: services.messages.cancel(engine, message_id, reason=reason, actor=_actor(user))
    )


@blueprint.post("/messages/<int:message_id>/triage")
@person_page
def correct_triage(user: User, message_id: int) -> BaseResponse:
    """Say triage was wrong about a client text: "Not urgent" for a wrong flag, "Mark urgent" (with its
    situation) for one it missed. The service flags or clears the thread and tasks the attorney."""
    state = app_state()
    view = queries.messages.get(state.engine, message_id)
    if view is None or view.thread_id is None:
        raise not_found(f"no message {message_id}")
    flag = request.form.get("urgent") == "1"
    category = request.form.get("category", "").strip() or None
    note = request.form.get("note")
    return _acted(
        user,
        view.thread_id,
        lambda: services.triage.correct(
            state.engine, state.settings, message_id, urgent=flag, actor=_actor(user), category=category, note=note
        ),
    )


@blueprint.get("/media/<int:message_id>/<int:index>")
@person_page
def media(user: User, message_id: int, index: int) -> Response:
    """One MMS item, fetched from Twilio by the app with the account's credentials, for a signed-in person."""
    state = app_state()
    try:
        item = queries.media.fetch(state.engine, state.settings, message_id, index)
    except MediaError:
        return Response("The image could not be fetched from Twilio.", status=502, mimetype="text/plain")
    response = Response(item.content, mimetype=item.content_type)
    response.headers["Cache-Control"] = "private, no-store"
    # Only raster images show inline: an SVG (or anything else) a client sends could carry script.
    if item.content_type.split(";", 1)[0].strip().lower() not in _INLINE_TYPES:
        response.headers["Content-Disposition"] = "attachment"
    return response
