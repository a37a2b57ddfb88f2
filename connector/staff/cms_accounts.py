"""A person's CMS account: the CMS user id they linked, their own CMS tokens (sealed), and OAuth states.

The tokens are sealed with MATTERLINE_SECRET_KEY like the firm's (`connector.cms.auth.TokenStore`):
without a key nothing is written, and a person's CMS features (custom actions, the nonce check) wait
until one is set. An OAuth `state` is kept as a SHA-256 only and spent by its first use.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, insert, select, update

from connector.cms.auth import TokenGrant
from connector.crypto import SecretBox
from connector.errors import conflict
from connector.staff.users import User
from connector.store.engine import utcnow
from connector.store.tables import cms_user_tokens, oauth_states, users

__all__ = [
    "STATE_LIFETIME",
    "PendingState",
    "Person",
    "find_by_cms_user",
    "link",
    "load_tokens",
    "new_state",
    "save_tokens",
    "take_state",
]

# How long a person may take on the CMS's approval page before the state is refused.
STATE_LIFETIME = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Person:
    """A Matterline person found by their CMS user id, and whether they may sign in."""

    user: User
    enabled: bool


@dataclass(frozen=True, slots=True)
class PendingState:
    """What an OAuth state was issued for: signing in, or linking the account of person `user_id`."""

    purpose: str
    user_id: int | None
    next_path: str


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def find_by_cms_user(conn: Connection, cms_user_id: str) -> Person | None:
    """The person who linked CMS user `cms_user_id`, or None."""
    row = conn.execute(select(users).where(users.c.cms_user_id == cms_user_id)).first()
    if row is None:
        return None
    return Person(User(row.id, row.name, row.email, row.role), row.disabled_at is None)


def cms_user_of(conn: Connection, user_id: int) -> str | None:
    """The CMS user id person `user_id` linked, or None."""
    value = conn.execute(select(users.c.cms_user_id).where(users.c.id == user_id)).scalar()
    return None if value is None else str(value)


def link(conn: Connection, user_id: int, cms_user_id: str) -> bool:
    """Record that person `user_id` is CMS user `cms_user_id`; False when it was already so.

    Raises:
        MatterlineError: conflict `cms_user_linked` when another person has linked that CMS user.
    """
    holder = conn.execute(select(users.c.id).where(users.c.cms_user_id == cms_user_id)).scalar()
    if holder == user_id:
        return False
    if holder is not None:
        raise conflict("cms_user_linked", "that Clio account is already linked to another Matterline person")
    conn.execute(update(users).where(users.c.id == user_id).values(cms_user_id=cms_user_id))
    return True


def save_tokens(conn: Connection, secret_key: str | None, user_id: int, grant: TokenGrant, now: datetime) -> bool:
    """Keep person `user_id`'s CMS tokens, sealed; False (and nothing written) without a secret key."""
    if not secret_key:
        return False
    box = SecretBox(secret_key)
    row = {
        "access_token": box.seal(grant.access_token),
        "refresh_token": box.seal(grant.refresh_token) if grant.refresh_token else None,
        "expires_at": now + timedelta(seconds=grant.expires_in) if grant.expires_in else None,
        "updated_at": now,
    }
    conn.execute(delete(cms_user_tokens).where(cms_user_tokens.c.user_id == user_id))
    conn.execute(insert(cms_user_tokens).values(user_id=user_id, **row))
    return True


def load_tokens(engine: Engine, secret_key: str | None, user_id: int) -> TokenGrant | None:
    """Person `user_id`'s CMS tokens, or None (none kept, no key, or sealed under another key)."""
    if not secret_key:
        return None
    with engine.connect() as conn:
        row = conn.execute(select(cms_user_tokens).where(cms_user_tokens.c.user_id == user_id)).first()
    if row is None:
        return None
    box = SecretBox(secret_key)
    access = box.open(row.access_token)
    if access is None:
        return None
    refresh = box.open(row.refresh_token) if row.refresh_token else None
    return TokenGrant(access, refresh, None)


def new_state(conn: Connection, purpose: str, user_id: int | None, next_path: str, now: datetime) -> str:
    """A fresh OAuth state for the browser's cookie and the authorize URL; states past their life are dropped."""
    conn.execute(delete(oauth_states).where(oauth_states.c.created_at <= now - STATE_LIFETIME))
    value = secrets.token_urlsafe(32)
    conn.execute(
        insert(oauth_states).values(
            id=_digest(value), purpose=purpose, user_id=user_id, next_path=next_path[:512], created_at=now
        )
    )
    return value


def take_state(conn: Connection, value: str, now: datetime | None = None) -> PendingState | None:
    """Spend a state: what it was issued for, or None when unknown, already spent or too old."""
    now = now or utcnow()
    row = conn.execute(
        delete(oauth_states)
        .where(oauth_states.c.id == _digest(value))
        .returning(oauth_states.c.purpose, oauth_states.c.user_id, oauth_states.c.next_path, oauth_states.c.created_at)
    ).first()
    if row is None or now - row.created_at > STATE_LIFETIME:
        return None
    return PendingState(row.purpose, row.user_id, row.next_path)
