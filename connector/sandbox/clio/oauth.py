"""The sandbox CMS's OAuth side: which access tokens pass, and the refresh grant that mints a new one."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from connector.sandbox.clio.constants import ACCESS_TOKEN_TTL
from connector.sandbox.clio.store import ClioStore


class OAuthError(Exception):
    """A refresh the token endpoint refuses, with its RFC 6749 error code and status."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


class OAuthTokens(ClioStore):
    """Access tokens the API accepts, and `POST /oauth/token` with the refresh grant."""

    def _init_tokens(self, tokens: Iterable[str], client_id: str, client_secret: str, refresh_token: str) -> None:
        self._tokens = set(tokens)
        self.client_id, self.client_secret, self.refresh_token = client_id, client_secret, refresh_token
        self.refresh_disabled = False

    @property
    def tokens(self) -> frozenset[str]:
        """The access tokens currently accepted."""
        with self._lock:
            return frozenset(self._tokens)

    def is_valid_token(self, token: str) -> bool:
        """True when a bearer token is known and not expired."""
        with self._lock:
            return token in self._tokens

    def add_token(self, token: str) -> None:
        """Accept another access token (e.g. a second user's)."""
        with self._lock:
            self._tokens.add(token)

    def expire_token(self, token: str) -> None:
        """Make a token fail with Clio's `invalid_token` 401 from now on."""
        with self._lock:
            self._tokens.discard(token)

    def expire_all_tokens(self) -> None:
        """Expire every access token; only a refresh gets the client back in."""
        with self._lock:
            self._tokens.clear()

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
        if self.refresh_disabled or not hmac.compare_digest(form.get("refresh_token", ""), self.refresh_token):
            raise OAuthError(400, "invalid_grant")
        token = secrets.token_urlsafe(32)
        self.add_token(token)
        self.stats.bump("refreshes")
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": ACCESS_TOKEN_TTL,
            "refresh_token": self.refresh_token,
        }
