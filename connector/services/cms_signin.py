"""Sign in with Clio: the OAuth authorization-code flow, matched to a person by their linked Clio user id.

Who may be whom: a Clio user id is recorded against a Matterline person only when that person, signed
in with their password, links it ("Link Clio"), so the link proves control of both accounts. A
first Clio sign-in is never matched by email: any Clio user anywhere can approve a Clio app, and the
email on a Clio profile is whatever its account's admin typed, so an email match would let a stranger
(or a colleague) become a Matterline person by typing their address. A Clio user nobody has linked is
refused and audited; no account is ever created.

The `state` is random, kept in the store as a hash, spent by its first use, ten minutes at most, and
must equal the copy in the browser's cookie, so a code can only complete the flow the same browser began.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import Final

import requests
from sqlalchemy import Engine

from connector.cms.auth import TokenGrant, authorize_url, exchange_code
from connector.cms.connect import OAuthApp, oauth_app, person_client
from connector.cms.errors import CmsError, ConfigError
from connector.compliance import audit
from connector.errors import Kind, MatterlineError, forbidden, unavailable
from connector.retry import RetryPolicy
from connector.services import custom_actions
from connector.staff import cms_accounts, sessions
from connector.staff.users import ACTOR_CHARS, User
from connector.store.engine import utcnow

__all__ = ["Begun", "Completed", "OAuthApp", "begin", "complete", "oauth_app"]

LOGGER: Final = logging.getLogger("matterline.signin")
SIGNIN: Final = "signin"
LINK: Final = "link"
_ONCE: Final = RetryPolicy(max_attempts=1)


@dataclass(frozen=True, slots=True)
class Begun:
    """Where to send the browser, and the state for its cookie."""

    state: str
    url: str


@dataclass(frozen=True, slots=True)
class Completed:
    """A finished flow: who, a session token when they signed in (None for a link), and where to go next."""

    user: User
    token: str | None
    next_path: str
    installed: custom_actions.InstallReport | None


def begin(engine: Engine, app: OAuthApp, *, link_for: User | None = None, next_path: str = "/inbox") -> Begun:
    """Start a flow: to sign in, or (`link_for`) to link a signed-in person's Clio account."""
    with engine.begin() as conn:
        state = cms_accounts.new_state(
            conn, LINK if link_for else SIGNIN, link_for.id if link_for else None, next_path, utcnow()
        )
    return Begun(
        state, authorize_url(app.base_url, client_id=app.client_id, redirect_uri=app.redirect_uri, state=state)
    )


def _refuse(code: str, message: str) -> MatterlineError:
    return MatterlineError(Kind.UNAUTHENTICATED, code, message)


def _who(app: OAuthApp, grant: TokenGrant) -> dict[str, object]:
    client = person_client(app, grant, lambda _: None, policy=_ONCE)
    try:
        body = client.get("users/who_am_i.json", {"fields": "id,name,email"}).body
    except CmsError as exc:
        raise unavailable("clio_unreachable", f"Clio did not say who you are ({exc.reason})") from None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        raise unavailable("clio_unreachable", "Clio did not say who you are")
    return data


def complete(
    engine: Engine,
    app: OAuthApp,
    *,
    state: str,
    cookie_state: str | None,
    code: str | None,
    error: str | None,
    signed_in: User | None,
    address: str,
    secret_key: str | None,
    public_url: str,
    request_id: str | None = None,
) -> Completed:
    """Finish a flow the CMS sent back: check the state, trade the code, ask who it is, link or sign in.

    Raises:
        MatterlineError: unauthenticated `clio_state` (no, a spent, an old or another browser's state),
            `clio_denied` (the person said no at Clio), `clio_unknown_user` (nobody linked this Clio user,
            or they are disabled); forbidden `clio_wrong_person` (a link finished by someone else);
            conflict `cms_user_linked`; unavailable `clio_unreachable` (Clio refused or could not be reached).
    """
    if not state or not cookie_state or not hmac.compare_digest(state, cookie_state):
        raise _refuse("clio_state", "This sign-in link has expired. Start again.")
    with engine.begin() as conn:
        pending = cms_accounts.take_state(conn, state)
    if pending is None:
        raise _refuse("clio_state", "This sign-in link has expired. Start again.")
    if error or not code:
        raise _refuse("clio_denied", "Clio did not approve the sign-in.")
    try:
        grant = exchange_code(
            app.mapping.auth,
            requests.Session(),
            base_url=app.base_url,
            client_id=app.client_id,
            client_secret=app.client_secret,
            code=code,
            redirect_uri=app.redirect_uri,
        )
    except ConfigError as exc:
        raise unavailable("clio_unreachable", f"Clio refused the sign-in ({exc.reason})") from None
    except CmsError as exc:
        raise unavailable("clio_unreachable", f"Clio could not be reached ({exc.reason})") from None
    who = _who(app, grant)
    cms_user_id = str(who["id"])
    now = utcnow()
    if pending.purpose == LINK:
        if signed_in is None or signed_in.id != pending.user_id:
            raise forbidden("clio_wrong_person", "Sign in as the person who asked to link, then link again.")
        user = signed_in
        with engine.begin() as conn:
            linked = cms_accounts.link(conn, user.id, cms_user_id)
            cms_accounts.save_tokens(conn, secret_key, user.id, grant, now)
            if linked:
                audit.append(
                    conn,
                    actor=user.actor,
                    action=audit.Action.CMS_LINKED,
                    subject_type="user",
                    subject_id=user.id,
                    request_id=request_id,
                    details={"cms_user_id": cms_user_id},
                    at=now,
                )
        token = None
    else:
        with engine.begin() as conn:
            person = cms_accounts.find_by_cms_user(conn, cms_user_id)
            if person is None or not person.enabled:
                audit.append(
                    conn,
                    actor=f"signin:{address}"[:ACTOR_CHARS],
                    action=audit.Action.LOGIN_FAILED,
                    subject_type="user",
                    subject_id=None if person is None else person.user.id,
                    request_id=request_id,
                    details={
                        "method": "clio",
                        "cms_user_id": cms_user_id,
                        "address": address,
                        "reason": "unknown_cms_user" if person is None else "disabled",
                    },
                    at=now,
                )
                refusal = _refuse("clio_unknown_user", "This Clio account is not linked to anyone in Matterline.")
            else:
                user = person.user
                cms_accounts.save_tokens(conn, secret_key, user.id, grant, now)
                token = sessions.sign_in(
                    conn, user, now, method="clio", address=address, request_id=request_id, cms_user_id=cms_user_id
                )
                refusal = None
        if refusal is not None:
            raise refusal  # after the commit: the refusal is audited
    return Completed(user, token, pending.next_path, _install(engine, app, secret_key, user, public_url))


def _install(
    engine: Engine, app: OAuthApp, secret_key: str | None, user: User, public_url: str
) -> custom_actions.InstallReport | None:
    """The person's buttons in Clio; a failure here never stops them signing in (the CLI can redo it)."""
    try:
        return custom_actions.install(engine, app, secret_key, user, public_url)
    except MatterlineError as exc:
        LOGGER.warning("custom_actions.install_failed user=%s code=%s", user.id, exc.code)
        return None
