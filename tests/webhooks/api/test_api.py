"""The JSON API: authentication, every route's answers and refusals, audit, and the OpenAPI document.

Every answer an API test receives is checked against the schema `/api/openapi.json` documents for that
route and status, so the document cannot drift from what the code returns.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select, update
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.test import TestResponse

from connector.store.tables import audit_log, filing_decisions, messages, outbox, threads, users, writebacks
from tests.support.firm import JANE, OMAR, inbound_form, seed, settings, shut_window, signed

try:  # texts are threaded by the worker's intake where it exists, else by the webhook itself
    from connector.messaging import intake
except ImportError:  # pragma: no cover - depends on which half of the pipeline threads texts
    intake = None  # type: ignore[assignment]
from tests.support.people import add_user
from webhooks import create_app
from webhooks.api import ROUTES, openapi_document, openapi_path
from webhooks.state import app_state

SMS = "/webhooks/twilio/sms"
DOC = openapi_document()


# -- helpers ---------------------------------------------------------------------------------------------


def text_in(client: FlaskClient, from_: str, body: str = "Hello") -> None:
    """A signed inbound text, as Twilio would post it, then threaded and filed."""
    params = inbound_form(from_, body)
    assert client.post(SMS, data=params, headers=signed(SMS, params)).status_code == 200
    if intake is not None:
        state = app_state(client.application)
        intake.drain(state.engine, state.settings)


def as_json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as plain JSON Schema: `$ref`s inlined, `nullable` as a null type."""
    if isinstance(node, list):
        return [as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return as_json_schema(DOC["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]])
    out = {key: as_json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True:
        if "type" in out:
            out["type"] = [out["type"], "null"]
        elif "oneOf" in out:
            out["oneOf"] = [*out["oneOf"], {"type": "null"}]
    return out


def documented_schema(app: Flask, method: str, path: str, status: int) -> Any:
    """The schema the document promises for this answer; fails when the status is not documented."""
    adapter = app.url_map.bind("localhost")
    endpoint, _ = adapter.match(path.split("?")[0], method=method)
    route = next(r for r in ROUTES if f"api.{r.operation_id}" == endpoint)
    responses = DOC["paths"][openapi_path(route.rule)][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} answered {status}, which the document does not list"
    answer = responses[str(status)]
    if "$ref" in answer:
        answer = DOC["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    return answer["content"]["application/json"]["schema"]


@dataclass
class Api:
    """A test client that authenticates as someone and checks every answer against the document."""

    client: FlaskClient
    app: Flask
    token: str | None

    def call(
        self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None, **kw: Any
    ) -> TestResponse:
        sent = dict(headers or {})
        if self.token is not None:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        if body is not None:
            kw["json"] = body
        response = self.client.open(path, method=method, headers=sent, **kw)
        assert response.mimetype == "application/json"
        try:
            schema = documented_schema(self.app, method, path, response.status_code)
        except (NotFound, MethodNotAllowed):
            schema = as_json_schema({"$ref": "#/components/schemas/Error"})
        jsonschema.validate(response.get_json(), as_json_schema(schema))
        return response

    def get(self, path: str, **kw: Any) -> TestResponse:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> TestResponse:
        return self.call("POST", path, body, **kw)

    def as_(self, token: str | None) -> Api:
        return Api(self.client, self.app, token)


def error(response: TestResponse) -> dict[str, Any]:
    found: dict[str, Any] = response.get_json()["error"]
    return found


def count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def audit_rows(engine: Engine, action: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.id)))


def thread_id_of(engine: Engine, phone: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(threads.c.id).where(threads.c.client_phone == phone)).scalar_one())


@dataclass
class Firm:
    store: Engine
    app: Flask
    admin: Api
    attorney: Api
    staff: Api
    anonymous: Api
    ids: dict[str, int]


@pytest.fixture
def firm(engine: Engine) -> Firm:
    seed(engine)
    app = create_app(settings(), engine)
    client = app.test_client()
    tokens: dict[str, str] = {}
    ids: dict[str, int] = {}
    for role in ("admin", "attorney", "staff"):
        user, tokens[role] = add_user(engine, name=f"The {role}", email=f"{role}@firm.example", role=role)
        ids[role] = user.id
    base = Api(client, app, None)
    return Firm(
        engine, app, base.as_(tokens["admin"]), base.as_(tokens["attorney"]), base.as_(tokens["staff"]), base, ids
    )


@pytest.fixture
def jane(firm: Firm) -> int:
    """Jane's thread, filed to her only open matter (101), with two inbound texts."""
    text_in(firm.admin.client, JANE, "Is my hearing still on?")
    text_in(firm.admin.client, JANE, "Please call me")
    return thread_id_of(firm.store, JANE)


def concrete(rule: str) -> str:
    return "/api" + re.sub(r"<(?:int:)?(\w+)>", lambda m: "101" if m.group(1) == "cms_id" else "1", rule)


# -- authentication --------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", [r for r in ROUTES if r.authenticated], ids=lambda r: r.operation_id)
def test_every_route_needs_a_valid_bearer_token(firm: Firm, route: Any) -> None:
    path = concrete(route.rule)
    missing = firm.anonymous.call(route.method, path, {})
    assert missing.status_code == 401
    assert error(missing)["code"] == "unauthorized"
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="matterline"'

    wrong = firm.anonymous.call(route.method, path, {}, headers={"Authorization": "Bearer ml_not-a-real-token"})
    assert wrong.status_code == 401
    assert error(wrong)["code"] == "invalid_token"
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]

    basic = firm.anonymous.call(route.method, path, {}, headers={"Authorization": "Basic YWxpY2U6c2VjcmV0"})
    assert basic.status_code == 401


def test_a_disabled_users_token_stops_working(firm: Firm) -> None:
    assert firm.staff.get("/api/me").status_code == 200
    with firm.store.begin() as conn:
        conn.execute(update(users).where(users.c.id == firm.ids["staff"]).values(disabled_at=func.now()))
    assert firm.staff.get("/api/me").status_code == 401


def test_me(firm: Firm) -> None:
    response = firm.attorney.get("/api/me")
    assert response.status_code == 200
    assert response.get_json()["user"] == {
        "id": firm.ids["attorney"],
        "name": "The attorney",
        "email": "attorney@firm.example",
        "role": "attorney",
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_request_ids_are_echoed_or_made_and_reach_the_audit_log(firm: Firm, jane: int) -> None:
    response = firm.staff.post(f"/api/threads/{jane}/urgent", {"urgent": True}, headers={"X-Request-Id": "trace-42"})
    assert response.headers["X-Request-Id"] == "trace-42"
    assert audit_rows(firm.store, "urgent")[-1].request_id == "trace-42"
    made = firm.staff.get("/api/me", headers={"X-Request-Id": "bad id with spaces"}).headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert firm.anonymous.get("/api/me").headers["X-Request-Id"]


# -- threads ---------------------------------------------------------------------------------------------


def test_list_threads_with_filters(firm: Firm, jane: int) -> None:
    text_in(firm.admin.client, OMAR, "which case is this about")
    omar = thread_id_of(firm.store, OMAR)

    listed = firm.staff.get("/api/threads").get_json()
    assert [t["id"] for t in listed["threads"]] == [omar, jane]
    assert listed["next_cursor"] is None
    thread = listed["threads"][1]
    assert (thread["client_name"], thread["matter_cms_id"], thread["matter_display_number"]) == (
        "Jane Doe",
        "101",
        "00101-Doe",
    )
    assert (thread["state"], thread["unread"], thread["message_count"]) == ("filed", 2, 2)

    def ids(query: str) -> list[int]:
        response = firm.staff.get(f"/api/threads?{query}")
        assert response.status_code == 200, response.get_json()
        return [t["id"] for t in response.get_json()["threads"]]

    assert ids("filter=needs_filing") == [omar]
    assert ids("matter=101") == [jane]
    assert ids("client=2") == [omar]
    firm.staff.post(f"/api/threads/{jane}/assign", {"assignee": "staff@firm.example"})
    firm.staff.post(f"/api/threads/{omar}/urgent", {"urgent": True})
    assert ids("filter=mine") == [jane]
    assert ids("filter=urgent") == [omar]
    assert ids("filter=mine,urgent") == []
    assert ids("filter=mine&filter=urgent") == []
    assert ids("filter=urgent&filter=needs_filing") == [omar]
    text_in(firm.admin.client, OMAR, "STOP")
    assert ids("filter=opted_out") == [omar]


def test_list_threads_pages_with_the_cursor(firm: Firm) -> None:
    for n in range(7):
        text_in(firm.admin.client, f"+1415555{n:04d}")
    seen: list[int] = []
    query = "limit=3"
    pages = 0
    while True:
        body = firm.staff.get(f"/api/threads?{query}").get_json()
        pages += 1
        seen.extend(t["id"] for t in body["threads"])
        if body["next_cursor"] is None:
            break
        query = f"limit=3&cursor={body['next_cursor']}"
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    assert seen == sorted(seen, reverse=True)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("filter=bogus", "filter"),
        ("filter=mine,bogus", "filter"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("limit=5&limit=6", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("matter=", "matter"),
        ("client=" + "x" * 65, "client"),
    ],
)
def test_list_threads_refuses_bad_parameters_by_name(firm: Firm, query: str, parameter: str) -> None:
    response = firm.staff.get(f"/api/threads?{query}")
    assert response.status_code == 400
    assert error(response)["code"] == "invalid_parameter"
    assert error(response)["details"]["parameter"] == parameter


def test_unknown_query_parameters_are_refused(firm: Firm) -> None:
    response = firm.staff.get("/api/threads?filters=mine")
    assert response.status_code == 400
    assert error(response)["code"] == "unknown_parameter"
    assert error(response)["details"]["parameter"] == "filters"
    for path in ("/api/me?verbose=1", "/api/openapi.json?format=yaml"):
        refused = firm.staff.get(path)
        assert (refused.status_code, error(refused)["code"]) == (400, "unknown_parameter")


def test_get_one_thread(firm: Firm, jane: int) -> None:
    response = firm.staff.get(f"/api/threads/{jane}")
    assert response.status_code == 200
    assert response.get_json()["thread"]["client_phone"] == JANE
    missing = firm.staff.get("/api/threads/999999")
    assert missing.status_code == 404
    assert error(missing)["code"] == "not_found"
    assert firm.staff.get("/api/threads/not-a-number").status_code == 404


# -- messages --------------------------------------------------------------------------------------------


def test_messages_page_newest_first(firm: Firm, jane: int) -> None:
    for n in range(3):
        text_in(firm.admin.client, JANE, f"more {n}")
    first = firm.staff.get(f"/api/threads/{jane}/messages?limit=3").get_json()
    assert [m["body"] for m in first["messages"]] == ["more 2", "more 1", "more 0"]
    assert first["messages"][0]["author"] == JANE
    assert first["messages"][0]["direction"] == "inbound"
    rest = firm.staff.get(f"/api/threads/{jane}/messages?limit=3&before={first['next_before']}").get_json()
    assert [m["body"] for m in rest["messages"]] == ["Please call me", "Is my hearing still on?"]
    assert rest["next_before"] is None
    assert firm.staff.get("/api/threads/999999/messages").status_code == 404
    bad = firm.staff.get(f"/api/threads/{jane}/messages?before=zero")
    assert bad.status_code == 400
    assert error(bad)["details"]["parameter"] == "before"


# -- sending ---------------------------------------------------------------------------------------------


def test_send_in_a_thread_returns_encoding_and_segments(firm: Firm, jane: int) -> None:
    response = firm.staff.post(f"/api/threads/{jane}/messages", {"body": "Yes, Tuesday at 9."})
    assert response.status_code == 201
    sent = response.get_json()["message"]
    assert (sent["thread_id"], sent["to"], sent["status"], sent["matter_cms_id"]) == (jane, JANE, "pending", "101")
    assert (sent["encoding"], sent["segments"]) == ("GSM-7", 1)
    assert count(firm.store, outbox, outbox.c.idempotency_key == f"sms:{sent['id']}") == 1
    with firm.store.connect() as conn:
        row = conn.execute(select(messages).where(messages.c.id == sent["id"])).one()
    assert (row.author_id, row.direction, row.body) == (firm.ids["staff"], "outbound", "Yes, Tuesday at 9.")
    entry = audit_rows(firm.store, "send")[-1]
    assert entry.actor == f"user:{firm.ids['staff']}:staff@firm.example"
    assert entry.request_id == response.headers["X-Request-Id"]

    emoji = firm.staff.post(f"/api/threads/{jane}/messages", {"body": "See you soon 😊"}).get_json()["message"]
    assert (emoji["encoding"], emoji["segments"]) == ("UCS-2", 1)
    long_emoji = firm.staff.post(f"/api/threads/{jane}/messages", {"body": "😊" * 36}).get_json()["message"]
    assert (long_emoji["encoding"], long_emoji["segments"]) == ("UCS-2", 2)
    longest = firm.staff.post(f"/api/threads/{jane}/messages", {"body": "a" * 1600}).get_json()["message"]
    assert (longest["encoding"], longest["segments"]) == ("GSM-7", 11)

    messages_page = firm.staff.get(f"/api/threads/{jane}/messages?limit=1").get_json()["messages"]
    assert messages_page[0]["author"] == "staff@firm.example"


def test_send_refusals(firm: Firm, jane: int) -> None:
    before = count(firm.store, messages)
    too_long = firm.staff.post(f"/api/threads/{jane}/messages", {"body": "a" * 1601})
    assert too_long.status_code == 422
    assert error(too_long)["code"] == "body_too_long"
    empty = firm.staff.post(f"/api/threads/{jane}/messages", {"body": "   "})
    assert (empty.status_code, error(empty)["code"]) == (422, "empty_message")
    media = firm.staff.post(f"/api/threads/{jane}/messages", {"body": "x", "media_urls": ["http://insecure"]})
    assert (media.status_code, error(media)["code"]) == (422, "bad_media")
    unknown = firm.staff.post("/api/threads/999999/messages", {"body": "hello"})
    assert (unknown.status_code, error(unknown)["code"]) == (404, "not_found")
    assert count(firm.store, messages) == before
    assert count(firm.store, outbox) == 0


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "code"),
    [
        ('{"body": "hi", "extra": 1}', "application/json", 400, "invalid_body"),
        ('{"body": 5}', "application/json", 400, "invalid_body"),
        ('{"body": "hi", "media_urls": "https://x"}', "application/json", 400, "invalid_body"),
        ('{"body": "hi"', "application/json", 400, "invalid_json"),
        ('["hi"]', "application/json", 400, "invalid_json"),
        ("body=hi", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ],
)
def test_send_refuses_malformed_bodies(
    firm: Firm, jane: int, raw: str, content_type: str, status: int, code: str
) -> None:
    response = firm.staff.post(f"/api/threads/{jane}/messages", data=raw, content_type=content_type)
    assert response.status_code == status
    assert error(response)["code"] == code
    assert count(firm.store, outbox) == 0


def test_unknown_body_fields_are_named(firm: Firm, jane: int) -> None:
    response = firm.staff.post(f"/api/threads/{jane}/messages", {"body": "hi", "to": "+15550001111"})
    assert error(response)["details"] == {"to": ["Unknown field."]}


def test_an_opted_out_recipient_is_409_and_the_attempt_is_audited(firm: Firm, jane: int) -> None:
    text_in(firm.admin.client, JANE, "STOP")
    before = count(firm.store, messages)
    response = firm.staff.post(
        f"/api/threads/{jane}/messages", {"body": "Are you there?"}, headers={"X-Request-Id": "r1"}
    )
    assert response.status_code == 409
    assert error(response)["code"] == "recipient_opted_out"
    assert count(firm.store, messages) == before
    assert count(firm.store, outbox) == 0
    blocked = audit_rows(firm.store, "send_blocked")
    assert len(blocked) == 1
    assert blocked[0].request_id == "r1"
    assert blocked[0].actor == f"user:{firm.ids['staff']}:staff@firm.example"
    by_matter = firm.staff.post("/api/matters/101/messages", {"body": "Are you there?"})
    assert (by_matter.status_code, error(by_matter)["code"]) == (409, "recipient_opted_out")


def test_send_for_a_matter(firm: Firm) -> None:
    response = firm.attorney.post("/api/matters/101/messages", {"body": "Your hearing moved to Friday."})
    assert response.status_code == 201
    sent = response.get_json()["message"]
    assert (sent["to"], sent["matter_cms_id"], sent["encoding"]) == (JANE, "101", "GSM-7")
    thread = firm.attorney.get(f"/api/threads/{sent['thread_id']}").get_json()["thread"]
    assert (thread["matter_cms_id"], thread["state"], thread["unread"]) == ("101", "filed", 0)
    missing = firm.attorney.post("/api/matters/nope/messages", {"body": "hello"})
    assert (missing.status_code, error(missing)["code"]) == (404, "not_found")


# -- assign, read, urgent ----------------------------------------------------------------------------------


def test_assign_by_email_id_and_null_is_audited(firm: Firm, jane: int) -> None:
    by_email = firm.staff.post(f"/api/threads/{jane}/assign", {"assignee": "Attorney@Firm.example"})
    assert by_email.status_code == 200
    assert by_email.get_json()["thread"]["assignee"] == "attorney@firm.example"
    by_id = firm.staff.post(f"/api/threads/{jane}/assign", {"assignee": firm.ids["admin"]})
    assert by_id.get_json()["thread"]["assignee_id"] == firm.ids["admin"]
    cleared = firm.staff.post(f"/api/threads/{jane}/assign", {"assignee": None}, headers={"X-Request-Id": "r-clear"})
    assert cleared.get_json()["thread"]["assignee"] is None
    entries = audit_rows(firm.store, "assign")
    assert [e.details["to"] for e in entries] == [firm.ids["attorney"], firm.ids["admin"], None]
    assert entries[-1].request_id == "r-clear"
    assert all(e.actor == f"user:{firm.ids['staff']}:staff@firm.example" for e in entries)


def test_assign_refusals(firm: Firm, jane: int) -> None:
    unknown = firm.staff.post(f"/api/threads/{jane}/assign", {"assignee": "nobody@firm.example"})
    assert (unknown.status_code, error(unknown)["code"]) == (422, "unknown_user")
    with firm.store.begin() as conn:
        conn.execute(update(users).where(users.c.id == firm.ids["admin"]).values(disabled_at=func.now()))
    disabled = firm.staff.post(f"/api/threads/{jane}/assign", {"assignee": firm.ids["admin"]})
    assert (disabled.status_code, error(disabled)["code"]) == (422, "unknown_user")
    for bad in ({"assignee": True}, {"assignee": ""}, {}, {"assignee": 0}):
        response = firm.staff.post(f"/api/threads/{jane}/assign", bad)
        assert (response.status_code, error(response)["code"]) == (400, "invalid_body"), bad
    missing = firm.staff.post("/api/threads/999999/assign", {"assignee": None})
    assert missing.status_code == 404
    assert audit_rows(firm.store, "assign") == []


def test_mark_read_is_per_person_and_audited(firm: Firm, jane: int) -> None:
    def unread(api: Api) -> int:
        value: int = api.get(f"/api/threads/{jane}").get_json()["thread"]["unread"]
        return value

    assert (unread(firm.staff), unread(firm.attorney)) == (2, 2)
    response = firm.staff.post(f"/api/threads/{jane}/read")
    assert response.status_code == 200
    assert response.get_json()["thread"]["unread"] == 0
    assert (unread(firm.staff), unread(firm.attorney)) == (0, 2)

    oldest = firm.attorney.get(f"/api/threads/{jane}/messages").get_json()["messages"][-1]["id"]
    partial = firm.attorney.post(f"/api/threads/{jane}/read", {"message_id": oldest})
    assert partial.get_json()["last_read_message_id"] == oldest
    assert (unread(firm.staff), unread(firm.attorney)) == (0, 1)
    text_in(firm.admin.client, JANE, "one more")
    assert (unread(firm.staff), unread(firm.attorney)) == (1, 2)
    entries = audit_rows(firm.store, "read")
    assert [e.actor.split(":")[2] for e in entries] == ["staff@firm.example", "attorney@firm.example"]


def test_mark_read_refusals(firm: Firm, jane: int) -> None:
    text_in(firm.admin.client, OMAR)
    other = firm.staff.get(f"/api/threads/{thread_id_of(firm.store, OMAR)}/messages").get_json()["messages"][0]["id"]
    elsewhere = firm.staff.post(f"/api/threads/{jane}/read", {"message_id": other})
    assert (elsewhere.status_code, error(elsewhere)["code"]) == (422, "invalid_message")
    as_text = firm.staff.post(f"/api/threads/{jane}/read", {"message_id": str(other)})
    assert (as_text.status_code, error(as_text)["code"]) == (400, "invalid_body")
    assert firm.staff.post("/api/threads/999999/read").status_code == 404
    assert audit_rows(firm.store, "read") == []


def test_urgent(firm: Firm, jane: int) -> None:
    on = firm.staff.post(f"/api/threads/{jane}/urgent", {"urgent": True})
    assert on.get_json()["thread"]["urgent"] is True
    off = firm.staff.post(f"/api/threads/{jane}/urgent", {"urgent": False})
    assert off.get_json()["thread"]["urgent"] is False
    assert [e.details["urgent"] for e in audit_rows(firm.store, "urgent")] == [True, False]
    for bad in ({"urgent": "yes"}, {"urgent": 1}, {}):
        response = firm.staff.post(f"/api/threads/{jane}/urgent", bad)
        assert (response.status_code, error(response)["code"]) == (400, "invalid_body"), bad
    assert firm.staff.post("/api/threads/999999/urgent", {"urgent": True}).status_code == 404


# -- re-filing -------------------------------------------------------------------------------------------


def test_staff_may_not_refile(firm: Firm, jane: int) -> None:
    message_id = firm.staff.get(f"/api/threads/{jane}/messages").get_json()["messages"][0]["id"]
    for path in (f"/api/threads/{jane}/refile", f"/api/messages/{message_id}/refile"):
        response = firm.staff.post(path, {"matter_cms_id": "102"})
        assert response.status_code == 403
        assert error(response)["code"] == "forbidden_role"
    assert count(firm.store, filing_decisions, filing_decisions.c.rule == "manual") == 0
    assert audit_rows(firm.store, "refile") == []


def test_admin_refiles_a_message(firm: Firm, jane: int) -> None:
    message_id = firm.admin.get(f"/api/threads/{jane}/messages").get_json()["messages"][0]["id"]
    response = firm.admin.post(
        f"/api/messages/{message_id}/refile", {"matter_cms_id": "102"}, headers={"X-Request-Id": "rf"}
    )
    assert response.status_code == 200
    moved = response.get_json()["message"]
    assert (moved["id"], moved["matter_cms_id"]) == (message_id, "102")
    with firm.store.connect() as conn:
        decision = conn.execute(
            select(filing_decisions).where(
                filing_decisions.c.message_id == message_id, filing_decisions.c.rule == "manual"
            )
        ).one()
    assert (decision.matter_cms_id, decision.previous_matter_cms_id, decision.actor_id) == (
        "102",
        "101",
        firm.ids["admin"],
    )
    entry = audit_rows(firm.store, "refile")[-1]
    assert (entry.subject_type, entry.subject_id, entry.matter_cms_id, entry.request_id) == (
        "message",
        str(message_id),
        "102",
        "rf",
    )
    assert entry.actor == f"user:{firm.ids['admin']}:admin@firm.example"


def test_attorney_files_a_thread(firm: Firm) -> None:
    text_in(firm.admin.client, OMAR, "about my case")
    omar = thread_id_of(firm.store, OMAR)
    response = firm.attorney.post(f"/api/threads/{omar}/refile", {"matter_cms_id": "201"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["messages_filed"] == 1
    assert (body["thread"]["state"], body["thread"]["matter_cms_id"], body["thread"]["filing_rule"]) == (
        "filed",
        "201",
        "manual",
    )
    assert audit_rows(firm.store, "refile")[-1].subject_type == "thread"


def test_refile_refusals(firm: Firm, jane: int) -> None:
    message_id = firm.admin.get(f"/api/threads/{jane}/messages").get_json()["messages"][0]["id"]
    unknown_matter = firm.admin.post(f"/api/messages/{message_id}/refile", {"matter_cms_id": "999"})
    assert (unknown_matter.status_code, error(unknown_matter)["code"]) == (422, "unknown_matter")
    unknown_matter = firm.admin.post(f"/api/threads/{jane}/refile", {"matter_cms_id": "999"})
    assert (unknown_matter.status_code, error(unknown_matter)["code"]) == (422, "unknown_matter")
    assert firm.admin.post("/api/messages/999999/refile", {"matter_cms_id": "101"}).status_code == 404
    assert firm.admin.post("/api/threads/999999/refile", {"matter_cms_id": "101"}).status_code == 404
    empty = firm.admin.post(f"/api/threads/{jane}/refile", {"matter_cms_id": ""})
    assert (empty.status_code, error(empty)["code"]) == (400, "invalid_body")
    assert count(firm.store, filing_decisions, filing_decisions.c.rule == "manual") == 0
    assert audit_rows(firm.store, "refile") == []


# -- opt-outs --------------------------------------------------------------------------------------------


def test_optouts(firm: Firm) -> None:
    text_in(firm.admin.client, JANE, "STOP")
    text_in(firm.admin.client, OMAR, "STOP")
    text_in(firm.admin.client, OMAR, "START")
    everything = firm.staff.get("/api/optouts").get_json()["optouts"]
    assert {(o["phone"], o["opted_out"]) for o in everything} == {(JANE, True), (OMAR, False)}
    assert all(o["since"] and o["source"] for o in everything)
    only = firm.staff.get("/api/optouts?opted_out=true").get_json()["optouts"]
    assert [o["phone"] for o in only] == [JANE]
    bad = firm.staff.get("/api/optouts?opted_out=maybe")
    assert (bad.status_code, error(bad)["details"]["parameter"]) == (400, "opted_out")


# -- the OpenAPI document --------------------------------------------------------------------------------


def test_the_document_is_public_and_matches_the_app(firm: Firm) -> None:
    response = firm.anonymous.get("/api/openapi.json")
    assert response.status_code == 200
    served = response.get_json()
    assert served == json.loads(json.dumps(DOC))

    in_app = {
        (method.lower(), re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule))
        for rule in firm.app.url_map.iter_rules()
        if rule.rule.startswith("/api")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    documented = {(method, path) for path, item in served["paths"].items() for method in item}
    assert in_app == documented
    assert served["paths"]["/api/openapi.json"]["get"]["security"] == []
    assert served["security"] == [{"bearerAuth": []}]
    assert "forbidden_role" in served["paths"]["/api/threads/{thread_id}/refile"]["post"]["description"]
    assert "403" in served["paths"]["/api/messages/{message_id}/refile"]["post"]["responses"]
    assert "403" not in served["paths"]["/api/threads/{thread_id}/assign"]["post"]["responses"]


def test_request_bodies_are_documented_from_the_schemas(firm: Firm) -> None:
    send = DOC["paths"]["/api/threads/{thread_id}/messages"]["post"]["requestBody"]["content"]["application/json"]
    assert set(send["schema"]["properties"]) == {"body", "media_urls", "override_reason", "quiet_hours_reason"}
    assert send["schema"]["additionalProperties"] is False
    assign = DOC["paths"]["/api/threads/{thread_id}/assign"]["post"]["requestBody"]["content"]["application/json"]
    assert assign["schema"]["required"] == ["assignee"]
    assert assign["schema"]["properties"]["assignee"]["nullable"] is True
    params = {p["name"] for p in DOC["paths"]["/api/threads"]["get"]["parameters"]}
    assert params == {"filter", "matter", "client", "cursor", "limit"}


# A structural check of OpenAPI 3.0, for when openapi-spec-validator is not installed.
_OPENAPI_30 = {
    "type": "object",
    "required": ["openapi", "info", "paths"],
    "properties": {
        "openapi": {"type": "string", "pattern": r"^3\.0\.\d+$"},
        "info": {
            "type": "object",
            "required": ["title", "version"],
            "properties": {"title": {"type": "string"}, "version": {"type": "string"}},
        },
        "security": {"type": "array", "items": {"type": "object"}},
        "paths": {
            "type": "object",
            "propertyNames": {"pattern": r"^/"},
            "additionalProperties": {
                "type": "object",
                "propertyNames": {"enum": ["get", "put", "post", "delete", "patch", "head", "options", "trace"]},
                "additionalProperties": {"$ref": "#/$defs/operation"},
            },
        },
        "components": {
            "type": "object",
            "properties": {
                "schemas": {"type": "object", "additionalProperties": {"$ref": "#/$defs/schema"}},
                "responses": {"type": "object", "additionalProperties": {"$ref": "#/$defs/response"}},
                "securitySchemes": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "required": ["type"],
                        "properties": {"type": {"enum": ["apiKey", "http", "oauth2", "openIdConnect"]}},
                    },
                },
            },
        },
    },
    "$defs": {
        "ref": {"type": "object", "required": ["$ref"], "properties": {"$ref": {"type": "string", "pattern": "^#/"}}},
        "operation": {
            "type": "object",
            "required": ["responses", "operationId"],
            "properties": {
                "operationId": {"type": "string"},
                "parameters": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "in", "schema"],
                        "properties": {"in": {"enum": ["query", "header", "path", "cookie"]}},
                        "if": {"properties": {"in": {"const": "path"}}},
                        "then": {"required": ["required"], "properties": {"required": {"const": True}}},
                    },
                },
                "requestBody": {
                    "type": "object",
                    "required": ["content"],
                    "properties": {
                        "content": {
                            "type": "object",
                            "minProperties": 1,
                            "additionalProperties": {
                                "type": "object",
                                "properties": {"schema": {"$ref": "#/$defs/schema"}},
                            },
                        }
                    },
                },
                "responses": {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": {"pattern": r"^[1-5]\d\d$"},
                    "additionalProperties": {"anyOf": [{"$ref": "#/$defs/ref"}, {"$ref": "#/$defs/response"}]},
                },
                "security": {"type": "array"},
            },
        },
        "response": {
            "type": "object",
            "required": ["description"],
            "properties": {
                "description": {"type": "string"},
                "content": {
                    "type": "object",
                    "additionalProperties": {"type": "object", "properties": {"schema": {"$ref": "#/$defs/schema"}}},
                },
            },
        },
        # The rules of OpenAPI 3.0's schema object that JSON Schema tooling would not enforce.
        "schema": {
            "type": "object",
            "properties": {
                "required": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "string"}},
                "type": {"enum": ["object", "array", "string", "integer", "number", "boolean"]},
                "nullable": {"type": "boolean"},
                "properties": {"type": "object", "additionalProperties": {"$ref": "#/$defs/schema"}},
                "items": {"$ref": "#/$defs/schema"},
                "oneOf": {"type": "array", "items": {"$ref": "#/$defs/schema"}},
            },
        },
    },
}


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def test_the_document_is_valid_openapi_3_0() -> None:
    jsonschema.validate(DOC, _OPENAPI_30)
    for ref in _refs(DOC):
        section, name = ref.removeprefix("#/components/").split("/")
        assert name in DOC["components"][section], ref
    operation_ids = [op["operationId"] for item in DOC["paths"].values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))
    for path, item in DOC["paths"].items():
        for operation in item.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), path
    for schema in DOC["components"]["schemas"].values():
        jsonschema.Draft7Validator.check_schema(as_json_schema(schema))


