"""The people who use Matterline: name, email, role, and whether they may still sign in (never a token)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from connector.store.tables import users

__all__ = ["UserRecord", "listing"]


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
