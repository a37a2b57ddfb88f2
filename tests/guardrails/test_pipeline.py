"""The guardrails at the moment of sending: a text queued a while ago meets them again, in order, just before
it goes (the client's newest texts taken in first, then opt-out, consent and quiet hours)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from connector import services
from connector.guardrails import consent, pipeline
from connector.guardrails.pipeline import INTAKE_WAIT, SendVerdict
from connector.messaging import intake, reception
from connector.messaging.sender import send_due
from connector.sandbox import TwilioServer, TwilioState
from connector.settings import Settings
from connector.staff.users import Actor
from connector.store.tables import messages, outbox
from tests.support.firm import JANE, inbound_form, seed, via_twilio
from tests.support.inbox import audit_rows

FIRM = "+14155550100"
# Jane's number is a San Francisco one: her quiet hours are read in America/Los_Angeles.
MONDAY_10AM = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)  # 10:00 PST on Monday 30 November
MONDAY_10PM = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # 22:00 PST the same Monday
TUESDAY_8AM = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # 08:00 PST, when quiet hours end


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


def send(engine: Engine, body: str, s: Settings | None = None, **kw: Any) -> Any:
    return services.messages.send(engine, s or settings(), matter_cms_id="101", body=body, actor=Actor("alice"), **kw)


def arrives(engine: Engine, body: str, at: datetime, *, taken_in: bool = True) -> None:
    """Jane texts the firm: the webhook stores it, and (unless `taken_in` is False) the worker's intake threads it."""
    s = settings()
    with engine.begin() as conn:
        reception.receive(conn, reception.parse(inbound_form(JANE, body), s), s, at)
    if taken_in:
        intake.drain(engine, s)


def verdict(engine: Engine, message_id: int, now: datetime, s: Settings | None = None) -> SendVerdict:
    """What the guardrails say about the stored text `message_id` if the sender took it up at `now`."""
    with engine.begin() as conn:
        row = conn.execute(select(messages).where(messages.c.id == message_id).with_for_update()).one()
        return pipeline.at_send(conn, s or settings(), row, now)


# -- the verdicts at the moment of sending -----------------------------------------------------------------


def test_a_consented_text_in_the_day_goes(store: Engine) -> None:
    s = settings(MATTERLINE_QUIET_HOURS="08:00-20:00")
    queued = send(store, "Your documents are ready.", s, now=MONDAY_10AM)
    assert queued.status == "pending"
    found = verdict(store, queued.id, MONDAY_10AM, s)
    assert found == pipeline.GO
    assert found.go


def test_a_stop_that_came_after_queueing_blocks_the_text(store: Engine) -> None:
    queued = send(store, "Your documents are ready.", now=MONDAY_10AM)
    arrives(store, "STOP", MONDAY_10AM)
    found = verdict(store, queued.id, MONDAY_10AM)
    assert (found.action, found.code, found.go) == ("block", "recipient_opted_out", False)
    assert found.detail == "recipient opted out before the text went"
    assert (found.until, found.hold) == (None, False)


def test_consent_withdrawn_after_queueing_blocks_the_text(store: Engine) -> None:
    queued = send(store, "Your documents are ready.", now=MONDAY_10AM)
    services.consents.withdraw(store, settings(), JANE, method="verbal", actor=Actor("alice"))
    found = verdict(store, queued.id, MONDAY_10AM)
    assert (found.action, found.code) == ("block", "consent_required")
    assert found.detail.startswith("consent withdrawn before the text went: ")
    assert JANE in found.detail


def test_a_client_text_not_yet_taken_in_makes_the_send_wait_a_moment(store: Engine) -> None:
    queued = send(store, "Your documents are ready.", now=MONDAY_10AM)
    arrives(store, "ok thanks", MONDAY_10AM, taken_in=False)
    found = verdict(store, queued.id, MONDAY_10AM)
    assert (found.action, found.code, found.hold) == ("wait", "intake_pending", False)
    assert found.until == MONDAY_10AM + INTAKE_WAIT
    intake.drain(store, settings())
    assert verdict(store, queued.id, MONDAY_10AM).go


def test_a_stop_in_words_still_waiting_for_intake_is_read_before_the_text_goes(store: Engine) -> None:
    """The check order matters: the client's newest text is taken in first, so a revocation in words wins."""
    queued = send(store, "Your documents are ready.", now=MONDAY_10AM)
    arrives(store, "Please stop texting me, I hired another attorney", MONDAY_10AM, taken_in=False)
    assert verdict(store, queued.id, MONDAY_10AM).code == "intake_pending"
    intake.drain(store, settings())
    assert verdict(store, queued.id, MONDAY_10AM).code == "recipient_opted_out"


def test_a_text_that_reaches_the_night_waits_held_for_the_recipients_morning(store: Engine) -> None:
    s = settings(MATTERLINE_QUIET_HOURS="08:00-20:00")
    queued = send(store, "Quick update on your case.", s, now=MONDAY_10AM)
    found = verdict(store, queued.id, MONDAY_10PM, s)
    assert (found.action, found.code, found.hold) == ("wait", "quiet_hours", True)
    assert found.until == TUESDAY_8AM
    assert found.detail == "quiet hours: held until the recipient's morning"
    assert verdict(store, queued.id, TUESDAY_8AM, s).go


def test_a_text_sent_past_quiet_hours_with_a_reason_goes_at_night(store: Engine) -> None:
    s = settings(MATTERLINE_QUIET_HOURS="08:00-20:00")
    queued = send(store, "The hearing tomorrow is at 8:30.", s, now=MONDAY_10PM, quiet_hours_reason="hearing moved")
    assert verdict(store, queued.id, MONDAY_10PM, s).go


def test_the_confirmation_of_a_stop_still_goes_to_the_opted_out_number(store: Engine) -> None:
    s = settings(MATTERLINE_QUIET_HOURS="08:00-20:00")
    queued = send(store, "Your documents are ready.", s, now=MONDAY_10AM)
    arrives(store, "Please stop texting me, I hired another attorney", MONDAY_10PM)
    with store.connect() as conn:
        confirmation = conn.execute(
            select(messages.c.id, messages.c.body).where(
                messages.c.kind == "confirmation", messages.c.to_number == JANE
            )
        ).one()
    assert "you will not get more texts from us" in confirmation.body
    # At night, to an opted-out number whose consent the staff text needed: the confirmation still goes.
    assert verdict(store, confirmation.id, MONDAY_10PM, s).go
    assert verdict(store, queued.id, MONDAY_10PM, s).code == "recipient_opted_out"


# -- through the sender --------------------------------------------------------------------------------------


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
