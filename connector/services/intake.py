"""An admin's lever on texts intake set aside: once the cause is fixed, put them back for intake; audited."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, select, update

from connector.compliance import audit
from connector.errors import conflict
from connector.staff.users import Actor
from connector.store.tables import messages

__all__ = ["retry"]


def retry(engine: Engine, message_ids: Sequence[int] | None, *, actor: Actor) -> list[int]:
    """Let intake take these set-aside texts again (`None`: every one); each retry is audited.

    Raises:
        MatterlineError: conflict `not_set_aside` when a named text is not set aside (none is retried).
    """
    held = (messages.c.thread_id.is_(None), messages.c.intake_error.is_not(None))
    with engine.begin() as conn:
        query = select(messages.c.id, messages.c.intake_error).where(*held).with_for_update()
        if message_ids is not None:
            query = query.where(messages.c.id.in_(list(message_ids)))
        rows = conn.execute(query.order_by(messages.c.id)).all()
        if message_ids is not None and len(rows) != len(set(message_ids)):
            missing = sorted(set(message_ids) - {r.id for r in rows})
            raise conflict("not_set_aside", f"text {missing[0]} is not set aside by intake", {"messages": missing})
        ids = [r.id for r in rows]
        if ids:
            conn.execute(update(messages).where(messages.c.id.in_(ids)).values(intake_error=None))
        for row in rows:
            audit.append(
                conn,
                actor=actor.label,
                action=audit.Action.INTAKE_RETRY,
                subject_type="message",
                subject_id=row.id,
                request_id=actor.request_id,
                details={"was": row.intake_error},
            )
    return ids
