"""`/admin/users`: the people who use Matterline, and what an admin does about them.

The table says who each person is, their role, whether they may sign in, when they last did, how many
browser sessions and API tokens they hold, and how far their CMS side is set up (their CMS account linked,
the custom-action buttons installed). Each action is one service call, audited there: add a person and
make their invite link, change a role, make a password-reset link, end their sessions, disable them,
revoke one API token, mark them away with a backup or end their time away.

A one-time link (and the API token a new person gets) is a secret shown once: the answer to the POST
shows it, never cached, and no URL carries it. Matterline sends no email, so the admin copies the link
to the person. Every other change answers with a redirect back to the page (Post/Redirect/Get) that says
what happened; a refusal (the last admin, an email already in use) is the service's own words on the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from flask import Blueprint, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from connector import queries, services
from connector.errors import MatterlineError
from connector.staff.users import ROLE_PHRASES, ROLES, User
from connector.store.engine import utcnow
from webhooks.errors import STATUS
from webhooks.pages import away as away_page
from webhooks.pages.admin.guard import actor, admin_page
from webhooks.pages.render import page
from webhooks.state import app_state

__all__ = ["ROLE_WORDS", "blueprint"]

blueprint = Blueprint("admin_users", __name__, url_prefix="/admin/users")

# A role as the page says it.
ROLE_WORDS: Final = {"admin": "Admin", "attorney": "Attorney", "staff": "Staff"}


@dataclass(frozen=True, slots=True)
class Shown:
    """A secret for the admin to copy this once: a one-time link (and a new person's API token)."""

    person: User
    purpose: str
    url: str
    expires_at: datetime
    token: str | None = None


def _render(user: User, *, status: int = 200, **context: Any) -> BaseResponse:
    """The page as it is now, with whatever the action adds (a message, an error, a link, what was typed)."""
    state = app_state()
    now = utcnow()
    settings = state.settings
    people = queries.users.standings(
        state.engine,
        now=now,
        idle=timedelta(minutes=settings.session_idle_minutes),
        absolute=timedelta(hours=settings.session_max_hours),
    )
    names = {p.id: p.name for p in people}
    ids = [p.id for p in people]
    context.setdefault("typed", {"name": "", "email": "", "role": "staff"})
    if request.method == "GET":
        context["done"] = _message(request.args.get("done"), names)
    response = page(
        user,
        "admin/users/index.html",
        status=status,
        people=people,
        tokens=queries.users.working_tokens(state.engine),
        names=names,
        roles=ROLES,
        role_words=ROLE_WORDS,
        zone=settings.zone,
        now=now,
        # Each person's time away (in force or to come), and who acts for those away now.
        away=queries.coverage.upcoming(state.engine, ids, now),
        covers=queries.coverage.covers(state.engine, ids, now),
        back_at=away_page.BACK_AT,
        **context,
    )
    if "shown" in context:
        response.headers["Cache-Control"] = "no-store"
    return response


def _refused(user: User, refusal: MatterlineError, **context: Any) -> BaseResponse:
    """The page with the service's refusal in words, at the status its kind says (409, 422, 404)."""
    return _render(user, status=STATUS.get(refusal.kind, 400), error=refusal.message, **context)


def _done(code: str, **params: Any) -> BaseResponse:
    """Back to the page, which says what happened (`done`: which change; the ids: to whom)."""
    return redirect(url_for("admin_users.index", done=code, **params), 303)


def _link_url(path: str) -> str:
    """A link's full address: the firm's public URL when set, else the address this admin is using."""
    base = app_state().settings.public_url or request.host_url
    return base.rstrip("/") + path


def _message(done: str | None, people: dict[int, str]) -> str | None:
    """What the redirect's `done` says happened, in words (ids that are not found say nothing)."""
    who = people.get(request.args.get("user", type=int) or 0)
    if done == "role" and who is not None:
        role = request.args.get("role", "")
        return f"{who} is now {ROLE_PHRASES.get(role, role)}."
    if done == "disabled" and who is not None:
        return f"{who} is disabled: their sessions have ended and their API tokens no longer work."
    if done == "sessions" and who is not None:
        count = request.args.get("count", 0, type=int)
        return f"{who} is signed out everywhere: {count} session{'' if count == 1 else 's'} ended."
    if done == "away" and who is not None:
        return f"{who} is marked away; their backup covers meanwhile."
    if done == "back" and who is not None:
        return f"{who} is back: their time away has ended."
    if done == "revoked":
        return f"API token {request.args.get('token', type=int)} is revoked: it no longer works."
    return None


@blueprint.get("")
@admin_page
def index(user: User) -> BaseResponse:
    """Everyone, their sessions, tokens and CMS link, and the forms that change them."""
    return _render(user)


@blueprint.post("/add")
@admin_page
def add(user: User) -> BaseResponse:
    """Add a person and make their invite link, shown this once for the admin to send them."""
    typed = {key: request.form.get(key, "").strip() for key in ("name", "email", "role")}
    engine = app_state().engine
    try:
        added = services.users.add(
            engine, name=typed["name"], email=typed["email"], role=typed["role"], actor=actor(user)
        )
        issued = services.invites.issue_link(engine, added.user.id, "invite", actor=actor(user))
    except MatterlineError as refusal:
        return _refused(user, refusal, typed=typed)
    shown = Shown(added.user, "invite", _link_url(issued.path), issued.expires_at, added.token)
    return _render(user, status=201, shown=shown)


@blueprint.post("/<int:user_id>/reset")
@admin_page
def reset(user: User, user_id: int) -> BaseResponse:
    """Make a password-reset link for a person, shown this once; an older reset link stops working."""
    try:
        issued = services.invites.issue_link(app_state().engine, user_id, "reset", actor=actor(user))
    except MatterlineError as refusal:
        return _refused(user, refusal)
    return _render(user, status=201, shown=Shown(issued.user, "reset", _link_url(issued.path), issued.expires_at))


@blueprint.post("/<int:user_id>/role")
@admin_page
def role(user: User, user_id: int) -> BaseResponse:
    """Give a person another role; it is in force on their next page."""
    wanted = request.form.get("role", "")
    try:
        person = services.users.set_role(app_state().engine, user_id, wanted, actor=actor(user))
    except MatterlineError as refusal:
        return _refused(user, refusal)
    return _done("role", user=person.id, role=person.role)


@blueprint.post("/<int:user_id>/disable")
@admin_page
def disable(user: User, user_id: int) -> BaseResponse:
    """Disable a person: their sessions end and their tokens stop working now."""
    try:
        person = services.users.disable(app_state().engine, user_id, actor=actor(user))
    except MatterlineError as refusal:
        return _refused(user, refusal)
    return _done("disabled", user=person.id)


@blueprint.post("/<int:user_id>/sessions")
@admin_page
def end_sessions(user: User, user_id: int) -> BaseResponse:
    """Sign a person out of every browser now (their API tokens go on working)."""
    try:
        count = services.users.end_sessions(app_state().engine, user_id, actor=actor(user))
    except MatterlineError as refusal:
        return _refused(user, refusal)
    return _done("sessions", user=user_id, count=count)


@blueprint.post("/tokens/<int:token_id>/revoke")
@admin_page
def revoke_token(user: User, token_id: int) -> BaseResponse:
    """End one API token now; the person and their other tokens go on."""
    try:
        revoked = services.users.revoke_token(app_state().engine, token_id, actor=actor(user))
    except MatterlineError as refusal:
        return _refused(user, refusal)
    return _done("revoked", token=revoked.id, user=revoked.user_id)


@blueprint.post("/<int:user_id>/away")
@admin_page
def away(user: User, user_id: int) -> BaseResponse:
    """Mark a person away from now until the time given, with a backup (the same call as their own Away page)."""
    state = app_state()
    try:
        wanted = away_page.read_form(request.form, state.settings.zone)
        services.coverage.set_away(
            state.engine,
            user_id=user_id,
            backup_id=wanted.backup_id,
            starts_at=None,
            ends_at=wanted.ends_at,
            reason=wanted.reason,
            actor=actor(user),
        )
    except MatterlineError as refusal:
        return _refused(user, refusal)
    return _done("away", user=user_id)


@blueprint.post("/away/<int:coverage_id>/end")
@admin_page
def back(user: User, coverage_id: int) -> BaseResponse:
    """End a person's time away now, or call off one still to come."""
    try:
        ended = services.coverage.end_away(app_state().engine, coverage_id, actor=actor(user))
    except MatterlineError as refusal:
        return _refused(user, refusal)
    return _done("back", user=ended.user_id)
