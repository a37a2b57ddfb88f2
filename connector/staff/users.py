"""People who use Matterline, their roles, the API tokens they authenticate with, and who an action is by."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from connector.compliance import audit
from connector.const import SESSION_GAP, TOKEN_TOUCH_EVERY
from connector.errors import conflict, forbidden, invalid
from connector.store.engine import utcnow
from connector.store.tables import api_tokens, users

ROLES = ("admin", "attorney", "staff")
# How many characters of a person's name for the audit log the store keeps (audit_log.actor and the ledgers).
ACTOR_CHARS = 128
# Who may re-file texts, export a matter and send past a guardrail that allows an override (quiet hours).
COUNSEL_ROLES = ("admin", "attorney")
# Who manages people, holds, the outbox and the audit log.
ADMIN_ROLES = ("admin",)
# A role as a sentence says it ("Pat is now a staff member"), for refusals and pages alike.
ROLE_PHRASES = {"admin": "an admin", "attorney": "an attorney", "staff": "a staff member"}
TOKEN_PREFIX = "ml_"  # noqa: S105 - a marker, not a secret


@dataclass(frozen=True, slots=True)
class User:
    """An authenticated person."""

    id: int
    name: str
    email: str
    role: str

    @property
    def actor(self) -> str:
        """How the audit log names this person: the id makes it unique, the email readable.

        Cut to the 128 characters the audit log and the ledgers keep, so a long email (up to 320)
        never makes a person's every audited action fail on PostgreSQL.
        """
        return f"user:{self.id}:{self.email}"[:ACTOR_CHARS]

    @property
    def counsel(self) -> bool:
        """Whether the person may re-file texts and override a guardrail that allows it (attorneys, admins)."""
        return self.role in COUNSEL_ROLES


@dataclass(frozen=True, slots=True)
class Actor:
    """Who does something, and through which request: the audit log's "who".

    A signed-in person (`user`), or an operator at the command line, who has the store's keys anyway
    and is named by their OS account (`user` None, unless they act `--as` someone). `request_id`
    ties every audit entry of one HTTP call together.
    """

    label: str
    user: User | None = None
    request_id: str | None = None

    @classmethod
    def of(cls, user: User, request_id: str | None = None) -> Actor:
        """A person, as the API and the pages see them."""
        return cls(user.actor, user, request_id)

    @property
    def user_id(self) -> int | None:
        """The person's id, or None for an operator."""
        return None if self.user is None else self.user.id

    @property
    def counsel(self) -> bool:
        """Attorneys, admins, and operators (who could edit the store directly)."""
        return self.user is None or self.user.counsel

    def require_counsel(self, what: str) -> None:
        """Refuse unless an attorney, an admin or an operator: the services' check, whoever calls them.

        Raises:
            MatterlineError: forbidden `forbidden_role`.
        """
        if not self.counsel:
            raise forbidden(
                "forbidden_role",
                f"only attorneys and admins may {what}",
                {"role": self.user.role if self.user else None, "allowed": list(COUNSEL_ROLES)},
            )

    def require_admin(self, what: str) -> None:
        """Refuse unless an admin or an operator: what the admin pages and the admin API may do.

        Raises:
            MatterlineError: forbidden `forbidden_role`.
        """
        if self.user is not None and self.user.role not in ADMIN_ROLES:
            raise forbidden(
                "forbidden_role",
                f"only admins may {what}",
                {"role": self.user.role, "allowed": list(ADMIN_ROLES)},
            )


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(conn: Connection, *, name: str, email: str, role: str, now: datetime) -> tuple[User, str]:
    """Create a user and their first API token in the caller's transaction; the token is returned once.

    Raises:
        MatterlineError: invalid role, empty name or malformed email; conflict `user_exists`.
    """
    if role not in ROLES:
        raise invalid("invalid_role", f"role must be one of {', '.join(ROLES)}, not {role!r}", {"field": "role"})
    if not name.strip():
        raise invalid("invalid_name", "name must not be empty", {"field": "name"})
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise invalid("invalid_email", f"{email!r} is not an email address", {"field": "email"})
    if conn.execute(select(users.c.id).where(users.c.email == email)).first() is not None:
        raise conflict("user_exists", f"a user with email {email!r} already exists", {"field": "email"})
    try:
        with conn.begin_nested():
            user_id = int(
                conn.execute(
                    insert(users)
                    .values(name=name.strip(), email=email, role=role, created_at=now)
                    .returning(users.c.id)
                ).scalar_one()
            )
    except IntegrityError:  # added by someone else a moment ago
        raise conflict("user_exists", f"a user with email {email!r} already exists", {"field": "email"}) from None
    _, token = issue_token(conn, user_id)
    return User(user_id, name.strip(), email, role), token


def issue_token(conn: Connection, user_id: int) -> tuple[int, str]:
    """A new token for `user_id`: its id, and the secret, which the caller shows once (only its hash is kept)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = conn.execute(
        insert(api_tokens)
        .values(user_id=user_id, token_hash=_hash(token), prefix=token[:10], created_at=utcnow())
        .returning(api_tokens.c.id)
    ).scalar_one()
    return int(token_id), token


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
    if row.last_used_at is None or now - row.last_used_at > TOKEN_TOUCH_EVERY:
        with engine.begin() as conn:  # at most once a minute: reads must not all become writes
            conn.execute(update(api_tokens).where(api_tokens.c.id == row.token_id).values(last_used_at=now))
            if row.last_used_at is None or now - row.last_used_at > SESSION_GAP:
                # A token is a login that does not end; a first use after a long pause is audited as one.
                audit.append(
                    conn,
                    actor=user.actor,
                    action=audit.Action.LOGIN,
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
