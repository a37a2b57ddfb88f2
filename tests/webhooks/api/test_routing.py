"""What every call goes through (`webhooks/api/routing.py`): the bearer token, the request id, the query
parameters a route declares and no others, and a JSON body its schema accepts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, update

from connector.store.tables import outbox, users
from tests.webhooks.api.harness import Firm, audit_rows, concrete, count, error
from webhooks.api import ROUTES


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


def test_a_tokens_first_use_is_audited_as_a_login_once(firm: Firm) -> None:
    firm.staff.get("/api/me")
    firm.staff.get("/api/me")
    logins = audit_rows(firm.store, "login")
    assert [(e.actor, e.details["method"]) for e in logins] == [
        (f"user:{firm.ids['staff']}:staff@firm.example", "api_token")
    ]


def test_request_ids_are_echoed_or_made_and_reach_the_audit_log(firm: Firm, jane: int) -> None:
    response = firm.staff.post(f"/api/threads/{jane}/urgent", {"urgent": True}, headers={"X-Request-Id": "trace-42"})
    assert response.headers["X-Request-Id"] == "trace-42"
    assert audit_rows(firm.store, "urgent")[-1].request_id == "trace-42"
    made = firm.staff.get("/api/me", headers={"X-Request-Id": "bad id with spaces"}).headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert firm.anonymous.get("/api/me").headers["X-Request-Id"]


def test_unknown_query_parameters_are_refused(firm: Firm) -> None:
    response = firm.staff.get("/api/threads?filters=mine")
    assert response.status_code == 400
    assert error(response)["code"] == "unknown_parameter"
    assert error(response)["details"]["parameter"] == "filters"
    for path in ("/api/me?verbose=1", "/api/openapi.json?format=yaml"):
        refused = firm.staff.get(path)
        assert (refused.status_code, error(refused)["code"]) == (400, "unknown_parameter")


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
    response = firm.staff.post(f"/api/threads/{jane}/messages", {"body": "hi", "recipient": "+15550001111"})
    assert error(response)["details"] == {"recipient": ["Unknown field."]}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ('{"urgent": true, "n": 92233720368547758070}', "number_out_of_range"),
        ('{"urgent": true, "n": -9223372036854775809}', "number_out_of_range"),
        ('{"urgent": true, "n": ' + "9" * 5000 + "}", "invalid_json"),
        ('{"urgent": true, "n": NaN}', "invalid_json"),
        ('{"urgent": true, "n": ' + "[" * 100_000 + "]" * 100_000 + "}", "too_deep"),
        ('{"urgent": true, "n": ' + '{"a": ' * 33 + "1" + "}" * 33 + "}", "too_deep"),
    ],
    ids=["huge", "huge-negative", "5000-digits", "nan", "nested-100000", "nested-34"],
)
def test_a_body_with_a_number_beyond_64_bits_or_nested_too_deep_is_malformed(
    firm: Firm, jane: int, raw: str, code: str
) -> None:
    response = firm.staff.post(f"/api/threads/{jane}/urgent", data=raw, content_type="application/json")
    assert (response.status_code, error(response)["code"]) == (400, code)
    assert audit_rows(firm.store, "urgent") == []


def test_a_body_nested_as_deep_as_allowed_reaches_the_schema(firm: Firm, jane: int) -> None:
    raw = '{"urgent": true, "n": ' + "[" * 31 + "]" * 31 + "}"
    response = firm.staff.post(f"/api/threads/{jane}/urgent", data=raw, content_type="application/json")
    assert (response.status_code, error(response)["code"]) == (400, "invalid_body")
    assert error(response)["details"] == {"n": ["Unknown field."]}


def test_ids_and_cursors_are_ascii_digits_only(firm: Firm, jane: int) -> None:
    # "²" and "٣" are digits to Python's str.isdigit; a cursor of them is refused by name, not a crash.
    for before in ("²", "٣", "%2B1", "-1", "1.0", "1e3", "0x1"):
        refused = firm.staff.get(f"/api/threads/{jane}/messages?before={before}")
        assert (refused.status_code, error(refused)["details"]["parameter"]) == (400, "before")
    assert firm.staff.get("/api/threads/٣").status_code == 404
