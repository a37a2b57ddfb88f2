"""Who else has a thread open: each thread page's poll says "I am here", and hears who else is.

The poll runs every five seconds on every open thread page and nearly always finds nothing new, so
being here costs one indexed read per poll and a write only every REFRESH per viewer. A viewer whose
row is older than PRESENT_FOR has closed the page (or its tab is hidden, which pauses the poll).
Not audited: being on a page changes nothing a record needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Engine, select

from connector.store import dialect
from connector.store.engine import utcnow
from connector.store.tables import thread_presence, users

__all__ = ["PRESENT_FOR", "REFRESH", "Viewer", "here"]

# How often a viewer's row is rewritten, and how long after its last write it still counts: two and a
# half polls apart, so one late poll never makes a viewer blink out.
REFRESH: Final = timedelta(seconds=12)
PRESENT_FOR: Final = timedelta(seconds=25)


@dataclass(frozen=True, slots=True)
class Viewer:
    """Someone else with the thread open."""

    user_id: int
    name: str


def here(engine: Engine, thread_id: int, user_id: int, *, now: datetime | None = None) -> tuple[Viewer, ...]:
    """Record that `user_id` has thread `thread_id` open; the others who have it open now, by name."""
    moment = now or utcnow()
    with engine.connect() as conn:
        rows = conn.execute(
            select(thread_presence.c.user_id, thread_presence.c.seen_at, users.c.name)
            .join(users, users.c.id == thread_presence.c.user_id)
            .where(thread_presence.c.thread_id == thread_id, thread_presence.c.seen_at > moment - PRESENT_FOR)
        ).all()
    mine = next((row.seen_at for row in rows if row.user_id == user_id), None)
    if mine is None or mine <= moment - REFRESH:
        with engine.begin() as conn:
            statement = dialect.insert(conn, thread_presence).values(
                thread_id=thread_id, user_id=user_id, seen_at=moment
            )
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[thread_presence.c.thread_id, thread_presence.c.user_id],
                    set_={"seen_at": statement.excluded.seen_at},
                )
            )
    others = (Viewer(row.user_id, row.name) for row in rows if row.user_id != user_id)
    return tuple(sorted(others, key=lambda v: (v.name, v.user_id)))
