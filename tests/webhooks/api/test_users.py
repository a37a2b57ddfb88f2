"""`/api/me` and `/api/users` (`webhooks/api/users.py`): the caller, and an admin adding and disabling people."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import select

from connector import services
from connector.store.tables import api_tokens, audit_log, users
from tests.support.firm import settings
from tests.webhooks.api.harness import Api, Firm, audit_rows, count, error
from webhooks import create_app
from webhooks.server import ServerThread

PAT = {"name": "Pat Paralegal", "email": "pat@firm.example", "role": "staff"}


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


def add(firm: Firm, person: dict[str, Any]) -> tuple[dict[str, Any], Api]:
    """Add a person as the admin; who they are, and a client holding their token."""
    response = firm.admin.post("/api/users", person)
    assert response.status_code == 201, response.get_json()
    added = response.get_json()["added"]
    return added["user"], firm.anonymous.as_(added["token"])


def everyone(firm: Firm) -> list[dict[str, Any]]:
    people: list[dict[str, Any]] = firm.admin.get("/api/users").get_json()["users"]
    return people


@pytest.mark.parametrize("role", ["staff", "attorney"])
def test_only_admins_list_add_and_disable_people(firm: Firm, role: str) -> None:
    caller: Api = getattr(firm, role)
    for method, path, body in (
        ("GET", "/api/users", None),
        ("POST", "/api/users", PAT),
        ("POST", f"/api/users/{firm.ids['staff']}/disable", None),
    ):
        refused = caller.call(method, path, body)
        assert (refused.status_code, error(refused)["code"]) == (403, "forbidden_role"), path
        assert error(refused)["details"] == {"role": role, "allowed": ["admin"]}
    assert count(firm.store, users) == 3
    assert firm.staff.get("/api/me").status_code == 200
    assert audit_rows(firm.store, "user_disabled") == []


def test_an_admin_lists_everyone_by_id_and_never_their_tokens(firm: Firm) -> None:
    response = firm.admin.get("/api/users")
    assert response.status_code == 200
    people = response.get_json()["users"]
    assert [(p["id"], p["email"], p["role"], p["disabled_at"]) for p in people] == [
        (firm.ids["admin"], "admin@firm.example", "admin", None),
        (firm.ids["attorney"], "attorney@firm.example", "attorney", None),
        (firm.ids["staff"], "staff@firm.example", "staff", None),
    ]
    assert people[0]["name"] == "The admin"
    assert all(set(p) == {"id", "name", "email", "role", "disabled_at"} for p in people)
    assert "ml_" not in json.dumps(people)


def test_an_added_persons_token_is_in_the_answer_once_and_works(firm: Firm) -> None:
    response = firm.admin.post(
        "/api/users",
        {"name": "  Pat Paralegal ", "email": " Pat@Firm.Example ", "role": "staff"},
        headers={"X-Request-Id": "add-pat"},
    )
    assert response.status_code == 201
    added = response.get_json()["added"]
    token = added["token"]
    assert token.startswith("ml_")
    person = added["user"]
    assert (person["name"], person["email"], person["role"]) == ("Pat Paralegal", "pat@firm.example", "staff")

    me = firm.anonymous.as_(token).get("/api/me")
    assert me.status_code == 200
    assert me.get_json()["user"] == person
    assert person in [{k: v for k, v in p.items() if k != "disabled_at"} for p in everyone(firm)]
    assert token not in json.dumps(everyone(firm))

    [entry] = [e for e in audit_rows(firm.store, "user_added") if e.subject_id == str(person["id"])]
    assert (entry.actor, entry.request_id, entry.subject_type) == (
        f"user:{firm.ids['admin']}:admin@firm.example",
        "add-pat",
        "user",
    )
    assert entry.details == {"email": "pat@firm.example", "role": "staff"}
    with firm.store.connect() as conn:  # only the token's hash is kept
        stored = [tuple(row) for row in conn.execute(select(api_tokens))] + [
            tuple(row) for row in conn.execute(select(audit_log))
        ]
    assert token not in repr(stored)


def test_adding_an_email_already_in_use_is_409_user_exists(firm: Firm) -> None:
    for email in ("staff@firm.example", "STAFF@Firm.example", "  staff@firm.example"):
        response = firm.admin.post("/api/users", {**PAT, "email": email})
        assert (response.status_code, error(response)["code"]) == (409, "user_exists"), email
        assert error(response)["details"] == {"field": "email"}
    assert count(firm.store, users) == 3


@pytest.mark.parametrize(
    ("person", "field"),
    [
        ({**PAT, "role": "boss"}, "role"),
        ({**PAT, "role": "Admin"}, "role"),
        ({"email": "pat@firm.example", "role": "staff"}, "name"),
        ({**PAT, "name": ""}, "name"),
        ({**PAT, "name": "x" * 201}, "name"),
        ({**PAT, "email": "p@"}, "email"),
        ({**PAT, "email": 7}, "email"),
        ({**PAT, "token": "ml_mine"}, "token"),
    ],
)
def test_a_person_the_body_schema_refuses_is_400_naming_the_field(
    firm: Firm, person: dict[str, Any], field: str
) -> None:
    response = firm.admin.post("/api/users", person)
    assert (response.status_code, error(response)["code"]) == (400, "invalid_body")
    assert field in error(response)["details"]
    assert count(firm.store, users) == 3


@pytest.mark.parametrize(
    ("person", "code", "field"),
    [
        ({**PAT, "email": "pat.firm.example"}, "invalid_email", "email"),
        ({**PAT, "email": "@firm.example"}, "invalid_email", "email"),
        ({**PAT, "email": "pat@"}, "invalid_email", "email"),
        ({**PAT, "name": "   "}, "invalid_name", "name"),
    ],
)
def test_a_person_the_schema_lets_through_but_the_service_refuses_is_422(
    firm: Firm, person: dict[str, Any], code: str, field: str
) -> None:
    response = firm.admin.post("/api/users", person)
    assert (response.status_code, error(response)["code"]) == (422, code)
    assert error(response)["details"] == {"field": field}
    assert count(firm.store, users) == 3
    assert [e.actor for e in audit_rows(firm.store, "user_added")] == ["cli:test"] * 3  # the firm's three only


def test_a_disabled_persons_token_gets_401_invalid_token_at_once(firm: Firm) -> None:
    pat, as_pat = add(firm, PAT)
    assert as_pat.get("/api/me").status_code == 200
    response = firm.admin.post(f"/api/users/{pat['id']}/disable", headers={"X-Request-Id": "bye-pat"})
    assert response.status_code == 200
    assert response.get_json()["user"] == pat

    refused = as_pat.get("/api/me")
    assert (refused.status_code, error(refused)["code"]) == (401, "invalid_token")
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert as_pat.get("/api/threads").status_code == 401
    [listed] = [p for p in everyone(firm) if p["id"] == pat["id"]]
    assert listed["disabled_at"] is not None

    [entry] = audit_rows(firm.store, "user_disabled")
    assert (entry.actor, entry.request_id, entry.subject_type, entry.subject_id) == (
        f"user:{firm.ids['admin']}:admin@firm.example",
        "bye-pat",
        "user",
        str(pat["id"]),
    )
    assert entry.details == {"email": "pat@firm.example", "role": "staff", "tokens_revoked": 1, "sessions_ended": 0}
    assert firm.staff.get("/api/me").status_code == 200  # colleagues are not affected


def test_a_person_is_disabled_only_once(firm: Firm) -> None:
    assert firm.admin.post(f"/api/users/{firm.ids['staff']}/disable").status_code == 200
    again = firm.admin.post(f"/api/users/{firm.ids['staff']}/disable")
    assert (again.status_code, error(again)["code"]) == (409, "already_disabled")
    assert len(audit_rows(firm.store, "user_disabled")) == 1


def test_the_last_active_admin_cannot_be_disabled(firm: Firm) -> None:
    alone = firm.admin.post(f"/api/users/{firm.ids['admin']}/disable")
    assert (alone.status_code, error(alone)["code"]) == (409, "last_admin")
    assert firm.admin.get("/api/me").status_code == 200

    avery, as_avery = add(firm, {"name": "Avery Admin", "email": "avery@firm.example", "role": "admin"})
    assert firm.admin.post(f"/api/users/{avery['id']}/disable").status_code == 200
    still = firm.admin.post(f"/api/users/{firm.ids['admin']}/disable")
    assert (still.status_code, error(still)["code"]) == (409, "last_admin")  # a disabled admin does not count

    _, as_blake = add(firm, {"name": "Blake Admin", "email": "blake@firm.example", "role": "admin"})
    assert as_blake.post(f"/api/users/{firm.ids['admin']}/disable").status_code == 200
    assert firm.admin.get("/api/me").status_code == 401
    last = as_blake.get("/api/me").get_json()["user"]["id"]
    refused = as_blake.post(f"/api/users/{last}/disable")
    assert (refused.status_code, error(refused)["code"]) == (409, "last_admin")
    assert as_avery.get("/api/me").status_code == 401
    assert len(audit_rows(firm.store, "user_disabled")) == 2


def test_disabling_someone_the_store_does_not_hold_is_404(firm: Firm) -> None:
    missing = firm.admin.post("/api/users/999999/disable")
    assert (missing.status_code, error(missing)["code"]) == (404, "not_found")
    assert firm.admin.post("/api/users/pat@firm.example/disable").status_code == 404
    assert audit_rows(firm.store, "user_disabled") == []


# -- API tokens: revoke and rotate -------------------------------------------------------------------------


def over_http(server: ServerThread, token: str) -> tuple[int, str | None]:
    """`GET /api/me` over real HTTP with a bearer token: the status and the error code, if any."""
    response = requests.get(f"{server.url}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return response.status_code, response.json().get("error", {}).get("code")


def tokens_of(firm: Firm, user_id: int) -> list[dict[str, Any]]:
    response = firm.admin.get(f"/api/users/{user_id}/tokens")
    assert response.status_code == 200
    listed: list[dict[str, Any]] = response.get_json()["tokens"]
    return listed


def stored_text(firm: Firm) -> str:
    with firm.store.connect() as conn:
        rows = [tuple(r) for r in conn.execute(select(api_tokens))] + [
            tuple(r) for r in conn.execute(select(audit_log))
        ]
    return repr(rows)


def test_over_http_a_revoked_token_and_a_disabled_persons_token_are_refused_on_their_next_request(
    firm: Firm,
) -> None:
    pat, as_pat = add(firm, PAT)
    quinn, as_quinn = add(firm, {"name": "Quinn Staff", "email": "quinn@firm.example", "role": "staff"})
    [pat_token] = tokens_of(firm, pat["id"])
    with ServerThread(firm.app) as server:
        assert over_http(server, str(as_pat.token)) == (200, None)
        assert over_http(server, str(as_quinn.token)) == (200, None)

        revoke = requests.post(
            f"{server.url}/api/tokens/{pat_token['id']}/revoke",
            headers={"Authorization": f"Bearer {firm.admin.token}", "X-Request-Id": "leaked-1"},
            timeout=10,
        )
        assert revoke.status_code == 200
        assert revoke.json()["token"]["revoked_at"] is not None
        assert over_http(server, str(as_pat.token)) == (401, "invalid_token")

        disable = requests.post(
            f"{server.url}/api/users/{quinn['id']}/disable",
            headers={"Authorization": f"Bearer {firm.admin.token}"},
            timeout=10,
        )
        assert disable.status_code == 200
        assert over_http(server, str(as_quinn.token)) == (401, "invalid_token")
        assert over_http(server, str(firm.staff.token)) == (200, None)  # colleagues are not affected

    [entry] = audit_rows(firm.store, "token_revoked")
    assert (entry.actor, entry.request_id, entry.subject_type, entry.subject_id) == (
        f"user:{firm.ids['admin']}:admin@firm.example",
        "leaked-1",
        "api_token",
        str(pat_token["id"]),
    )
    assert entry.details == {"user_id": pat["id"], "email": "pat@firm.example"}


def test_rotating_a_token_ends_the_old_one_and_shows_the_new_one_once(firm: Firm) -> None:
    pat, as_pat = add(firm, PAT)
    [old] = tokens_of(firm, pat["id"])
    assert old["prefix"] == str(as_pat.token)[: len(old["prefix"])]
    response = firm.admin.post(f"/api/tokens/{old['id']}/rotate", headers={"X-Request-Id": "rotate-pat"})
    assert response.status_code == 201
    rotated = response.get_json()["rotated"]
    assert rotated["user"] == pat
    assert rotated["token"].startswith("ml_")
    assert rotated["token"] != as_pat.token

    assert as_pat.get("/api/me").status_code == 401
    assert firm.anonymous.as_(rotated["token"]).get("/api/me").get_json()["user"] == pat
    listed = tokens_of(firm, pat["id"])
    assert [(t["id"], t["revoked_at"] is None) for t in listed] == [(old["id"], False), (rotated["token_id"], True)]
    assert rotated["token"] not in json.dumps(listed)  # shown once: no listing holds it
    assert rotated["token"] not in stored_text(firm)  # only its hash is kept
    assert str(as_pat.token) not in stored_text(firm)

    [entry] = audit_rows(firm.store, "token_rotated")
    assert (entry.actor, entry.request_id, entry.subject_type, entry.subject_id) == (
        f"user:{firm.ids['admin']}:admin@firm.example",
        "rotate-pat",
        "api_token",
        str(old["id"]),
    )
    assert entry.details == {"user_id": pat["id"], "email": "pat@firm.example", "new_token_id": rotated["token_id"]}


@pytest.mark.parametrize("role", ["staff", "attorney"])
def test_only_admins_list_revoke_or_rotate_tokens_and_a_refusal_changes_nothing(firm: Firm, role: str) -> None:
    caller: Api = getattr(firm, role)
    [target] = tokens_of(firm, firm.ids["staff"])
    for path in (
        f"/api/users/{firm.ids['staff']}/tokens",
        f"/api/tokens/{target['id']}/revoke",
        f"/api/tokens/{target['id']}/rotate",
    ):
        refused = caller.call("GET" if path.endswith("tokens") else "POST", path)
        assert (refused.status_code, error(refused)["code"]) == (403, "forbidden_role"), path
    assert [(t["id"], t["revoked_at"]) for t in tokens_of(firm, firm.ids["staff"])] == [(target["id"], None)]
    assert firm.staff.get("/api/me").status_code == 200
    assert count(firm.store, api_tokens) == 3
    assert audit_rows(firm.store, "token_revoked") == audit_rows(firm.store, "token_rotated") == []


def test_a_revoked_token_is_neither_revoked_again_nor_rotated_and_an_unknown_one_is_404(firm: Firm) -> None:
    [token] = tokens_of(firm, firm.ids["staff"])
    assert firm.admin.post(f"/api/tokens/{token['id']}/revoke").status_code == 200
    for action in ("revoke", "rotate"):
        again = firm.admin.post(f"/api/tokens/{token['id']}/{action}")
        assert (again.status_code, error(again)["code"]) == (409, "already_revoked"), action
        missing = firm.admin.post(f"/api/tokens/999999/{action}")
        assert (missing.status_code, error(missing)["code"]) == (404, "not_found"), action
    assert firm.admin.get("/api/users/999999/tokens").status_code == 404
    assert len(audit_rows(firm.store, "token_revoked")) == 1
    assert count(firm.store, api_tokens) == 3


def test_the_last_active_admins_last_token_is_rotated_not_revoked(firm: Firm) -> None:
    [token] = tokens_of(firm, firm.ids["admin"])
    refused = firm.admin.post(f"/api/tokens/{token['id']}/revoke")
    assert (refused.status_code, error(refused)["code"]) == (409, "last_admin")
    assert firm.admin.get("/api/me").status_code == 200
    rotated = firm.admin.post(f"/api/tokens/{token['id']}/rotate").get_json()["rotated"]
    assert firm.admin.get("/api/me").status_code == 401
    assert firm.anonymous.as_(rotated["token"]).get("/api/me").status_code == 200


# -- one-time invite and reset links ----------------------------------------------------------------------


@pytest.mark.parametrize("purpose", ["invite", "reset"])
def test_an_admin_gets_a_one_time_link_for_a_person(firm: Firm, purpose: str) -> None:
    response = firm.admin.post(f"/api/users/{firm.ids['staff']}/{purpose}", headers={"X-Request-Id": "req-link"})
    assert response.status_code == 201
    link = response.get_json()["link"]
    assert (link["user"]["email"], link["purpose"]) == ("staff@firm.example", purpose)
    assert link["url"].startswith("https://texts.firm.example/welcome/")
    assert response.headers["Cache-Control"] == "no-store"
    [entry] = audit_rows(firm.store, "link_issued")
    assert (entry.request_id, entry.details["purpose"]) == ("req-link", purpose)
    token = link["url"].rsplit("/", 1)[1]
    assert token not in json.dumps(entry.details)
    pending = services.invites.pending(firm.store, token)
    assert pending is not None
    assert pending.id == firm.ids["staff"]


@pytest.mark.parametrize("role", ["staff", "attorney"])
def test_only_admins_send_links(firm: Firm, role: str) -> None:
    caller: Api = getattr(firm, role)
    refused = caller.post(f"/api/users/{firm.ids['staff']}/reset")
    assert (refused.status_code, error(refused)["code"]) == (403, "forbidden_role")
    assert audit_rows(firm.store, "link_issued") == []


def test_a_link_is_refused_for_an_unknown_or_disabled_person_and_without_a_public_url(firm: Firm) -> None:
    assert firm.admin.post("/api/users/999999/invite").status_code == 404
    assert firm.admin.post(f"/api/users/{firm.ids['staff']}/disable").status_code == 200
    refused = firm.admin.post(f"/api/users/{firm.ids['staff']}/invite")
    assert (refused.status_code, error(refused)["code"]) == (409, "user_disabled")
    app = create_app(settings(MATTERLINE_PUBLIC_URL=""), firm.store)
    unplaced = Api(app.test_client(), app, firm.admin.token).post(f"/api/users/{firm.ids['attorney']}/invite")
    assert (unplaced.status_code, error(unplaced)["code"]) == (422, "no_public_url")
    assert audit_rows(firm.store, "link_issued") == []


def test_a_person_marks_themself_away_and_back_and_only_an_admin_does_it_for_others(firm: Firm) -> None:
    me, backup = firm.ids["attorney"], firm.ids["staff"]
    ends = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    body = {"backup_id": backup, "ends_at": ends.isoformat(), "reason": "Trial"}
    refused = firm.staff.post(f"/api/users/{me}/away", body | {"backup_id": firm.ids["admin"]})
    assert (refused.status_code, error(refused)["code"]) == (403, "forbidden_role")
    naive = firm.attorney.post(f"/api/users/{me}/away", body | {"ends_at": "2026-12-10T17:00"})
    assert naive.status_code == 400  # no offset: which zone would it be?
    answer = firm.attorney.post(f"/api/users/{me}/away", body)
    assert answer.status_code == 201, answer.get_json()
    away = answer.get_json()["away"]
    assert (away["user_id"], away["backup_id"], away["ends_at"], away["ended_at"]) == (
        me,
        backup,
        ends.isoformat(),
        None,
    )
    again = firm.attorney.post(f"/api/users/{me}/away", body)
    assert (again.status_code, error(again)["code"]) == (409, "already_away")
    ended = firm.admin.post(f"/api/users/{me}/away/end", None)
    assert ended.status_code == 200
    assert ended.get_json()["away"]["ended_at"] is not None
    over = firm.attorney.post(f"/api/users/{me}/away/end", None)
    assert (over.status_code, error(over)["code"]) == (409, "not_away")
    assert [e.action for e in audit_rows(firm.store, "away_set")] == ["away_set"]
