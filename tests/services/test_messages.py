"""Sending a text: content rules before it is stored, quiet hours deciding when it goes, and taking it back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from connector import services
from connector.errors import Kind, MatterlineError
from connector.messaging import reply_templates
from connector.messaging.sender import send_due
from connector.sandbox import TwilioServer, TwilioState
from connector.settings import Settings
from connector.staff.users import Actor, User
from connector.store.tables import audit_log, messages, outbox, writebacks
from connector.writeback.windows import close_due
from tests.support.firm import ANN_LEE, CARA, JANE, NOW, OMAR, seed, via_twilio
from tests.support.inbox import audit_rows

FIRM = "+14155550100"
# Jane's number is a San Francisco one: her quiet hours are read in America/Los_Angeles.
SPRING_FORWARD_EVE = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)  # 22:30 PST on Sat 7 March
FALL_BACK_EVE = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 22:30 PDT on Sat 31 October


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine)
    return engine


@pytest.fixture
def twilio() -> Iterator[TwilioServer]:
    with TwilioServer(TwilioState(incoming_numbers=(FIRM,))) as server:
        yield server


settings = via_twilio
audits = audit_rows


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def send(engine: Engine, body: str, s: Settings | None = None, **kw: Any) -> Any:
    return services.messages.send(engine, s or settings(), matter_cms_id="101", body=body, actor=Actor("alice"), **kw)


# -- content rules ----------------------------------------------------------------------------------------


def test_a_blocked_text_is_refused_with_every_finding_and_nothing_is_stored(store: Engine) -> None:
    with pytest.raises(MatterlineError) as refused:
        send(store, "My SSN is 123-45-6789 and card 4111 1111 1111 1111", override_reason="client asked")
    assert (refused.value.kind, refused.value.code) == (Kind.INVALID, "content_rule")
    found = {f["rule"]: f for f in refused.value.details["findings"]}
    assert {"ssn", "card_number"} <= set(found)
    assert found["ssn"]["match"] == "123-45-6789"
    assert found["ssn"]["suggestion"]
    assert count(store, messages) == 0
    [blocked] = audits(store, "send_blocked")
    assert blocked.details["reason"] == "content_rule"
    assert "123-45-6789" not in str(blocked.details)  # the log proves the block, it never holds the text


def test_a_warned_text_needs_a_reason_and_the_override_is_audited(store: Engine) -> None:
    body = "They offered $45,000 to settle."
    with pytest.raises(MatterlineError) as refused:
        send(store, body)
    assert refused.value.code == "content_rule"
    assert "override_reason" in str(refused.value)
    with pytest.raises(MatterlineError) as empty:
        send(store, body, override_reason="   ")
    assert empty.value.code == "empty_reason"
    queued = send(store, body, override_reason="Client asked for the figure in writing; attorney approved.")
    assert queued.status == "pending"
    assert {w.rule for w in queued.warnings} == {"settlement_amount"}
    [override] = audits(store, "override")
    assert override.details == {
        "reason": "Client asked for the figure in writing; attorney approved.",
        "rules": ["settlement_amount"],
    }
    assert override.subject_id == str(queued.id)


def test_a_plain_text_goes_without_findings_or_reasons(store: Engine) -> None:
    queued = send(store, "Your hearing moved to 3pm on Tuesday.")
    assert (queued.status, queued.warnings) == ("pending", ())
    assert audits(store, "override") == []


# -- quiet hours --------------------------------------------------------------------------------------------


def test_a_text_at_night_is_scheduled_for_the_recipients_morning_and_sent_then(
    store: Engine, twilio: TwilioServer
) -> None:
    s = settings(twilio, MATTERLINE_QUIET_HOURS="08:00-20:00")
    queued = send(store, "Reminder: bring your pay stubs Monday.", s, now=SPRING_FORWARD_EVE)
    # 08:00 on Sunday 8 March in Los Angeles is after the clocks went forward: PDT, UTC-7.
    assert (queued.status, queued.scheduled_for) == ("scheduled", datetime(2026, 3, 8, 15, 0, tzinfo=UTC))
    assert send_due(store, s, now=datetime(2026, 3, 8, 14, 59, tzinfo=UTC)).sent == 0
    assert twilio.state.messages(to=JANE) == []
    assert send_due(store, s, now=datetime(2026, 3, 8, 15, 0, tzinfo=UTC)).sent == 1
    assert len(twilio.state.messages(to=JANE)) == 1
    # The record says when Jane got it (11:00 in the firm's New York), not when it was typed.
    close_due(store, s, now=datetime(2026, 3, 8, 16, 0, tzinfo=UTC), force=True)
    with store.connect() as conn:
        transcript = conn.execute(select(writebacks.c.body).where(writebacks.c.kind == "transcript")).scalar_one()
    assert "2026-03-08 11:00 EDT  Firm (firm): Reminder: bring your pay stubs Monday." in transcript
    assert transcript.startswith("Client: Jane Doe (+14158675309)")  # named from the matter's client


def test_fall_back_morning_is_read_in_local_time(store: Engine) -> None:
    queued = send(store, "See you Monday.", settings(MATTERLINE_QUIET_HOURS="08:00-20:00"), now=FALL_BACK_EVE)
    # 08:00 on Sunday 1 November in Los Angeles is PST again (UTC-8), an hour later in UTC than the day before.
    assert queued.scheduled_for == datetime(2026, 11, 1, 16, 0, tzinfo=UTC)


def test_an_attorney_override_sends_now_and_is_audited(store: Engine, twilio: TwilioServer) -> None:
    s = settings(twilio, MATTERLINE_QUIET_HOURS="08:00-20:00")
    queued = send(
        store, "The hearing tomorrow is at 8:30, not 10.", s, now=FALL_BACK_EVE, quiet_hours_reason="hearing moved"
    )
    assert (queued.status, queued.scheduled_for) == ("pending", None)
    assert send_due(store, s, now=FALL_BACK_EVE).sent == 1
    [override] = audits(store, "quiet_hours_override")
    assert override.details == {"reason": "hearing moved"}


def test_a_stricter_state_window_applies_to_recipients_in_that_state(store: Engine) -> None:
    s = settings(MATTERLINE_QUIET_HOURS="08:00-20:00", MATTERLINE_QUIET_HOURS_BY_STATE="CA=09:00-20:00")
    queued = send(store, "Morning!", s, now=datetime(2026, 11, 25, 16, 30, tzinfo=UTC))  # 08:30 in Los Angeles
    assert queued.scheduled_for == datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


def test_an_empty_quiet_hours_reason_is_refused(store: Engine) -> None:
    with pytest.raises(MatterlineError) as refused:
        send(store, "Hello", quiet_hours_reason="")
    assert refused.value.code == "empty_reason"
    assert count(store, messages) == 0


# -- taking a text back ------------------------------------------------------------------------------------


def test_a_held_text_can_be_canceled_and_never_goes(store: Engine, twilio: TwilioServer) -> None:
    s = settings(twilio, MATTERLINE_QUIET_HOURS="08:00-20:00")
    queued = send(store, "Call me tonight?", s, now=FALL_BACK_EVE)
    with pytest.raises(MatterlineError) as empty:
        services.messages.cancel(store, queued.id, actor=Actor("alice"), reason=" ")
    assert empty.value.code == "empty_reason"
    services.messages.cancel(store, queued.id, actor=Actor("alice"), reason="client called instead")
    assert send_due(store, s, now=datetime(2026, 11, 1, 16, 0, tzinfo=UTC)).sent == 0
    assert twilio.state.messages(to=JANE) == []
    with store.connect() as conn:
        assert conn.execute(select(messages.c.status)).scalar_one() == "canceled"
        assert conn.execute(select(outbox.c.state)).scalar_one() == "done"
    [entry] = audits(store, "send_canceled")
    assert entry.details == {"reason": "client called instead", "was": "scheduled"}


def test_a_text_already_sent_cannot_be_canceled(store: Engine, twilio: TwilioServer) -> None:
    s = settings(twilio)
    queued = send(store, "Hello", s)
    assert send_due(store, s).sent == 1
    with pytest.raises(MatterlineError) as late:
        services.messages.cancel(store, queued.id, actor=Actor("alice"), reason="too late")
    assert (late.value.kind, late.value.code) == (Kind.CONFLICT, "not_cancelable")
    with pytest.raises(MatterlineError) as missing:
        services.messages.cancel(store, 9999, actor=Actor("alice"), reason="no such")
    assert missing.value.kind is Kind.NOT_FOUND


# -- what a send needs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "kind", "code"),
    [
        ({"body": "  "}, Kind.INVALID, "empty_message"),
        ({"body": "x" * 1601}, Kind.INVALID, "body_too_long"),
        ({"body": "photo", "media_urls": ["http://example.com/a.jpg"]}, Kind.INVALID, "bad_media"),
        (
            {"body": "photos", "media_urls": [f"https://example.com/{n}.jpg" for n in range(11)]},
            Kind.INVALID,
            "bad_media",
        ),
        ({"body": "Hello", "thread_id": 1}, Kind.MALFORMED, "bad_request"),
        ({"body": "Hello", "to": OMAR}, Kind.INVALID, "invalid_recipient"),  # Omar is not on Jane's matter
    ],
)
def test_a_text_that_cannot_be_sent_as_asked_is_refused_and_nothing_is_stored(
    store: Engine, kw: dict[str, Any], kind: Kind, code: str
) -> None:
    with pytest.raises(MatterlineError) as refused:
        services.messages.send(store, settings(), matter_cms_id="101", actor=Actor("alice"), **kw)
    assert (refused.value.kind, refused.value.code) == (kind, code)
    assert count(store, messages) == 0
    assert audits(store, "send") == []


def test_a_text_about_a_matter_may_go_to_a_number_of_its_client_in_any_format(store: Engine) -> None:
    queued = services.messages.send(
        store, settings(), matter_cms_id="101", to="(415) 867-5309", body="Hello", actor=Actor("alice")
    )
    assert (queued.to, queued.matter_cms_id) == (JANE, "101")


def test_staff_may_not_send_during_the_recipients_quiet_hours(store: Engine) -> None:
    staff = Actor.of(User(7, "Sam Staff", "sam@firm.example", "staff"))
    with pytest.raises(MatterlineError) as refused:
        services.messages.send(
            store,
            settings(MATTERLINE_QUIET_HOURS="08:00-20:00"),
            matter_cms_id="101",
            body="Call me",
            actor=staff,
            now=FALL_BACK_EVE,
            quiet_hours_reason="urgent",
        )
    assert (refused.value.kind, refused.value.code) == (Kind.FORBIDDEN, "forbidden_role")
    assert refused.value.details == {"role": "staff", "allowed": ["admin", "attorney"]}
    assert count(store, messages) == 0


# -- checking a draft, and moving a text ---------------------------------------------------------------------


def test_a_draft_is_checked_without_anything_being_stored(store: Engine) -> None:
    draft = services.messages.check_draft(store, settings(), "They offered $45,000. Card 4111 1111 1111 1111")
    assert {f.rule for f in draft.findings} == {"settlement_amount", "card_number"}
    assert (draft.sendable, draft.needs_override_reason) == (False, True)
    warned = services.messages.check_draft(store, settings(), "They offered $45,000 to settle.")
    assert (warned.sendable, warned.needs_override_reason) == (True, True)
    clean = services.messages.check_draft(store, settings(), "See you Tuesday at 9.")
    assert (clean.findings, clean.sendable, clean.needs_override_reason) == ((), True, False)
    assert count(store, messages) == 0
    assert count(store, audit_log) == 4  # only the seed's consent entries


def test_a_text_moved_to_another_matter_is_audited(store: Engine) -> None:
    queued = send(store, "About the estate papers")
    moved = services.messages.refile(store, settings(), queued.id, "102", actor=Actor("alice", request_id="req-mv"))
    assert (moved.id, moved.matter_cms_id) == (queued.id, "102")
    [entry] = audits(store, "refile")
    assert (entry.subject_type, entry.subject_id, entry.matter_cms_id) == ("message", str(queued.id), "102")
    assert (entry.request_id, entry.details) == ("req-mv", {"from_matter": "101", "to_matter": "102"})


def test_a_text_is_moved_only_to_a_matter_the_store_knows(store: Engine) -> None:
    queued = send(store, "About the estate papers")
    with pytest.raises(MatterlineError) as unknown:
        services.messages.refile(store, settings(), queued.id, "999", actor=Actor("alice"))
    assert (unknown.value.kind, unknown.value.code) == (Kind.INVALID, "unknown_matter")
    with pytest.raises(MatterlineError) as missing:
        services.messages.refile(store, settings(), 999_999, "102", actor=Actor("alice"))
    assert missing.value.kind is Kind.NOT_FOUND
    assert audits(store, "refile") == []


# -- client work only: no promotions, no blasts, a purpose on every text -------------------------------------

BLAST = "Our office is closed on Friday for the holiday; we reopen Monday at 9am."


def test_a_promotion_is_refused_pointing_to_a_marketing_tool_and_audited(store: Engine) -> None:
    with pytest.raises(MatterlineError) as refused:
        send(store, "Thanks for choosing us! Refer a friend to us this month.")
    assert (refused.value.kind, refused.value.code) == (Kind.INVALID, "marketing_refused")
    assert "referral request" in refused.value.message
    assert "marketing tool" in refused.value.message
    assert [f["match"] for f in refused.value.details["findings"]] == ["Refer a friend"]
    assert count(store, messages) == 0
    [blocked] = audits(store, "send_blocked")
    assert (blocked.details["reason"], blocked.details["rules"]) == ("marketing_refused", ["marketing"])
    draft = services.messages.check_draft(store, settings(), "Please leave us a review on Google!")
    assert ([f.rule for f in draft.findings], draft.sendable) == (["marketing"], False)


def test_the_same_text_to_a_fourth_number_within_ten_minutes_is_a_blast(store: Engine) -> None:
    def to(phone: str, at: datetime, body: str = BLAST) -> Any:
        return services.messages.send(store, settings(), to=phone, body=body, actor=Actor("alice"), now=at)

    for phone in (JANE, OMAR, ANN_LEE):
        to(phone, NOW)
    with pytest.raises(MatterlineError) as refused:
        to(CARA, NOW + timedelta(minutes=1), BLAST.lower())
    assert (refused.value.kind, refused.value.code) == (Kind.CONFLICT, "bulk_refused")
    assert "marketing tool" in refused.value.message
    assert audits(store, "send_blocked")[-1].details["reason"] == "bulk_refused"
    assert to(JANE, NOW + timedelta(minutes=2)).status == "pending"  # Jane again is still one client
    assert to(CARA, NOW + timedelta(minutes=10, seconds=1)).status == "pending"  # the first three aged out
    assert count(store, messages) == 5


def test_several_recipients_in_one_request_are_refused_before_anything_is_stored(store: Engine) -> None:
    for several in (f"{JANE}, {OMAR}", [JANE, OMAR, CARA]):
        with pytest.raises(MatterlineError) as refused:
            services.messages.send(store, settings(), to=several, body="Hearing moved.", actor=Actor("alice"))
        assert (refused.value.code, refused.value.details) == (
            "bulk_refused",
            {"recipients": 2 if isinstance(several, str) else 3},
        )
    assert count(store, messages) == 0
    assert [entry.details["reason"] for entry in audits(store, "send_blocked")] == ["bulk_refused"] * 2


def test_a_notice_is_a_reply_template_as_written_and_is_stored_so(store: Engine) -> None:
    fields = reply_templates.MergeFields("Jane Doe", "00101-Doe", "Doe & Roe LLP", "alice")
    body = reply_templates.merge(reply_templates.DEFAULT_TEMPLATES[0], fields)
    for template, text in ((None, body), ("received", body + " Call us."), ("nope", body)):
        with pytest.raises(MatterlineError) as refused:
            send(store, text, purpose="notice", template=template)
        assert (refused.value.kind, refused.value.code) == (Kind.INVALID, "template_required")
    with pytest.raises(MatterlineError) as reminder:
        send(store, "Your hearing is tomorrow at 9.", purpose="reminder")
    assert reminder.value.code == "reminder_refused"
    assert "CMS calendar" in reminder.value.message
    assert count(store, messages) == 0
    notice = send(store, body, purpose="notice", template="received")
    chat = send(store, "See you Tuesday.")
    assert (notice.purpose, chat.purpose) == ("notice", "conversation")
    with store.connect() as conn:
        stored = {row.id: row.purpose for row in conn.execute(select(messages.c.id, messages.c.purpose))}
    assert stored == {notice.id: "notice", chat.id: "conversation"}
    details = {entry.subject_id: entry.details for entry in audits(store, "send")}
    assert (details[str(notice.id)]["purpose"], details[str(notice.id)]["template"]) == ("notice", "received")
    assert details[str(chat.id)]["purpose"] == "conversation"
    assert "template" not in details[str(chat.id)]
