"""`/away`: a person's own time away. They say until when they are out and who covers, and end it when back.

While it is in force, urgent-text tasks, threads assigned to them and reply alerts go to the backup,
and every thread they are on says who is covering (`connector.services.coverage` sets and ends it, the
same call as the API and the CLI). Times are typed in the firm's zone, as the rest of the pages show them.
The form posts and comes back to the page (Post/Redirect/Get) saying what happened; a refusal is the
service's own sentence, with what was typed kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Final
from zoneinfo import ZoneInfo

from flask import Blueprint, redirect, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as BaseResponse

from connector import queries, services
from connector.errors import Kind, MatterlineError, invalid
from connector.staff.users import Actor, User
from connector.store.engine import utcnow
from webhooks.api.routing import store_int
from webhooks.errors import STATUS
from webhooks.pages.render import page, person_page
from webhooks.state import app_state

__all__ = ["AwayForm", "blueprint", "read_form"]

blueprint = Blueprint("away", __name__)

# When someone is back on a day, unless they say otherwise: the start of a working day.
BACK_AT: Final = "09:00"
_DONE: Final = {"set": "Your time away is set.", "ended": "Welcome back: your time away has ended."}


@dataclass(frozen=True, slots=True)
class AwayForm:
    """What the away form said, read: who covers, until when (in the firm's zone, made aware), and why."""

    backup_id: int
    ends_at: datetime
    reason: str | None


def read_form(form: MultiDict[str, str], zone: ZoneInfo) -> AwayForm:
    """The away form's fields (`backup`, `until_date`, `until_time`, `reason`), the times in the firm's zone.

    Raises:
        MatterlineError: invalid `unknown_backup` (none picked), `invalid_period` (no date or a bad one).
    """
    backup = store_int(form.get("backup", "").strip(), 1)
    if backup is None:
        raise invalid("unknown_backup", "choose who covers for you while you are away", {"field": "backup"})
    try:
        day = date.fromisoformat(form.get("until_date", "").strip())
        at = time.fromisoformat(form.get("until_time", "").strip() or BACK_AT)
    except ValueError:
        raise invalid(
            "invalid_period", "give the date (and time) you are back, e.g. 2026-12-10 at 09:00", {"field": "ends_at"}
        ) from None
    reason = form.get("reason", "").strip() or None
    return AwayForm(backup, datetime.combine(day, at, tzinfo=zone), reason)


def _render(user: User, *, status: int = 200, **context: Any) -> BaseResponse:
    state = app_state()
    now = utcnow()
    people = [p for p in queries.users.listing(state.engine, include_disabled=False) if p.id != user.id]
    periods = queries.coverage.upcoming(state.engine, [user.id], now)[user.id]
    context.setdefault("typed", {"backup": "", "until_date": "", "until_time": BACK_AT, "reason": ""})
    return page(
        user,
        "away/index.html",
        status=status,
        people=people,
        periods=periods,
        covering=queries.coverage.covers(state.engine, [user.id], now).get(user.id),
        zone=state.settings.zone,
        now=now,
        done=_DONE.get(request.args.get("done", "")),
        back_at=BACK_AT,
        **context,
    )


@blueprint.get("/away")
@person_page
def index(user: User) -> BaseResponse:
    """The person's time away (in force and to come) and the form to set it."""
    return _render(user)


@blueprint.post("/away")
@person_page
def set_away(user: User) -> BaseResponse:
    """Mark the person away from now until the time given, with the backup they chose."""
    state = app_state()
    typed = {key: request.form.get(key, "").strip() for key in ("backup", "until_date", "until_time", "reason")}
    try:
        wanted = read_form(request.form, state.settings.zone)
        services.coverage.set_away(
            state.engine,
            user_id=user.id,
            backup_id=wanted.backup_id,
            starts_at=None,
            ends_at=wanted.ends_at,
            reason=wanted.reason,
            actor=Actor.of(user, request.headers.get("X-Request-ID")),
        )
    except MatterlineError as refusal:
        return _render(user, status=STATUS.get(refusal.kind, 400), error=refusal.message, typed=typed)
    return redirect(url_for("away.index", done="set"), 303)


@blueprint.post("/away/<int:coverage_id>/end")
@person_page
def end(user: User, coverage_id: int) -> BaseResponse:
    """The person is back: their time away ends now (or one still to come is called off)."""
    try:
        services.coverage.end_away(
            app_state().engine, coverage_id, actor=Actor.of(user, request.headers.get("X-Request-ID"))
        )
    except MatterlineError as refusal:
        if refusal.kind is Kind.NOT_FOUND:
            raise
        return _render(user, status=STATUS.get(refusal.kind, 400), error=refusal.message)
    return redirect(url_for("away.index", done="ended"), 303)
