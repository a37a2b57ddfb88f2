"""The sandbox CMS's custom actions: per-user CRUD, and a click's nonce that one read of its record spends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.test import Client, TestResponse

from connector.sandbox import ClioState, generate_firm
from connector.sandbox.clio import create_sandbox_app
from tests.support.clocks import SettableClock

TARGET = "https://matterline.firm.example/cms/clio/action"
FIELDS = "id,etag,label,target_url,ui_reference,created_at,updated_at"


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


@pytest.fixture
def state(clock: SettableClock) -> ClioState:
    made = ClioState(generate_firm(20, 10, seed=3), clock=clock)
    made.add_token("alice-token", made.ids("users")[1])
    made.add_token("bob-token", made.ids("users")[2])
    return made


@pytest.fixture
def client(state: ClioState) -> Client:
    return Client(create_sandbox_app(state))


def api(client: Client, method: str, path: str, token: str, body: Any = None) -> TestResponse:
    return client.open(f"/api/v4{path}", method=method, json=body, headers={"Authorization": f"Bearer {token}"})


def create(client: Client, token: str, label: str = "Text client", ui: str = "matters/show") -> TestResponse:
    body = {"data": {"label": label, "target_url": TARGET, "ui_reference": ui}}
    return api(client, "POST", f"/custom_actions.json?fields={FIELDS}", token, body)


def click(client: Client, action_id: int, subject_id: int) -> dict[str, Any]:
    answer = client.post(
        "/_sandbox/custom_action_click", json={"custom_action_id": action_id, "subject_id": subject_id}
    )
    assert answer.status_code == 200, answer.get_json()
    result: dict[str, Any] = answer.get_json()["result"]
    return result


def test_custom_actions_are_created_listed_updated_and_deleted_per_user(client: Client) -> None:
    made = create(client, "alice-token")
    assert made.status_code == 201
    action = made.get_json()["data"]
    assert (action["label"], action["target_url"], action["ui_reference"]) == ("Text client", TARGET, "matters/show")
    assert create(client, "alice-token", ui="contacts/show").status_code == 201
    listed = api(client, "GET", "/custom_actions.json?fields=id,ui_reference", "alice-token").get_json()["data"]
    assert [a["ui_reference"] for a in listed] == ["matters/show", "contacts/show"]
    assert api(client, "GET", "/custom_actions.json", "bob-token").get_json()["data"] == []
    assert api(client, "GET", f"/custom_actions/{action['id']}.json", "bob-token").status_code == 404
    changed = api(
        client,
        "PATCH",
        f"/custom_actions/{action['id']}.json?fields=target_url",
        "alice-token",
        {"data": {"target_url": TARGET + "?v=2"}},
    )
    assert changed.get_json()["data"] == {"target_url": TARGET + "?v=2"}
    assert api(client, "DELETE", f"/custom_actions/{action['id']}.json", "bob-token").status_code == 404
    assert api(client, "DELETE", f"/custom_actions/{action['id']}.json", "alice-token").status_code == 204
    assert len(api(client, "GET", "/custom_actions.json", "alice-token").get_json()["data"]) == 1


def test_a_label_is_unique_per_user_and_page_and_fields_are_required(client: Client) -> None:
    assert create(client, "alice-token").status_code == 201
    duplicate = create(client, "alice-token")
    assert duplicate.status_code == 422
    assert duplicate.get_json()["error"]["type"] == "UnprocessableEntity"
    assert create(client, "bob-token").status_code == 201  # another user's may share the label
    assert create(client, "alice-token", ui="invoices/show").status_code == 422
    missing = api(
        client, "POST", "/custom_actions.json", "alice-token", {"data": {"label": "x", "ui_reference": "matters/show"}}
    )
    assert missing.status_code == 422


def test_a_click_opens_the_target_with_the_four_parameters(client: Client, state: ClioState) -> None:
    action = create(client, "alice-token").get_json()["data"]
    matter_id = state.ids("matters")[0]
    clicked = click(client, action["id"], matter_id)
    url = urlsplit(clicked["url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == TARGET
    query = {key: values[0] for key, values in parse_qs(url.query).items()}
    assert query == {
        "custom_action_id": str(action["id"]),
        "user_id": str(state.ids("users")[1]),
        "subject_url": f"/api/v4/matters/{matter_id}",
        "custom_action_nonce": clicked["nonce"],
    }


def read_with(client: Client, token: str, subject_url: str, nonce: str) -> TestResponse:
    return api(
        client, "GET", f"{subject_url.removeprefix('/api/v4')}.json?fields=id&custom_action_nonce={nonce}", token
    )


def test_a_nonce_is_good_for_one_read_by_the_clickers_token(client: Client, state: ClioState) -> None:
    action = create(client, "alice-token", ui="contacts/show").get_json()["data"]
    contact_id = state.ids("contacts")[3]
    clicked = click(client, action["id"], contact_id)
    first = read_with(client, "alice-token", clicked["subject_url"], clicked["nonce"])
    assert (first.status_code, first.get_json()["data"]) == (200, {"id": contact_id})
    again = read_with(client, "alice-token", clicked["subject_url"], clicked["nonce"])
    assert again.status_code == 403
    assert again.get_json()["error"]["type"] == "Forbidden"


def test_another_users_token_or_another_record_is_refused(client: Client, state: ClioState) -> None:
    action = create(client, "alice-token").get_json()["data"]
    matter_id, other = state.ids("matters")[:2]
    clicked = click(client, action["id"], matter_id)
    assert read_with(client, "bob-token", clicked["subject_url"], clicked["nonce"]).status_code == 403
    clicked = click(client, action["id"], matter_id)
    assert read_with(client, "alice-token", f"/api/v4/matters/{other}", clicked["nonce"]).status_code == 403
    assert read_with(client, "alice-token", clicked["subject_url"], "made-up").status_code == 403


def test_a_nonce_expires_after_sixty_seconds(client: Client, state: ClioState, clock: SettableClock) -> None:
    action = create(client, "alice-token").get_json()["data"]
    matter_id = state.ids("matters")[0]
    clicked = click(client, action["id"], matter_id)
    clock.now += timedelta(seconds=59)
    assert read_with(client, "alice-token", clicked["subject_url"], clicked["nonce"]).status_code == 200
    clicked = click(client, action["id"], matter_id)
    clock.now += timedelta(seconds=60)
    assert read_with(client, "alice-token", clicked["subject_url"], clicked["nonce"]).status_code == 403


def test_a_click_names_an_existing_action_and_record(client: Client, state: ClioState) -> None:
    action = create(client, "alice-token").get_json()["data"]
    assert (
        client.post("/_sandbox/custom_action_click", json={"custom_action_id": 1, "subject_id": 1}).status_code == 404
    )
    missing = client.post("/_sandbox/custom_action_click", json={"custom_action_id": action["id"], "subject_id": 1})
    assert missing.status_code == 404
