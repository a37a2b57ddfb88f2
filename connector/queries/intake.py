"""The texts intake set aside: stored by the webhook, never threaded, each with the reason, for an admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from connector.store.tables import messages

__all__ = ["SetAside", "listing"]


@dataclass(frozen=True, slots=True)
class SetAside:
    """A text that is safe in the store but not in any conversation yet, and why."""

    id: int
    sid: str | None
    from_number: str
    to_number: str
    received_at: datetime
    reason: str


def listing(engine: Engine) -> list[SetAside]:
    """Every set-aside text, oldest first."""
    query = (
        select(
            messages.c.id,
            messages.c.sid,
            messages.c.from_number,
            messages.c.to_number,
            messages.c.created_at,
            messages.c.intake_error,
        )
        .where(messages.c.thread_id.is_(None), messages.c.intake_error.is_not(None))
        .order_by(messages.c.id)
    )
    with engine.connect() as conn:
        return [
            SetAside(r.id, r.sid, r.from_number, r.to_number, r.created_at, r.intake_error) for r in conn.execute(query)
        ]
