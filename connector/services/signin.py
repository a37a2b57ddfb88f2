"""A person signs in with email and password, and signs out; each attempt audited, failures throttled.

Unknown emails and wrong passwords get the same answer, so the form does not tell who has an account.
Failed attempts are counted in the store per account and per client address, so every process shares
one throttle; past either limit sign-in is refused, without checking the password, until the oldest
failure ages out of the window.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from connector.compliance import audit
from connector.const import SIGNIN_FAILURES_PER_ACCOUNT, SIGNIN_FAILURES_PER_ADDRESS, SIGNIN_WINDOW
from connector.errors import Kind, MatterlineError
from connector.staff import passwords, sessions
from connector.staff.sessions import Lifetimes
from connector.staff.users import ACTOR_CHARS, User
from connector.store import dialect
from connector.store.engine import utcnow
from connector.store.tables import signin_failures
from connector.store.tables import users as user_rows

__all__ = ["WRONG", "SignedIn", "resume", "sign_in", "sign_out"]

WRONG = "Email or password is wrong"
_ADDRESS_CHARS = 64


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who signed in, and the session's token for their cookie (never stored)."""

    user: User
    token: str


def sign_in(engine: Engine, *, email: str, password: str, address: str, request_id: str | None = None) -> SignedIn:
    """Check the password and open a session; audited as `login`, or `login_failed` with the reason.

    Raises:
        MatterlineError: unauthenticated `signin_failed` (the same for an unknown email, a wrong password,
            no password set, a disabled person); unauthenticated `signin_throttled`, whose details say in
            how many minutes to try again.
    """
    email = email.strip().lower()[:320]
    address = (address or "unknown")[:_ADDRESS_CHARS]
    now = utcnow()
    with engine.begin() as conn:
        # Attempts on one account, or from one address, take turns: parallel guesses cannot all be counted
        # before any is recorded (always the account's lock first, so two attempts never wait on each other).
        dialect.advisory_lock(conn, _lock_key("account", email))
        dialect.advisory_lock(conn, _lock_key("address", address))
        minutes = _throttled_for(conn, email, address, now)
        if minutes:
            _audit_failure(conn, email, address, "throttled", request_id, now)
            refusal = MatterlineError(
                Kind.UNAUTHENTICATED,
                "signin_throttled",
                f"Too many attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
                {"minutes": minutes},
            )
        else:
            row = conn.execute(select(user_rows).where(user_rows.c.email == email)).first()
            stored = None if row is None else row.password_hash
            if passwords.verify(stored, password) and row is not None and row.disabled_at is None:
                user = User(row.id, row.name, row.email, row.role)
                if passwords.needs_rehash(row.password_hash):
                    new_hash = passwords.hash_password(password)
                    conn.execute(update(user_rows).where(user_rows.c.id == user.id).values(password_hash=new_hash))
                conn.execute(delete(signin_failures).where(signin_failures.c.email == email))
                token = sessions.sign_in(conn, user, now, method="password", address=address, request_id=request_id)
                return SignedIn(user, token)
            reason = (
                "unknown_email"
                if row is None
                else "disabled"
                if row.disabled_at is not None
                else "no_password"
                if stored is None
                else "wrong_password"
            )
            # Failures older than the window count for nothing: drop them as new ones come, so the table stays small.
            conn.execute(delete(signin_failures).where(signin_failures.c.at <= now - SIGNIN_WINDOW))
            conn.execute(insert(signin_failures).values(at=now, email=email, address=address))
            _audit_failure(conn, email, address, reason, request_id, now)
            refusal = MatterlineError(Kind.UNAUTHENTICATED, "signin_failed", WRONG)
    raise refusal  # after the commit: the failure is counted and audited even though sign-in is refused


def resume(engine: Engine, token: str, lifetimes: Lifetimes, *, touch: bool = True) -> User | None:
    """Who a session cookie signs in, or None (unknown, ended, timed out, or the person disabled).

    A background poll passes `touch=False`: it is not the person's activity and must not keep them signed in.
    """
    return sessions.resume(engine, token, lifetimes, touch=touch)


def sign_out(engine: Engine, token: str, *, request_id: str | None = None) -> None:
    """End the session the cookie names; audited as `logout`. An unknown or ended one is left alone."""
    now = utcnow()
    with engine.begin() as conn:
        user_id = sessions.end(conn, sessions.session_id(token), now)
        if user_id is None:
            return
        row = conn.execute(select(user_rows.c.email).where(user_rows.c.id == user_id)).one()
        audit.append(
            conn,
            actor=f"user:{user_id}:{row.email}"[:ACTOR_CHARS],
            action=audit.Action.LOGOUT,
            subject_type="user",
            subject_id=user_id,
            request_id=request_id,
            at=now,
        )


def _lock_key(kind: str, value: str) -> int:
    """A PostgreSQL advisory lock key (signed 64-bit) of one account or address."""
    digest = hashlib.sha256(f"matterline/signin/{kind}/{value}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _throttled_for(conn: Connection, email: str, address: str, now: datetime) -> int:
    """Minutes until another attempt is allowed, or 0 when neither the account nor the address is over."""
    since = now - SIGNIN_WINDOW
    waits = []
    for column, value, limit in (
        (signin_failures.c.email, email, SIGNIN_FAILURES_PER_ACCOUNT),
        (signin_failures.c.address, address, SIGNIN_FAILURES_PER_ADDRESS),
    ):
        recent = conn.execute(
            select(func.count(), func.min(signin_failures.c.at)).where(column == value, signin_failures.c.at > since)
        ).one()
        if recent[0] >= limit:
            waits.append((recent[1] + SIGNIN_WINDOW - now).total_seconds())
    return max(1, math.ceil(max(waits) / 60)) if waits else 0


def _audit_failure(
    conn: Connection, email: str, address: str, reason: str, request_id: str | None, now: datetime
) -> None:
    """Which account was tried, from where, and why it was refused (never the password)."""
    audit.append(
        conn,
        actor=f"signin:{address}"[:ACTOR_CHARS],
        action=audit.Action.LOGIN_FAILED,
        subject_type="user",
        request_id=request_id,
        details={"email": email, "address": address, "reason": reason},
        at=now,
    )
