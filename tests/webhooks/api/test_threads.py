"""`/api/threads` (`webhooks/api/threads.py`): the inbox, and assigning, reading, flagging, re-filing and filing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from connector.store.tables import filing_decisions, users, writebacks
from tests.support.firm import JANE, OMAR
from tests.webhooks.api.harness import Api, Firm, audit_rows, count, error, text_in, thread_id_of


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


def test_list_threads_with_the_new_filters_and_search(firm: Firm, jane: int) -> None:
    text_in(firm.admin.client, OMAR, "which case is this about")
    omar = thread_id_of(firm.store, OMAR)

    def ids(query: str) -> list[int]:
        response = firm.staff.get(f"/api/threads?{query}")
        assert response.status_code == 200, response.get_json()
        return [t["id"] for t in response.get_json()["threads"]]

    firm.staff.post(f"/api/threads/{jane}/assign", {"assignee": "attorney@firm.example"})
    assert ids("filter=unassigned") == [omar]
    assert ids("filter=unread") == [omar]  # Jane's thread is the attorney's now: hers to read, not staff's
    assert [t["id"] for t in firm.attorney.get("/api/threads?filter=unread").get_json()["threads"]] == [omar, jane]
    firm.staff.post(f"/api/threads/{omar}/read", {})
    assert ids("filter=unread") == []
    assert ids("filter=waiting") == [omar, jane]
    firm.staff.post(f"/api/threads/{jane}/messages", {"body": "We have it"})
    assert ids("filter=waiting") == [omar]
    assert ids("filter=waiting,unassigned") == [omar]
    assert ids("q=haddad") == [omar]
    assert ids("q=(212)%20867-5309") == [omar]
    assert ids("q=00101") == [jane]
    assert ids("q=which%20case") == [omar]
    assert ids("q=%25_'%22%3B--") == []
    assert ids("q=which&filter=unassigned") == [omar]
    listed = firm.staff.get("/api/threads?q=which").get_json()["threads"][0]
    assert (listed["snippet"], listed["last_direction"], listed["last_status"]) == (
        "which case is this about",
        "inbound",
        "received",
    )


@pytest.mark.parametrize("q", ["x" * 10_000, "x" * 101, "%20%20", "tab%09in"])
def test_list_threads_refuses_a_search_that_cannot_be_one(firm: Firm, q: str) -> None:
    response = firm.staff.get(f"/api/threads?q={q}")
    assert response.status_code == 400
    assert error(response)["code"] == "invalid_parameter"
    assert error(response)["details"]["parameter"] == "q"


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


def test_get_one_thread(firm: Firm, jane: int) -> None:
    response = firm.staff.get(f"/api/threads/{jane}")
    assert response.status_code == 200
    assert response.get_json()["thread"]["client_phone"] == JANE
    missing = firm.staff.get("/api/threads/999999")
    assert missing.status_code == 404
    assert error(missing)["code"] == "not_found"
    assert firm.staff.get("/api/threads/not-a-number").status_code == 404


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


def test_staff_may_not_refile(firm: Firm, jane: int) -> None:
    message_id = firm.staff.get(f"/api/threads/{jane}/messages").get_json()["messages"][0]["id"]
    for path in (f"/api/threads/{jane}/refile", f"/api/messages/{message_id}/refile"):
        response = firm.staff.post(path, {"matter_cms_id": "102"})
        assert response.status_code == 403
        assert error(response)["code"] == "forbidden_role"
    assert count(firm.store, filing_decisions, filing_decisions.c.rule == "manual") == 0
    assert audit_rows(firm.store, "refile") == []


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


def test_filing_a_thread_closes_its_window_and_queues_the_records(firm: Firm, jane: int) -> None:
    response = firm.staff.post(f"/api/threads/{jane}/file", {})
    assert response.status_code == 200
    windows = response.get_json()["windows"]
    assert [(w["matter_cms_id"], w["writebacks"]) for w in windows] == [("101", 2)]
    assert windows[0]["messages"] >= 1
    assert firm.staff.post(f"/api/threads/{jane}/file", {}).get_json() == {"windows": []}
    assert firm.staff.post("/api/threads/999999/file", {}).status_code == 404
    assert len(audit_rows(firm.store, "window_closed")) == 1


def test_filing_an_urgent_unfiled_thread_tasks_the_matters_attorney(firm: Firm) -> None:
    text_in(firm.admin.client, OMAR, "they arrested my son last night, please call")
    thread = thread_id_of(firm.store, OMAR)
    assert firm.attorney.post(f"/api/threads/{thread}/refile", {"matter_cms_id": "201"}).status_code == 200
    with firm.store.connect() as conn:
        tasks = conn.execute(select(writebacks.c.matter_cms_id).where(writebacks.c.kind == "task")).scalars().all()
    assert tasks == ["201"]


# -- mark unread -------------------------------------------------------------------------------------------


def unread_of(api: Api, thread: int) -> int:
    value: int = api.get(f"/api/threads/{thread}").get_json()["thread"]["unread"]
    return value


def message_ids(api: Api, thread: int) -> list[int]:
    """The thread's messages, oldest first."""
    return [m["id"] for m in reversed(api.get(f"/api/threads/{thread}/messages").get_json()["messages"])]


