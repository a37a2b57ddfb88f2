"""Server-side sign-in sessions: the browser holds a random token, the store only its SHA-256.

Ending a session is a row update, so sign-out, a disabled person and a timeout end it at once for every
process; nothing about the session lives in the cookie but the token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, insert, select, update

from connector.compliance import audit
from connector.const import SESSION_TOUCH_EVERY
from connector.staff.users import User
from connector.store.engine import utcnow
from connector.store.tables import sessions, users

__all__ = ["Lifetimes", "end", "end_all", "open_session", "resume", "session_id"]


@dataclass(frozen=True, slots=True)
class Lifetimes:
    """How long a session lasts without a request (idle), and at most (absolute)."""

    idle: timedelta
    absolute: timedelta


def session_id(token: str) -> str:
    """The stored id of a cookie's token."""
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(conn: Connection, user_id: int, now: datetime) -> str:
    """A new session for `user_id` in the caller's transaction; its token is returned for the cookie only."""
    token = secrets.token_urlsafe(32)
    conn.execute(insert(sessions).values(id=session_id(token), user_id=user_id, created_at=now, last_seen_at=now))
    return token


def sign_in(
    conn: Connection,
    user: User,
    now: datetime,
    *,
    method: str,
    address: str,
    request_id: str | None,
    **details: object,
) -> str:
    """Open a session for `user` and audit the `login` (every way in: password, link, Clio); its token."""
    token = open_session(conn, user.id, now)
    audit.append(
        conn,
        actor=user.actor,
        action=audit.Action.LOGIN,
        subject_type="user",
        subject_id=user.id,
        request_id=request_id,
        details={"method": method, "role": user.role, "address": address, **details},
        at=now,
    )
    return token


def resume(engine: Engine, token: str, lifetimes: Lifetimes, *, touch: bool = True) -> User | None:
    """Who a cookie's token signs in, or None when it is unknown, ended, timed out or its person disabled.

    A timed-out session is ended on the spot, so it cannot come back if the settings are relaxed later.
    `touch=False` (a page's background poll) checks the session without counting as activity, so a tab
    left open still times out after the idle limit.
    """
    now = utcnow()
    sid = session_id(token)
    with engine.connect() as conn:
        row = conn.execute(
            select(
                sessions.c.created_at,
                sessions.c.last_seen_at,
                users.c.id,
                users.c.name,
                users.c.email,
                users.c.role,
                users.c.disabled_at,
            )
            .join(users, users.c.id == sessions.c.user_id)
            .where(sessions.c.id == sid, sessions.c.ended_at.is_(None))
        ).first()
    if row is None:
        return None
    expired = now - row.last_seen_at > lifetimes.idle or now - row.created_at > lifetimes.absolute
    if expired or row.disabled_at is not None:
        with engine.begin() as conn:
            end(conn, sid, now)
        return None
    if touch and now - row.last_seen_at > SESSION_TOUCH_EVERY:
        with engine.begin() as conn:
            conn.execute(update(sessions).where(sessions.c.id == sid).values(last_seen_at=now))
    return User(row.id, row.name, row.email, row.role)


def end(conn: Connection, sid: str, now: datetime) -> int | None:
    """End one session by its stored id; the person it was, or None if it was unknown or already ended."""
    row = conn.execute(
        update(sessions)
        .where(sessions.c.id == sid, sessions.c.ended_at.is_(None))
        .values(ended_at=now)
        .returning(sessions.c.user_id)
    ).first()
    return None if row is None else int(row.user_id)


def end_all(conn: Connection, user_id: int, now: datetime) -> int:
    """End every open session of a person; how many there were."""
    return int(
        conn.execute(
            update(sessions).where(sessions.c.user_id == user_id, sessions.c.ended_at.is_(None)).values(ended_at=now)
        ).rowcount
    )
