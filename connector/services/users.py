"""An admin adds the people who use Matterline, disables those who leave, and revokes or rotates a token
that leaked; each audited.

A new person gets an API token, shown once (only its hash is kept). Disabling ends their access at
once: their tokens stop authenticating and their threads stay assigned until someone reassigns them.
Revoking one token ends that token alone; rotating it ends it and issues its replacement, whose secret
is shown that once. The last active admin cannot be disabled, nor their last token revoked (it can be
rotated), so a firm can never lock itself out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from connector.compliance import audit
from connector.errors import conflict, forbidden, invalid, not_found
from connector.queries.users import TokenRecord
from connector.staff import passwords, sessions, users
from connector.staff.users import ADMIN_ROLES, ROLE_PHRASES, ROLES, Actor, User
from connector.store.engine import utcnow
from connector.store.tables import api_tokens
from connector.store.tables import users as user_rows

__all__ = [
    "Added",
    "Rotated",
    "add",
    "disable",
    "end_sessions",
    "revoke_token",
    "rotate_token",
    "set_password",
    "set_privacy",
    "set_role",
]


@dataclass(frozen=True, slots=True)
class Added:
    """A new person and their first API token (the only time it is shown)."""

    user: User
    token: str


@dataclass(frozen=True, slots=True)
class Rotated:
    """A token's replacement and whose it is; the only time its secret is shown."""

    user: User
    token_id: int
    token: str


def add(engine: Engine, *, name: str, email: str, role: str, actor: Actor, password: str | None = None) -> Added:
    """Add a person with a role, and a password to sign in with if given; audited as `user_added`.

    Raises:
        MatterlineError: invalid role, name, email or password; conflict `user_exists`.
    """
    if password is not None:
        passwords.check_strength(password)
    now = utcnow()
    with engine.begin() as conn:
        user, token = users.create(conn, name=name, email=email, role=role, now=now)
        if password is not None:
            _store_password(conn, user, password, actor, now)
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
        ended = sessions.end_all(conn, person.id, now)
        audit.append(
            conn,
            actor=actor.label,
            action=audit.Action.USER_DISABLED,
            subject_type="user",
            subject_id=person.id,
            request_id=actor.request_id,
            details={"email": person.email, "role": person.role, "tokens_revoked": revoked, "sessions_ended": ended},
            at=now,
        )
    return person


def set_role(engine: Engine, key: str | int, role: str, *, actor: Actor) -> User:
    """Give a person (by email or id) another role, in force on their next request; audited as `role_changed`.

    Admins and operators only. The last active admin cannot be made an attorney or staff member, for the
    same reason they cannot be disabled: the firm would be left with no one who manages it.

    Raises:
        MatterlineError: forbidden `forbidden_role`; invalid `invalid_role`; not found; conflict
            `role_unchanged`, `last_admin`.
    """
    actor.require_admin("change a person's role")
    if role not in ROLES:
        raise invalid("invalid_role", f"role must be one of {', '.join(ROLES)}, not {role!r}", {"field": "role"})
    now = utcnow()
    with engine.begin() as conn:
        person = users.find_user(conn, key)
        if person is None:
            raise not_found(f"no user {key!r}")
        row = conn.execute(
            select(user_rows.c.role, user_rows.c.disabled_at).where(user_rows.c.id == person.id).with_for_update()
        ).one()
        if row.role == role:
            raise conflict("role_unchanged", f"{person.email} is already {ROLE_PHRASES.get(role, role)}")
        if row.role in ADMIN_ROLES and row.disabled_at is None and _active_admins(conn) <= 1:
            raise conflict("last_admin", f"{person.email} is the last active admin; make someone else an admin first")
        conn.execute(update(user_rows).where(user_rows.c.id == person.id).values(role=role))
        audit.append(
            conn,
            actor=actor.label,
            action=audit.Action.ROLE_CHANGED,
            subject_type="user",
            subject_id=person.id,
            request_id=actor.request_id,
            details={"email": person.email, "from": row.role, "to": role},
            at=now,
        )
    return User(person.id, person.name, person.email, role)


def end_sessions(engine: Engine, key: str | int, *, actor: Actor) -> int:
    """Sign a person (by email or id) out everywhere now: every open browser session ends, their API tokens
    go on working (revoke those one by one); audited as `sessions_ended`. How many sessions ended.

    For a lost laptop or a shared screen left signed in: the person can sign in again at once.

    Raises:
        MatterlineError: forbidden `forbidden_role`; not found.
    """
    actor.require_admin("end a person's sessions")
    now = utcnow()
    with engine.begin() as conn:
        person = users.find_user(conn, key)
        if person is None:
            raise not_found(f"no user {key!r}")
        ended = sessions.end_all(conn, person.id, now)
        audit.append(
            conn,
            actor=actor.label,
            action=audit.Action.SESSIONS_ENDED,
            subject_type="user",
            subject_id=person.id,
            request_id=actor.request_id,
            details={"email": person.email, "sessions_ended": ended},
            at=now,
        )
    return ended


def _active_admins(conn: Connection) -> int:
    """How many admins may sign in now, their rows locked until the caller's transaction ends: two admins
    demoting each other at the same moment are taken one after the other, so one of them stays."""
    admins = select(user_rows.c.id).where(user_rows.c.role.in_(ADMIN_ROLES), user_rows.c.disabled_at.is_(None))
    return len(conn.execute(admins.with_for_update()).all())


