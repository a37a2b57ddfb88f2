"""An admin's two levers on the outbox: replay dead letters, and discard a job that should not run."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine

from connector.compliance import audit
from connector.errors import conflict, require_reason
from connector.jobs import outbox
from connector.jobs.registry import HANDLERS
from connector.staff.users import Actor

__all__ = ["discard", "replay"]


def replay(engine: Engine, job_ids: Sequence[int] | None, *, actor: Actor) -> list[int]:
    """Put dead letters back in the queue with fresh attempts (`None`: every one); each replay is audited.

    Raises:
        MatterlineError: forbidden `forbidden_role` for attorneys and staff; conflict `not_dead` when named
            jobs are not dead letters (none is replayed).
    """
    actor.require_admin("replay outbox jobs")
    with engine.begin() as conn:
        jobs = outbox.replay(conn, None if job_ids is None else list(job_ids))
        replayed = [job.id for job in jobs]
        if job_ids is not None and len(replayed) != len(set(job_ids)):
            missing = sorted(set(job_ids) - set(replayed))
            raise conflict(
                "not_dead",
                f"job {missing[0]} is not a dead letter"
                if len(missing) == 1
                else f"jobs {missing} are not dead letters",
                {"jobs": missing},
            )
        for job in jobs:
            HANDLERS[job.kind].revive(conn, job.payload)  # the text or record is live again, not just the job
            audit.append(
                conn,
                actor=actor.label,
                action=audit.Action.REPLAY,
                subject_type="outbox",
                subject_id=job.id,
                request_id=actor.request_id,
                details={"kind": job.kind},
            )
    return replayed


def discard(engine: Engine, job_id: int, *, reason: str, actor: Actor) -> None:
    """Give up on a job that is not done; the reason stays on the job and in the audit log.

    Raises:
        MatterlineError: forbidden `forbidden_role` for attorneys and staff; invalid `empty_reason`; conflict
            `not_discardable` (no such job, or it is done).
    """
    actor.require_admin("discard outbox jobs")
    why = require_reason(reason)
    with engine.begin() as conn:
        job = outbox.discard(conn, job_id, why)
        if job is None:
            raise conflict("not_discardable", f"no job {job_id} still waiting (pending or dead)", {"job": job_id})
        HANDLERS[job.kind].abandon(conn, job.payload, f"discarded by {actor.label}: {why}")
        audit.append(
            conn,
            actor=actor.label,
            action=audit.Action.DISCARD,
            subject_type="outbox",
            subject_id=job_id,
            request_id=actor.request_id,
            details={"reason": why},
        )
