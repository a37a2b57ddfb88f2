"""An admin's two levers on the outbox: replay dead letters, and discard a job that should not run."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine

from connector.compliance import audit
from connector.errors import conflict, require_reason
from connector.jobs import outbox
from connector.staff.users import Actor

__all__ = ["discard", "replay"]


def replay(engine: Engine, job_ids: Sequence[int] | None, *, actor: Actor) -> list[int]:
    """Put dead letters back in the queue with fresh attempts (`None`: every one); each replay is audited.

    Raises:
        MatterlineError: conflict `not_dead` when named jobs are not dead letters (none is replayed).
    """
    with engine.begin() as conn:
        replayed = outbox.replay(conn, None if job_ids is None else list(job_ids))
        if job_ids is not None and len(replayed) != len(set(job_ids)):
            missing = sorted(set(job_ids) - set(replayed))
            raise conflict(
                "not_dead",
                f"job {missing[0]} is not a dead letter"
                if len(missing) == 1
                else f"jobs {missing} are not dead letters",
                {"jobs": missing},
            )
        for job_id in replayed:
            audit.append(
                conn,
                actor=actor.label,
                action=audit.Action.REPLAY,
                subject_type="outbox",
                subject_id=job_id,
                request_id=actor.request_id,
            )
    return replayed


def discard(engine: Engine, job_id: int, *, reason: str, actor: Actor) -> None:
    """Give up on a job that is not done; the reason stays on the job and in the audit log.

    Raises:
        MatterlineError: invalid `empty_reason`; conflict `not_discardable` (no such job, or it is done).
    """
    why = require_reason(reason)
    with engine.begin() as conn:
        if not outbox.discard(conn, job_id, why):
            raise conflict("not_discardable", f"no job {job_id} that is not done", {"job": job_id})
        audit.append(
            conn,
            actor=actor.label,
            action=audit.Action.DISCARD,
            subject_type="outbox",
            subject_id=job_id,
            request_id=actor.request_id,
            details={"reason": why},
        )
