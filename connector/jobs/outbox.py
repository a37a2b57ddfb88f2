"""The transactional outbox: work that leaves the building, stored with the state it carries.

A job is enqueued in the same transaction as its cause, so a committed cause always has its job and a
rolled-back one never does. Workers lease due jobs (PostgreSQL: FOR UPDATE SKIP LOCKED, so several
workers never take the same job; SQLite: the single writer's BEGIN IMMEDIATE); a lease that outlives
a crashed worker simply expires and the job is taken again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select, update

from connector.const import LEASE
from connector.store import dialect
from connector.store.engine import utcnow
from connector.store.tables import outbox


@dataclass(frozen=True, slots=True)
class Job:
    """A leased job."""

    id: int
    kind: str
    key: str
    payload: dict[str, Any]
    attempts: int


def enqueue(
    conn: Connection,
    kind: str,
    key: str,
    payload: dict[str, Any],
    *,
    now: datetime | None = None,
    due: datetime | None = None,
) -> bool:
    """Add a job unless one with this idempotency key exists; True when it was added."""
    moment = now or utcnow()
    row = {
        "kind": kind,
        "idempotency_key": key,
        "payload": payload,
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": due or moment,
        "created_at": moment,
        "updated_at": moment,
    }
    return dialect.insert_ignore(conn, outbox, row, ["idempotency_key"]) > 0


def lease(
    engine: Engine, owner: str, *, kinds: tuple[str, ...] | None = None, limit: int = 20, now: datetime | None = None
) -> list[Job]:
    """Take up to `limit` due jobs for `owner`; each is invisible to other workers until its lease ends."""
    moment = now or utcnow()
    query = (
        select(outbox.c.id, outbox.c.kind, outbox.c.idempotency_key, outbox.c.payload, outbox.c.attempts)
        .where(
            outbox.c.state == "pending",
            outbox.c.next_attempt_at <= moment,
            or_(outbox.c.leased_until.is_(None), outbox.c.leased_until < moment),
        )
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
        .limit(limit)
    )
    if kinds is not None:
        query = query.where(outbox.c.kind.in_(kinds))
    with engine.begin() as conn:
        rows = conn.execute(query.with_for_update(skip_locked=True)).all()
        if not rows:
            return []
        conn.execute(
            update(outbox)
            .where(outbox.c.id.in_([row.id for row in rows]))
            .values(leased_until=moment + LEASE, lease_owner=owner, attempts=outbox.c.attempts + 1, updated_at=moment)
        )
    return [Job(r.id, r.kind, r.idempotency_key, dict(r.payload), r.attempts + 1) for r in rows]


def _owned(job: Job, owner: str) -> Any:
    return and_(outbox.c.id == job.id, outbox.c.lease_owner == owner)


def renew(conn: Connection, job: Job, owner: str, *, now: datetime | None = None) -> bool:
    """Extend `owner`'s lease on a job still waiting for it; False when another worker has taken it since.

    Called just before the job's work leaves the building, in the transaction that records it: a lease that
    ran out while earlier jobs of the batch were slow is either renewed here or already someone else's.
    """
    moment = now or utcnow()
    renewed = conn.execute(
        update(outbox)
        .where(_owned(job, owner), outbox.c.state == "pending")
        .values(leased_until=moment + LEASE, updated_at=moment)
    )
    return bool(renewed.rowcount)


def complete(conn: Connection, job: Job, owner: str, *, now: datetime | None = None) -> None:
    """The job is done; written in the same transaction as its result."""
    conn.execute(
        update(outbox).where(_owned(job, owner)).values(state="done", leased_until=None, updated_at=now or utcnow())
    )


def retry(
    conn: Connection,
    job: Job,
    owner: str,
    error: str,
    *,
    delay: timedelta,
    now: datetime | None = None,
    max_attempts: int,
) -> bool:
    """Try again after `delay`, or dead-letter after `max_attempts`; True when dead-lettered."""
    moment = now or utcnow()
    dead = job.attempts >= max_attempts
    conn.execute(
        update(outbox)
        .where(_owned(job, owner))
        .values(
            state="dead" if dead else "pending",
            next_attempt_at=moment + delay,
            leased_until=None,
            last_error=error[:2000],
            updated_at=moment,
        )
    )
    return dead


def defer(
    conn: Connection, job: Job, owner: str, reason: str, *, delay: timedelta, now: datetime | None = None
) -> None:
    """Put a job back for later without counting the lease as an attempt (it was not tried)."""
    moment = now or utcnow()
    conn.execute(
        update(outbox)
        .where(_owned(job, owner))
        .values(
            attempts=outbox.c.attempts - 1,
            next_attempt_at=moment + delay,
            leased_until=None,
            last_error=reason,
            updated_at=moment,
        )
    )


def finish(conn: Connection, key: str, reason: str, *, now: datetime | None = None) -> bool:
    """Mark the pending job `key` done without running it: the work it carried was withdrawn (a canceled text)."""
    result = conn.execute(
        update(outbox)
        .where(outbox.c.idempotency_key == key, outbox.c.state == "pending")
        .values(state="done", leased_until=None, last_error=reason, updated_at=now or utcnow())
    )
    return bool(result.rowcount)


def reopen(conn: Connection, key: str, *, now: datetime | None = None) -> bool:
    """Make job `key` due again with fresh attempts: the work it carried was withdrawn and is wanted back.

    Whoever held its lease loses it, so a worker that read the work as withdrawn cannot then mark it done.
    """
    moment = now or utcnow()
    result = conn.execute(
        update(outbox)
        .where(outbox.c.idempotency_key == key)
        .values(
            state="pending",
            attempts=0,
            next_attempt_at=moment,
            leased_until=None,
            lease_owner=None,
            last_error=None,
            updated_at=moment,
        )
    )
    return bool(result.rowcount)


def in_flight(conn: Connection, key: str, *, now: datetime) -> bool:
    """Whether a worker holds the lease on job `key` right now (its work may be under way)."""
    leased = conn.execute(select(outbox.c.leased_until).where(outbox.c.idempotency_key == key)).scalar()
    return leased is not None and leased > now


def jobs(engine: Engine, *, dead_only: bool = False) -> list[dict[str, Any]]:
    """Jobs, newest first, for `matterline outbox list`."""
    query = select(outbox).order_by(outbox.c.id.desc())
    if dead_only:
        query = query.where(outbox.c.state == "dead")
    with engine.connect() as conn:
        return [
            {
                "id": r.id,
                "kind": r.kind,
                "key": r.idempotency_key,
                "state": r.state,
                "attempts": r.attempts,
                "next_attempt_at": r.next_attempt_at,
                "last_error": r.last_error,
                "payload": r.payload,
            }
            for r in conn.execute(query)
        ]


def replay(conn: Connection, job_ids: list[int] | None, *, now: datetime | None = None) -> list[Job]:
    """Put dead jobs back in the queue with fresh attempts (`None`: every dead job); returns them.

    The job's own record (its message, its write-back) is the caller's to revive: the outbox knows no kind.
    """
    moment = now or utcnow()
    where = [outbox.c.state == "dead"]
    if job_ids is not None:
        where.append(outbox.c.id.in_(job_ids))
    rows = conn.execute(
        select(outbox.c.id, outbox.c.kind, outbox.c.idempotency_key, outbox.c.payload)
        .where(*where)
        .order_by(outbox.c.id)
        .with_for_update()
    ).all()
    ids = [r.id for r in rows]
    if ids:
        conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(ids))
            .values(state="pending", attempts=0, next_attempt_at=moment, leased_until=None, updated_at=moment)
        )
    return [Job(r.id, r.kind, r.idempotency_key, dict(r.payload), 0) for r in rows]


def discard(conn: Connection, job_id: int, reason: str, *, now: datetime | None = None) -> Job | None:
    """Give up on a job still waiting (pending or dead); the reason stays on it. None when there is no such job.

    A job already done or discarded keeps the outcome and the reason it has.
    """
    moment = now or utcnow()
    row = conn.execute(
        select(outbox.c.id, outbox.c.kind, outbox.c.idempotency_key, outbox.c.payload, outbox.c.attempts)
        .where(outbox.c.id == job_id, outbox.c.state.in_(("pending", "dead")))
        .with_for_update()
    ).first()
    if row is None:
        return None
    conn.execute(
        update(outbox)
        .where(outbox.c.id == job_id)
        .values(state="discarded", leased_until=None, last_error=f"discarded: {reason}"[:2000], updated_at=moment)
    )
    return Job(row.id, row.kind, row.idempotency_key, dict(row.payload), row.attempts)
