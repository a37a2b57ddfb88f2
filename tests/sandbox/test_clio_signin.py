"""The sandbox CMS's sign-in: `/oauth/authorize` hands back a code, `/oauth/token` trades it once for a user's token."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.test import Client, TestResponse

from connector.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ClioState, generate_firm
from connector.sandbox.clio import create_sandbox_app
from tests.support.clocks import SettableClock

CALLBACK = "https://matterline.firm.example/signin/clio/callback"


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


@pytest.fixture
def state(clock: SettableClock) -> ClioState:
    return ClioState(generate_firm(20, 10, seed=3), clock=clock)


@pytest.fixture
def client(state: ClioState) -> Client:
    return Client(create_sandbox_app(state))


def authorize(client: Client, **overrides: str) -> TestResponse:
    params = {"response_type": "code", "client_id": DEFAULT_CLIENT_ID, "redirect_uri": CALLBACK, "state": "s-1"}
    params.update(overrides)
    return client.get("/oauth/authorize", query_string=params)


def returned(response: TestResponse) -> dict[str, str]:
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(CALLBACK + "?")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def exchange(
    client: Client, code: str, redirect_uri: str = CALLBACK, secret: str = DEFAULT_CLIENT_SECRET
) -> TestResponse:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": secret,
        "redirect_uri": redirect_uri,
    }
    return client.post("/oauth/token", data=form)


def who_am_i(client: Client, token: str) -> TestResponse:
    return client.get("/api/v4/users/who_am_i.json?fields=id,name,email", headers={"Authorization": f"Bearer {token}"})


def test_a_signed_in_cms_user_is_approved_at_once_and_the_token_is_theirs(client: Client, state: ClioState) -> None:
    user_id = state.ids("users")[2]
    state.browser_user = user_id
    back = returned(authorize(client))
    assert back["state"] == "s-1"
    answer = exchange(client, back["code"])
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["token_type"] == "bearer"
    assert body["refresh_token"]
    assert body["expires_in"] > 0
    me = who_am_i(client, body["access_token"]).get_json()["data"]
    assert me["id"] == user_id
    assert me["email"] == state.get("users", user_id)["email"]
    # The fixture token still belongs to the firm's first user.
    assert who_am_i(client, "sandbox-token").get_json()["data"]["id"] == state.ids("users")[0]


def test_a_code_is_spent_by_its_first_exchange(client: Client, state: ClioState) -> None:
    state.browser_user = state.ids("users")[1]
    code = returned(authorize(client))["code"]
    assert exchange(client, code).status_code == 200
    second = exchange(client, code)
    assert (second.status_code, second.get_json()) == (400, {"error": "invalid_grant"})


def test_a_code_exchanged_at_another_redirect_uri_is_refused_and_spent(client: Client, state: ClioState) -> None:
    state.browser_user = state.ids("users")[1]
    code = returned(authorize(client))["code"]
    wrong = exchange(client, code, redirect_uri="https://evil.example/callback")
    assert (wrong.status_code, wrong.get_json()) == (400, {"error": "invalid_grant"})
    assert exchange(client, code).status_code == 400


def test_a_code_expires_after_ten_minutes(client: Client, state: ClioState, clock: SettableClock) -> None:
    state.browser_user = state.ids("users")[1]
    code = returned(authorize(client))["code"]
    clock.now += timedelta(minutes=10, seconds=1)
    assert exchange(client, code).get_json() == {"error": "invalid_grant"}


def test_the_client_secret_is_checked(client: Client, state: ClioState) -> None:
    state.browser_user = state.ids("users")[1]
    code = returned(authorize(client))["code"]
    wrong = exchange(client, code, secret="not-the-secret")
    assert (wrong.status_code, wrong.get_json()) == (401, {"error": "invalid_client"})


def test_an_unknown_client_or_unregistered_redirect_gets_a_page_not_a_redirect(
    client: Client, state: ClioState
) -> None:
    state.browser_user = state.ids("users")[1]
    assert authorize(client, client_id="someone-else").status_code == 400
    client.post("/_sandbox/oauth_app", json={"redirect_uris": [CALLBACK]})
    refused = authorize(client, redirect_uri="https://evil.example/callback")
    assert refused.status_code == 400
    assert "Location" not in refused.headers
    assert "code" in returned(authorize(client))


def test_without_a_signed_in_user_a_form_asks_and_deny_answers_access_denied(client: Client, state: ClioState) -> None:
    page = authorize(client)
    assert page.status_code == 200
    assert 'name="user_id"' in page.get_data(as_text=True)
    form = {"response_type": "code", "client_id": DEFAULT_CLIENT_ID, "redirect_uri": CALLBACK, "state": "s-1"}
    denied = client.post("/oauth/authorize", data={**form, "decision": "deny"})
    assert returned(denied) == {"error": "access_denied", "state": "s-1"}
    user_id = state.ids("users")[3]
    allowed = returned(client.post("/oauth/authorize", data={**form, "decision": "allow", "user_id": str(user_id)}))
    token = exchange(client, allowed["code"]).get_json()["access_token"]
    assert who_am_i(client, token).get_json()["data"]["id"] == user_id


def test_the_browser_user_control_names_a_real_user(client: Client, state: ClioState) -> None:
    assert client.post("/_sandbox/browser_user", json={"user_id": 1}).status_code == 404
    user_id = state.ids("users")[4]
    assert client.post("/_sandbox/browser_user", json={"user_id": user_id}).get_json()["result"] == {"user_id": user_id}
    assert state.browser_user == user_id


def test_a_users_refresh_token_mints_another_token_of_that_user(client: Client, state: ClioState) -> None:
    user_id = state.ids("users")[5]
    state.browser_user = user_id
    tokens = exchange(client, returned(authorize(client))["code"]).get_json()
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
    }
    fresh = client.post("/oauth/token", data=form).get_json()
    assert fresh["refresh_token"] == tokens["refresh_token"]
    assert who_am_i(client, fresh["access_token"]).get_json()["data"]["id"] == user_id