def test_the_document_passes_openapi_spec_validator() -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(DOC)


def test_filing_a_thread_closes_its_window_and_queues_the_records(firm: Firm, jane: int) -> None:
    response = firm.staff.post(f"/api/threads/{jane}/file", {})
    assert response.status_code == 200
    windows = response.get_json()["windows"]
    assert [(w["matter_cms_id"], w["writebacks"]) for w in windows] == [("101", 2)]
    assert windows[0]["messages"] >= 1
    assert firm.staff.post(f"/api/threads/{jane}/file", {}).get_json() == {"windows": []}
    assert firm.staff.post("/api/threads/999999/file", {}).status_code == 404
    assert len(audit_rows(firm.store, "window_closed")) == 1


def _summary_id(firm: Firm) -> int:
    rows = firm.staff.get("/api/writebacks?state=draft").get_json()["writebacks"]
    rows = rows or firm.staff.get("/api/writebacks?state=pending").get_json()["writebacks"]
    return next(r["id"] for r in rows if r["kind"] == "summary")


def test_staff_read_edit_and_file_a_summary_draft(engine: Engine) -> None:
    seed(engine)
    app = create_app(settings(MATTERLINE_SUMMARY_REVIEW="true"), engine)
    _, token = add_user(engine, name="Pat Paralegal", email="pat@firm.example", role="staff")
    api = Api(app.test_client(), app, token)
    text_in(api.client, JANE, "Can you send me the retainer agreement in writing?")
    thread = thread_id_of(engine, JANE)
    assert api.post(f"/api/threads/{thread}/file", {}).status_code == 200
    drafts = api.get("/api/writebacks?state=draft").get_json()["writebacks"]
    assert [d["kind"] for d in drafts] == ["summary"]
    summary = api.get(f"/api/writebacks/{drafts[0]['id']}").get_json()["writeback"]
    assert summary["body"].startswith("Privileged & Confidential")
    marker = summary["subject"].rsplit("[", 1)[1].rstrip("]")
    edited = api.call(
        "PATCH",
        f"/api/writebacks/{summary['id']}",
        {"subject": "Court date request", "body": "Privileged & Confidential — edited by Pat"},
    )
    assert edited.status_code == 200
    assert edited.get_json()["writeback"]["subject"] == f"Court date request [{marker}]"
    assert count(engine, outbox, outbox.c.kind == "cms_write") == 1  # only the transcript is queued
    filed = api.post(f"/api/writebacks/{summary['id']}/file", {})
    assert filed.get_json()["writeback"]["state"] == "pending"
    assert count(engine, outbox, outbox.c.kind == "cms_write") == 2
    assert api.post(f"/api/writebacks/{summary['id']}/file", {}).status_code == 409
    assert [r.action for r in audit_rows(engine, "summary_edit")] == ["summary_edit"]