def test_mark_unread_raises_only_the_callers_unread_count_and_is_audited(firm: Firm, jane: int) -> None:
    oldest, newest = message_ids(firm.staff, jane)
    firm.staff.post(f"/api/threads/{jane}/read")
    firm.attorney.post(f"/api/threads/{jane}/read")
    assert (unread_of(firm.staff, jane), unread_of(firm.attorney, jane)) == (0, 0)

    response = firm.staff.post(f"/api/threads/{jane}/unread", headers={"X-Request-Id": "u-1"})
    assert response.status_code == 200
    answer = response.get_json()
    assert (answer["thread"]["id"], answer["thread"]["unread"]) == (jane, 1)  # by default, the newest client text
    assert answer["last_read_message_id"] == newest - 1
    assert (unread_of(firm.staff, jane), unread_of(firm.attorney, jane)) == (1, 0)
    listed = {t["id"]: t["unread"] for t in firm.attorney.get("/api/threads").get_json()["threads"]}
    assert listed[jane] == 0

    from_oldest = firm.staff.post(f"/api/threads/{jane}/unread", {"message_id": oldest}).get_json()
    assert (from_oldest["thread"]["unread"], from_oldest["last_read_message_id"]) == (2, oldest - 1)
    assert (unread_of(firm.staff, jane), unread_of(firm.attorney, jane)) == (2, 0)

    entries = audit_rows(firm.store, "unread")
    staff = f"user:{firm.ids['staff']}:staff@firm.example"
    assert [(e.actor, e.subject_type, e.subject_id, e.matter_cms_id) for e in entries] == [
        (staff, "thread", str(jane), "101"),
        (staff, "thread", str(jane), "101"),
    ]
    assert entries[0].request_id == "u-1"
    assert entries[0].request_id == response.headers["X-Request-Id"]
    assert [e.details for e in entries] == [
        {"from": newest, "read_mark": newest - 1},
        {"from": oldest, "read_mark": oldest - 1},
    ]


def test_mark_unread_only_moves_the_mark_back(firm: Firm, jane: int) -> None:
    oldest, newest = message_ids(firm.staff, jane)
    firm.staff.post(f"/api/threads/{jane}/read")
    firm.staff.post(f"/api/threads/{jane}/unread", {"message_id": oldest})
    later = firm.staff.post(f"/api/threads/{jane}/unread", {"message_id": newest}).get_json()
    assert (later["thread"]["unread"], later["last_read_message_id"]) == (2, oldest - 1)
    assert unread_of(firm.staff, jane) == 2
    never_read = firm.attorney.post(f"/api/threads/{jane}/unread", {"message_id": newest}).get_json()
    assert never_read["thread"]["unread"] == 2  # texts never read stay unread
    assert firm.staff.post(f"/api/threads/{jane}/read").get_json()["thread"]["unread"] == 0


def test_a_reply_marked_unread_leaves_the_client_texts_before_it_read(firm: Firm, jane: int) -> None:
    reply = firm.staff.post(f"/api/threads/{jane}/messages", {"body": "We will call at 3."}).get_json()["message"]
    firm.staff.post(f"/api/threads/{jane}/read")
    answer = firm.staff.post(f"/api/threads/{jane}/unread", {"message_id": reply["id"]}).get_json()
    assert (answer["thread"]["unread"], answer["last_read_message_id"]) == (0, reply["id"] - 1)
    text_in(firm.admin.client, JANE, "Thanks")
    assert unread_of(firm.staff, jane) == 1


def test_mark_unread_refusals(firm: Firm, jane: int) -> None:
    firm.staff.post(f"/api/threads/{jane}/read")
    text_in(firm.admin.client, OMAR)
    other = message_ids(firm.staff, thread_id_of(firm.store, OMAR))[0]
    elsewhere = firm.staff.post(f"/api/threads/{jane}/unread", {"message_id": other})
    assert (elsewhere.status_code, error(elsewhere)["code"]) == (422, "invalid_message")
    assert error(elsewhere)["details"] == {"field": "message_id"}

    ours_only = firm.attorney.post("/api/matters/301/messages", {"body": "Please call the office."}).get_json()
    no_client_text = firm.staff.post(f"/api/threads/{ours_only['message']['thread_id']}/unread")
    assert (no_client_text.status_code, error(no_client_text)["code"]) == (422, "invalid_message")

    for bad in ({"message_id": str(other)}, {"message_id": 0}, {"message_id": True}, {"from": other}):
        response = firm.staff.post(f"/api/threads/{jane}/unread", bad)
        assert (response.status_code, error(response)["code"]) == (400, "invalid_body"), bad
    missing = firm.staff.post("/api/threads/999999/unread")
    assert (missing.status_code, error(missing)["code"]) == (404, "not_found")
    assert unread_of(firm.staff, jane) == 0
    assert audit_rows(firm.store, "unread") == []
