"""Build the CMS client from settings and a mapping, and probe it the way an admin's "Test" button does."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
from sqlalchemy import Engine

from connector.cms.auth import Credentials, OAuthTokens, PersonTokens, StaticToken, TokenGrant, TokenStore
from connector.cms.client import CmsClient
from connector.cms.errors import CmsError, ConfigError, RetryableError
from connector.cms.ratelimit import RateLimiter, RateLimitHeaders
from connector.retry import CMS_CALLS, RetryPolicy
from connector.settings import Settings, SettingsError
from mappings.model import Mapping


def base_url_for(settings: Settings, mapping: Mapping) -> str:
    """MATTERLINE_CMS_BASE_URL, else the mapping's URL for MATTERLINE_CMS_REGION (or its default region).

    Raises:
        SettingsError: the region is not one the mapping knows.
    """
    if settings.cms_base_url:
        return settings.cms_base_url
    region = (settings.cms_region or mapping.api.default_region).lower()
    if region not in mapping.api.regions:
        known = ", ".join(sorted(mapping.api.regions))
        raise SettingsError({"MATTERLINE_CMS_REGION": f"{region!r} is not a {mapping.name} region ({known})"})
    return mapping.api.regions[region]


def build_client(
    settings: Settings,
    mapping: Mapping,
    engine: Engine | None = None,
    *,
    policy: RetryPolicy = CMS_CALLS,
    sleep: Callable[[float], None] = time.sleep,
) -> CmsClient:
    """A client for the configured CMS, with OAuth refresh when the refresh trio is configured."""
    base_url = base_url_for(settings, mapping)
    session = requests.Session()
    credentials: Credentials
    if mapping.auth.kind == "oauth2" and settings.cms_refresh_token and settings.cms_client_id:
        credentials = OAuthTokens(
            mapping.auth,
            base_url=base_url,
            client_id=settings.cms_client_id,
            client_secret=settings.cms_client_secret,
            refresh_token=settings.cms_refresh_token,
            access_token=settings.cms_access_token,
            store=TokenStore(engine, mapping.id, settings.secret_key),
            session=session,
        )
    else:
        credentials = StaticToken(settings.cms_access_token, mapping.auth.scheme)
    return _client(base_url, credentials, mapping, session, policy, sleep)


def _client(
    base_url: str,
    credentials: Credentials,
    mapping: Mapping,
    session: requests.Session,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
) -> CmsClient:
    rate = mapping.rate_limit
    limiter = RateLimiter(
        headers=RateLimitHeaders(
            limit=rate.limit_header or "",
            remaining=rate.remaining_header or "",
            reset=rate.reset_header or "",
            reset_format=rate.reset_format,
            retry_after=rate.retry_after_headers or ("Retry-After",),
        ),
        sleep=sleep,
    )
    return CmsClient(
        base_url,
        credentials,
        headers=mapping.api.headers,
        error_message_paths=mapping.api.error_message_paths,
        limiter=limiter,
        policy=policy,
        session=session,
        sleep=sleep,
    )


# Where the CMS sends a person back after they approve Matterline (register it with the CMS app).
CALLBACK_PATH = "/signin/clio/callback"


@dataclass(frozen=True, slots=True)
class OAuthApp:
    """Matterline as an OAuth client of the CMS, for people signing in with their own CMS account."""

    mapping: Mapping
    base_url: str
    client_id: str
    client_secret: str
    redirect_uri: str


def oauth_app(settings: Settings, mapping: Mapping) -> OAuthApp | None:
    """The OAuth client from settings, or None unless the mapping is OAuth2 and the client id, secret and
    public URL are all set (without the public URL there is no redirect URI to register)."""
    if mapping.auth.kind != "oauth2" or not (settings.cms_client_id and settings.cms_client_secret):
        return None
    if not settings.public_url:
        return None
    return OAuthApp(
        mapping,
        base_url_for(settings, mapping),
        settings.cms_client_id,
        settings.cms_client_secret,
        settings.public_url.rstrip("/") + CALLBACK_PATH,
    )


def person_client(
    app: OAuthApp,
    grant: TokenGrant,
    save: Callable[[TokenGrant], None],
    *,
    policy: RetryPolicy = CMS_CALLS,
    sleep: Callable[[float], None] = time.sleep,
) -> CmsClient:
    """A client that calls the CMS as one person, refreshing (and `save`-ing) their token on a 401."""
    session = requests.Session()
    credentials = PersonTokens(
        app.mapping.auth,
        base_url=app.base_url,
        client_id=app.client_id,
        client_secret=app.client_secret,
        grant=grant,
        save=save,
        session=session,
    )
    return _client(app.base_url, credentials, app.mapping, session, policy, sleep)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The answer to "is the CMS connection working?": ok, invalid_auth or cannot_connect, with why."""

    status: str
    reason: str


def check_connection(client: CmsClient, mapping: Mapping) -> CheckResult:
    """One authenticated call (the mapping's `check` request), without retries."""
    single = CmsClient(
        client.base_url,
        client.credentials,
        headers=mapping.api.headers,
        error_message_paths=mapping.api.error_message_paths,
        policy=RetryPolicy(max_attempts=1),
        session=client.session,
        # The client's own limiter learns the CMS's rate-limit window from this answer too.
        limiter=client.limiter,
    )
    try:
        single.request(mapping.check.method, mapping.check.path, params=mapping.check.params)
    except ConfigError as exc:
        return CheckResult(exc.code if exc.code == "invalid_auth" else "cannot_connect", str(exc))
    except RetryableError as exc:
        return CheckResult("cannot_connect", str(exc))
    except CmsError as exc:
        return CheckResult("cannot_connect", str(exc))
    return CheckResult("ok", f"{mapping.check.method} {mapping.check.path} answered as expected")
