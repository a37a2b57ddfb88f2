"""Credentials for CMS calls: a fixed bearer token, or OAuth2 with refresh and encrypted storage."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

import requests
from sqlalchemy import Engine, delete, insert, select

from connector import const
from connector.cms.errors import ConfigError, RetryableError
from connector.crypto import SecretBox
from connector.store.engine import utcnow
from connector.store.tables import oauth_tokens
from mappings.model import AuthSpec
from mappings.templates import render


class Credentials(Protocol):
    """What the HTTP client needs from any credential source."""

    def authorization(self) -> str | None:
        """The Authorization header value, or None when no credential is configured."""

    def refresh(self) -> bool:
        """Get a new access token; False when this source cannot refresh."""


@dataclass
class StaticToken:
    """A bearer token from MATTERLINE_CMS_ACCESS_TOKEN that cannot be refreshed."""

    token: str | None
    scheme: str = "Bearer"

    def authorization(self) -> str | None:
        """The fixed header value."""
        return f"{self.scheme} {self.token}" if self.token else None

    def refresh(self) -> bool:
        """A fixed token cannot be refreshed."""
        return False


class TokenStore:
    """Tokens in the store, sealed with MATTERLINE_SECRET_KEY; without a key they live in memory only.

    Writing a token in clear text to disk would be the quiet failure; keeping it in memory costs one
    refresh per process start instead.
    """

    def __init__(self, engine: Engine | None, vendor: str, secret_key: str | None) -> None:
        self._engine = engine if secret_key else None
        self._box = SecretBox(secret_key) if secret_key else None
        self._vendor = vendor
        self._memory: tuple[str | None, str | None] = (None, None)

    def load(self) -> tuple[str | None, str | None]:
        """The stored (access token, refresh token)."""
        if self._engine is None or self._box is None:
            return self._memory
        with self._engine.connect() as conn:
            row = conn.execute(
                select(oauth_tokens.c.access_token, oauth_tokens.c.refresh_token).where(
                    oauth_tokens.c.vendor == self._vendor
                )
            ).first()
        if row is None:
            return (None, None)
        box = self._box
        return (
            box.open(row.access_token) if row.access_token else None,
            box.open(row.refresh_token) if row.refresh_token else None,
        )

    def save(self, access_token: str, refresh_token: str | None, expires_in: float | None) -> None:
        """Replace the stored tokens in one transaction."""
        self._memory = (access_token, refresh_token)
        if self._engine is None or self._box is None:
            return
        now = utcnow()
        row = {
            "vendor": self._vendor,
            "access_token": self._box.seal(access_token),
            "refresh_token": self._box.seal(refresh_token) if refresh_token else None,
            "expires_at": now + timedelta(seconds=expires_in) if expires_in else None,
            "updated_at": now,
        }
        with self._engine.begin() as conn:
            conn.execute(delete(oauth_tokens).where(oauth_tokens.c.vendor == self._vendor))
            conn.execute(insert(oauth_tokens).values(**row))


class OAuthTokens:
    """OAuth2 refresh-token flow, as the mapping describes it.

    The access token comes from the store, else from the settings; a 401 asks for one refresh. A vendor
    that rotates refresh tokens gets the new one stored before it is used again.
    """

    def __init__(
        self,
        spec: AuthSpec,
        *,
        base_url: str,
        client_id: str | None,
        client_secret: str | None,
        refresh_token: str | None,
        access_token: str | None,
        store: TokenStore,
        session: requests.Session,
    ) -> None:
        self._spec = spec
        parts = urlsplit(base_url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._client_id = client_id
        self._client_secret = client_secret
        self._store = store
        self._session = session
        stored_access, stored_refresh = store.load()
        self._access = stored_access or access_token
        self._refresh_token = stored_refresh or refresh_token
        self._lock = threading.Lock()
        self.refreshes = 0

    def authorization(self) -> str | None:
        """The current access token as a header value."""
        return f"{self._spec.scheme} {self._access}" if self._access else None

    def can_refresh(self) -> bool:
        """Whether the refresh trio is configured."""
        return bool(self._spec.token_url and self._refresh_token and self._client_id)

    def refresh(self) -> bool:
        """Exchange the refresh token for a new access token.

        Raises:
            ConfigError: the token endpoint refused (`invalid_auth`); the message holds its error code only.
            RetryableError: the token endpoint could not be reached.
        """
        if not self.can_refresh():
            return False
        with self._lock:
            values = {
                "origin": self._origin,
                "refresh_token": self._refresh_token,
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "access_token": self._access,
            }
            url = str(render(self._spec.token_url, values))
            payload = render(self._spec.refresh_params, values)
            endpoint = f"POST {urlsplit(url).path}"
            kwargs: dict[str, Any] = {"json": payload} if self._spec.token_encoding == "json" else {"data": payload}  # noqa: S105
            try:
                response = self._session.post(url, timeout=const.HTTP_TIMEOUT, **kwargs)
            except requests.RequestException as exc:
                raise RetryableError(endpoint, f"token refresh failed: {type(exc).__name__}") from None
            body = _json_or_none(response)
            if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
                code = body.get("error") if isinstance(body, dict) else None
                reason = code if isinstance(code, str) else "no access token in the answer"
                raise ConfigError(endpoint, f"token refresh refused ({reason})", status=response.status_code)
            self._access = str(body["access_token"])
            new_refresh = body.get("refresh_token")
            if isinstance(new_refresh, str) and new_refresh:
                self._refresh_token = new_refresh
            expires = body.get("expires_in")
            self._store.save(self._access, self._refresh_token, float(expires) if expires else None)
            self.refreshes += 1
            return True


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


# -- a person's own tokens: the authorization-code grant ("Sign in with Clio") ------------------------

# Clio's authorize page, on the same origin as its token endpoint (brief section 1.2).
AUTHORIZE_PATH = "/oauth/authorize"


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """What the token endpoint hands back for one person."""

    access_token: str
    refresh_token: str | None
    expires_in: float | None


def origin_of(base_url: str) -> str:
    """`scheme://host[:port]` of the CMS's API base: where its OAuth endpoints live."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}"


