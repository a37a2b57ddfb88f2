"""`/api/matters` and `/api/holds` (`webhooks/api/matters.py`): the synced matters, texting a matter's client,
legal holds and a matter's export."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from connector.store.tables import filing_decisions, legal_holds, messages, outbox
from connector.sync.ingest import mark_deleted
from tests.support.firm import JANE, NOW, OMAR
from tests.webhooks.api.harness import Firm, audit_rows, count, error, text_in, thread_id_of


def test_send_for_a_matter(firm: Firm) -> None:
    response = firm.attorney.post("/api/matters/101/messages", {"body": "Your hearing moved to Friday."})
    assert response.status_code == 201
    sent = response.get_json()["message"]
    assert (sent["to"], sent["matter_cms_id"], sent["encoding"]) == (JANE, "101", "GSM-7")
    thread = firm.attorney.get(f"/api/threads/{sent['thread_id']}").get_json()["thread"]
    assert (thread["matter_cms_id"], thread["state"], thread["unread"]) == ("101", "filed", 0)
    missing = firm.attorney.post("/api/matters/nope/messages", {"body": "hello"})
    assert (missing.status_code, error(missing)["code"]) == (404, "not_found")


def omar_thread(firm: Firm) -> dict[str, Any]:
    thread: dict[str, Any] = firm.admin.get(f"/api/threads/{thread_id_of(firm.store, OMAR)}").get_json()["thread"]
    return thread


def texts_to_omar(firm: Firm) -> int:
    return count(firm.store, messages, messages.c.to_number == OMAR, messages.c.direction == "outbound")


def test_staff_cannot_move_a_thread_to_another_matter_by_texting_from_that_matter(firm: Firm) -> None:
    text_in(firm.admin.client, OMAR, "about my case")  # Omar has two open matters: needs filing
    waiting = firm.staff.post("/api/matters/202/messages", {"body": "Hi Omar, about your lease."})
    assert (waiting.status_code, error(waiting)["code"]) == (403, "forbidden_role")
    assert error(waiting)["details"]["thread_matter"] is None
    assert (omar_thread(firm)["state"], omar_thread(firm)["matter_cms_id"]) == ("needs_filing", None)

    assert (
        firm.attorney.post(f"/api/threads/{omar_thread(firm)['id']}/refile", {"matter_cms_id": "201"}).status_code
        == 200
    )
    refused = firm.staff.post("/api/matters/202/messages", {"body": "Hi Omar, about your lease."})
    assert (refused.status_code, error(refused)["code"]) == (403, "forbidden_role")
    assert error(refused)["details"] == {
        "role": "staff",
        "allowed": ["admin", "attorney"],
        "thread_id": omar_thread(firm)["id"],
        "thread_matter": "201",
        "matter": "202",
    }
    assert (omar_thread(firm)["matter_cms_id"], omar_thread(firm)["filing_rule"]) == ("201", "manual")
    assert texts_to_omar(firm) == 0  # nothing stored, nothing queued
    assert count(firm.store, outbox) == 0
    assert count(firm.store, filing_decisions, filing_decisions.c.rule == "sent_from_matter") == 0
    assert [e.details["to_matter"] for e in audit_rows(firm.store, "refile")] == ["201"]

    same = firm.staff.post("/api/matters/201/messages", {"body": "Hi Omar, about your DUI case."})
    assert same.status_code == 201  # texting from the thread's own matter is a plain send
    assert (omar_thread(firm)["matter_cms_id"], texts_to_omar(firm)) == ("201", 1)


def test_an_attorney_texting_from_another_matter_moves_the_thread_and_it_is_audited_as_a_refile(firm: Firm) -> None:
    text_in(firm.admin.client, OMAR, "about my case")
    thread = omar_thread(firm)["id"]
    assert firm.attorney.post(f"/api/threads/{thread}/refile", {"matter_cms_id": "201"}).status_code == 200
    sent = firm.attorney.post(
        "/api/matters/202/messages", {"body": "Hi Omar, about your lease."}, headers={"X-Request-Id": "lease-1"}
    )
    assert sent.status_code == 201
    assert sent.get_json()["message"]["matter_cms_id"] == "202"
    assert (omar_thread(firm)["matter_cms_id"], omar_thread(firm)["filing_rule"]) == ("202", "sent_from_matter")
    moved = audit_rows(firm.store, "refile")[-1]
    assert (moved.actor, moved.request_id, moved.subject_type, moved.subject_id, moved.matter_cms_id) == (
        f"user:{firm.ids['attorney']}:attorney@firm.example",
        "lease-1",
        "thread",
        str(thread),
        "202",
    )
    assert moved.details == {
        "from_matter": "201",
        "to_matter": "202",
        "messages": 0,  # a re-file like any other: unfiled texts would have moved with it (here all were filed)
        "via": "send",
        "message_id": sent.get_json()["message"]["id"],
    }


def test_an_attorney_texting_from_a_matter_files_the_waiting_texts_there_as_a_refile_does(firm: Firm) -> None:
    text_in(firm.admin.client, OMAR, "about my case")  # Omar has two open matters: it waits in needs filing
    with firm.store.connect() as conn:
        [waiting] = conn.execute(
            messages.select().where(messages.c.from_number == OMAR, messages.c.direction == "inbound")
        ).all()
    assert waiting.matter_cms_id is None
    sent = firm.attorney.post("/api/matters/202/messages", {"body": "Hi Omar, about your lease."})
    assert sent.status_code == 201
    assert (omar_thread(firm)["state"], omar_thread(firm)["matter_cms_id"]) != ("needs_filing", None)
    with firm.store.connect() as conn:
        assert conn.execute(select(messages.c.matter_cms_id).where(messages.c.id == waiting.id)).scalar() == "202"
    assert audit_rows(firm.store, "refile")[-1].details["messages"] == 1


def test_staff_texting_a_client_from_a_matter_for_the_first_time_starts_the_thread_on_that_matter(firm: Firm) -> None:
    sent = firm.staff.post("/api/matters/202/messages", {"body": "Hi Omar, about your lease."})
    assert sent.status_code == 201
    assert (omar_thread(firm)["matter_cms_id"], omar_thread(firm)["filing_rule"]) == ("202", "sent_from_matter")
    assert audit_rows(firm.store, "refile") == []


def test_an_admin_exports_a_matter_and_the_export_is_audited(firm: Firm, jane: int) -> None:
    refused = firm.staff.post("/api/matters/101/export", {})
    assert (refused.status_code, error(refused)["code"]) == (403, "forbidden_role")
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


def test_an_attorney_exports_a_matter_too(firm: Firm, jane: int) -> None:
    answer = firm.attorney.post("/api/matters/101/export", {})
    assert answer.status_code == 200
    assert {f["name"] for f in answer.get_json()["files"]} >= {"export.json", "manifest.json"}
    assert [e.matter_cms_id for e in audit_rows(firm.store, "export")] == ["101"]


# -- the synced matters ------------------------------------------------------------------------------------


def matter_ids(firm: Firm, query: str = "") -> list[str]:
    response = firm.staff.get(f"/api/matters{query}")
    assert response.status_code == 200, response.get_json()
    return [m["cms_id"] for m in response.get_json()["matters"]]


def test_anyone_signed_in_lists_the_matters_by_store_id(firm: Firm) -> None:
    response = firm.staff.get("/api/matters")
    assert response.status_code == 200
    listed = response.get_json()["matters"]
    assert [m["cms_id"] for m in listed] == ["101", "102", "201", "202", "301", "501"]
    assert [m["id"] for m in listed] == sorted(m["id"] for m in listed)
    doe = listed[0]
    assert (doe["display_number"], doe["description"], doe["status"], doe["client_cms_id"]) == (
        "00101-Doe",
        "Doe custody",
        "open",
        "1",
    )
    assert doe["responsible_attorney"] is None


def test_matters_are_filtered_by_cms_id_status_and_client(firm: Firm) -> None:
    assert matter_ids(firm, "?cms_id=202") == ["202"]
    assert matter_ids(firm, "?cms_id=999") == []
    assert matter_ids(firm, "?status=closed") == ["102", "501"]
    assert matter_ids(firm, "?status=open") == ["101", "201", "202", "301"]
    assert matter_ids(firm, "?status=pending") == []
    assert matter_ids(firm, "?client=2") == ["201", "202"]
    assert matter_ids(firm, "?client=1&status=open") == ["101"]
    assert matter_ids(firm, "?client=4") == []  # Bo Lee's family matter is Ann's


def test_a_matter_deleted_in_the_cms_is_no_longer_listed(firm: Firm) -> None:
    with firm.store.begin() as conn:
        mark_deleted(conn, "matters", ["202"], NOW)
    assert matter_ids(firm, "?client=2") == ["201"]


def test_matters_page_after_the_last_id_of_the_previous_page(firm: Firm) -> None:
    first = firm.staff.get("/api/matters?limit=4").get_json()["matters"]
    assert [m["cms_id"] for m in first] == ["101", "102", "201", "202"]
    rest = firm.staff.get(f"/api/matters?limit=4&after={first[-1]['id']}").get_json()["matters"]
    assert [m["cms_id"] for m in rest] == ["301", "501"]
    assert matter_ids(firm, f"?after={rest[-1]['id']}") == []
    assert matter_ids(firm, f"?status=open&limit=1&after={first[0]['id']}") == ["201"]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("status=active", "status"),
        ("status=Open", "status"),
        ("cms_id=", "cms_id"),
        ("client=" + "x" * 65, "client"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("after=-5", "after"),
    ],
)
def test_list_matters_refuses_bad_parameters_by_name(firm: Firm, query: str, parameter: str) -> None:
    response = firm.staff.get(f"/api/matters?{query}")
    assert response.status_code == 400
    assert error(response)["code"] == "invalid_parameter"
    assert error(response)["details"]["parameter"] == parameter


def test_an_unknown_matter_status_is_refused_with_the_statuses_allowed(firm: Firm) -> None:
    details = error(firm.staff.get("/api/matters?status=active"))["details"]
    assert details["allowed"] == ["open", "pending", "closed"]


# -- legal holds -------------------------------------------------------------------------------------------


def test_an_admin_puts_a_matter_on_hold_and_releases_it(firm: Firm) -> None:
    held = firm.admin.post(
        "/api/matters/201/hold", {"reason": "  litigation expected  "}, headers={"X-Request-Id": "h1"}
    )
    assert held.status_code == 201
    hold = held.get_json()["hold"]
    admin = f"user:{firm.ids['admin']}:admin@firm.example"
    assert (hold["matter_cms_id"], hold["action"], hold["on_hold"], hold["reason"], hold["actor"]) == (
        "201",
        "set",
        True,
        "litigation expected",
        admin,
    )
    [listed] = firm.staff.get("/api/holds").get_json()["holds"]  # anyone may see what is on hold
    assert (listed["matter_cms_id"], listed["reason"], listed["actor"]) == ("201", "litigation expected", admin)
    assert datetime.fromisoformat(listed["since"]) == datetime.fromisoformat(hold["at"])
    [entry] = audit_rows(firm.store, "hold_set")
    assert (entry.actor, entry.request_id, entry.matter_cms_id, entry.subject_type, entry.subject_id) == (
        admin,
        "h1",
        "201",
        "matter",
        "201",
    )
    assert entry.details == {"reason": "litigation expected", "hold": hold["id"]}

    released = firm.admin.post("/api/matters/201/hold/release", {"reason": "settled"}, headers={"X-Request-Id": "h2"})
    assert released.status_code == 200
    release = released.get_json()["hold"]
    assert (release["matter_cms_id"], release["action"], release["on_hold"], release["reason"]) == (
        "201",
        "release",
        False,
        "settled",
    )
    assert firm.staff.get("/api/holds").get_json()["holds"] == []
    [entry] = audit_rows(firm.store, "hold_release")
    assert (entry.actor, entry.request_id, entry.matter_cms_id) == (admin, "h2", "201")
    assert entry.details["reason"] == "settled"


@pytest.mark.parametrize("role", ["staff", "attorney"])
def test_only_admins_set_or_release_a_hold(firm: Firm, role: str) -> None:
    caller = getattr(firm, role)
    for path in ("/api/matters/101/hold", "/api/matters/101/hold/release"):
        refused = caller.post(path, {"reason": "because"})
        assert (refused.status_code, error(refused)["code"]) == (403, "forbidden_role"), path
        assert error(refused)["details"] == {"role": role, "allowed": ["admin"]}
    assert count(firm.store, legal_holds) == 0
    assert audit_rows(firm.store, "hold_set") == []
    firm.admin.post("/api/matters/101/hold", {"reason": "litigation"})
    refused = caller.post("/api/matters/101/hold/release", {"reason": "I think it is over"})
    assert refused.status_code == 403
    assert [h["matter_cms_id"] for h in caller.get("/api/holds").get_json()["holds"]] == ["101"]


def test_a_hold_is_not_set_twice_nor_released_when_there_is_none(firm: Firm) -> None:
    none_yet = firm.admin.post("/api/matters/101/hold/release", {"reason": "tidy up"})
    assert (none_yet.status_code, error(none_yet)["code"]) == (409, "not_on_hold")
    assert firm.admin.post("/api/matters/101/hold", {"reason": "first"}).status_code == 201
    twice = firm.admin.post("/api/matters/101/hold", {"reason": "second"})
    assert (twice.status_code, error(twice)["code"]) == (409, "already_on_hold")
    assert [h["reason"] for h in firm.admin.get("/api/holds").get_json()["holds"]] == ["first"]
    assert firm.admin.post("/api/matters/101/hold/release", {"reason": "over"}).status_code == 200
    again = firm.admin.post("/api/matters/101/hold/release", {"reason": "over again"})
    assert (again.status_code, error(again)["code"]) == (409, "not_on_hold")
    assert count(firm.store, legal_holds) == 2
    assert (len(audit_rows(firm.store, "hold_set")), len(audit_rows(firm.store, "hold_release"))) == (1, 1)


def test_a_hold_on_a_matter_the_store_does_not_hold_is_404(firm: Firm) -> None:
    for path in ("/api/matters/999/hold", "/api/matters/999/hold/release"):
        missing = firm.admin.post(path, {"reason": "litigation"})
        assert (missing.status_code, error(missing)["code"]) == (404, "not_found"), path
    assert count(firm.store, legal_holds) == 0
    assert audit_rows(firm.store, "hold_set") == audit_rows(firm.store, "hold_release") == []


def test_a_hold_needs_a_reason(firm: Firm) -> None:
    missing = firm.admin.post("/api/matters/101/hold", {})
    assert (missing.status_code, error(missing)["code"]) == (400, "invalid_body")
    assert "reason" in error(missing)["details"]
    blank = firm.admin.post("/api/matters/101/hold", {"reason": "   "})
    assert (blank.status_code, error(blank)["code"]) == (422, "empty_reason")
    too_long = firm.admin.post("/api/matters/101/hold", {"reason": "x" * 501})
    assert (too_long.status_code, error(too_long)["code"]) == (400, "invalid_body")
    assert firm.admin.get("/api/holds").get_json()["holds"] == []
    assert audit_rows(firm.store, "hold_set") == []


def test_holds_are_listed_by_matter_with_the_hold_in_force(firm: Firm) -> None:
    firm.admin.post("/api/matters/301/hold", {"reason": "custody dispute"})
    firm.admin.post("/api/matters/101/hold", {"reason": "first hold"})
    firm.admin.post("/api/matters/101/hold/release", {"reason": "lifted"})
    again = firm.admin.post("/api/matters/101/hold", {"reason": "subpoena"}).get_json()["hold"]
    holds = firm.attorney.get("/api/holds").get_json()["holds"]
    assert [(h["matter_cms_id"], h["reason"]) for h in holds] == [("101", "subpoena"), ("301", "custody dispute")]
    assert datetime.fromisoformat(holds[0]["since"]) == datetime.fromisoformat(again["at"])
