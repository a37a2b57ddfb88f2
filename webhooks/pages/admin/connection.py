"""`/admin/connection`: is the CMS reachable, are its webhooks alive, what did the last sync do, where must
Twilio point.

Three actions, each the CLI's own operation through one service: check the connection (`mappings check`),
renew the CMS webhook subscriptions (`webhooks renew`), and "Sync now", which only queues a sync for the
worker: the page then polls a fragment every 2 s until the worker has run it. No token or secret is ever
read into the page: credentials show as set or not set, stored tokens by their times.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from flask import Blueprint, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from connector import queries, services
from connector.errors import MatterlineError
from connector.staff.users import User
from connector.store.engine import utcnow
from webhooks.errors import STATUS
from webhooks.pages.admin.guard import actor, admin_page
from webhooks.pages.render import fragment, page
from webhooks.state import app_state

__all__ = ["blueprint"]

blueprint = Blueprint("admin_connection", __name__, url_prefix="/admin/connection")

# What the page says after each action's redirect (`?done=`).
DONE: Final = {
    "checked": "The connection was checked: its answer is below.",
    "renewed": "The CMS webhook subscriptions were renewed.",
    "sync": "A sync was queued: the worker runs it at its next round.",
}
# How each check status reads.
CHECK_WORDS: Final = {
    "ok": "Connected",
    "invalid_auth": "The CMS refused the credentials",
    "cannot_connect": "Cannot connect to the CMS",
}


def _stamp(moment: datetime | None) -> str:
    """A moment in the firm's zone, in full: expiries and sync times are compared across days."""
    if moment is None:
        return ""
    return moment.astimezone(app_state().settings.zone).strftime("%Y-%m-%d %H:%M %Z")


def _sync_context() -> dict[str, Any]:
    """What the sync section (whole page and polled fragment alike) shows."""
    engine, mapping = app_state().engine, app_state().mapping
    phones, phones_total = queries.connection.unreadable_phones(engine)
    return {
        "mapping": mapping,
        "resources": queries.connection.resources(engine, mapping),
        "request_view": queries.connection.sync_request(engine),
        "phones": phones,
        "phones_total": phones_total,
        "stamp": _stamp,
    }


def _render(user: User, *, status: int = 200, **context: Any) -> BaseResponse:
    state = app_state()
    settings, engine, mapping = state.settings, state.engine, state.mapping
    if request.method == "GET":
        context.setdefault("done", DONE.get(request.args.get("done", ""), ""))
    return page(
        user,
        "admin/connection/index.html",
        status=status,
        check=queries.connection.last_check(engine),
        check_words=CHECK_WORDS,
        tokens=queries.connection.tokens(engine, settings, mapping),
        subscriptions=queries.connection.subscriptions(engine, settings, mapping),
        rate=queries.connection.rate_limit(engine),
        pause=queries.connection.queue_pause(engine),
        twilio=queries.connection.twilio(settings, mapping),
        now=utcnow(),
        **_sync_context(),
        **context,
    )


def _refused(user: User, refusal: MatterlineError, where: str) -> BaseResponse:
    """The page with the service's refusal in words at the status its kind says, beside the button refused."""
    return _render(user, status=STATUS.get(refusal.kind, 400), error=refusal.message, error_at=where)


@blueprint.get("")
@admin_page
def index(user: User) -> BaseResponse:
    """The connection page: the CMS check, tokens, webhooks, sync, rate limit and queue pause, and Twilio."""
    return _render(user)


@blueprint.post("/check")
@admin_page
def check(user: User) -> BaseResponse:
    """Make the one authenticated call `mappings check` makes; its answer is recorded and shown on the page."""
    state = app_state()
    try:
        services.connection.check(state.engine, state.settings, state.mapping, actor=actor(user))
    except MatterlineError as refusal:
        return _refused(user, refusal, "check")
    return redirect(url_for("admin_connection.index", done="checked") + "#check", 303)


@blueprint.post("/renew")
@admin_page
def renew(user: User) -> BaseResponse:
    """Create missing CMS webhook subscriptions and extend those that expire soon."""
    state = app_state()
    try:
        services.connection.renew_webhooks(state.engine, state.settings, state.mapping, actor=actor(user))
    except MatterlineError as refusal:
        return _refused(user, refusal, "webhooks")
    return redirect(url_for("admin_connection.index", done="renewed") + "#webhooks", 303)


@blueprint.post("/sync")
@admin_page
def sync(user: User) -> BaseResponse:
    """Queue a sync for the worker (never run here); the page then follows its progress."""
    try:
        services.connection.request_sync(app_state().engine, actor=actor(user), full=request.form.get("full") == "1")
    except MatterlineError as refusal:
        return _refused(user, refusal, "sync")
    return redirect(url_for("admin_connection.index", done="sync") + "#sync", 303)


@blueprint.get("/sync/progress")
@admin_page
def progress(user: User) -> BaseResponse:
    """The sync section alone, which the page polls every 2 s while a requested sync waits or runs."""
    return fragment(user, "admin/connection/sync.html", live_only=True, **_sync_context())
