"""A person marks themself away for a period with a backup, or comes back early; an admin may do either for
anyone. Each audited.

While a period is in force, urgent-text tasks, threads assigned to the person and reply alerts go to
the backup (`connector.staff.coverage` decides, at the moment each happens). A period ended early keeps
its row with `ended_at`, so who covered when stays on record.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Connection, Engine, insert, select, update

from connector.compliance import audit
from connector.errors import conflict, invalid, not_found
from connector.staff import coverage as cover
from connector.staff.coverage import Period
from connector.staff.users import Actor
from connector.store.engine import utcnow
from connector.store.tables import users
from connector.store.workflow_tables import coverage

__all__ = ["LONGEST", "REASON_MAX", "end_away", "set_away"]

# Longer than this is not an absence but a leave to plan with the firm: the work should be reassigned.
LONGEST: Final = timedelta(days=366)
REASON_MAX: Final = 500


def _may_act_for(actor: Actor, user_id: int, what: str) -> None:
    """A person sets and ends their own periods; admins (and operators) anyone's."""
    if actor.user is None or actor.user.id == user_id:
        return
    actor.require_admin(what)


def _active(conn: Connection, user_id: int) -> tuple[str, str] | None:
    """The person's name and email, locked, when they exist and may sign in."""
    row = conn.execute(
        select(users.c.name, users.c.email, users.c.disabled_at).where(users.c.id == user_id).with_for_update()
    ).first()
    return None if row is None or row.disabled_at is not None else (row.name, row.email)


def set_away(
    engine: Engine,
    *,
    user_id: int,
    backup_id: int,
    starts_at: datetime | None,
    ends_at: datetime,
    reason: str | None,
    actor: Actor,
    now: datetime | None = None,
) -> Period:
    """Mark person `user_id` away from `starts_at` (default now; a start already past counts from now) until
    `ends_at`, with `backup_id` covering; audited as `away_set`.

    Raises:
        MatterlineError: forbidden `forbidden_role` (someone else's, not an admin); not found (the person);
            invalid `backup_is_self`, `unknown_backup`, `invalid_period`, `period_over`, `period_too_long`,
            `reason_too_long`; conflict `user_disabled`, `already_away` (overlaps a period on record).
    """
    _may_act_for(actor, user_id, "set another person's time away")
    now = now or utcnow()
    starts_at = now if starts_at is None or starts_at < now else starts_at
    text = (reason or "").strip() or None
    if text is not None and len(text) > REASON_MAX:
        raise invalid("reason_too_long", f"reason must be at most {REASON_MAX} characters", {"field": "reason"})
    if backup_id == user_id:
        raise invalid("backup_is_self", "a person cannot cover for themself: choose someone else", {"field": "backup"})
    if ends_at <= now:
        raise invalid("period_over", "the time away must end in the future", {"field": "ends_at"})
    if ends_at <= starts_at:
        raise invalid("invalid_period", "the time away must end after it starts", {"field": "ends_at"})
    if ends_at - starts_at > LONGEST:
        raise invalid(
            "period_too_long",
            "time away is at most a year; for a longer leave, reassign the person's work",
            {"field": "ends_at"},
        )
    with engine.begin() as conn:
        if conn.execute(select(users.c.id).where(users.c.id == user_id)).first() is None:
            raise not_found(f"no user {user_id}")
        if _active(conn, user_id) is None:
            raise conflict("user_disabled", "a disabled person cannot be marked away", {"field": "user"})
        backup = _active(conn, backup_id)
        if backup is None:
            raise invalid("unknown_backup", f"no active user {backup_id} to cover", {"field": "backup"})
        clash = conn.execute(
            select(coverage.c.id, coverage.c.starts_at, coverage.c.ends_at)
            .where(
                coverage.c.user_id == user_id,
                coverage.c.ended_at.is_(None),
                coverage.c.starts_at < ends_at,
                coverage.c.ends_at > starts_at,
            )
            .limit(1)
        ).first()
        if clash is not None:
            raise conflict(
                "already_away",
                "this overlaps time away already set: end or change that first",
                {
                    "coverage_id": clash.id,
                    "starts_at": clash.starts_at.isoformat(),
                    "ends_at": clash.ends_at.isoformat(),
                },
            )
        coverage_id = int(
            conn.execute(
                insert(coverage)
                .values(
                    user_id=user_id,
                    backup_id=backup_id,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    reason=text,
                    set_by=actor.label,
                    created_at=now,
                )
                .returning(coverage.c.id)
            ).scalar_one()
        )
        audit.append(
            conn,
            actor=actor.label,
            action=audit.Action.AWAY_SET,
            subject_type="user",
            subject_id=user_id,
            request_id=actor.request_id,
            details={
                "coverage_id": coverage_id,
                "backup_id": backup_id,
                "backup_email": backup[1],
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
                "reason": text,
            },
            at=now,
        )
        found = cover.period(conn, coverage_id)
    if found is None:  # pragma: no cover - written just above, in this transaction
        raise not_found(f"no time away {coverage_id}")
    return found


def end_away(engine: Engine, coverage_id: int, *, actor: Actor, now: datetime | None = None) -> Period:
    """End a period now ("I'm back"), or call off one still to come; audited as `away_ended`. The row stays,
    with `ended_at`, so who covered until when is on record.

    Raises:
        MatterlineError: not found; forbidden `forbidden_role` (someone else's, not an admin); conflict
            `not_away` (already over or ended).
    """
    now = now or utcnow()
    with engine.begin() as conn:
        row = conn.execute(select(coverage).where(coverage.c.id == coverage_id).with_for_update()).first()
        if row is None:
            raise not_found(f"no time away {coverage_id}")
        _may_act_for(actor, int(row.user_id), "end another person's time away")
        if row.ended_at is not None or row.ends_at <= now:
            raise conflict("not_away", "that time away is already over")
        conn.execute(update(coverage).where(coverage.c.id == coverage_id).values(ended_at=now))
        audit.append(
            conn,
            actor=actor.label,
            action=audit.Action.AWAY_ENDED,
            subject_type="user",
            subject_id=int(row.user_id),
            request_id=actor.request_id,
            details={
                "coverage_id": coverage_id,
                "backup_id": int(row.backup_id),
                "starts_at": row.starts_at.isoformat(),
                "ends_at": row.ends_at.isoformat(),
                "called_off": row.starts_at > now,
            },
            at=now,
        )
        found = cover.period(conn, coverage_id)
    if found is None:  # pragma: no cover - the row was locked above
        raise not_found(f"no time away {coverage_id}")
    return found