def set_password(engine: Engine, key: str | int, password: str, *, actor: Actor) -> User:
    """Set a person's sign-in password (by email or id), ending their open sessions; audited as
    `password_set` (never the password).

    Raises:
        MatterlineError: not found; invalid `password_too_short`.
    """
    passwords.check_strength(password)
    now = utcnow()
    with engine.begin() as conn:
        person = users.find_user(conn, key)
        if person is None:
            raise not_found(f"no user {key!r}")
        _store_password(conn, person, password, actor, now)
    return person


def set_privacy(engine: Engine, user_id: int, choice: bool | None, *, actor: Actor) -> bool | None:
    """A person's own privacy mode: on, off, or None to follow the firm's default; audited as `privacy_set`.

    Only the person chooses for themselves (it is about the screen they sit at); an operator at the
    command line may set it for anyone. Returns the choice now in force for them (None: the default).

    Raises:
        MatterlineError: forbidden `forbidden_role` (someone else's choice); not found.
    """
    if actor.user is not None and actor.user.id != user_id:
        raise forbidden("forbidden_role", "a person sets privacy mode for themselves only")
    now = utcnow()
    with engine.begin() as conn:
        person = users.find_user(conn, user_id)
        if person is None:
            raise not_found(f"no user {user_id}")
        conn.execute(update(user_rows).where(user_rows.c.id == person.id).values(privacy_mode=choice))
        audit.append(
            conn,
            actor=actor.label,
            action=audit.Action.PRIVACY_SET,
            subject_type="user",
            subject_id=person.id,
            request_id=actor.request_id,
            details={"privacy_mode": "default" if choice is None else "on" if choice else "off"},
            at=now,
        )
    return choice


def _store_password(conn: Connection, person: User, password: str, actor: Actor, now: datetime) -> None:
    conn.execute(
        update(user_rows).where(user_rows.c.id == person.id).values(password_hash=passwords.hash_password(password))
    )
    ended = sessions.end_all(conn, person.id, now)
    audit.append(
        conn,
        actor=actor.label,
        action=audit.Action.PASSWORD_SET,
        subject_type="user",
        subject_id=person.id,
        request_id=actor.request_id,
        details={"email": person.email, "sessions_ended": ended},
        at=now,
    )


def revoke_token(engine: Engine, token_id: int, *, actor: Actor) -> TokenRecord:
    """End one API token now (a leaked one), leaving the person and their other tokens; audited as
    `token_revoked`.

    Raises:
        MatterlineError: not found; conflict `already_revoked`, `last_admin` (the last active admin's last
            token: rotate it instead).
    """
    now = utcnow()
    with engine.begin() as conn:
        row, person = _active_token(conn, token_id)
        if person.role == "admin" and _admin_tokens_left(conn, token_id) == 0:
            raise conflict("last_admin", f"token {token_id} is the last active admin's last token; rotate it instead")
        conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(revoked_at=now))
        _audit_token(conn, actor, audit.Action.TOKEN_REVOKED, token_id, person, {}, now)
    return TokenRecord(row.id, row.user_id, row.prefix, row.created_at, row.last_used_at, now)


def rotate_token(engine: Engine, token_id: int, *, actor: Actor) -> Rotated:
    """Replace one API token: the old one stops working now and the new one is returned this once (only its
    hash is kept); audited as `token_rotated`.

    Raises:
        MatterlineError: not found; conflict `already_revoked` (a disabled person's tokens all are).
    """
    now = utcnow()
    with engine.begin() as conn:
        _, person = _active_token(conn, token_id)
        conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(revoked_at=now))
        new_id, token = users.issue_token(conn, person.id)
        _audit_token(conn, actor, audit.Action.TOKEN_ROTATED, token_id, person, {"new_token_id": new_id}, now)
    return Rotated(person, new_id, token)


def _active_token(conn: Connection, token_id: int) -> tuple[Any, User]:
    """The token, locked, and whose it is; refused unless it still works."""
    row = conn.execute(select(api_tokens).where(api_tokens.c.id == token_id).with_for_update()).first()
    if row is None:
        raise not_found(f"no API token {token_id}")
    if row.revoked_at is not None:
        raise conflict("already_revoked", f"API token {token_id} is already revoked")
    person = users.find_user(conn, int(row.user_id))
    if person is None:  # pragma: no cover - a token's person is deleted with it (ON DELETE CASCADE)
        raise not_found(f"no user for API token {token_id}")
    return row, person


def _admin_tokens_left(conn: Connection, token_id: int) -> int:
    """How many working tokens active admins would still hold without this one."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(api_tokens.join(user_rows, user_rows.c.id == api_tokens.c.user_id))
            .where(
                user_rows.c.role == "admin",
                user_rows.c.disabled_at.is_(None),
                api_tokens.c.revoked_at.is_(None),
                api_tokens.c.id != token_id,
            )
        ).scalar_one()
    )


def _audit_token(
    conn: Connection,
    actor: Actor,
    action: audit.Action,
    token_id: int,
    person: User,
    extra: dict[str, Any],
    now: datetime,
) -> None:
    """Which token, whose (never the token itself)."""
    audit.append(
        conn,
        actor=actor.label,
        action=action,
        subject_type="api_token",
        subject_id=token_id,
        request_id=actor.request_id,
        details={"user_id": person.id, "email": person.email, **extra},
        at=now,
    )
