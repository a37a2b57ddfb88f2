"""One-time links that set a person's password: an admin's invite for someone new, or a reset for someone who
forgot theirs.

The link carries a random token; the store keeps only its SHA-256 (as it does for sessions), so a copy
of the database opens no one's account. A link works once, until it expires (an invite after a week, a
reset after an hour), and only for a person who is not disabled. A new link for the same person and
purpose revokes the older one, and setting the password revokes every other link the person still has,
so only the newest link an admin sent can be used. Every refusal says the same plain sentence: whether a
token was unknown, used or expired is for the audit log, not for whoever holds the link.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from sqlalchemy import Connection, Engine, insert, select, update

from connector.compliance import audit
from connector.const import INVITE_LINK_LIFETIME, RESET_LINK_LIFETIME
from connector.errors import Kind, MatterlineError, conflict, forbidden, not_found
from connector.services.signin import SignedIn
from connector.staff import passwords, sessions, users
from connector.staff.users import ACTOR_CHARS, ADMIN_ROLES, Actor, User
from connector.store.engine import utcnow
from connector.store.tables import signin_links
from connector.store.tables import users as user_rows

__all__ = ["LINK_REFUSED", "PURPOSES", "Issued", "Purpose", "issue_link", "pending", "redeem"]

Purpose = Literal["invite", "reset"]
PURPOSES: Final[tuple[Purpose, ...]] = ("invite", "reset")
LIFETIMES: Final = {"invite": INVITE_LINK_LIFETIME, "reset": RESET_LINK_LIFETIME}
LINK_REFUSED: Final = "This link has expired or has already been used. Ask an admin for a new one."
_PREFIX: Final = "/welcome/"


@dataclass(frozen=True, slots=True)
class Issued:
    """A new link's token (shown this once; only its hash is kept), whose it is, what for, and until when."""

    user: User
    purpose: Purpose
    token: str
    expires_at: datetime

    @property
    def path(self) -> str:
        """The link's path on the app; the front end puts the public URL before it."""
        return _link_path(self.token)


def _link_path(token: str) -> str:
    """Where the page that redeems `token` lives."""
    return _PREFIX + token