def test_a_summary_being_written_or_a_transcript_cannot_be_edited(firm: Firm, jane: int) -> None:
    firm.staff.post(f"/api/threads/{jane}/file", {})
    summary_id = _summary_id(firm)
    transcript_id = next(
        r["id"] for r in firm.staff.get("/api/writebacks").get_json()["writebacks"] if r["kind"] == "transcript"
    )
    assert error(firm.staff.call("PATCH", f"/api/writebacks/{transcript_id}", {"body": "x"}))["code"] == "not_editable"
    with firm.store.begin() as conn:  # a worker has leased the job: the write may be under way
        conn.execute(update(outbox).values(leased_until=datetime(2099, 1, 1, tzinfo=UTC)))
    response = firm.staff.call("PATCH", f"/api/writebacks/{summary_id}", {"body": "too late"})
    assert response.status_code == 409
    assert error(response)["code"] == "in_flight"
    assert firm.staff.get(f"/api/writebacks/{summary_id}").get_json()["writeback"]["body"] != "too late"
    assert firm.staff.get("/api/writebacks/999999").status_code == 404


# -- guardrails ---------------------------------------------------------------------------------------------


def test_a_composer_can_check_a_draft_without_sending(firm: Firm) -> None:
    answer = firm.staff.post("/api/guardrails/check", {"body": "They offered $45,000. Card 4111 1111 1111 1111"})
    assert answer.status_code == 200
    found = answer.get_json()
    assert {f["rule"] for f in found["findings"]} == {"settlement_amount", "card_number"}
    assert (found["sendable"], found["needs_override_reason"]) == (False, True)
    card = next(f for f in found["findings"] if f["rule"] == "card_number")
    assert card["match"] == "4111 1111 1111 1111"
    assert "portal" in card["suggestion"]
    clean = firm.staff.post("/api/guardrails/check", {"body": "See you Tuesday at 9."}).get_json()
    assert (clean["findings"], clean["sendable"], clean["needs_override_reason"]) == ([], True, False)
    assert count(firm.store, messages) == 0
    assert audit_rows(firm.store, "send") == []


