"""Reminders as staff see them: every one with its state and reason (the CLI's list), and the ones still to go
to a client (the thread page's "Upcoming reminders"), each beside the date of the entry it is for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Engine, select

from connector.errors import bad_parameter
from connector.store.workflow_tables import calendar_entries, reminders

__all__ = ["STATES", "ReminderView", "listing", "upcoming"]

STATES: Final = ("scheduled", "sent", "cancelled", "skipped")
# The most a thread page lists: a client with more upcoming reminders than this sees the soonest.
UPCOMING: Final = 10


@dataclass(frozen=True, slots=True)
class ReminderView:
    """One reminder: the entry, rule and moment it is for, who it goes to from which number, when, and its
    state (with why, when cancelled or skipped, and the text once sent)."""

    id: int
    entry_cms_id: str
    entry_starts_at: datetime | None
    entry_all_day: bool
    rule: str
    moment: str
    matter_cms_id: str | None
    client_phone: str
    firm_number: str
    due_at: datetime
    state: str
    reason: str | None
    message_id: int | None
    body: str
    updated_at: datetime


_COLUMNS: Final = (
    reminders.c.id,
    reminders.c.entry_cms_id,
    calendar_entries.c.starts_at,
    calendar_entries.c.all_day,
    reminders.c.rule,
    reminders.c.moment,
    reminders.c.matter_cms_id,
    reminders.c.client_phone,
    reminders.c.firm_number,
    reminders.c.due_at,
    reminders.c.state,
    reminders.c.reason,
    reminders.c.message_id,
    reminders.c.body,
    reminders.c.updated_at,
)


def _view(row: Any) -> ReminderView:
    return ReminderView(
        id=row.id,
        entry_cms_id=row.entry_cms_id,
        entry_starts_at=row.starts_at,
        entry_all_day=bool(row.all_day),
        rule=row.rule,
        moment=row.moment,
        matter_cms_id=row.matter_cms_id,
        client_phone=row.client_phone,
        firm_number=row.firm_number,
        due_at=row.due_at,
        state=row.state,
        reason=row.reason,
        message_id=row.message_id,
        body=row.body,
        updated_at=row.updated_at,
    )


def _joined() -> Any:
    return select(*_COLUMNS).select_from(
        reminders.outerjoin(calendar_entries, calendar_entries.c.cms_id == reminders.c.entry_cms_id)
    )


def listing(engine: Engine, *, matter_cms_id: str | None = None, state: str | None = None) -> list[ReminderView]:
    """Reminders, by when they go (or went); only a matter's, only in one state, when asked.

    Raises:
        MatterlineError: malformed `invalid_parameter` (a state that is not one of STATES).
    """
    if state is not None and state not in STATES:
        raise bad_parameter("state", f"one of {', '.join(STATES)}", allowed=list(STATES))
    query = _joined().order_by(reminders.c.due_at, reminders.c.id)
    if matter_cms_id is not None:
        query = query.where(reminders.c.matter_cms_id == matter_cms_id)
    if state is not None:
        query = query.where(reminders.c.state == state)
    with engine.connect() as conn:
        return [_view(row) for row in conn.execute(query)]


def upcoming(engine: Engine, client_phone: str, *, limit: int = UPCOMING) -> list[ReminderView]:
    """The reminders still to go to `client_phone`, soonest first."""
    query = (
        _joined()
        .where(reminders.c.client_phone == client_phone, reminders.c.state == "scheduled")
        .order_by(reminders.c.due_at, reminders.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [_view(row) for row in conn.execute(query)]
