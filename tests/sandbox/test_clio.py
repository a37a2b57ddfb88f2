"""The sandbox Clio v4, exercised over real HTTP the way the connector will use it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from connector.sandbox import ClioState, RecordedRequest, SandboxServer, generate_firm
from tests.support.clocks import SettableClock

TOKEN = "sandbox-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CONTACT_FIELDS = "id,etag,name,is_client,primary_phone_number,phone_numbers{id,number,name,primary},updated_at"
INVALID_TOKEN = {
    "error": "invalid_token",
    "error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons.",
}


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


@pytest.fixture
def state(clock: SettableClock) -> ClioState:
    return ClioState(generate_firm(450, 220, seed=5), clock=clock)


@pytest.fixture
def server(state: ClioState) -> Iterator[SandboxServer]:
    with SandboxServer(state) as running:
        yield running


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers.update(AUTH)
        yield session


def get(http: requests.Session, server: SandboxServer, path: str, **params: Any) -> requests.Response:
    return http.get(server.url(path), params=params, timeout=10)


def walk(http: requests.Session, first: requests.Response) -> list[dict[str, Any]]:
    """Follow meta.paging.next to the end, as a client does."""
    rows: list[dict[str, Any]] = []
    response = first
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        rows.extend(body["data"])
        following = body["meta"]["paging"].get("next")
        if not following:
            return rows
        response = http.get(following, timeout=10)


def error_type(response: requests.Response) -> str:
    return str(response.json()["error"]["type"])


# -- envelope and fields ---------------------------------------------------------------------------


def test_list_and_single_envelopes_are_clio_shaped(http: requests.Session, server: SandboxServer) -> None:
    listing = get(http, server, "/contacts.json", fields="id,name", limit=5)
    assert listing.headers["Content-Type"] == "application/json"
    body = listing.json()
    assert set(body) == {"data", "meta"}
    assert len(body["data"]) == 5
    assert body["meta"]["records"] == 450
    assert body["meta"]["paging"]["next"].startswith(f"{server.base_url}/contacts.json?")
    contact_id = body["data"][0]["id"]
    single = get(http, server, f"/contacts/{contact_id}.json", fields="id,name")
    assert single.json() == {"data": body["data"][0]}
    assert single.headers["ETag"].startswith('"')


def test_without_fields_a_record_is_only_id_and_etag(http: requests.Session, server: SandboxServer) -> None:
    rows = get(http, server, "/matters.json", limit=3).json()["data"]
    assert [set(row) for row in rows] == [{"id", "etag"}] * 3


def test_fields_select_nested_values_and_references_render_live(
    http: requests.Session, server: SandboxServer, state: ClioState
) -> None:
    fields = "id,display_number,status,client{id,name},responsible_attorney{name},practice_area"
    matter = get(http, server, "/matters.json", fields=fields, limit=1).json()["data"][0]
    assert set(matter) == {"id", "display_number", "status", "client", "responsible_attorney", "practice_area"}
    assert set(matter["client"]) == {"id", "name"}
    assert set(matter["responsible_attorney"]) == {"name"}
    assert set(matter["practice_area"]) == {"id", "etag", "name"}
    state.update_contact(matter["client"]["id"], name="Renamed Client LLC")
    again = get(http, server, f"/matters/{matter['id']}.json", fields="client{name}").json()["data"]
    assert again == {"client": {"name": "Renamed Client LLC"}}


def test_phone_numbers_render_with_only_the_requested_subfields(http: requests.Session, server: SandboxServer) -> None:
    rows = get(http, server, "/contacts.json", fields="id,phone_numbers{number,primary}", limit=50).json()["data"]
    phones = [phone for row in rows for phone in row["phone_numbers"]]
    assert phones
    assert all(set(phone) == {"number", "primary"} for phone in phones)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ("id,nickname", "nickname"),
        ("id,phone_numbers{number,carrier}", "carrier"),
        ("id,client{id,name}", "client"),
    ],
)
def test_unknown_fields_are_a_400_that_names_them(
    http: requests.Session, server: SandboxServer, fields: str, named: str
) -> None:
    response = get(http, server, "/contacts.json", fields=fields)
    assert response.status_code == 400
    assert error_type(response) == "BadRequest"
    assert named in response.json()["error"]["message"]


@pytest.mark.parametrize("fields", ["id,matter{client{id}}", "id,matter{id", "id,description{id}"])
def test_deep_or_malformed_nesting_is_a_400(http: requests.Session, server: SandboxServer, fields: str) -> None:
    response = get(http, server, "/relationships.json", fields=fields)
    assert response.status_code == 400
    assert error_type(response) == "BadRequest"


# -- paging ------------------------------------------------------------------------------------------


def test_paging_reaches_every_record_once_and_keeps_the_original_parameters(
    http: requests.Session, server: SandboxServer, state: ClioState
) -> None:
    first = get(http, server, "/contacts.json", fields=CONTACT_FIELDS, order="id(asc)", limit=40)
    following = first.json()["meta"]["paging"]["next"]
    assert "limit=40" in following
    assert "order=id%28asc%29" in following
    assert "page_token=" in following
    rows = walk(http, first)
    ids = [row["id"] for row in rows]
    assert ids == state.ids("contacts")
    assert len(ids) == len(set(ids))


def test_the_last_page_has_no_next(http: requests.Session, server: SandboxServer) -> None:
    body = get(http, server, "/users.json", fields="id", limit=200).json()
    assert body["meta"]["paging"] == {}
    assert body["meta"]["records"] == len(body["data"]) == 12


@pytest.mark.parametrize("limit", ["0", "201", "-5", "ten"])
def test_limit_outside_one_to_two_hundred_is_a_400(http: requests.Session, server: SandboxServer, limit: str) -> None:
    assert get(http, server, "/contacts.json", limit=limit).status_code == 400


def test_limit_two_hundred_is_the_default_and_the_maximum(http: requests.Session, server: SandboxServer) -> None:
    assert len(get(http, server, "/contacts.json").json()["data"]) == 200
    assert len(get(http, server, "/contacts.json", limit="200").json()["data"]) == 200


def test_a_forged_page_token_is_a_400(http: requests.Session, server: SandboxServer) -> None:
    assert get(http, server, "/contacts.json", page_token="not-a-token!").status_code == 400
    other_order = base64.urlsafe_b64encode(b"date|2026-01-01|5").decode()
    assert get(http, server, "/contacts.json", page_token=other_order).status_code == 400


def test_order_is_id_ascending_only_and_relationships_reject_it(http: requests.Session, server: SandboxServer) -> None:
    assert get(http, server, "/matters.json", order="id(asc)").status_code == 200
    assert get(http, server, "/matters.json", order="name(asc)").status_code == 400
    assert get(http, server, "/relationships.json", order="id(asc)").status_code == 400
    assert get(http, server, "/relationships.json").status_code == 200


# -- filters -----------------------------------------------------------------------------------------


def test_updated_since_returns_only_records_changed_since(
    http: requests.Session, server: SandboxServer, state: ClioState, clock: SettableClock
) -> None:
    clock.now = datetime(2026, 11, 21, 8, 30, tzinfo=UTC)
    touched = state.touch("contacts", 25)
    since = "2026-11-21T08:30:00+00:00"
    first = get(http, server, "/contacts.json", fields="id,updated_at", updated_since=since, limit=10)
    rows = walk(http, first)
    assert [row["id"] for row in rows] == touched
    assert first.json()["meta"]["records"] == 25
    assert all(row["updated_at"] == "2026-11-21T08:30:00+00:00" for row in rows)
    later = get(http, server, "/contacts.json", updated_since="2026-11-21T08:30:00.5Z")
    assert later.json()["data"] == []


def test_unparseable_timestamps_are_a_400(http: requests.Session, server: SandboxServer) -> None:
    assert get(http, server, "/contacts.json", updated_since="yesterday").status_code == 400
    assert get(http, server, "/matters.json", created_since="2026-13-45").status_code == 400


def test_created_since_and_ids(http: requests.Session, server: SandboxServer, state: ClioState) -> None:
    new_id = state.add_contact(first_name="Ada", last_name="Quill", phone_numbers=["(415) 867-5309"])
    created = get(http, server, "/contacts.json", fields="id,name", created_since="2026-11-20T12:00:00Z").json()
    assert created["data"] == [{"id": new_id, "name": "Ada Quill"}]
    wanted = state.ids("contacts")[5:8]
    picked = http.get(server.url("/contacts.json"), params=[("ids[]", str(i)) for i in wanted], timeout=10).json()
    assert [row["id"] for row in picked["data"]] == wanted
    assert picked["meta"]["records"] == 3


def test_matter_status_filter_is_lowercase_in_and_capitalised_out(
    http: requests.Session, server: SandboxServer
) -> None:
    rows = walk(http, get(http, server, "/matters.json", fields="id,status", status="open,pending"))
    assert rows
    assert {row["status"] for row in rows} == {"Open", "Pending"}
    closed = walk(http, get(http, server, "/matters.json", fields="status", status="closed"))
    assert {row["status"] for row in closed} == {"Closed"}
    wrong = get(http, server, "/matters.json", status="Open")
    assert wrong.status_code == 400
    assert error_type(wrong) == "BadRequest"


def test_client_only_query_and_client_id(http: requests.Session, server: SandboxServer, state: ClioState) -> None:
    clients = walk(http, get(http, server, "/contacts.json", fields="id,is_client", client_only="true"))
    assert clients
    assert all(row["is_client"] for row in clients)
    contact_id = state.add_contact(first_name="Zebulon", last_name="Quartermaine", phone_numbers=["415.867.5309"])
    by_name = get(http, server, "/contacts.json", fields="id", query="zebulon").json()["data"]
    by_phone = get(http, server, "/contacts.json", fields="id", query="4158675309").json()["data"]
    assert by_name == [{"id": contact_id}]
    assert {"id": contact_id} in by_phone
    matter_id = state.add_matter(contact_id, "Quartermaine v. Smith — custody")
    mine = get(http, server, "/matters.json", fields="id,description", client_id=str(contact_id)).json()["data"]
    assert mine == [{"id": matter_id, "description": "Quartermaine v. Smith — custody"}]
    found = get(http, server, "/matters.json", fields="id", query="QUARTERMAINE").json()["data"]
    assert found == [{"id": matter_id}]


def test_relationships_filter_by_matter_and_contact(
    http: requests.Session, server: SandboxServer, state: ClioState
) -> None:
    matter_id, contact_id = state.ids("matters")[0], state.ids("contacts")[-1]
    link_id = state.add_relationship(matter_id, contact_id, "Guardian")
    fields = "id,description,matter{id},contact{id,name}"
    rows = get(http, server, "/relationships.json", fields=fields, contact_id=str(contact_id)).json()["data"]
    assert {
        "id": link_id,
        "description": "Guardian",
        "matter": {"id": matter_id},
        "contact": {"id": contact_id, "name": state.get("contacts", contact_id)["name"]},
    } in rows
    by_matter = get(http, server, "/relationships.json", fields="id", matter_id=str(matter_id)).json()["data"]
    assert {"id": link_id} in by_matter


CALENDAR_FIELDS = "id,summary,start_at,end_at,all_day,matter{id,display_number},calendar_owner{name},updated_at"


def test_calendar_entries_page_filter_and_follow_staff_moving_and_deleting_them(
    http: requests.Session, server: SandboxServer, state: ClioState, clock: SettableClock
) -> None:
    ids = state.ids("calendar_entries")
    rows = walk(http, get(http, server, "/calendar_entries.json", fields=CALENDAR_FIELDS, limit=3))
    assert [row["id"] for row in rows] == ids
    assert len(ids) > 3
    first = rows[0]
    assert first["all_day"] is True
    assert "2026-11-21" <= first["start_at"] <= "2026-12-04"  # in the two weeks after the state's today, a date
    assert first["matter"]["display_number"] == state.get("matters", first["matter"]["id"])["display_number"]
    assert first["calendar_owner"]["name"]
    assert get(http, server, "/calendar_entries.json", order="id(asc)").status_code == 400
    assert get(http, server, "/calendar_entries.json", fields="id,attendee").status_code == 400
    matter_id = first["matter"]["id"]
    on_matter = get(http, server, "/calendar_entries.json", fields="id", matter_id=str(matter_id)).json()["data"]
    assert on_matter == [{"id": row["id"]} for row in rows if row["matter"]["id"] == matter_id]
    timed = next(row for row in rows if not row["all_day"])
    bounded = get(
        http, server, "/calendar_entries.json", fields="id", to=timed["start_at"], **{"from": timed["end_at"]}
    )
    assert {"id": timed["id"]} in bounded.json()["data"]

    clock.now = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    control = f"{server.origin}/_sandbox/mutate"
    move = {"op": "move_calendar_entry", "args": {"entry_id": timed["id"], "start_at": "2026-12-01T17:00:00Z"}}
    assert requests.post(control, json=move, timeout=10).status_code == 200
    since = get(http, server, "/calendar_entries.json", fields=CALENDAR_FIELDS, updated_since="2026-11-20T15:00:00Z")
    [changed] = since.json()["data"]
    length = datetime.fromisoformat(timed["end_at"]) - datetime.fromisoformat(timed["start_at"])
    assert (changed["id"], changed["start_at"]) == (timed["id"], "2026-12-01T17:00:00+00:00")
    assert datetime.fromisoformat(changed["end_at"]) - datetime.fromisoformat(changed["start_at"]) == length
    assert changed["updated_at"] == "2026-11-20T15:00:00+00:00"
    bad = {"op": "move_calendar_entry", "args": {"entry_id": timed["id"], "start_at": "soon"}}
    assert requests.post(control, json=bad, timeout=10).status_code == 400
    delete = {"op": "delete_calendar_entry", "args": {"entry_id": timed["id"]}}
    assert requests.post(control, json=delete, timeout=10).status_code == 200
    assert get(http, server, f"/calendar_entries/{timed['id']}.json").status_code == 404
    picked = http.get(server.url("/calendar_entries.json"), params=[("ids[]", str(i)) for i in ids[:3]], timeout=10)
    assert [row["id"] for row in picked.json()["data"]] == [i for i in ids[:3] if i != timed["id"]]


def test_missing_records_are_a_404(http: requests.Session, server: SandboxServer, state: ClioState) -> None:
    contact_id = state.ids("contacts")[0]
    state.delete_contact(contact_id)
    response = get(http, server, f"/contacts/{contact_id}.json")
    assert response.status_code == 404
    assert error_type(response) == "NotFound"
    assert get(http, server, "/matters/1.json").status_code == 404


def test_users_and_who_am_i(http: requests.Session, server: SandboxServer, state: ClioState) -> None:
    me = get(http, server, "/users/who_am_i.json", fields="id,name,email,enabled,roles").json()["data"]
    assert me["id"] == state.ids("users")[0]
    assert me["enabled"] is True
    assert "Admin" in me["roles"]


# -- mutations ---------------------------------------------------------------------------------------


def test_mutations_bump_updated_at_and_etag(
    http: requests.Session, server: SandboxServer, state: ClioState, clock: SettableClock
) -> None:
    matter_id = state.ids("matters")[3]
    before = get(http, server, f"/matters/{matter_id}.json", fields="etag,updated_at,status").json()["data"]
    clock.now = datetime(2026, 11, 22, 9, 15, 30, tzinfo=UTC)
    state.close_matter(matter_id)
    after = get(http, server, f"/matters/{matter_id}.json", fields="etag,updated_at,status,close_date").json()["data"]
    assert after["status"] == "Closed"
    assert after["close_date"] == "2026-11-22"
    assert after["updated_at"] == "2026-11-22T09:15:30+00:00"
    assert after["etag"] != before["etag"]
    contact_id = state.ids("contacts")[1]
    state.set_phone_numbers(contact_id, ["+1 (212) 555-0100", {"number": "212-867-5309", "name": "Work"}])
    fields = "primary_phone_number,phone_numbers{number,name}"
    contact = get(http, server, f"/contacts/{contact_id}.json", fields=fields)
    assert contact.json()["data"] == {
        "primary_phone_number": "+1 (212) 555-0100",
        "phone_numbers": [
            {"number": "+1 (212) 555-0100", "name": "Mobile"},
            {"number": "212-867-5309", "name": "Work"},
        ],
    }


def test_unknown_mutation_fields_and_records_are_refused(state: ClioState) -> None:
    with pytest.raises(ValueError, match="nickname"):
        state.update_contact(state.ids("contacts")[0], nickname="x")
    with pytest.raises(KeyError):
        state.update_matter(1, description="nope")
    with pytest.raises(ValueError, match="status"):
        state.update_matter(state.ids("matters")[0], status="Archived")


# -- auth --------------------------------------------------------------------------------------------


def test_a_missing_or_malformed_header_gets_the_object_shaped_401(server: SandboxServer) -> None:
    missing = requests.get(server.url("/contacts.json"), timeout=10)
    assert missing.status_code == 401
    assert error_type(missing) == "Unauthorized"
    malformed = requests.get(server.url("/contacts.json"), headers={"Authorization": f"Token {TOKEN}"}, timeout=10)
    assert malformed.status_code == 401
    assert error_type(malformed) == "Unauthorized"


def test_an_unknown_or_expired_token_gets_the_rfc6750_string_shape(
    http: requests.Session, server: SandboxServer, state: ClioState
) -> None:
    unknown = requests.get(server.url("/contacts.json"), headers={"Authorization": "Bearer nope"}, timeout=10)
    assert (unknown.status_code, unknown.json()) == (401, INVALID_TOKEN)
    state.expire_token(TOKEN)
    expired = get(http, server, "/contacts.json")
    assert (expired.status_code, expired.json()) == (401, INVALID_TOKEN)


def test_refresh_issues_a_working_token_and_keeps_the_refresh_token(
    http: requests.Session, server: SandboxServer, state: ClioState
) -> None:
    state.expire_all_tokens()
    form = {
        "grant_type": "refresh_token",
        "refresh_token": "sandbox-refresh",
        "client_id": "sandbox-client",
        "client_secret": "sandbox-secret",
    }
    answer = requests.post(f"{server.origin}/oauth/token", data=form, timeout=10)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 2592000
    assert body["refresh_token"] == "sandbox-refresh"
    fresh = {"Authorization": f"Bearer {body['access_token']}"}
    assert requests.get(server.url("/contacts.json"), headers=fresh, timeout=10).status_code == 200
    assert get(http, server, "/contacts.json").status_code == 401
    assert state.stats.refreshes == 1


def test_refresh_refusals(server: SandboxServer, state: ClioState) -> None:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": "sandbox-refresh",
        "client_id": "sandbox-client",
        "client_secret": "sandbox-secret",
    }
    url = f"{server.origin}/oauth/token"
    wrong_client = requests.post(url, data={**form, "client_secret": "guess"}, timeout=10)
    assert (wrong_client.status_code, wrong_client.json()) == (401, {"error": "invalid_client"})
    wrong_grant = requests.post(url, data={**form, "refresh_token": "old"}, timeout=10)
    assert (wrong_grant.status_code, wrong_grant.json()) == (400, {"error": "invalid_grant"})
    state.refresh_disabled = True
    disabled = requests.post(url, data=form, timeout=10)
    assert (disabled.status_code, disabled.json()) == (400, {"error": "invalid_grant"})
    assert state.stats.refreshes == 0


# -- notes, communications, tasks -------------------------------------------------------------------


def test_a_matter_note_needs_no_contact_and_can_be_found_again(
    http: requests.Session, server: SandboxServer, state: ClioState
) -> None:
    matter_id = state.ids("matters")[0]
    note = {
        "type": "Matter",
        "matter": {"id": matter_id},
        "subject": "SMS summary [ml:abc123]",
        "detail": "Client confirmed the hearing.",
        "detail_text_type": "plain_text",
        "date": "2026-11-20",
    }
    created = http.post(
        server.url("/notes.json"), params={"fields": "id,subject,date,matter{id}"}, json={"data": note}, timeout=10
    )
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert data["subject"] == "SMS summary [ml:abc123]"
    assert data["matter"] == {"id": matter_id}
    found = get(http, server, "/notes.json", type="Matter", matter_id=str(matter_id), query="ml:abc123", fields="id")
    assert found.json()["data"] == [{"id": data["id"]}]
    shown = get(http, server, f"/notes/{data['id']}.json", fields="detail,author{id}").json()["data"]
    assert shown == {"detail": "Client confirmed the hearing.", "author": {"id": state.ids("users")[0]}}


def test_notes_index_requires_type(http: requests.Session, server: SandboxServer) -> None:
    response = get(http, server, "/notes.json")
    assert response.status_code == 400
    assert "type" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "data",
    [
        {"type": "Matter", "subject": "no matter"},
        {"type": "Matter", "matter": {"id": 1}, "subject": "missing matter"},
        {"type": "Memo", "subject": "bad type"},
        {"type": "Contact", "subject": "no contact"},
        {"type": "Matter", "matter": {"id": 20000001}, "date": "20/11/2026"},
    ],
)
def test_invalid_notes_are_a_422(http: requests.Session, server: SandboxServer, data: dict[str, Any]) -> None:
    response = http.post(server.url("/notes.json"), json={"data": data}, timeout=10)
    assert response.status_code == 422
    assert error_type(response) == "UnprocessableEntity"


def test_communications_dedupe_by_external_property(
    http: requests.Session, server: SandboxServer, state: ClioState
) -> None:
    matter_id = state.ids("matters")[2]
    body = {
        "type": "PhoneCommunication",
        "subject": "SMS with client",
        "body": "transcript",
        "date": "2026-11-19",
        "received_at": "2026-11-19T09:14:00Z",
        "matter": {"id": matter_id},
        "senders": [{"id": state.ids("contacts")[0], "type": "Contact"}],
        "receivers": [{"id": state.ids("users")[0], "type": "User"}],
        "external_properties": [{"name": "matterline_key", "value": "thr_1"}],
    }
    created = http.post(
        server.url("/communications.json"),
        params={"fields": "id,external_properties{name,value}"},
        json={"data": body},
        timeout=10,
    )
    assert created.status_code == 201
    assert created.json()["data"]["external_properties"] == [{"name": "matterline_key", "value": "thr_1"}]
    lookup = {"matter_id": str(matter_id), "external_property_name": "matterline_key", "fields": "id"}
    hit = get(http, server, "/communications.json", external_property_value="thr_1", **lookup).json()["data"]
    miss = get(http, server, "/communications.json", external_property_value="thr_", **lookup).json()["data"]
    assert hit == [{"id": created.json()["data"]["id"]}]
    assert miss == []
    senders = get(http, server, f"/communications/{hit[0]['id']}.json", fields="senders{type,name}").json()["data"]
    assert senders["senders"][0]["type"] == "Contact"
    assert senders["senders"][0]["name"]


def test_communications_default_to_date_order_but_honour_id_order(
    http: requests.Session, server: SandboxServer
) -> None:
    for day in ("2026-11-18", "2026-11-02", "2026-11-10"):
        data = {"type": "EmailCommunication", "subject": day, "body": "b", "date": day}
        assert http.post(server.url("/communications.json"), json={"data": data}, timeout=10).status_code == 201
    by_date = walk(http, get(http, server, "/communications.json", fields="subject", limit=2))
    by_id = walk(http, get(http, server, "/communications.json", fields="subject", limit=2, order="id(asc)"))
    assert [row["subject"] for row in by_date] == ["2026-11-02", "2026-11-10", "2026-11-18"]
    assert [row["subject"] for row in by_id] == ["2026-11-18", "2026-11-02", "2026-11-10"]


@pytest.mark.parametrize(
    "data",
    [
        {"type": "PhoneCommunication", "subject": "s"},
        {"type": "TextCommunication", "subject": "s", "body": "b"},
        {
            "type": "PhoneCommunication",
            "subject": "s",
            "body": "b",
            "external_properties": [{"name": f"k{i}", "value": "v"} for i in range(6)],
        },
    ],
)
def test_invalid_communications_are_a_422(http: requests.Session, server: SandboxServer, data: dict[str, Any]) -> None:
    response = http.post(server.url("/communications.json"), json={"data": data}, timeout=10)
    assert response.status_code == 422
    assert error_type(response) == "UnprocessableEntity"


def test_tasks_are_created_for_an_assignee_and_found_by_matter(
    http: requests.Session, server: SandboxServer, state: ClioState
) -> None:
    matter_id, user_id = state.ids("matters")[1], state.ids("users")[1]
    data = {
        "name": "Urgent: client mentioned court date",
        "description": "marker ml:t1",
        "priority": "High",
        "due_at": "2026-11-21",
        "matter": {"id": str(matter_id)},
        "assignee": {"id": str(user_id), "type": "User"},
    }
    created = http.post(
        server.url("/tasks.json"),
        params={"fields": "id,name,priority,assignee{id,type}"},
        json={"data": data},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    task = created.json()["data"]
    assert task["assignee"] == {"id": user_id, "type": "User"}
    assert task["priority"] == "High"
    found = get(http, server, "/tasks.json", matter_id=str(matter_id), query="ml:t1", fields="id").json()["data"]
    assert found == [{"id": task["id"]}]
    for bad in ({**data, "assignee": None}, {**data, "priority": "Urgent"}, {**data, "name": ""}):
        assert http.post(server.url("/tasks.json"), json={"data": bad}, timeout=10).status_code == 422


def test_a_body_without_data_is_a_400(http: requests.Session, server: SandboxServer) -> None:
    assert http.post(server.url("/notes.json"), json={"type": "Matter"}, timeout=10).status_code == 400
    assert http.post(server.url("/notes.json"), data="{not json", timeout=10).status_code == 400


# -- webhooks ----------------------------------------------------------------------------------------


def _hook(url: str, **extra: Any) -> dict[str, Any]:
    return {"data": {"url": url, "model": "contact", "fields": "id,name,updated_at", **extra}}


def test_webhooks_need_https_unless_allowed(http: requests.Session, server: SandboxServer, state: ClioState) -> None:
    plain = http.post(server.url("/webhooks.json"), json=_hook("http://localhost/hook"), timeout=10)
    assert plain.status_code == 422
    assert error_type(plain) == "UnprocessableEntity"
    secure = http.post(server.url("/webhooks.json"), json=_hook("https://example.test/hook"), timeout=10)
    assert secure.status_code == 201
    state.allow_http_webhooks = True
    assert http.post(server.url("/webhooks.json"), json=_hook("http://localhost/hook"), timeout=10).status_code == 201


def test_webhooks_expire_within_thirty_one_days(
    http: requests.Session, server: SandboxServer, clock: SettableClock
) -> None:
    fields = {"fields": "id,status,expires_at,shared_secret,model,events"}
    default = http.post(server.url("/webhooks.json"), params=fields, json=_hook("https://x.test/h"), timeout=10).json()
    hook = default["data"]
    assert hook["status"] == "pending"
    assert hook["model"] == "contact"
    assert hook["expires_at"] == "2026-11-23T12:00:00+00:00"
    assert len(hook["shared_secret"]) >= 16
    assert hook["events"] == ["created", "updated", "deleted"]
    too_far = (clock.now + timedelta(days=31, minutes=1)).isoformat()
    refused = http.post(server.url("/webhooks.json"), json=_hook("https://x.test/h", expires_at=too_far), timeout=10)
    assert refused.status_code == 422
    renew_ok = (clock.now + timedelta(days=31)).isoformat()
    url = server.url(f"/webhooks/{hook['id']}.json")
    patched = http.patch(url, params={"fields": "expires_at"}, json={"data": {"expires_at": renew_ok}}, timeout=10)
    assert patched.json()["data"] == {"expires_at": "2026-12-21T12:00:00+00:00"}
    assert http.patch(url, json={"data": {"expires_at": too_far}}, timeout=10).status_code == 422
    assert http.delete(url, timeout=10).status_code == 204
    assert http.get(url, timeout=10).status_code == 404


@pytest.mark.parametrize(
    "extra",
    [{"model": "note"}, {"events": ["matter_closed"]}, {"fields": "id,nickname"}, {"fields": ""}],
)
def test_invalid_webhooks_are_a_422(http: requests.Session, server: SandboxServer, extra: dict[str, Any]) -> None:
    body = _hook("https://x.test/h")
    body["data"].update(extra)
    assert http.post(server.url("/webhooks.json"), json=body, timeout=10).status_code == 422


class Receiver:
    """A tiny webhook endpoint: echoes X-Hook-Secret on the handshake and records every delivery."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/hooks/clio"

    def _app(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        self.received.append((dict(request.headers), request.get_data()))
        headers = {}
        if "X-Hook-Secret" in request.headers:
            headers["X-Hook-Secret"] = request.headers["X-Hook-Secret"]
        return Response("", status=self.status, headers=headers)(environ, start_response)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_handshake_then_signed_deliveries(http: requests.Session, server: SandboxServer, state: ClioState) -> None:
    state.allow_http_webhooks = True
    with Receiver() as receiver:
        hook = http.post(
            server.url("/webhooks.json"),
            params={"fields": "id,shared_secret"},
            json=_hook(receiver.url, fields="id,name"),
            timeout=10,
        ).json()["data"]
        contact_id = state.ids("contacts")[7]
        state.update_contact(contact_id, name="Maria Delgado")
        new_id = state.add_contact(first_name="Ana", last_name="Ruiz")
        state.delete_contact(new_id)
        results = state.deliver_webhooks()
        assert results == [
            (hook["id"], "handshake", 200),
            (hook["id"], "updated", 200),
            (hook["id"], "created", 200),
            (hook["id"], "deleted", 200),
        ]
        handshake_headers, handshake_body = receiver.received[0]
        assert handshake_headers["X-Hook-Secret"] == hook["shared_secret"]
        assert json.loads(handshake_body) == {"data": {"id": hook["id"]}}
        assert get(http, server, f"/webhooks/{hook['id']}.json", fields="status").json()["data"]["status"] == "enabled"
        payloads = []
        for headers, raw in receiver.received[1:]:
            expected = hmac.new(hook["shared_secret"].encode(), raw, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(headers["X-Hook-Signature"], expected)
            payloads.append(json.loads(raw))
        assert payloads[0] == {
            "data": {"id": contact_id, "name": "Maria Delgado"},
            "meta": {"event": "updated", "webhook_id": hook["id"]},
        }
        assert payloads[2]["data"] == {"id": new_id}
        assert state.deliver_webhooks() == []


def test_a_410_answer_disables_the_webhook(http: requests.Session, server: SandboxServer, state: ClioState) -> None:
    state.allow_http_webhooks = True
    with Receiver() as receiver:
        hook_id = http.post(
            server.url("/webhooks.json"), params={"fields": "id"}, json=_hook(receiver.url), timeout=10
        ).json()["data"]["id"]
        state.deliver_webhooks()
        receiver.status = 410
        state.update_contact(state.ids("contacts")[0], title="Dr.")
        assert state.deliver_webhooks() == [(hook_id, "updated", 410)]
        state.update_contact(state.ids("contacts")[0], title="Prof.")
        assert state.deliver_webhooks() == []
    assert state.get("webhooks", hook_id)["status"] != "enabled"


def test_a_handshake_without_the_echo_leaves_the_webhook_pending(
    http: requests.Session, server: SandboxServer, state: ClioState
) -> None:
    state.allow_http_webhooks = True
    with Receiver() as receiver:
        receiver.status = 500
        hook_id = http.post(
            server.url("/webhooks.json"), params={"fields": "id"}, json=_hook(receiver.url), timeout=10
        ).json()["data"]["id"]
        assert state.deliver_webhooks() == [(hook_id, "handshake", 500)]
    assert state.get("webhooks", hook_id)["status"] == "pending"


def test_matter_webhooks_hear_closing(http: requests.Session, server: SandboxServer, state: ClioState) -> None:
    state.allow_http_webhooks = True
    with Receiver() as receiver:
        body = {
            "data": {
                "url": receiver.url,
                "model": "matter",
                "fields": "id,status",
                "events": ["updated", "matter_closed"],
            }
        }
        hook_id = http.post(server.url("/webhooks.json"), params={"fields": "id"}, json=body, timeout=10).json()[
            "data"
        ]["id"]
        matter_id = next(i for i in state.ids("matters") if state.get("matters", i)["status"] == "Open")
        state.close_matter(matter_id)
        assert state.deliver_webhooks()[1:] == [(hook_id, "updated", 200), (hook_id, "matter_closed", 200)]
        assert json.loads(receiver.received[-1][1])["data"] == {"id": matter_id, "status": "Closed"}


# -- rate limiting -----------------------------------------------------------------------------------


def test_rate_limit_headers_and_the_429(http: requests.Session, server: SandboxServer, state: ClioState) -> None:
    state.set_rate_limit(3, window_seconds=60)
    answers = [get(http, server, "/users.json", fields="id") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert all(a.headers["X-RateLimit-Limit"] == "3" for a in answers)
    reset = int(answers[0].headers["X-RateLimit-Reset"])
    assert reset % 60 == 0
    assert 0 < reset - time.time() <= 60
    limited = answers[-1]
    assert error_type(limited) == "RateLimited"
    retry = int(limited.headers["Retry-After"])
    assert 1 <= retry <= 60
    assert abs(retry - math.ceil(reset - time.time())) <= 1
    assert state.stats.rate_limited == 1
    state.retry_after_header = "Retry-At"
    assert "Retry-At" in get(http, server, "/users.json").headers
    state.set_rate_limit(None)
    assert get(http, server, "/users.json").status_code == 200


def test_rate_limit_windows_reset(http: requests.Session, server: SandboxServer, state: ClioState) -> None:
    state.set_rate_limit(1, window_seconds=1)
    time.sleep(math.ceil(time.time()) - time.time() + 0.01)
    assert get(http, server, "/users.json").status_code == 200
    blocked = get(http, server, "/users.json")
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == "1"
    time.sleep(int(blocked.headers["X-RateLimit-Reset"]) - time.time() + 0.01)
    assert get(http, server, "/users.json").status_code == 200


# -- stats, request log, control endpoints, standalone process --------------------------------------


def test_stats_count_requests_per_endpoint(http: requests.Session, server: SandboxServer, state: ClioState) -> None:
    contact_id = state.ids("contacts")[0]
    get(http, server, "/contacts.json")
    get(http, server, f"/contacts/{contact_id}.json")
    get(http, server, f"/contacts/{contact_id}.json")
    assert state.stats.total_requests == 3
    assert state.stats.by_endpoint[("GET", "/contacts/{id}.json")] == 2
    snapshot = requests.get(f"{server.origin}/_sandbox/stats", timeout=10).json()["result"]
    assert snapshot["by_endpoint"]["GET /contacts.json"] == 1


def test_the_request_log_records_what_clients_sent(
    http: requests.Session, server: SandboxServer, state: ClioState
) -> None:
    get(http, server, "/users.json")
    assert state.requests == []
    state.record_requests = True
    matter_id = state.ids("matters")[0]
    note = {"data": {"type": "Matter", "matter": {"id": matter_id}, "subject": "s"}}
    http.post(server.url("/notes.json"), params={"fields": "id"}, json=note, timeout=10)
    assert state.requests == [
        RecordedRequest("POST", "/notes.json", [("fields", "id")], state.requests[0].headers, note),
    ]
    assert state.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_control_endpoints_drive_a_sandbox_in_another_process(
    http: requests.Session, server: SandboxServer, state: ClioState, clock: SettableClock
) -> None:
    control = f"{server.origin}/_sandbox"
    contact_id = state.ids("contacts")[4]
    mutate = {"op": "update_contact", "args": {"contact_id": contact_id, "name": "Via HTTP"}}
    assert requests.post(f"{control}/mutate", json=mutate, timeout=10).status_code == 200
    assert state.get("contacts", contact_id)["name"] == "Via HTTP"
    added = requests.post(
        f"{control}/mutate", json={"op": "add_contact", "args": {"name": "Acme LLC", "type": "Company"}}, timeout=10
    ).json()["result"]
    assert state.get("contacts", added)["type"] == "Company"
    assert requests.post(f"{control}/mutate", json={"op": "drop_tables"}, timeout=10).status_code == 400
    missing = requests.post(f"{control}/mutate", json={"op": "close_matter", "args": {"matter_id": 1}}, timeout=10)
    assert missing.status_code == 404
    clock.now = datetime(2026, 11, 23, tzinfo=UTC)
    touched = requests.post(f"{control}/touch", json={"resource": "matters", "count": 10}, timeout=10).json()
    assert touched["result"]["touched"] == 10
    recent = get(http, server, "/matters.json", fields="id", updated_since="2026-11-23T00:00:00Z").json()
    assert recent["meta"]["records"] == 10
    requests.post(f"{control}/rate_limit", json={"limit": 100, "window_seconds": 60}, timeout=10)
    assert get(http, server, "/users.json").headers["X-RateLimit-Limit"] == "100"
    fault = {"kind": "status", "status": 503, "path": "/users.json"}
    assert requests.post(f"{control}/faults", json=fault, timeout=10).status_code == 200
    assert get(http, server, "/users.json").status_code == 503


def test_the_standalone_process_prints_its_base_url_and_serves() -> None:
    command = [
        sys.executable,
        "-m",
        "connector.sandbox",
        "--contacts",
        "30",
        "--matters",
        "10",
        "--seed",
        "3",
        "--port",
        "0",
        "--rate-limit",
        "50",
        "--rate-window",
        "60",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/api/v4")
        answer = requests.get(f"{base_url}/contacts.json", headers=AUTH, params={"fields": "id"}, timeout=10)
        assert answer.status_code == 200
        assert answer.json()["meta"]["records"] == 30
        assert answer.headers["X-RateLimit-Limit"] == "50"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_server_exposes_origin_and_base_url(state: ClioState) -> None:
    server = SandboxServer(state)
    with pytest.raises(RuntimeError):
        _ = server.base_url
    with server:
        assert server.base_url == f"{server.origin}/api/v4"
        assert server.origin == f"http://127.0.0.1:{server.port}"
        base_url = server.base_url
        assert requests.get(f"{base_url}/users.json", headers=AUTH, timeout=10).status_code == 200
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{base_url}/users.json", headers=AUTH, timeout=2)
