"""Reply alerts a person has yet to see: the inbox's short list above the threads, and `matterline alerts`.

An alert is shown while its thread still waits on the text that raised it: an answer after that text clears
it from every list without anyone dismissing it. A person sees their own; admins also see the alerts meant
for nobody (a thread with no assignee and no responsible attorney in Matterline).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, Engine, Select, not_, or_, select

from connector.messaging import replies
from connector.messaging.replies import hours_text
from connector.staff.users import ADMIN_ROLES, User
from connector.store.tables import contacts, messages, threads, users
from connector.store.workflow_tables import reply_alerts

__all__ = ["LIMIT", "AlertView", "get", "hours_text", "unseen"]

# The list is a reminder, not a queue: past this many, the inbox's "Waiting for reply" filter is the queue.
LIMIT: Final = 20


@dataclass(frozen=True, slots=True)
class AlertView:
    """One alert: whose thread waited since when, who it is for (None: nobody, admins see it), whether it
    was also a CMS task, and the person away it was meant for when a backup got it."""

    id: int
    thread_id: int
    message_id: int
    client_name: str | None
    client_phone: str
    waited_since: datetime
    via: str
    user_id: int | None
    covering_for: str | None
    created_at: datetime
    seen_at: datetime | None


def _query() -> Select[Any]:
    """Alerts with their client's name and number and the away person's name."""
    away = users.alias("away")
    return (
        select(
            reply_alerts,
            threads.c.client_phone,
            contacts.c.name.label("client_name"),
            away.c.name.label("covering_for_name"),
        )
        .join(threads, threads.c.id == reply_alerts.c.thread_id)
        .outerjoin(contacts, contacts.c.cms_id == threads.c.client_cms_id)
        .outerjoin(away, away.c.id == reply_alerts.c.covering_for)
    )


def _still_waiting() -> ColumnElement[bool]:
    """No answer in the alert's thread after the text that raised it (a short range of the thread's index)."""
    answer = messages.alias("answer")
    answered = select(answer.c.id).where(
        answer.c.thread_id == reply_alerts.c.thread_id,
        answer.c.id > reply_alerts.c.message_id,
        replies.is_answer(answer),
    )
    return not_(answered.exists())


def _view(row: Any) -> AlertView:
    return AlertView(
        id=row.id,
        thread_id=row.thread_id,
        message_id=row.message_id,
        client_name=row.client_name,
        client_phone=row.client_phone,
        waited_since=row.waited_since,
        via=row.via,
        user_id=row.user_id,
        covering_for=row.covering_for_name,
        created_at=row.created_at,
        seen_at=row.seen_at,
    )


def unseen(engine: Engine, user: User | None, *, limit: int = LIMIT) -> list[AlertView]:
    """The alerts `user` has not dismissed on threads that still wait, newest first; an operator (None) sees
    every one not dismissed."""
    query = _query().where(reply_alerts.c.seen_at.is_(None), _still_waiting())
    if user is not None:
        mine = reply_alerts.c.user_id == user.id
        query = query.where(or_(mine, reply_alerts.c.user_id.is_(None)) if user.role in ADMIN_ROLES else mine)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(reply_alerts.c.id.desc()).limit(limit)).all()
    return [_view(row) for row in rows]


def get(engine: Engine, alert_id: int) -> AlertView | None:
    """One alert, seen or not, whether its thread still waits or not."""
    with engine.connect() as conn:
        row = conn.execute(_query().where(reply_alerts.c.id == alert_id)).first()
    return None if row is None else _view(row)
