"""The sandbox CMS's OAuth side: the authorization-code grant, per-user access tokens, and the refresh grant.

Clio's tokens belong to the person who authorized the app, so `who_am_i` and custom actions answer
for that person. Tokens added without a person (the fixture token, `add_token`) belong to the firm's
first user, as before. Codes are single use, expire, and are bound to the client and redirect URI
they were issued for (RFC 6749 section 4.1.3).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from connector.sandbox.clio.constants import ACCESS_TOKEN_TTL, AUTHORIZATION_CODE_TTL
from connector.sandbox.clio.store import ClioStore


class OAuthError(Exception):
    """A grant the token endpoint refuses, with its RFC 6749 error code and status."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


@dataclass(frozen=True, slots=True)
class _Code:
    """An authorization code's grant: who approved, for which client and redirect URI, until when."""

    user_id: int
    client_id: str
    redirect_uri: str
    expires_at: datetime


class OAuthTokens(ClioStore):
    """Access tokens the API accepts (each a user's), `/oauth/authorize`'s codes, and `POST /oauth/token`."""

    def _init_tokens(self, tokens: Iterable[str], client_id: str, client_secret: str, refresh_token: str) -> None:
        self._tokens = set(tokens)
        self.client_id, self.client_secret, self.refresh_token = client_id, client_secret, refresh_token
        self.refresh_disabled = False
        self._token_users: dict[str, int] = {}
        self._refresh_users: dict[str, int] = {}
        self._codes: dict[str, _Code] = {}
        # Redirect URIs registered for the app; empty accepts any http(s) URL (the sandbox has no app page).
        self.redirect_uris: set[str] = set()
        # Who is signed in to the sandbox CMS in "the browser": set, /oauth/authorize approves at once.
        self.browser_user: int | None = None

    @property
    def tokens(self) -> frozenset[str]:
        """The access tokens currently accepted."""
        with self._lock:
            return frozenset(self._tokens)

    def is_valid_token(self, token: str) -> bool:
        """True when a bearer token is known and not expired."""
        with self._lock:
            return token in self._tokens

    def token_user(self, token: str | None) -> int:
        """The id of the user a token belongs to (the firm's first user for tokens added without one)."""
        with self._lock:
            found = self._token_users.get(token or "")
            return found if found is not None else int(self.me["id"])

    def add_token(self, token: str, user_id: int | None = None) -> None:
        """Accept another access token, optionally as a given user's."""
        with self._lock:
            self._tokens.add(token)
            if user_id is not None:
                self._require("users", int(user_id))
                self._token_users[token] = int(user_id)

    def expire_token(self, token: str) -> None:
        """Make a token fail with Clio's `invalid_token` 401 from now on."""
        with self._lock:
            self._tokens.discard(token)

    def expire_all_tokens(self) -> None:
        """Expire every access token; only a refresh gets the client back in."""
        with self._lock:
            self._tokens.clear()

    # -- /oauth/authorize -----------------------------------------------------------------------------

    def check_authorize(self, client_id: str, redirect_uri: str) -> str | None:
        """Why an authorize request must not redirect back (unknown client, unregistered URI), else None."""
        if not hmac.compare_digest(client_id, self.client_id):
            return "Unknown client_id"
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return "redirect_uri must be an absolute http(s) URL"
        with self._lock:
            if self.redirect_uris and redirect_uri not in self.redirect_uris:
                return "redirect_uri is not registered for this application"
        return None

    def issue_code(self, user_id: int, client_id: str, redirect_uri: str) -> str:
        """A single-use code for `user_id`'s approval of `client_id`, redeemable at `redirect_uri` only."""
        with self._lock:
            self._require("users", user_id)
            code = secrets.token_urlsafe(24)
            self._codes[code] = _Code(user_id, client_id, redirect_uri, self.now() + AUTHORIZATION_CODE_TTL)
            return code

    # -- /oauth/token -----------------------------------------------------------------------------------

    def grant(self, form: Mapping[str, str]) -> dict[str, Any]:
        """Answer `POST /oauth/token`: grant_type authorization_code or refresh_token.

        Raises:
            OAuthError: invalid_request / unsupported_grant_type / invalid_client / invalid_grant.
        """
        grant_type = form.get("grant_type")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise OAuthError(400, "unsupported_grant_type" if grant_type else "invalid_request")
        client_ok = hmac.compare_digest(form.get("client_id", ""), self.client_id) and hmac.compare_digest(
            form.get("client_secret", ""), self.client_secret
        )
        if not client_ok:
            raise OAuthError(401, "invalid_client")
        if grant_type == "authorization_code":
            return self._redeem_code(form)
        return self.refresh(form)

    def _redeem_code(self, form: Mapping[str, str]) -> dict[str, Any]:
        with self._lock:
            # Popped before any check: a code is spent by its first use, right or wrong.
            code = self._codes.pop(form.get("code", ""), None)
            if code is None or code.expires_at <= self.now() or code.client_id != form.get("client_id"):
                raise OAuthError(400, "invalid_grant")
            if form.get("redirect_uri") != code.redirect_uri:
                raise OAuthError(400, "invalid_grant")
            token, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            self.add_token(token, code.user_id)
            self._refresh_users[refresh] = code.user_id
        return {"access_token": token, "token_type": "bearer", "expires_in": ACCESS_TOKEN_TTL, "refresh_token": refresh}

    def refresh(self, form: Mapping[str, str]) -> dict[str, Any]:
        """Answer `POST /oauth/token` with grant_type=refresh_token; Clio does not rotate the refresh token.

        Raises:
            OAuthError: invalid_request / unsupported_grant_type / invalid_client / invalid_grant.
        """
        if form.get("grant_type") != "refresh_token":
            raise OAuthError(400, "unsupported_grant_type" if form.get("grant_type") else "invalid_request")
        client_ok = hmac.compare_digest(form.get("client_id", ""), self.client_id) and hmac.compare_digest(
            form.get("client_secret", ""), self.client_secret
        )
        if not client_ok:
            raise OAuthError(401, "invalid_client")
        presented = form.get("refresh_token", "")
        with self._lock:
            user_id = self._refresh_users.get(presented)
        firm_token = hmac.compare_digest(presented, self.refresh_token)
        if self.refresh_disabled or (user_id is None and not firm_token):
            raise OAuthError(400, "invalid_grant")
        token = secrets.token_urlsafe(32)
        self.add_token(token, user_id)
        self.stats.bump("refreshes")
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": ACCESS_TOKEN_TTL,
            "refresh_token": presented,
        }
