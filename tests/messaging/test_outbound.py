"""Every send passes the same guardrails: content rules before it is stored, quiet hours before it goes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from connector import services
from connector.errors import Kind, MatterlineError
from connector.guardrails import consent
from connector.messaging.sender import send_due
from connector.sandbox import SANDBOX_ACCOUNT_SID, SANDBOX_AUTH_TOKEN, TwilioServer, TwilioState
from connector.settings import Settings
from connector.staff.users import Actor
from connector.store.tables import audit_log, messages, outbox, writebacks
from connector.writeback.windows import close_due
from tests.support.firm import JANE, seed
from tests.support.firm import settings as firm_settings

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


def settings(twilio: TwilioServer | None = None, **env: str) -> Settings:
    extra = (
        {
            "TWILIO_ACCOUNT_SID": SANDBOX_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": SANDBOX_AUTH_TOKEN,
            "MATTERLINE_TWILIO_API_URL": twilio.origin,
        }
        if twilio
        else {}
    )
    return firm_settings(MATTERLINE_PUBLIC_URL="", **extra, **env)


def audits(engine: Engine, action: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(audit_log).where(audit_log.c.action == action)))


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


def test_a_text_that_waited_past_evening_is_held_again_not_sent_at_night(store: Engine, twilio: TwilioServer) -> None:
    """A text queued at 19:59 whose worker only got to it at 20:30 waits for the morning."""
    s = settings(twilio, MATTERLINE_QUIET_HOURS="08:00-20:00")
    queued = send(store, "Quick update on your case.", s, now=datetime(2026, 11, 25, 3, 59, tzinfo=UTC))
    assert queued.status == "pending"
    late = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)
    assert send_due(store, s, now=late).sent == 0
    with store.connect() as conn:
        held = conn.execute(select(messages.c.status, messages.c.scheduled_for)).one()
        due = conn.execute(select(outbox.c.next_attempt_at, outbox.c.attempts)).one()
    assert held == ("scheduled", datetime(2026, 11, 25, 16, 0, tzinfo=UTC))
    assert due.attempts == 0
    assert twilio.state.messages(to=JANE) == []


def test_a_stricter_state_window_applies_to_recipients_in_that_state(store: Engine) -> None:
    s = settings(MATTERLINE_QUIET_HOURS="08:00-20:00", MATTERLINE_QUIET_HOURS_BY_STATE="CA=09:00-20:00")
    queued = send(store, "Morning!", s, now=datetime(2026, 11, 25, 16, 30, tzinfo=UTC))  # 08:30 in Los Angeles
    assert queued.scheduled_for == datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


def test_consent_withdrawn_after_queueing_stops_the_send(store: Engine, twilio: TwilioServer) -> None:
    s = settings(twilio)
    queued = send(store, "Your documents are ready.", s)
    with store.begin() as conn:
        consent.record(conn, JANE, action="revoke", method="verbal", captured_by="alice", region="US")
    assert send_due(store, s).blocked == 1
    assert twilio.state.messages(to=JANE) == []
    with store.connect() as conn:
        stopped = conn.execute(select(messages.c.status, messages.c.error_message)).one()
    assert stopped.status == "blocked"
    assert "consent withdrawn" in stopped.error_message
    assert [a.details["reason"] for a in audits(store, "send_blocked")] == ["consent_required"]
    assert queued.status == "pending"


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