def test_a_send_refused_by_a_content_rule_lists_every_finding(firm: Firm, jane: int) -> None:
    refused = firm.staff.post(f"/api/threads/{jane}/messages", {"body": "Your SSN 123-45-6789 is on file"})
    assert refused.status_code == 422
    assert error(refused)["code"] == "content_rule"
    assert [f["rule"] for f in error(refused)["details"]["findings"]] == ["ssn"]
    warned = firm.staff.post(
        f"/api/threads/{jane}/messages", {"body": "They offered 45k", "override_reason": "client asked in writing"}
    )
    assert warned.status_code == 201
    assert [w["rule"] for w in warned.get_json()["message"]["warnings"]] == ["settlement_amount"]
    [override] = audit_rows(firm.store, "override")
    assert override.actor.endswith("staff@firm.example")


def test_only_attorneys_and_admins_send_during_quiet_hours(firm: Firm, jane: int) -> None:
    body = {"body": "Hearing moved to 8:30", "quiet_hours_reason": "hearing moved tonight"}
    staff = firm.staff.post(f"/api/threads/{jane}/messages", body)
    assert staff.status_code == 403
    assert error(staff)["code"] == "forbidden_role"
    assert firm.attorney.post(f"/api/threads/{jane}/messages", body).status_code == 201


