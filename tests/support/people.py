"""People in the store, added the way an admin adds them (the users service, audited)."""

from __future__ import annotations

from sqlalchemy import Engine

from connector import services
from connector.staff.users import Actor, User


def add_user(engine: Engine, *, name: str, email: str, role: str) -> tuple[User, str]:
    """Add a person as the test's operator; the person and their API token."""
    added = services.users.add(engine, name=name, email=email, role=role, actor=Actor("cli:test"))
    return added.user, added.token
