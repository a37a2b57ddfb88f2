"""The CMS HTTP client against recorded Clio answers: auth, refresh, pacing, retries, error classes."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import responses
from sqlalchemy import Engine

from connector.cms.auth import OAuthTokens, StaticToken, TokenStore
from connector.cms.client import CmsClient
from connector.cms.errors import (
    AmbiguousWriteError,
    ConfigError,
    FatalError,
    RetryableError,
)
from connector.cms.ratelimit import RateLimiter, RateLimitHeaders
from connector.retry import RetryPolicy
from mappings.fieldpath import compile_path
from mappings.model import AuthSpec
from tests.support.fixtures import FIXTURES_ROOT

BASE = "https://app.clio.com/api/v4"
FIXTURES = FIXTURES_ROOT / "http" / "clio"
TOKEN = "access-token-value-0123456789"
ERRORS = (compile_path("error.message"), compile_path("error_description"), compile_path("error"))
HEADERS = RateLimitHeaders(
    "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "epoch_seconds", ("Retry-After", "Retry-At")
)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_client(credentials: Any = None, *, attempts: int = 4) -> tuple[CmsClient, Sleeps]:
    sleeps = Sleeps()
    limiter = RateLimiter(HEADERS, sleep=sleeps)
    client = CmsClient(
        BASE,
        credentials or StaticToken(TOKEN),
        headers={"X-API-VERSION": "4.0.13"},
        error_message_paths=ERRORS,
        limiter=limiter,
        policy=RetryPolicy(max_attempts=attempts, backoff_base=0.01, backoff_max=0.05),
        sleep=sleeps,
    )
    return client, sleeps


@responses.activate
def test_given_a_page_when_get_then_json_with_bearer_and_version_headers() -> None:
    responses.get(f"{BASE}/contacts.json", json=fixture("contacts_page1.json"))
    client, _ = make_client()
    answer = client.get("/contacts.json", {"fields": "id,name", "limit": 200})
    assert answer.body["data"][0]["name"] == "Jane Doe"
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["X-API-VERSION"] == "4.0.13"
    assert "limit=200" in (sent.url or "")


@responses.activate
def test_given_5xx_then_success_when_get_then_retried() -> None:
    responses.get(f"{BASE}/contacts.json", status=502, body="<html>bad gateway</html>")
    responses.get(f"{BASE}/contacts.json", status=500, json=fixture("errors/500.json"))
    responses.get(f"{BASE}/contacts.json", json=fixture("contacts_page1.json"))
    client, sleeps = make_client()
    client.get("/contacts.json")
    assert len(responses.calls) == 3
    assert client.stats.retries == 2
    assert len(sleeps.calls) == 2


@responses.activate
def test_given_persistent_5xx_when_get_then_bounded_and_names_endpoint() -> None:
    responses.get(f"{BASE}/contacts.json", status=503, json=fixture("errors/500.json"))
    client, _ = make_client(attempts=3)
    with pytest.raises(RetryableError) as caught:
        client.get("/contacts.json")
    assert len(responses.calls) == 3
    assert str(caught.value).startswith("GET /api/v4/contacts.json: HTTP 503")
    assert TOKEN not in str(caught.value)


@responses.activate
def test_given_429_with_retry_after_when_get_then_waits_that_long() -> None:
    responses.get(f"{BASE}/matters.json", status=429, json=fixture("errors/429.json"), headers={"Retry-After": "7"})
    responses.get(f"{BASE}/matters.json", json={"data": [], "meta": {"paging": {}}})
    client, sleeps = make_client()
    client.get("/matters.json")
    assert client.stats.rate_limited == 1
    assert sum(sleeps.calls) == pytest.approx(7, abs=0.2)


@responses.activate
def test_given_429_with_retry_at_when_get_then_honoured() -> None:
    responses.get(f"{BASE}/matters.json", status=429, json=fixture("errors/429.json"), headers={"Retry-At": "3"})
    responses.get(f"{BASE}/matters.json", json={"data": []})
    client, sleeps = make_client()
    client.get("/matters.json")
    assert sum(sleeps.calls) == pytest.approx(3, abs=0.2)


@responses.activate
def test_given_html_when_get_then_error_names_endpoint() -> None:
    responses.get(f"{BASE}/contacts.json", body="<html>Maintenance</html>", content_type="text/html")
    client, _ = make_client(attempts=2)
    with pytest.raises(RetryableError, match=r"GET /api/v4/contacts.json: HTTP 200: answered text/html, not JSON"):
        client.get("/contacts.json")


@responses.activate
def test_given_broken_json_when_get_then_error_names_endpoint() -> None:
    responses.get(f"{BASE}/contacts.json", body='{"data": [{"id": 1,', content_type="application/json")
    client, _ = make_client(attempts=1)
    with pytest.raises(RetryableError, match="malformed JSON"):
        client.get("/contacts.json")


@responses.activate
def test_given_422_when_post_then_fatal_with_clio_message() -> None:
    responses.post(f"{BASE}/notes.json", status=422, json=fixture("errors/422.json"))
    client, _ = make_client()
    with pytest.raises(FatalError, match="Subject can't be blank"):
        client.request("POST", "/notes.json", json={"data": {}})
    assert len(responses.calls) == 1


@responses.activate
def test_given_5xx_on_create_when_post_then_ambiguous_and_not_retried() -> None:
    responses.post(f"{BASE}/notes.json", status=502, body="bad gateway")
    client, _ = make_client()
    with pytest.raises(AmbiguousWriteError):
        client.request("POST", "/notes.json", json={"data": {}})
    assert len(responses.calls) == 1


@responses.activate
def test_given_dropped_connection_on_create_when_post_then_ambiguous() -> None:
    responses.post(f"{BASE}/notes.json", body=requests.ConnectionError("Connection aborted."))
    client, _ = make_client()
    with pytest.raises(AmbiguousWriteError, match="outcome unknown"):
        client.request("POST", "/notes.json", json={"data": {}})
    assert len(responses.calls) == 1


@responses.activate
def test_given_429_on_create_when_post_then_retried_because_not_applied() -> None:
    responses.post(f"{BASE}/notes.json", status=429, json=fixture("errors/429.json"), headers={"Retry-After": "1"})
    responses.post(f"{BASE}/notes.json", status=201, json={"data": {"id": 9}})
    client, _ = make_client()
    assert client.request("POST", "/notes.json", json={"data": {}}).body == {"data": {"id": 9}}


@responses.activate
def test_given_a_next_url_on_another_host_when_followed_then_refused() -> None:
    client, _ = make_client()
    with pytest.raises(FatalError, match="another host"):
        client.get("https://evil.example.com/api/v4/contacts.json?page_token=x")
    assert len(responses.calls) == 0


@responses.activate
def test_given_403_when_get_then_config_error_invalid_auth() -> None:
    responses.get(f"{BASE}/contacts.json", status=403, json=fixture("errors/403.json"))
    client, _ = make_client()
    with pytest.raises(ConfigError) as caught:
        client.get("/contacts.json")
    assert caught.value.code == "invalid_auth"
    assert len(responses.calls) == 1


# -- OAuth refresh -----------------------------------------------------------------------------------

SPEC = AuthSpec(
    kind="oauth2",
    token_url="{origin}/oauth/token",
    token_encoding="form",
    refresh_params={
        "grant_type": "refresh_token",
        "refresh_token": "{refresh_token}",
        "client_id": "{client_id}",
        "client_secret": "{client_secret}",
    },
    rotates_refresh_token=False,
)


def oauth(store: TokenStore, access: str | None = "expired-token") -> OAuthTokens:
    return OAuthTokens(
        SPEC,
        base_url=BASE,
        client_id="app-key",
        client_secret="app-secret-value",
        refresh_token="refresh-token-value",
        access_token=access,
        store=store,
        session=requests.Session(),
    )


@responses.activate
def test_given_expired_token_when_get_then_one_refresh_and_one_retry(sqlite_engine: Engine) -> None:
    responses.get(f"{BASE}/contacts.json", status=401, json=fixture("errors/401_expired.json"))
    responses.get(f"{BASE}/contacts.json", json=fixture("contacts_page1.json"))
    responses.post("https://app.clio.com/oauth/token", json=fixture("oauth_token.json"))
    store = TokenStore(sqlite_engine, "clio", "a-secret-key-of-sufficient-length")
    client, _ = make_client(oauth(store))
    client.get("/contacts.json")
    assert [c.request.method for c in responses.calls] == ["GET", "POST", "GET"]
    refresh_form = responses.calls[1].request.body
    assert isinstance(refresh_form, str)
    assert "grant_type=refresh_token" in refresh_form
    assert "refresh_token=refresh-token-value" in refresh_form
    assert responses.calls[2].request.headers["Authorization"] == "Bearer fresh-access-token"
    # The new token was sealed into the store, not written in clear text.
    with sqlite_engine.connect() as conn:
        stored = conn.exec_driver_sql("select access_token from oauth_tokens").scalar_one()
    assert "fresh-access-token" not in stored
    assert store.load()[0] == "fresh-access-token"
    # A new process picks the stored token up and needs no refresh.
    client2, _ = make_client(oauth(TokenStore(sqlite_engine, "clio", "a-secret-key-of-sufficient-length")))
    responses.get(f"{BASE}/users/who_am_i.json", json={"data": {"id": 1}})
    client2.get("/users/who_am_i.json")
    assert responses.calls[-1].request.headers["Authorization"] == "Bearer fresh-access-token"


@responses.activate
def test_given_refresh_refused_when_get_then_invalid_auth_without_secrets(sqlite_engine: Engine) -> None:
    responses.get(f"{BASE}/contacts.json", status=401, json=fixture("errors/401_expired.json"))
    responses.post("https://app.clio.com/oauth/token", status=400, json={"error": "invalid_grant"})
    client, _ = make_client(oauth(TokenStore(sqlite_engine, "clio", None)))
    with pytest.raises(ConfigError) as caught:
        client.get("/contacts.json")
    message = str(caught.value)
    assert caught.value.code == "invalid_auth"
    assert "invalid_grant" in message
    for secret in ("app-secret-value", "refresh-token-value", "expired-token"):
        assert secret not in message
    assert [c.request.method for c in responses.calls] == ["GET", "POST"]


@responses.activate
def test_given_still_401_after_refresh_when_get_then_no_loop(sqlite_engine: Engine) -> None:
    responses.get(f"{BASE}/contacts.json", status=401, json=fixture("errors/401_expired.json"))
    responses.post("https://app.clio.com/oauth/token", json=fixture("oauth_token.json"))
    client, _ = make_client(oauth(TokenStore(sqlite_engine, "clio", None)))
    with pytest.raises(ConfigError):
        client.get("/contacts.json")
    assert [c.request.method for c in responses.calls] == ["GET", "POST", "GET"]


@responses.activate
def test_given_no_secret_key_when_refreshed_then_token_not_written_to_disk(sqlite_engine: Engine) -> None:
    responses.get(f"{BASE}/contacts.json", status=401, json=fixture("errors/401_expired.json"))
    responses.get(f"{BASE}/contacts.json", json=fixture("contacts_page1.json"))
    responses.post("https://app.clio.com/oauth/token", json=fixture("oauth_token.json"))
    client, _ = make_client(oauth(TokenStore(sqlite_engine, "clio", None)))
    client.get("/contacts.json")
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from oauth_tokens").scalar_one() == 0
