"""The firm inbox: every conversation, filtered and searched, refreshed by the live poll.

The filter and the page's cursor are in the URL (neither says anything about a client); a search never
is: it is posted (`/inbox/search`, swapped in by htmx, or a plain form post without script), and the
page's poll is a POST carrying the search, so no name, number or word of a text reaches a URL, a
server log or the browser's history.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from connector import queries, services
from connector.errors import MatterlineError
from connector.staff.users import Actor, User
from connector.store.engine import utcnow
from webhooks.pages.render import fragment, page, person_page, poll_answer, unchanged
from webhooks.state import app_state

__all__ = ["blueprint"]

blueprint = Blueprint("inbox", __name__)


def _listing(user: User, values: Any) -> dict[str, Any]:
    """The list's template context for the filter, search and cursor in `values` (query string or form).

    A refusal (an unknown filter, a cursor not ours, a search too long) is shown on the page in words.
    """
    state = app_state()
    chosen = values.get("filter") or queries.inbox.ALL
    q = values.get("q") or ""
    before = values.get("before") or None
    problem = None
    try:
        listing = queries.inbox.page(state.engine, state.settings, user_id=user.id, filter=chosen, q=q, before=before)
    except MatterlineError as exc:
        problem = exc.message.split(": ", 1)[-1]
        problem = problem[:1].upper() + problem[1:] + "."
        known = chosen if chosen in queries.inbox.FILTER_LABELS else queries.inbox.ALL
        listing = queries.inbox.InboxPage([], None, known, "" if len(q) > queries.threads.SEARCH_MAX else q.strip())
        before = None
    return {
        "listing": listing,
        "labels": queries.inbox.FILTER_LABELS,
        "before": before,
        "problem": problem,
        "search_max": queries.threads.SEARCH_MAX,
        "zone": state.settings.zone,
        "region": state.settings.default_region,
        "now": utcnow(),
        "poll_url": url_for("inbox.poll"),
        "poll_post": True,
        "poll_vals": {"filter": listing.filter, "q": listing.q, "before": before or ""},
        "alerts": queries.replies.unseen(state.engine, user),
        "reply_limit": queries.replies.hours_text(state.settings.reply_within_hours),
    }


@blueprint.get("/inbox")
@person_page
def index(user: User) -> Response:
    """The inbox page: one filter (All by default), newest activity first."""
    context = _listing(user, request.args)
    return page(user, "inbox/index.html", status=400 if context["problem"] else 200, **context)


@blueprint.post("/inbox/search")
@person_page
def search(user: User) -> Response:
    """A search (or its next page): the list for htmx to swap in, or the whole page without script."""
    context = _listing(user, request.form)
    if request.headers.get("HX-Request") == "true":
        return fragment(user, "inbox/searched.html", **context)
    return page(user, "inbox/index.html", status=400 if context["problem"] else 200, **context)


@blueprint.post("/inbox/poll")
@person_page
def poll(user: User) -> Response:
    """Nothing (204) while nothing changed; else the badge, the poller's new stamp and the list redrawn."""
    if unchanged(user):
        return Response(status=204)
    return poll_answer(user, "inbox/changes.html", **_listing(user, request.form))


@blueprint.post("/inbox/alerts/<int:alert_id>/dismiss")
@person_page
def dismiss(user: User, alert_id: int) -> BaseResponse:
    """Dismiss one reply alert: the alerts redrawn (htmx), or back to the inbox without script."""
    state = app_state()
    services.replies.dismiss(state.engine, alert_id, Actor.of(user, request.headers.get("X-Request-ID")))
    if request.headers.get("HX-Request") == "true":
        return fragment(
            user,
            "inbox/alerts.html",
            alerts=queries.replies.unseen(state.engine, user),
            reply_limit=queries.replies.hours_text(state.settings.reply_within_hours),
            region=state.settings.default_region,
        )
    return redirect(url_for("inbox.index"), 303)


@blueprint.get("/")
def home() -> BaseResponse:
    """The site's front door is the inbox (which asks for sign-in first)."""
    return redirect(url_for("inbox.index"))