def authorize_url(base_url: str, *, client_id: str, redirect_uri: str, state: str) -> str:
    """The CMS page where a person approves Matterline, which then returns them to `redirect_uri`."""
    query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "state": state})
    return f"{origin_of(base_url)}{AUTHORIZE_PATH}?{query}"


def _grant_answer(response: requests.Response, endpoint: str, what: str) -> TokenGrant:
    body = _json_or_none(response)
    if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
        code = body.get("error") if isinstance(body, dict) else None
        reason = code if isinstance(code, str) else "no access token in the answer"
        raise ConfigError(endpoint, f"{what} refused ({reason})", status=response.status_code)
    refresh = body.get("refresh_token")
    expires = body.get("expires_in")
    return TokenGrant(
        str(body["access_token"]),
        refresh if isinstance(refresh, str) and refresh else None,
        float(expires) if isinstance(expires, (int, float)) and expires else None,
    )


def exchange_code(
    spec: AuthSpec,
    session: requests.Session,
    *,
    base_url: str,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
) -> TokenGrant:
    """Trade an authorization code for a person's tokens, once (a code is single use: never retried).

    Raises:
        ConfigError: the token endpoint refused (`invalid_grant`, `invalid_client`); the message holds its code only.
        RetryableError: the token endpoint could not be reached.
    """
    url = str(render(spec.token_url or "{origin}/oauth/token", {"origin": origin_of(base_url)}))
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client_id,
        "client_secret": client_secret,
        "redirect_uri": redirect_uri,
    }
    endpoint = f"POST {urlsplit(url).path}"
    kwargs: dict[str, Any] = {"json": form} if spec.token_encoding == "json" else {"data": form}  # noqa: S105
    try:
        response = session.post(url, timeout=const.HTTP_TIMEOUT, **kwargs)
    except requests.RequestException as exc:
        raise RetryableError(endpoint, f"code exchange failed: {type(exc).__name__}") from None
    return _grant_answer(response, endpoint, "code exchange")


class PersonTokens:
    """One person's CMS tokens as the client's credentials: a 401 asks for one refresh, which `save` keeps.

    The same refresh grant as the firm's connection (the mapping's `refresh_params`), with the person's
    refresh token; `save` stores the new pair (sealed) so the next request of any process uses it.
    """

    def __init__(
        self,
        spec: AuthSpec,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        grant: TokenGrant,
        save: Callable[[TokenGrant], None],
        session: requests.Session,
    ) -> None:
        self._spec = spec
        self._origin = origin_of(base_url)
        self._client_id, self._client_secret = client_id, client_secret
        self._grant = grant
        self._save = save
        self._session = session
        self._lock = threading.Lock()

    def authorization(self) -> str | None:
        """The person's access token as a header value."""
        return f"{self._spec.scheme} {self._grant.access_token}"

    def refresh(self) -> bool:
        """Exchange the person's refresh token for a new access token, and store it.

        Raises:
            ConfigError: the token endpoint refused; the person must sign in with the CMS again.
            RetryableError: the token endpoint could not be reached.
        """
        if not (self._spec.token_url and self._grant.refresh_token):
            return False
        with self._lock:
            values = {
                "origin": self._origin,
                "refresh_token": self._grant.refresh_token,
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "access_token": self._grant.access_token,
            }
            url = str(render(self._spec.token_url, values))
            payload = render(self._spec.refresh_params, values)
            endpoint = f"POST {urlsplit(url).path}"
            kwargs: dict[str, Any] = {"json": payload} if self._spec.token_encoding == "json" else {"data": payload}  # noqa: S105
            try:
                response = self._session.post(url, timeout=const.HTTP_TIMEOUT, **kwargs)
            except requests.RequestException as exc:
                raise RetryableError(endpoint, f"token refresh failed: {type(exc).__name__}") from None
            fresh = _grant_answer(response, endpoint, "token refresh")
            self._grant = TokenGrant(
                fresh.access_token, fresh.refresh_token or self._grant.refresh_token, fresh.expires_in
            )
            self._save(self._grant)
            return True
