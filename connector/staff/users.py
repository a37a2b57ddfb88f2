"""People who use Matterline, their roles, and the API tokens they authenticate with."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from connector.compliance import audit
from connector.store.engine import utcnow
from connector.store.tables import api_tokens, users

ROLES = ("admin", "attorney", "staff")
# Who may re-file texts and send past a guardrail that allows an override (quiet hours).
COUNSEL_ROLES = ("admin", "attorney")
TOKEN_PREFIX = "ml_"  # noqa: S105 - a marker, not a secret
_TOUCH_EVERY = timedelta(minutes=1)
# A token's first use after this long without one is recorded as a login in the audit log.
SESSION_GAP = timedelta(hours=8)


class UserError(ValueError):
    """A user that cannot be created as asked (bad role, duplicate email)."""


@dataclass(frozen=True, slots=True)
class User:
    """An authenticated person."""

    id: int
    name: str
    email: str
    role: str

    @property
    def actor(self) -> str:
        """How the audit log names this person."""
        return f"user:{self.id}:{self.email}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(engine: Engine, *, name: str, email: str, role: str) -> tuple[User, str]:
    """Create a user and their first API token; the token is returned once and stored only as a hash.

    Raises:
        UserError: unknown role, empty name, malformed or already used email.
    """
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not name.strip():
        raise UserError("name must not be empty")
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise UserError(f"{email!r} is not an email address")
    try:
        with engine.begin() as conn:
            user_id = int(
                conn.execute(
                    insert(users)
                    .values(name=name.strip(), email=email, role=role, created_at=utcnow())
                    .returning(users.c.id)
                ).scalar_one()
            )
            token = issue_token(conn, user_id)
    except IntegrityError:
        raise UserError(f"a user with email {email!r} already exists") from None
    return User(user_id, name.strip(), email, role), token


def issue_token(conn: Connection, user_id: int) -> str:
    """A new token for `user_id`."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        insert(api_tokens).values(user_id=user_id, token_hash=_hash(token), prefix=token[:10], created_at=utcnow())
    )
    return token


def authenticate(engine: Engine, token: str) -> User | None:
    """The user a bearer token belongs to, or None for an unknown, revoked or disabled one."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    digest = _hash(token)
    with engine.connect() as conn:
        row = conn.execute(
            select(
                users.c.id,
                users.c.name,
                users.c.email,
                users.c.role,
                api_tokens.c.id.label("token_id"),
                api_tokens.c.last_used_at,
            )
            .join(api_tokens, api_tokens.c.user_id == users.c.id)
            .where(
                api_tokens.c.token_hash == digest,
                api_tokens.c.revoked_at.is_(None),
                users.c.disabled_at.is_(None),
            )
        ).first()
    if row is None:
        return None
    now = utcnow()
    user = User(row.id, row.name, row.email, row.role)
    if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
        with engine.begin() as conn:  # at most once a minute: reads must not all become writes
            conn.execute(update(api_tokens).where(api_tokens.c.id == row.token_id).values(last_used_at=now))
            if row.last_used_at is None or now - row.last_used_at > SESSION_GAP:
                # A token is a login that does not end; a first use after a long pause is audited as one.
                audit.append(
                    conn,
                    actor=user.actor,
                    action="login",
                    subject_type="api_token",
                    subject_id=row.token_id,
                    details={"method": "api_token", "role": user.role},
                    at=now,
                )
    return user


def find_user(conn: Connection, key: str | int) -> User | None:
    """A user by id or email."""
    column = users.c.id if isinstance(key, int) or str(key).isdigit() else users.c.email
    value: str | int = int(key) if column is users.c.id else str(key).lower()
    row = conn.execute(select(users).where(column == value)).first()
    return None if row is None else User(row.id, row.name, row.email, row.role)


def listing(engine: Engine) -> list[User]:
    """Every user."""
    with engine.connect() as conn:
        return [User(r.id, r.name, r.email, r.role) for r in conn.execute(select(users).order_by(users.c.id))]
