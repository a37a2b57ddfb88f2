"""`/admin/outbox`: the outbox and its dead letters, each job's last error in words; replay and discard.

The page reads `queries.outbox.board` and changes nothing itself: replay and discard are
`services.outbox.replay` and `services.outbox.discard`, the same calls the API and the CLI make, each
audited there. A change answers with a redirect back to the same view of the queue saying what was done
(Post/Redirect/Get); a refusal is the page again with the service's words and what the admin typed.
"""

from __future__ import annotations

from typing import Any, Final

from flask import Blueprint, Response, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from connector import queries, services
from connector.errors import MatterlineError, bad_parameter, invalid
from connector.staff.users import User
from connector.store.engine import utcnow
from webhooks.api.routing import store_int
from webhooks.errors import STATUS
from webhooks.pages.admin.guard import actor, admin_page
from webhooks.pages.render import page
from webhooks.state import app_state

__all__ = ["blueprint"]

blueprint = Blueprint("admin_outbox", __name__, url_prefix="/admin/outbox")

# One page of jobs; older ones are a link away ("Older jobs").
PAGE_SIZE: Final = 100
# States as the page names them.
STATE_LABELS: Final = {"pending": "Pending", "done": "Done", "dead": "Dead letters", "discarded": "Discarded"}
# One job's state as its row says it.
JOB_STATES: Final = {"pending": "Pending", "done": "Done", "dead": "Dead letter", "discarded": "Discarded"}


def _filters(values: Any) -> tuple[str | None, str | None]:
    """The state and kind asked for (a form's or the query string's); blank means any.

    Raises:
        MatterlineError: `invalid_parameter` for a state or kind the outbox does not have.
    """
    state = (values.get("state") or "").strip() or None
    kind = (values.get("kind") or "").strip() or None
    if state is not None and state not in queries.outbox.STATES:
        raise bad_parameter("state", f"no such state; one of {', '.join(queries.outbox.STATES)}")
    if kind is not None and kind not in queries.outbox.KIND_LABELS:
        raise bad_parameter("kind", f"no such kind; one of {', '.join(queries.outbox.KIND_LABELS)}")
    return state, kind


def _ids(raw: list[str]) -> list[int]:
    """Job ids as the form sent them; anything that is not an id the store can hold is dropped."""
    return [found for text in raw if (found := store_int(text.strip(), 1)) is not None]


def _render(
    user: User,
    *,
    state: str | None = None,
    kind: str | None = None,
    before: int | None = None,
    status: int = 200,
    error: str | None = None,
    failed_job: int | None = None,
    typed: dict[int, str] | None = None,
    selected: list[int] | None = None,
    **done: Any,
) -> Response:
    """The page: the counts, the filters, one page of jobs; with a refusal, the service's words and what was typed."""
    board = queries.outbox.board(app_state().engine, state=state, kind=kind, before=before, limit=PAGE_SIZE)
    return page(
        user,
        "admin/outbox/index.html",
        status=status,
        board=board,
        states=queries.outbox.STATES,
        state_labels=STATE_LABELS,
        job_states=JOB_STATES,
        kind_labels=queries.outbox.KIND_LABELS,
        state=state,
        kind=kind,
        before=before,
        zone=app_state().settings.zone,
        now=utcnow(),
        error=error,
        failed_job=failed_job,
        typed=typed or {},
        selected=set(selected or ()),
        **done,
    )


def _back(state: str | None, kind: str | None, **done: Any) -> BaseResponse:
    """Back to the view of the queue the admin acted from, saying what was done."""
    args: dict[str, Any] = {key: value for key, value in (("state", state), ("kind", kind)) if value}
    return redirect(url_for("admin_outbox.index", **args, **done), 303)


@blueprint.get("")
@admin_page
def index(user: User) -> BaseResponse:
    """Jobs by state and kind, newest first, with the counts at the top; after a change, what it did."""
    try:
        state, kind = _filters(request.args)
    except MatterlineError as exc:
        return _render(user, status=STATUS[exc.kind], error=exc.message)
    before = store_int(request.args.get("before", ""), 1)
    replayed = _ids(request.args.getlist("replayed"))
    discarded = store_int(request.args.get("discarded", ""), 1)
    return _render(user, state=state, kind=kind, before=before, replayed=replayed, discarded=discarded)


@blueprint.post("/replay")
@admin_page
def replay(user: User) -> BaseResponse:
    """Put the chosen dead letters (one row's button, or the ticked boxes) back in the queue; audited."""
    state, kind = _safe_filters()
    job_ids = _ids(request.form.getlist("job"))
    try:
        if not job_ids:
            raise invalid("nothing_selected", "choose at least one dead letter to replay")
        replayed = services.outbox.replay(app_state().engine, job_ids, actor=actor(user))
    except MatterlineError as exc:
        return _render(
            user,
            state=state,
            kind=kind,
            status=STATUS[exc.kind],
            error=f"Nothing was replayed: {exc.message}.",
            selected=job_ids,
        )
    return _back(state, kind, replayed=replayed)


@blueprint.post("/<int:job_id>/discard")
@admin_page
def discard(user: User, job_id: int) -> BaseResponse:
    """Give up on one job, saying why (required; kept on the job and in the audit log)."""
    state, kind = _safe_filters()
    reason = request.form.get("reason", "")
    try:
        services.outbox.discard(app_state().engine, job_id, reason=reason, actor=actor(user))
    except MatterlineError as exc:
        return _render(
            user,
            state=state,
            kind=kind,
            status=STATUS[exc.kind],
            error=f"Job {job_id} was not discarded: {exc.message}.",
            failed_job=job_id,
            typed={job_id: reason},
        )
    return _back(state, kind, discarded=job_id)


def _safe_filters() -> tuple[str | None, str | None]:
    """The view a form came from (its hidden state and kind); an unknown one falls back to every job."""
    try:
        return _filters(request.form)
    except MatterlineError:
        return None, None
