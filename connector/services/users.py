"""An admin adds the people who use Matterline and disables those who leave; both audited.

A new person gets an API token, shown once (only its hash is kept). Disabling ends their access at
once: their tokens stop authenticating and their threads stay assigned until someone reassigns them.
The last active admin cannot be disabled, so a firm can never lock itself out.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select, update

from connector.compliance import audit
from connector.errors import conflict, not_found
from connector.staff import users
from connector.staff.users import Actor, User
from connector.store.engine import utcnow
from connector.store.tables import api_tokens
from connector.store.tables import users as user_rows

__all__ = ["Added", "add", "disable"]


@dataclass(frozen=True, slots=True)
class Added:
    """A new person and their first API token (the only time it is shown)."""

    user: User
    token: str


def add(engine: Engine, *, name: str, email: str, role: str, actor: Actor) -> Added:
    """Add a person with a role; audited as `user_added`.

    Raises:
        MatterlineError: invalid role, name or email; conflict `user_exists`.
    """
    now = utcnow()
    with engine.begin() as conn:
        user, token = users.create(conn, name=name, email=email, role=role, now=now)
        audit.append(
            conn,
            actor=actor.label,
            action=audit.Action.USER_ADDED,
            subject_type="user",
            subject_id=user.id,
            request_id=actor.request_id,
            details={"email": user.email, "role": user.role},
            at=now,
        )
    return Added(user, token)


def disable(engine: Engine, key: str | int, *, actor: Actor) -> User:
    """Disable a person (by email or id): their tokens stop working now; audited as `user_disabled`.

    Raises:
        MatterlineError: not found; conflict `already_disabled`, `last_admin`.
    """
    now = utcnow()
    with engine.begin() as conn:
        person = users.find_user(conn, key)
        if person is None:
            raise not_found(f"no user {key!r}")
        row = conn.execute(select(user_rows.c.disabled_at).where(user_rows.c.id == person.id).with_for_update()).one()
        if row.disabled_at is not None:
            raise conflict("already_disabled", f"{person.email} is already disabled")
        if person.role == "admin":
            admins = conn.execute(
                select(func.count())
                .select_from(user_rows)
                .where(user_rows.c.role == "admin", user_rows.c.disabled_at.is_(None))
            ).scalar_one()
            if admins <= 1:
                raise conflict("last_admin", f"{person.email} is the last active admin; add another admin first")
        conn.execute(update(user_rows).where(user_rows.c.id == person.id).values(disabled_at=now))
        revoked = conn.execute(
            update(api_tokens)
            .where(api_tokens.c.user_id == person.id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
        audit.append(
            conn,
            actor=actor.label,
            action=audit.Action.USER_DISABLED,
            subject_type="user",
            subject_id=person.id,
            request_id=actor.request_id,
            details={"email": person.email, "role": person.role, "tokens_revoked": revoked},
            at=now,
        )
    return person
