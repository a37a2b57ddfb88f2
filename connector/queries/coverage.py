"""Who is away, who covers, and the periods on record, as the pages, the API and the CLI show them.

Read through `connector.staff.coverage`, the same reads the writer and the assignment service decide
with, so what a page says about who is covering is what Matterline does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from connector.queries.threads import ThreadView
from connector.staff import coverage
from connector.staff.coverage import Cover, Period
from connector.store.engine import utcnow
from connector.store.tables import matters, users

__all__ = ["Cover", "Period", "ThreadCover", "covers", "for_thread", "get", "upcoming"]


@dataclass(frozen=True, slots=True)
class ThreadCover:
    """Someone a thread is about who is away: its assignee, or its matter's responsible attorney."""

    role: str  # assignee | responsible_attorney
    cover: Cover


def covers(engine: Engine, user_ids: Iterable[int], now: datetime | None = None) -> dict[int, Cover]:
    """Who is away among `user_ids` now, and who acts for each."""
    with engine.connect() as conn:
        return coverage.covers(conn, user_ids, now or utcnow())


def upcoming(engine: Engine, user_ids: Iterable[int], now: datetime | None = None) -> dict[int, list[Period]]:
    """Each person's periods in force or still to come, soonest first."""
    with engine.connect() as conn:
        return coverage.upcoming(conn, user_ids, now or utcnow())


def get(engine: Engine, coverage_id: int) -> Period | None:
    """One period on record."""
    with engine.connect() as conn:
        return coverage.period(conn, coverage_id)


def for_thread(engine: Engine, thread: ThreadView, now: datetime | None = None) -> tuple[ThreadCover, ...]:
    """Who the thread is with that is away now: its assignee, then its matter's responsible attorney (the
    Matterline person who linked that CMS user), each once."""
    now = now or utcnow()
    with engine.connect() as conn:
        attorney = None
        if thread.matter_cms_id is not None:
            attorney = conn.execute(
                select(users.c.id)
                .join(matters, matters.c.responsible_attorney_cms_id == users.c.cms_user_id)
                .where(matters.c.cms_id == thread.matter_cms_id)
            ).scalar()
        wanted = [
            (role, int(who))
            for role, who in (("assignee", thread.assignee_id), ("responsible_attorney", attorney))
            if who is not None
        ]
        found = coverage.covers(conn, [who for _, who in wanted], now)
    seen: set[int] = set()
    notes = []
    for role, who in wanted:
        if who in found and who not in seen:
            seen.add(who)
            notes.append(ThreadCover(role, found[who]))
    return tuple(notes)
