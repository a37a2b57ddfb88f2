"""Sending due reminders: once, as a reminder, in the thread the client already has with the firm and from its
number; never to an opted-out number (skipped, and on record), held for the client's quiet hours, never after
the entry started, and blocked at the last moment by a STOP that came after it was queued."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from connector.compliance.audit import entries
from connector.guardrails import optouts
from connector.messaging import filing
from connector.messaging import sender as twilio_sender
from connector.reminders import due, planner, run
from connector.settings import Settings
from connector.store.tables import messages, outbox, threads
from tests.support.calendar import change, entry, planned
from tests.support.firm import FIRM_NUMBER, JANE, NOW, seed, settings

OTHER_NUMBER = "+14155550111"  # the firm's second number, the one Jane has texted
# An appointment (reminded 24 hours before) on Saturday at 9 AM in Los Angeles: due Friday 9 AM there.
APPOINTMENT = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)
DUE = APPOINTMENT - timedelta(hours=24)


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine)
    return engine


def firm(**env: str) -> Settings:
    return settings(MATTERLINE_FIRM_NUMBERS=f"{FIRM_NUMBER},{OTHER_NUMBER}", **env)


def planned_appointment(engine: Engine, s: Settings, starts_at: datetime = APPOINTMENT) -> Any:
    entry(engine, "a1", event_type="Appointment", starts_at=starts_at, location=None)
    planner.plan(engine, s, now=NOW)
    [reminder] = planned(engine, "a1")
    return reminder


def outbound(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(messages).where(messages.c.direction == "outbound")).all())


def test_a_due_reminder_is_sent_once_as_a_reminder_in_the_clients_thread_from_its_number(store: Engine) -> None:
    s = firm()
    with store.begin() as conn:  # Jane has a thread with the firm's second number
        existing = filing.thread_for(conn, OTHER_NUMBER, JANE, NOW - timedelta(days=3))
    reminder = planned_appointment(store, s)
    assert (reminder.firm_number, reminder.due_at) == (OTHER_NUMBER, DUE)
    assert due.send_due(store, s, now=DUE - timedelta(minutes=1)) == due.DueCounts()  # not due yet
    first = run.run(store, s, DUE + timedelta(minutes=1))
    assert first.due == due.DueCounts(sent=1)
    assert run.run(store, s, DUE + timedelta(minutes=2)).due == due.DueCounts()  # the second round sends nothing
    [text] = outbound(store)
    assert (text.thread_id, text.from_number, text.to_number) == (existing.id, OTHER_NUMBER, JANE)
    assert (text.kind, text.purpose, text.matter_cms_id, text.status) == ("message", "reminder", "101", "pending")
    assert "at the place on your notice" in text.body
    with store.connect() as conn:
        thread = conn.execute(select(threads).where(threads.c.id == existing.id)).one()
        jobs = conn.execute(select(outbox.c.kind)).scalars().all()
    assert (thread.matter_cms_id, thread.filing_rule, thread.message_count) == ("101", "reminder", 1)
    assert jobs == ["sms_send"]
    [sent] = planned(store, "a1")
    assert (sent.state, sent.message_id) == ("sent", text.id)
    [entry_] = [e for e in entries(store) if e["action"] == "send"]
    assert entry_["actor"] == "reminders"
    assert entry_["details"]["purpose"] == "reminder"
    assert entry_["details"]["reminder"] == reminder.id


def test_an_opted_out_client_is_skipped_and_the_attempt_audited(store: Engine) -> None:
    s = firm()
    reminder = planned_appointment(store, s)
    with store.begin() as conn:
        optouts.record(conn, JANE, "opt_out", "keyword", keyword="STOP")
    assert due.send_due(store, s, now=DUE) == due.DueCounts(skipped=1)
    assert outbound(store) == []
    [skipped] = planned(store, "a1")
    assert skipped.state == "skipped"
    assert skipped.reason == f"recipient_opted_out: {JANE} has opted out of texts"
    [blocked] = [e for e in entries(store) if e["action"] == "send_blocked"]
    assert blocked["actor"] == "reminders"
    assert {k: blocked["details"][k] for k in ("reason", "reminder", "purpose")} == {
        "reason": "recipient_opted_out",
        "reminder": reminder.id,
        "purpose": "reminder",
    }


def test_quiet_hours_hold_a_reminder_due_at_night_until_the_clients_morning(store: Engine) -> None:
    s = firm(MATTERLINE_QUIET_HOURS="08:00-20:00")
    dawn = datetime(
        2026, 11, 29, 14, 0, tzinfo=UTC
    )  # an appointment at 6 AM in Los Angeles: due at 6 AM the day before
    planned_appointment(store, s, starts_at=dawn)
    assert due.send_due(store, s, now=dawn - timedelta(hours=24)) == due.DueCounts(held=1)
    [text] = outbound(store)
    assert (text.status, text.scheduled_for) == ("scheduled", datetime(2026, 11, 28, 16, 0, tzinfo=UTC))  # 8 AM


def test_a_reminder_for_an_entry_that_started_or_changed_is_not_sent(store: Engine) -> None:
    s = firm()
    planned_appointment(store, s)
    change(store, "a1", location="Room 2")  # changed in the CMS, not planned again yet
    assert due.send_due(store, s, now=DUE) == due.DueCounts(waiting=1)
    planner.plan(store, s, now=NOW)
    assert due.send_due(store, s, now=APPOINTMENT + timedelta(minutes=1)) == due.DueCounts(skipped=1)
    [late] = planned(store, "a1")
    assert (late.state, late.reason) == ("skipped", "too late: the entry has started")
    assert outbound(store) == []


def test_a_stop_after_the_reminder_was_queued_blocks_its_send(store: Engine) -> None:
    s = firm()
    planned_appointment(store, s)
    assert due.send_due(store, s, now=DUE).sent == 1
    with store.begin() as conn:
        optouts.record(conn, JANE, "opt_out", "keyword", keyword="STOP", at=DUE + timedelta(seconds=1))

    class NoTwilio:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError("a blocked text never reaches Twilio")

    counts = twilio_sender.send_due(store, s, client_factory=lambda _: NoTwilio(), now=DUE + timedelta(seconds=2))
    assert counts.blocked == 1
    [text] = outbound(store)
    assert text.status == "blocked"
