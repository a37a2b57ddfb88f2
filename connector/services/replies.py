"""A person dismisses a reply alert: it leaves their inbox's list (the thread stays in "Waiting for reply").

Only the person the alert is for, or an admin (who also sees the alerts meant for nobody), may dismiss it.
Not audited: the alert itself is (`reply_overdue`), and dismissing it changes nothing on the record, as
answering the client would; the alert keeps the moment it was seen.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select, update

from connector.errors import forbidden, not_found
from connector.staff.users import ADMIN_ROLES, Actor
from connector.store.engine import utcnow
from connector.store.workflow_tables import reply_alerts

__all__ = ["dismiss"]


def dismiss(engine: Engine, alert_id: int, actor: Actor, *, now: datetime | None = None) -> datetime:
    """Mark alert `alert_id` seen; when it was (the first dismissal's moment: a second changes nothing).

    Raises:
        MatterlineError: not found (no such alert); forbidden `not_your_alert` (someone else's alert, or one
            meant for nobody, and the actor is not an admin).
    """
    moment = now or utcnow()
    with engine.begin() as conn:
        row = conn.execute(
            select(reply_alerts.c.user_id, reply_alerts.c.seen_at)
            .where(reply_alerts.c.id == alert_id)
            .with_for_update()
        ).first()
        if row is None:
            raise not_found(f"no reply alert {alert_id}")
        person = actor.user
        if person is not None and person.role not in ADMIN_ROLES and row.user_id != person.id:
            raise forbidden("not_your_alert", "only the person an alert is for, or an admin, may dismiss it")
        if row.seen_at is not None:
            seen: datetime = row.seen_at
            return seen
        conn.execute(update(reply_alerts).where(reply_alerts.c.id == alert_id).values(seen_at=moment))
    return moment
