"""The queue of work leaving the building: each job's kind, state, attempts, and its last error's meaning."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Engine, select

from connector.store.tables import outbox

__all__ = ["STATES", "JobView", "listing"]

STATES: Final = ("pending", "done", "dead", "discarded")


@dataclass(frozen=True, slots=True)
class JobView:
    """One outbox job as an admin reads it."""

    id: int
    kind: str
    key: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    payload: dict[str, Any]


def listing(
    engine: Engine,
    *,
    state: str | None = None,
    kind: str | None = None,
    before: int | None = None,
    limit: int | None = None,
) -> list[JobView]:
    """Jobs, newest first, filtered and paged in SQL (`before`: only jobs older than this id)."""
    query = select(outbox).order_by(outbox.c.id.desc())
    if state is not None:
        query = query.where(outbox.c.state == state)
    if kind is not None:
        query = query.where(outbox.c.kind == kind)
    if before is not None:
        query = query.where(outbox.c.id < before)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [
            JobView(
                id=r.id,
                kind=r.kind,
                key=r.idempotency_key,
                state=r.state,
                attempts=r.attempts,
                next_attempt_at=r.next_attempt_at,
                last_error=r.last_error,
                payload=dict(r.payload),
            )
            for r in conn.execute(query)
        ]
