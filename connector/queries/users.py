"""The people who use Matterline: name, email, role, whether they may still sign in, and their API tokens
as an admin tells them apart (id, the first characters, when used and revoked; never a token itself)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, String, cast, func, select

from connector.compliance.audit import Action
from connector.errors import not_found
from connector.staff.users import User
from connector.store.tables import api_tokens, audit_log, cms_user_tokens, sessions, users

__all__ = [
    "Standing",
    "TokenRecord",
    "UserRecord",
    "cms_user_of",
    "linked_to_cms",
    "listing",
    "privacy_choice",
    "standings",
    "tokens",
    "working_tokens",
]


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


@dataclass(frozen=True, slots=True)
class Standing:
    """A person as the admin's people page shows them: who, whether they may sign in, how they are signed in
    now, and how far their CMS side is set up.

    `actions_installed_at` is when Matterline last created or updated the person's buttons in the CMS (the
    audit log's `custom_actions` entry); None when it never has. `cms_token` says whether Matterline holds
    the person's own CMS token, without which the buttons cannot be installed or a click checked.
    """

    id: int
    name: str
    email: str
    role: str
    disabled_at: datetime | None
    last_signin_at: datetime | None
    cms_user_id: str | None
    cms_token: bool
    actions_installed_at: datetime | None
    working_tokens: int
    open_sessions: int


def standings(engine: Engine, *, now: datetime, idle: timedelta, absolute: timedelta) -> list[Standing]:
    """Everyone, by id, with their sign-in and CMS facts, in one read.

    A session counts as open while it has not ended and is within the `idle` and `absolute` limits at
    `now` (a timed-out one is only marked ended when its browser next comes back).
    """
    signins = (
        select(sessions.c.user_id, func.max(sessions.c.created_at).label("at")).group_by(sessions.c.user_id).subquery()
    )
    open_now = (
        select(sessions.c.user_id, func.count().label("n"))
        .where(
            sessions.c.ended_at.is_(None),
            sessions.c.last_seen_at > now - idle,
            sessions.c.created_at > now - absolute,
        )
        .group_by(sessions.c.user_id)
        .subquery()
    )
    working = (
        select(api_tokens.c.user_id, func.count().label("n"))
        .where(api_tokens.c.revoked_at.is_(None))
        .group_by(api_tokens.c.user_id)
        .subquery()
    )
    installed = (
        select(audit_log.c.subject_id, func.max(audit_log.c.at).label("at"))
        .where(audit_log.c.action == str(Action.CUSTOM_ACTIONS), audit_log.c.subject_type == "user")
        .group_by(audit_log.c.subject_id)
        .subquery()
    )
    query = (
        select(
            users,
            signins.c.at.label("last_signin_at"),
            func.coalesce(open_now.c.n, 0).label("open_sessions"),
            func.coalesce(working.c.n, 0).label("working_tokens"),
            installed.c.at.label("actions_installed_at"),
            cms_user_tokens.c.user_id.label("token_of"),
        )
        .outerjoin(signins, signins.c.user_id == users.c.id)
        .outerjoin(open_now, open_now.c.user_id == users.c.id)
        .outerjoin(working, working.c.user_id == users.c.id)
        .outerjoin(installed, installed.c.subject_id == cast(users.c.id, String))
        .outerjoin(cms_user_tokens, cms_user_tokens.c.user_id == users.c.id)
        .order_by(users.c.id)
    )
    with engine.connect() as conn:
        return [
            Standing(
                id=r.id,
                name=r.name,
                email=r.email,
                role=r.role,
                disabled_at=r.disabled_at,
                last_signin_at=r.last_signin_at,
                cms_user_id=None if r.cms_user_id is None else str(r.cms_user_id),
                cms_token=r.token_of is not None,
                actions_installed_at=r.actions_installed_at,
                working_tokens=int(r.working_tokens),
                open_sessions=int(r.open_sessions),
            )
            for r in conn.execute(query)
        ]


def working_tokens(engine: Engine) -> list[TokenRecord]:
    """Every API token that still authenticates (not revoked, its person not disabled), by person then id."""
    query = (
        select(api_tokens)
        .join(users, users.c.id == api_tokens.c.user_id)
        .where(api_tokens.c.revoked_at.is_(None), users.c.disabled_at.is_(None))
        .order_by(api_tokens.c.user_id, api_tokens.c.id)
    )
    with engine.connect() as conn:
        return [
            TokenRecord(r.id, r.user_id, r.prefix, r.created_at, r.last_used_at, r.revoked_at)
            for r in conn.execute(query)
        ]