def test_consent_is_recorded_and_listed_through_the_api(firm: Firm) -> None:
    made = firm.staff.post(
        "/api/consents", {"phone": "(212) 555-0142", "method": "web_form", "source": "intake form #88"}
    )
    assert made.status_code == 201
    row = made.get_json()["consent"]
    assert (row["phone"], row["action"], row["captured_by"]) == (
        "+12125550142",
        "grant",
        f"user:{firm.ids['staff']}:staff@firm.example",
    )
    listed = firm.staff.get("/api/consents?phone=212-555-0142").get_json()["consents"]
    assert [r["source"] for r in listed] == ["intake form #88"]
    bad = firm.staff.post("/api/consents", {"phone": "not a phone", "method": "verbal"})
    assert bad.status_code == 422
    assert error(bad)["code"] == "invalid_consent"
    unknown = firm.staff.post("/api/consents", {"phone": JANE, "method": "telepathy"})
    assert unknown.status_code == 400
    assert "method" in json.dumps(error(unknown))


def test_an_admin_exports_a_matter_and_the_export_is_audited(firm: Firm, jane: int) -> None:
    assert firm.staff.post("/api/matters/101/export", {}).status_code == 403
    answer = firm.admin.post("/api/matters/101/export", {})
    assert answer.status_code == 200
    files = {f["name"]: f for f in answer.get_json()["files"]}
    assert set(files) == {"export.json", "messages.csv", "transcript.html", "manifest.json"}
    for name, item in files.items():
        assert hashlib.sha256(item["content"].encode()).hexdigest() == item["sha256"], name
    manifest = json.loads(files["manifest.json"]["content"])
    assert "Is my hearing still on?" in files["export.json"]["content"]
    assert "test-twilio-auth-token" not in json.dumps(answer.get_json())
    assert manifest
    assert [e.matter_cms_id for e in audit_rows(firm.store, "export")] == ["101"]
    missing = firm.admin.post("/api/matters/999/export", {})
    assert missing.status_code == 404


