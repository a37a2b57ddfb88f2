"""How the store says Matterline is doing, read at each /metrics scrape: queues, dead letters, lag, sync, sessions.

These figures live in the store, not in any one process, so they are read from it (five aggregate queries
on indexed columns) instead of being counted: every web process answers the same numbers, and a worker
that died still shows its work piling up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Engine, case, func, select

from connector.jobs import kinds
from connector.settings import Settings
from connector.store.engine import utcnow
from connector.store.tables import WAITING_FOR_INTAKE, messages, outbox, sessions, sync_state, windows, writebacks

__all__ = ["KINDS", "STATES", "Operations", "QueueFigure", "snapshot"]

# Every kind is reported, with zeros, so a queue that empties drops to 0 instead of vanishing from graphs.
KINDS: Final = (kinds.SEND, kinds.WRITE, kinds.SYNC)
# Jobs still to do and jobs that gave up; done and discarded ones are history, and not counted.
STATES: Final = ("pending", "dead")


@dataclass(frozen=True, slots=True)
class QueueFigure:
    """The outbox jobs of one kind in one state.

    `oldest_seconds`: for pending jobs, how long the most overdue one has been due and not done (a text
    held for quiet hours, or a job backing off, is not overdue until its time comes); for dead ones, the
    age of the oldest. 0 when there is none.
    """

    kind: str
    state: str
    jobs: int
    oldest_seconds: float


@dataclass(frozen=True, slots=True)
class Operations:
    """The store's state at `at`; ages in seconds, 0 when there is nothing waiting."""

    at: datetime
    outbox: tuple[QueueFigure, ...]
    dead_letters: dict[str, int]
    # The oldest closed conversation window with a record still pending for the CMS.
    writeback_pending_oldest_seconds: float
    # Seconds since each resource's last completed sync (resources never synced are absent).
    sync_age_seconds: dict[str, float]
    # Texts the webhook stored that intake has not taken in yet, and how long the oldest has waited.
    intake_backlog: int
    intake_oldest_seconds: float
    # Staff sign-in sessions neither ended nor expired (idle or absolute limit).
    sessions: int


def _age(now: datetime, since: datetime | None) -> float:
    return 0.0 if since is None else max(0.0, (now - since).total_seconds())


def snapshot(engine: Engine, settings: Settings, *, now: datetime | None = None) -> Operations:
    """Read the figures in one connection, five statements."""
    moment = now or utcnow()
    due = case((outbox.c.next_attempt_at <= moment, outbox.c.next_attempt_at))
    with engine.connect() as conn:
        jobs = conn.execute(
            select(
                outbox.c.kind,
                outbox.c.state,
                func.count().label("jobs"),
                func.min(outbox.c.created_at).label("oldest"),
                func.min(due).label("oldest_due"),
            )
            .where(outbox.c.state.in_(STATES))
            .group_by(outbox.c.kind, outbox.c.state)
        ).all()
        pending_window = conn.execute(
            select(func.min(windows.c.closed_at))
            .select_from(writebacks.join(windows, windows.c.id == writebacks.c.window_id))
            .where(writebacks.c.state == "pending")
        ).scalar()
        synced = conn.execute(
            select(sync_state.c.resource, sync_state.c.last_completed_at).where(
                sync_state.c.last_completed_at.is_not(None)
            )
        ).all()
        intake = conn.execute(select(func.count(), func.min(messages.c.created_at)).where(WAITING_FOR_INTAKE)).one()
        live = conn.execute(
            select(func.count())
            .select_from(sessions)
            .where(
                sessions.c.ended_at.is_(None),
                sessions.c.last_seen_at > moment - timedelta(minutes=settings.session_idle_minutes),
                sessions.c.created_at > moment - timedelta(hours=settings.session_max_hours),
            )
        ).scalar_one()
    found = {(row.kind, row.state): row for row in jobs}
    figures = []
    for kind in sorted({*KINDS, *(row.kind for row in jobs)}):
        for state in STATES:
            row = found.get((kind, state))
            since = None if row is None else (row.oldest_due if state == "pending" else row.oldest)
            figures.append(QueueFigure(kind, state, 0 if row is None else int(row.jobs), _age(moment, since)))
    return Operations(
        at=moment,
        outbox=tuple(figures),
        dead_letters={figure.kind: figure.jobs for figure in figures if figure.state == "dead"},
        writeback_pending_oldest_seconds=_age(moment, pending_window),
        sync_age_seconds={row.resource: _age(moment, row.last_completed_at) for row in synced},
        intake_backlog=int(intake[0]),
        intake_oldest_seconds=_age(moment, intake[1]),
        sessions=int(live),
    )