def _link_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_link(
    engine: Engine, key: str | int, purpose: Purpose, *, actor: Actor, now: datetime | None = None
) -> Issued:
    """A one-time link for a person (email or id) to set their password; audited as `link_issued`.

    Admins and operators only. Any older unused link of the person for the same purpose stops working.

    Raises:
        MatterlineError: forbidden `forbidden_role`; invalid `invalid_purpose`; not found; conflict
            `user_disabled`.
    """
    if actor.user is not None and actor.user.role not in ADMIN_ROLES:
        raise forbidden("forbidden_role", "only an admin may send an invite or reset link")
    if purpose not in PURPOSES:
        raise MatterlineError(
            Kind.INVALID, "invalid_purpose", f"purpose must be one of {', '.join(PURPOSES)}", {"field": "purpose"}
        )
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        person = users.find_user(conn, key)
        if person is None:
            raise not_found(f"no user {key!r}")
        disabled = conn.execute(
            select(user_rows.c.disabled_at).where(user_rows.c.id == person.id).with_for_update()
        ).scalar_one()
        if disabled is not None:
            raise conflict("user_disabled", f"{person.email} is disabled; a link would not let them in")
        revoked = conn.execute(
            update(signin_links)
            .where(
                signin_links.c.user_id == person.id,
                signin_links.c.purpose == purpose,
                signin_links.c.used_at.is_(None),
                signin_links.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        ).rowcount
        expires_at = now + LIFETIMES[purpose]
        conn.execute(
            insert(signin_links).values(
                id=_link_id(token), user_id=person.id, purpose=purpose, created_at=now, expires_at=expires_at
            )
        )
        audit.append(
            conn,
            actor=actor.label,
            action=audit.Action.LINK_ISSUED,
            subject_type="user",
            subject_id=person.id,
            request_id=actor.request_id,
            details={
                "email": person.email,
                "purpose": purpose,
                "expires_at": expires_at.isoformat(),
                "links_revoked": int(revoked),
            },
            at=now,
        )
    return Issued(person, purpose, token, expires_at)


def pending(engine: Engine, token: str, *, now: datetime | None = None) -> User | None:
    """Whose password `token` would set if redeemed now, or None when it would be refused (nothing changes)."""
    with engine.connect() as conn:
        found = _usable(conn, token, now or utcnow())
    return None if isinstance(found, str) else found[0]


def redeem(
    engine: Engine,
    token: str,
    new_password: str,
    *,
    address: str = "unknown",
    request_id: str | None = None,
    now: datetime | None = None,
) -> SignedIn:
    """Set the password a link was made for and sign the person in; the link is spent.

    Every other session of the person ends (a reset is often asked for because a device was lost) and
    every other link they hold stops working. Audited as `password_set`, `link_redeemed` and `login`;
    a refused link as `link_refused` with the reason.

    Raises:
        MatterlineError: invalid `link_refused` (unknown, used, revoked, expired, or the person disabled: one
            message for all); invalid `password_too_short`, in which case the link is left unused.
    """
    now = now or utcnow()
    with engine.begin() as conn:
        found = _usable(conn, token, now, lock=True)
        if isinstance(found, str):
            audit.append(
                conn,
                actor=f"signin:{address}"[:ACTOR_CHARS],
                action=audit.Action.LINK_REFUSED,
                subject_type="signin_link",
                request_id=request_id,
                details={"reason": found, "address": address},
                at=now,
            )
            refusal = MatterlineError(Kind.INVALID, "link_refused", LINK_REFUSED)
        else:
            person, purpose = found
            passwords.check_strength(new_password)  # raised before anything is written: the link stays usable
            link_id = _link_id(token)
            conn.execute(update(signin_links).where(signin_links.c.id == link_id).values(used_at=now))
            conn.execute(
                update(signin_links)
                .where(
                    signin_links.c.user_id == person.id,
                    signin_links.c.used_at.is_(None),
                    signin_links.c.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            )
            conn.execute(
                update(user_rows)
                .where(user_rows.c.id == person.id)
                .values(password_hash=passwords.hash_password(new_password))
            )
            ended = sessions.end_all(conn, person.id, now)
            for action, subject_type, subject_id, details in (
                (audit.Action.LINK_REDEEMED, "signin_link", None, {"user_id": person.id, "purpose": purpose}),
                (audit.Action.PASSWORD_SET, "user", person.id, {"email": person.email, "sessions_ended": ended}),
            ):
                audit.append(
                    conn,
                    actor=person.actor,
                    action=action,
                    subject_type=subject_type,
                    subject_id=subject_id,
                    request_id=request_id,
                    details=details,
                    at=now,
                )
            token = sessions.sign_in(conn, person, now, method=purpose, address=address, request_id=request_id)
            return SignedIn(person, token)
    raise refusal  # after the commit: the refusal is audited


def _usable(conn: Connection, token: str, now: datetime, *, lock: bool = False) -> tuple[User, Purpose] | str:
    """The person and purpose of a link that may be redeemed now, else why not (for the audit log only)."""
    query = (
        select(signin_links, user_rows.c.disabled_at)
        .join(user_rows, user_rows.c.id == signin_links.c.user_id)
        .where(signin_links.c.id == _link_id(token))
    )
    row = conn.execute(query.with_for_update(of=signin_links) if lock else query).first()
    if row is None:
        return "unknown"
    if row.used_at is not None:
        return "used"
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at <= now:
        return "expired"
    if row.disabled_at is not None:
        return "disabled"
    person = users.find_user(conn, int(row.user_id))
    if person is None:  # pragma: no cover - a link's person is deleted with it (ON DELETE CASCADE)
        return "unknown"
    purpose: Purpose = "reset" if row.purpose == "reset" else "invite"
    return person, purpose