def test_a_tokens_first_use_is_audited_as_a_login_once(firm: Firm) -> None:
    firm.staff.get("/api/me")
    firm.staff.get("/api/me")
    logins = audit_rows(firm.store, "login")
    assert [(e.actor, e.details["method"]) for e in logins] == [
        (f"user:{firm.ids['staff']}:staff@firm.example", "api_token")
    ]


def test_filing_an_urgent_unfiled_thread_tasks_the_matters_attorney(firm: Firm) -> None:
    text_in(firm.admin.client, OMAR, "they arrested my son last night, please call")
    thread = thread_id_of(firm.store, OMAR)
    assert firm.attorney.post(f"/api/threads/{thread}/refile", {"matter_cms_id": "201"}).status_code == 200
    with firm.store.connect() as conn:
        tasks = conn.execute(select(writebacks.c.matter_cms_id).where(writebacks.c.kind == "task")).scalars().all()
    assert tasks == ["201"]


def test_a_text_held_for_quiet_hours_shows_when_it_goes(engine: Engine) -> None:
    seed(engine)
    app = create_app(settings(MATTERLINE_QUIET_HOURS=shut_window()), engine)
    _, token = add_user(engine, name="Pat Paralegal", email="pat@firm.example", role="staff")
    api = Api(app.test_client(), app, token)
    sent = api.post("/api/matters/101/messages", {"body": "See you tomorrow"}).get_json()["message"]
    assert sent["status"] == "scheduled"
    [listed] = api.get(f"/api/threads/{sent['thread_id']}/messages").get_json()["messages"]
    assert (listed["status"], listed["scheduled_for"]) == ("scheduled", sent["scheduled_for"])
    assert listed["purged_at"] is None


def test_a_held_text_is_canceled_by_its_author_or_an_attorney_not_by_other_staff(engine: Engine) -> None:
    seed(engine)
    app = create_app(settings(MATTERLINE_QUIET_HOURS=shut_window()), engine)
    _, pat = add_user(engine, name="Pat Paralegal", email="pat@firm.example", role="staff")
    _, sam = add_user(engine, name="Sam Staff", email="sam@firm.example", role="staff")
    as_pat, as_sam = Api(app.test_client(), app, pat), Api(app.test_client(), app, sam)
    held = as_pat.post("/api/matters/101/messages", {"body": "See you tomorrow"}).get_json()["message"]
    other = as_sam.post(f"/api/messages/{held['id']}/cancel", {"reason": "not mine"})
    assert other.status_code == 403
    done = as_pat.post(f"/api/messages/{held['id']}/cancel", {"reason": "client called"})
    assert done.status_code == 200
    assert done.get_json()["message"]["status"] == "canceled"
    again = as_pat.post(f"/api/messages/{held['id']}/cancel", {"reason": "twice"})
    assert (again.status_code, error(again)["code"]) == (409, "not_cancelable")
    assert [e.details["was"] for e in audit_rows(engine, "send_canceled")] == ["scheduled"]
