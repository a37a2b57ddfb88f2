"""Who an audit label names, in words: `user:5:ada@firm.example` reads as Ada Admin on the admin pages.

The log and the hold ledger name people by a label that stays unique and readable forever; a page puts
the person's name beside it so an admin does not have to look the id up.
"""

from __future__ import annotations

from connector import queries
from connector.staff.users import User
from webhooks.state import app_state

__all__ = ["names", "resolve"]


def names() -> dict[str, str]:
    """Every person's audit label, mapped to their name (disabled people too: their entries stay)."""
    return {
        User(r.id, r.name, r.email, r.role).actor: r.name
        for r in queries.users.listing(app_state().engine, include_disabled=True)
    }


def resolve(typed: str) -> str:
    """The audit label for what an admin typed: a person's email becomes their label, a label stays as is."""
    text = typed.strip()
    if "@" in text and ":" not in text:
        for record in queries.users.listing(app_state().engine, include_disabled=True):
            if record.email.lower() == text.lower():
                return User(record.id, record.name, record.email, record.role).actor
    return text
