"""`/api/users`, `/api/tokens` and `/api/me`: the caller, and an admin's list of people, adding and disabling
them, and listing, revoking and rotating their API tokens; and a person's time away, with who covers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from flask import Response

from connector import queries, services
from connector.errors import conflict, invalid
from connector.queries.coverage import Period
from connector.queries.users import TokenRecord, UserRecord
from connector.services.invites import PURPOSES, Purpose
from connector.services.users import Added, Rotated
from connector.staff.users import ADMIN_ROLES, User
from webhooks.api.bodies import AwayBody, UserBody
from webhooks.api.routing import Call, Route, json_response
from webhooks.state import app_state

__all__ = ["ROUTES"]


def _me(call: Call) -> Response:
    """Who the token belongs to, so a client can show the person and hide what their role cannot do."""
    return json_response({"user": call.who})


def _list(call: Call) -> Response:
    """Everyone who uses Matterline (never their tokens)."""
    return json_response({"users": queries.users.listing(app_state().engine)})


def _add(call: Call) -> Response:
    """Add a person; their API token is in this answer and nowhere else."""
    body = call.body
    added = services.users.add(
        app_state().engine, name=body["name"], email=body["email"], role=body["role"], actor=call.actor
    )
    return json_response({"added": added}, 201)


def _disable(call: Call, user_id: int) -> Response:
    """Disable a person: their tokens stop working at once."""
    return json_response({"user": services.users.disable(app_state().engine, user_id, actor=call.actor)})


def _away(call: Call, user_id: int) -> Response:
    """Mark a person away with a backup: the person themself, or an admin."""
    body = call.body
    period = services.coverage.set_away(
        app_state().engine,
        user_id=user_id,
        backup_id=body["backup_id"],
        starts_at=body["starts_at"],
        ends_at=body["ends_at"],
        reason=body["reason"],
        actor=call.actor,
    )
    return json_response({"away": period}, 201)


def _back(call: Call, user_id: int) -> Response:
    """End a person's time away now, or call off the next one when it has not started."""
    engine = app_state().engine
    periods = queries.coverage.upcoming(engine, [user_id])[user_id]
    if not periods:
        raise conflict("not_away", f"user {user_id} is not away and has no time away coming")
    return json_response({"away": services.coverage.end_away(engine, periods[0].id, actor=call.actor)})


@dataclass(frozen=True, slots=True)
class SentLink:
    """A one-time link for a person to set their password: works once, until `expires_at`; shown this once."""

    user: User
    purpose: str = field(metadata={"enum": PURPOSES})
    url: str
    expires_at: datetime


def _link(purpose: Purpose) -> Callable[[Call, int], Response]:
    def view(call: Call, user_id: int) -> Response:
        public_url = app_state().settings.public_url
        if not public_url:  # checked first: a link no one can open would only revoke the one they may have
            raise invalid("no_public_url", "MATTERLINE_PUBLIC_URL is not set, so there is no address for the link")
        issued = services.invites.issue_link(app_state().engine, user_id, purpose, actor=call.actor)
        sent = SentLink(issued.user, purpose, public_url.rstrip("/") + issued.path, issued.expires_at)
        return json_response({"link": sent}, 201)

    view.__name__ = view.__qualname__ = f"_{purpose}"
    view.__doc__ = f"A one-time {purpose} link for a person; it is in this answer and nowhere else."
    return view


def _tokens(call: Call, user_id: int) -> Response:
    """A person's tokens: which one leaked is told by its first characters, never by the token."""
    return json_response({"tokens": queries.users.tokens(app_state().engine, user_id)})


def _revoke(call: Call, token_id: int) -> Response:
    """End one token now; the person and their other tokens go on."""
    return json_response({"token": services.users.revoke_token(app_state().engine, token_id, actor=call.actor)})


def _rotate(call: Call, token_id: int) -> Response:
    """Replace one token; the new one is in this answer and nowhere else."""
    return json_response({"rotated": services.users.rotate_token(app_state().engine, token_id, actor=call.actor)}, 201)


_LINKS: Final[tuple[tuple[Purpose, str, str], ...]] = (
    (
        "invite",
        "Invite a person to set their password",
        "The link works once, for 7 days; an older invite of the person stops working.",
    ),
    (
        "reset",
        "Send a person a password reset link",
        "The link works once, for 1 hour; redeeming it ends the person's other sessions.",
    ),
)

