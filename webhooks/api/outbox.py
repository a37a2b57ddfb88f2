"""`/api/outbox`: the queue of work leaving the building, and an admin's replay and discard."""

from __future__ import annotations

from typing import Final

from flask import Response

from connector import queries, services
from connector.jobs import kinds
from connector.queries.outbox import JobView
from connector.staff.users import ADMIN_ROLES
from webhooks.api.bodies import ReasonBody, ReplayBody
from webhooks.api.routing import Call, IntParam, Param, Route, TextParam, json_response
from webhooks.state import app_state

__all__ = ["ROUTES"]


def _list(call: Call) -> Response:
    """Jobs, newest first; filtered and paged in SQL."""
    rows = queries.outbox.listing(
        app_state().engine,
        state=call.query["state"],
        kind=call.query["kind"],
        before=call.query["before"],
        limit=call.query["limit"],
    )
    return json_response({"jobs": rows})


def _replay(call: Call) -> Response:
    """Put dead letters back in the queue with fresh attempts; each replay is audited."""
    return json_response(
        {"replayed": services.outbox.replay(app_state().engine, call.body["job_ids"], actor=call.actor)}
    )


def _discard(call: Call, job_id: int) -> Response:
    """Give up on a job that is not done, saying why; audited."""
    services.outbox.discard(app_state().engine, job_id, reason=call.body["reason"], actor=call.actor)
    return json_response({"discarded": job_id})


ROUTES: Final[tuple[Route, ...]] = (
    Route(
        "GET",
        "/outbox",
        _list,
        "listOutbox",
        "The outbox",
        (200, "Jobs, newest first, with their state, attempts and last error.", {"jobs": list[JobView]}),
        description="Admins only.",
        params=(
            Param("state", TextParam(16, queries.outbox.STATES), "Only this state (`dead`: the dead letters)."),
            Param("kind", TextParam(32, (kinds.SEND, kinds.WRITE)), "Only this kind of job."),
            Param("before", IntParam(1), "Only jobs older than this id (the last `id` of the previous page)."),
            Param("limit", IntParam(1, 500, 100), "Page size."),
        ),
        roles=ADMIN_ROLES,
        tags=("outbox",),
    ),
    Route(
        "POST",
        "/outbox/replay",
        _replay,
        "replayDeadLetters",
        "Replay dead letters",
        (200, "The ids of the jobs put back in the queue.", {"replayed": list[int]}),
        description=(
            "Admins only. `job_ids` null replays every dead letter; named jobs that are not dead letters are "
            "refused with 409 `not_dead` and none is replayed. Each replay is audited as `replay`."
        ),
        body=ReplayBody,
        errors=(409,),
        roles=ADMIN_ROLES,
        tags=("outbox",),
    ),
    Route(
        "POST",
        "/outbox/<int:job_id>/discard",
        _discard,
        "discardJob",
        "Discard a job",
        (200, "The job given up.", {"discarded": int}),
        description="Admins only. The reason stays on the job; audited as `discard`. 409 `not_discardable`.",
        body=ReasonBody,
        errors=(409, 422),
        roles=ADMIN_ROLES,
        tags=("outbox",),
    ),
)
