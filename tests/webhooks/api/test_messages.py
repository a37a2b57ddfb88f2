"""A thread's messages and sending (`webhooks/api/messages.py`): paging, sending, refusals, holding, canceling
and re-filing one text."""

from __future__ import annotations

from sqlalchemy import Engine, select

from connector.store.tables import filing_decisions, messages, outbox
from tests.support.firm import JANE, seed, settings, shut_window
from tests.support.people import add_user
from tests.webhooks.api.harness import Api, Firm, audit_rows, count, error, text_in
from webhooks import create_app


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


# The store's ids are INTEGER columns (32-bit on PostgreSQL): a larger one in a path is no such record, and a
# larger cursor is refused by name, on both backends.
LARGEST = 2**31 - 1


def test_a_cursor_beyond_the_stores_range_is_refused_and_the_largest_one_pages(firm: Firm, jane: int) -> None:
    for before in (str(LARGEST + 1), str(2**63), "13287254460359871436520", "9" * 5000):
        refused = firm.staff.get(f"/api/threads/{jane}/messages?before={before}")
        assert (refused.status_code, error(refused)["code"]) == (400, "invalid_parameter")
        assert error(refused)["details"]["parameter"] == "before"
    everything = firm.staff.get(f"/api/threads/{jane}/messages?before={LARGEST}").get_json()["messages"]
    assert [m["body"] for m in everything] == ["Please call me", "Is my hearing still on?"]


def test_a_message_id_beyond_the_stores_range_is_no_such_message(firm: Firm, jane: int) -> None:
    for message_id in (LARGEST + 1, 2**63, 51858379236419746832115, LARGEST):
        missing = firm.staff.post(f"/api/messages/{message_id}/cancel", {"reason": "sent by mistake"})
        assert missing.status_code == 404
        assert firm.staff.get(f"/api/threads/{message_id}/messages").status_code == 404
    assert audit_rows(firm.store, "send_canceled") == []


def test_client_work_only_promotions_blasts_and_notices_without_a_template_are_refused(firm: Firm, jane: int) -> None:
    before = count(firm.store, messages)
    promo = firm.staff.post(f"/api/threads/{jane}/messages", {"body": "Loved working with you? Leave us a review!"})
    assert promo.status_code == 422
    assert (error(promo)["code"], error(promo)["details"]["findings"][0]["rule"]) == ("marketing_refused", "marketing")
    assert "marketing tool" in error(promo)["message"]
    several = firm.staff.post("/api/matters/101/messages", {"body": "Hearing moved.", "to": [JANE, "+12128675309"]})
    assert (several.status_code, error(several)["code"]) == (409, "bulk_refused")
    assert error(several)["details"] == {"recipients": 2}
    pasted = firm.staff.post(f"/api/threads/{jane}/messages", {"body": "Hi", "to": f"{JANE}; +12128675309"})
    assert (pasted.status_code, error(pasted)["code"]) == (409, "bulk_refused")
    bare = firm.staff.post(f"/api/threads/{jane}/messages", {"body": "Thanks, we have it.", "purpose": "notice"})
    assert (bare.status_code, error(bare)["code"]) == (422, "template_required")
    assert count(firm.store, messages) == before
    assert [e.details["reason"] for e in audit_rows(firm.store, "send_blocked")] == ["marketing_refused"] + [
        "bulk_refused"
    ] * 2

    body = "Thanks Jane, we received your message about 00101-Doe and will get back to you soon."
    sent = firm.staff.post(f"/api/threads/{jane}/messages", {"body": body, "purpose": "notice", "template": "received"})
    assert (sent.status_code, sent.get_json()["message"]["purpose"]) == (201, "notice")
    listed = firm.staff.get(f"/api/threads/{jane}/messages?limit=3").get_json()["messages"]
    assert [m["purpose"] for m in listed] == ["notice", "conversation", "conversation"]  # the two inbound texts