ROUTES: Final[tuple[Route, ...]] = (
    Route(
        "GET",
        "/me",
        _me,
        "getMe",
        "The caller",
        (200, "The person the token belongs to.", {"user": User}),
        tags=("meta",),
    ),
    Route(
        "GET",
        "/users",
        _list,
        "listUsers",
        "The people who use Matterline",
        (200, "Everyone, by id.", {"users": list[UserRecord]}),
        description="Admins only.",
        roles=ADMIN_ROLES,
        tags=("users",),
    ),
    Route(
        "POST",
        "/users",
        _add,
        "addUser",
        "Add a person",
        (201, "The person and their API token, shown this once.", {"added": Added}),
        description="Admins only. Audited as `user_added`. 409 `user_exists`; 422 for a bad name or email.",
        body=UserBody,
        errors=(409, 422),
        roles=ADMIN_ROLES,
        tags=("users",),
    ),
    Route(
        "POST",
        "/users/<int:user_id>/disable",
        _disable,
        "disableUser",
        "Disable a person",
        (200, "The person, now unable to sign in.", {"user": User}),
        description=(
            "Admins only. Their tokens are revoked; audited as `user_disabled`. 409 `already_disabled`, or "
            "`last_admin` for the last active admin."
        ),
        errors=(404, 409),
        roles=ADMIN_ROLES,
        tags=("users",),
    ),
    *(
        Route(
            "POST",
            f"/users/<int:user_id>/{purpose}",
            _link(purpose),
            f"{purpose}User",
            summary,
            (201, "The link, shown this once; only its hash is kept.", {"link": SentLink}),
            description=(
                f"Admins only. {lasts} Audited as `link_issued`. 404 for an unknown person; 409 `user_disabled`; "
                "422 `no_public_url` when MATTERLINE_PUBLIC_URL is not set."
            ),
            errors=(404, 409, 422),
            roles=ADMIN_ROLES,
            tags=("users",),
        )
        for purpose, summary, lasts in _LINKS
    ),
    Route(
        "POST",
        "/users/<int:user_id>/away",
        _away,
        "setUserAway",
        "Mark a person away, with a backup",
        (201, "The time away as recorded.", {"away": Period}),
        description=(
            "A person marks themself; admins anyone. While it is in force, urgent-text tasks, threads assigned to "
            "the person and reply alerts go to the backup. Audited as `away_set`. 403 `forbidden_role` for "
            "someone else's (not an admin); 404 unknown person; 409 `already_away` (overlaps time away on "
            "record), `user_disabled`; 422 `backup_is_self`, `unknown_backup`, `period_over`, `invalid_period`, "
            "`period_too_long` (over a year)."
        ),
        body=AwayBody,
        errors=(403, 404, 409, 422),
        tags=("users",),
    ),
    Route(
        "POST",
        "/users/<int:user_id>/away/end",
        _back,
        "endUserAway",
        "End a person's time away",
        (200, "The time away, ended now (`ended_at`); it stays on record.", {"away": Period}),
        description=(
            "The person is back: their current time away ends now, or, when it has not started, the next one is "
            "called off. A person ends their own; admins anyone's. Audited as `away_ended`. 403 `forbidden_role`; "
            "409 `not_away`."
        ),
        errors=(403, 409),
        tags=("users",),
    ),
    Route(
        "GET",
        "/users/<int:user_id>/tokens",
        _tokens,
        "listUserTokens",
        "A person's API tokens",
        (
            200,
            "Their tokens, oldest first, revoked ones included; never a token's secret.",
            {"tokens": list[TokenRecord]},
        ),
        description="Admins only. `prefix` is the token's first characters, to tell which one leaked.",
        errors=(404,),
        roles=ADMIN_ROLES,
        tags=("users",),
    ),
    Route(
        "POST",
        "/tokens/<int:token_id>/revoke",
        _revoke,
        "revokeToken",
        "Revoke an API token",
        (200, "The token, revoked: its next request gets 401.", {"token": TokenRecord}),
        description=(
            "Admins only. Audited as `token_revoked`. 409 `already_revoked`, or `last_admin` for the last active "
            "admin's last token (rotate it instead)."
        ),
        errors=(404, 409),
        roles=ADMIN_ROLES,
        tags=("users",),
    ),
    Route(
        "POST",
        "/tokens/<int:token_id>/rotate",
        _rotate,
        "rotateToken",
        "Rotate an API token",
        (201, "The replacement token, shown this once; the old one gets 401 from now on.", {"rotated": Rotated}),
        description=(
            "Admins only. Audited as `token_rotated`; only the new token's hash is kept. 409 `already_revoked`."
        ),
        errors=(404, 409),
        roles=ADMIN_ROLES,
        tags=("users",),
    ),
)
