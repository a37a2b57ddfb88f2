"""The people who use Matterline: name, email, role, whether they may still sign in, and their API tokens
as an admin tells them apart (id, the first characters, when used and revoked; never a token itself)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from connector.errors import not_found
from connector.staff.users import User
from connector.store.tables import api_tokens, users

__all__ = ["TokenRecord", "UserRecord", "cms_user_of", "linked_to_cms", "listing", "privacy_choice", "tokens"]


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A person as an admin sees them."""

    id: int
    name: str
    email: str
    role: str
    disabled_at: datetime | None


def listing(engine: Engine, *, include_disabled: bool = True) -> list[UserRecord]:
    """Everyone, by id; without those disabled, if asked."""
    query = select(users).order_by(users.c.id)
    if not include_disabled:
        query = query.where(users.c.disabled_at.is_(None))
    with engine.connect() as conn:
        return [UserRecord(r.id, r.name, r.email, r.role, r.disabled_at) for r in conn.execute(query)]


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """An API token as an admin sees it: enough to tell which one leaked (`prefix`), never enough to use it."""

    id: int
    user_id: int
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def tokens(engine: Engine, user_id: int) -> list[TokenRecord]:
    """A person's tokens, oldest first, revoked ones included.

    Raises:
        MatterlineError: not found (the person).
    """
    with engine.connect() as conn:
        if conn.execute(select(users.c.id).where(users.c.id == user_id)).first() is None:
            raise not_found(f"no user {user_id}")
        rows = conn.execute(select(api_tokens).where(api_tokens.c.user_id == user_id).order_by(api_tokens.c.id))
        return [TokenRecord(r.id, r.user_id, r.prefix, r.created_at, r.last_used_at, r.revoked_at) for r in rows]


def privacy_choice(engine: Engine, user_id: int) -> bool | None:
    """A person's own privacy-mode choice: on, off, or None when they follow the firm's default."""
    with engine.connect() as conn:
        value = conn.execute(select(users.c.privacy_mode).where(users.c.id == user_id)).scalar_one_or_none()
    return None if value is None else bool(value)


def linked_to_cms(engine: Engine) -> list[User]:
    """Everyone enabled who has linked their CMS account (signed in with Clio), by id."""
    query = (
        select(users.c.id, users.c.name, users.c.email, users.c.role)
        .where(users.c.cms_user_id.is_not(None), users.c.disabled_at.is_(None))
        .order_by(users.c.id)
    )
    with engine.connect() as conn:
        return [User(r.id, r.name, r.email, r.role) for r in conn.execute(query)]


def cms_user_of(engine: Engine, user_id: int) -> str | None:
    """The CMS user id person `user_id` has linked, or None."""
    with engine.connect() as conn:
        value = conn.execute(select(users.c.cms_user_id).where(users.c.id == user_id)).scalar()
    return None if value is None else str(value)
