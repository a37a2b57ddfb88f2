"""The firm's reports: how quickly clients get a person's answer, week by week, for the firm and each person.

For attorneys and admins (the people who answer for the firm's service); staff get 403 with a page saying who
may. The period is in the URL as two dates, which say nothing about a client. The numbers are the query's that
`matterline report response` prints.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, request

from connector.errors import MatterlineError
from connector.queries import response_times
from connector.staff.users import Actor, User
from webhooks.pages.render import page, person_page
from webhooks.state import app_state

__all__ = ["blueprint"]

blueprint = Blueprint("reports", __name__)


def _day(typed: str, label: str, problems: list[str]) -> date | None:
    """A date the form sent (YYYY-MM-DD, what a date field sends); a problem in words when it is not one."""
    if not typed.strip():
        return None
    try:
        return date.fromisoformat(typed.strip())
    except ValueError:
        problems.append(f"{label}: not a date (YYYY-MM-DD).")
        return None


@blueprint.get("/reports/response")
@person_page
def response(user: User) -> Response:
    """First-response times for the period asked (by default the last four whole weeks).

    Raises:
        MatterlineError: forbidden `forbidden_role` (staff).
    """
    Actor.of(user).require_counsel("see the response-time report")
    state = app_state()
    problems: list[str] = []
    typed_from, typed_to = request.args.get("from", ""), request.args.get("to", "")
    start, end = _day(typed_from, "From", problems), _day(typed_to, "To", problems)
    found = None
    if not problems:
        start, end = response_times.period(state.settings, start, end)
        try:
            found = response_times.report(state.engine, state.settings, start=start, end=end)
        except MatterlineError as exc:
            problems.append(exc.message[:1].upper() + exc.message[1:] + ".")
    return page(
        user,
        "reports/response.html",
        status=400 if problems else 200,
        report=found,
        problems=problems,
        typed_from=start.isoformat() if found and start else typed_from,
        typed_to=end.isoformat() if found and end else typed_to,
        spoken=response_times.spoken,
    )
