"""Conversation windows: closed after a pause, at the firm's day end, or on demand; each becomes write-backs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select, update

from connector import services
from connector.errors import MatterlineError
from connector.messaging import intake, reception
from connector.staff.users import Actor
from connector.store.tables import messages, outbox, windows, writebacks
from connector.writeback.windows import close_due, due_reason
from tests.support.firm import JANE, inbound_form, seed, settings
from tests.support.people import add_user

NY = ZoneInfo("America/New_York")


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine)
    return engine


def text_in(engine: Engine, body: str, at: datetime, from_: str = JANE) -> None:
    s = settings()
    with engine.begin() as conn:
        reception.receive(conn, reception.parse(inbound_form(from_, body), s), s, at)
    intake.drain(engine, s)


def count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def test_a_window_stays_open_until_the_pause_then_becomes_a_transcript_and_a_summary(store: Engine) -> None:
    start = datetime(2026, 11, 27, 9, 14, tzinfo=NY)
    text_in(store, "Is the hearing still on Tuesday?", start)
    text_in(store, "Also, do I need to bring my pay stubs?", start + timedelta(minutes=5))
    assert close_due(store, settings(), now=start + timedelta(minutes=30)) == []
    closed = close_due(store, settings(), now=start + timedelta(minutes=66))
    assert [(c.matter_cms_id, c.messages, c.writebacks) for c in closed] == [("101", 2, 2)]
    with store.connect() as conn:
        rows = conn.execute(
            select(writebacks.c.kind, writebacks.c.subject, writebacks.c.body, writebacks.c.marker)
            .where(writebacks.c.kind != "task")  # the hearing question also tasked the attorney (escalation)
            .order_by(writebacks.c.id)
        ).all()
        reason = conn.execute(select(windows.c.close_reason)).scalar_one()
    assert reason == "idle"
    assert [r.kind for r in rows] == ["transcript", "summary"]
    transcript, summary = rows
    assert transcript.subject.startswith("SMS transcript — Jane Doe — 00101-Doe")
    assert transcript.subject.endswith(f"[{transcript.marker}]")
    assert "2026-11-27 09:14 EST  Jane Doe: Is the hearing still on Tuesday?" in transcript.body
    assert summary.body.startswith("Privileged & Confidential — Attorney–Client Communication")
    assert "do I need to bring my pay stubs?" in summary.body
    # The transcript and the summary; no task: a hearing four days off (Tuesday, asked on a Friday) is not urgent.
    assert count(store, outbox, outbox.c.kind == "cms_write") == 2
    assert count(store, messages, messages.c.window_id.is_(None), messages.c.direction == "inbound") == 0


def test_the_end_of_the_firms_day_closes_a_window_even_mid_conversation(store: Engine) -> None:
    late = datetime(2026, 11, 27, 17, 45, tzinfo=NY)
    text_in(store, "Running late, can we talk tomorrow?", late)
    assert close_due(store, settings(), now=late + timedelta(minutes=10)) == []
    closed = close_due(store, settings(), now=late + timedelta(minutes=16))  # 18:01 local
    assert len(closed) == 1
    with store.connect() as conn:
        assert conn.execute(select(windows.c.close_reason)).scalar_one() == "day_end"


def test_a_text_after_the_window_was_written_goes_into_a_follow_up(store: Engine) -> None:
    start = datetime(2026, 11, 27, 9, 0, tzinfo=NY)
    text_in(store, "First question?", start)
    close_due(store, settings(), now=start, force=True)
    text_in(store, "One more thing I forgot", start + timedelta(minutes=2))
    closed = close_due(store, settings(), now=start + timedelta(minutes=3), force=True)
    assert [c.messages for c in closed] == [1]
    with store.connect() as conn:
        sequences = conn.execute(select(windows.c.sequence).order_by(windows.c.id)).scalars().all()
        follow_up = (
            conn.execute(
                select(writebacks.c.body).where(writebacks.c.kind == "transcript").order_by(writebacks.c.id.desc())
            )
            .scalars()
            .first()
        )
    assert sequences == [1, 2]
    assert "follow-up 1" in str(follow_up)
    assert "First question?" not in str(follow_up)


def test_filing_on_demand_closes_only_that_thread_and_unfiled_texts_wait(store: Engine) -> None:
    start = datetime(2026, 11, 27, 9, 0, tzinfo=NY)
    text_in(store, "hello from Jane", start)
    text_in(store, "who is this?", start, from_="+13105550142")  # unknown number: needs filing
    closed = close_due(store, settings(), now=start, force=True)
    assert [c.matter_cms_id for c in closed] == ["101"]
    assert count(store, messages, messages.c.window_id.is_(None), messages.c.direction == "inbound") == 1


def test_the_record_shows_refused_sends_overrides_and_escalations_but_never_a_refused_body(store: Engine) -> None:
    start = datetime(2026, 11, 27, 9, 0, tzinfo=NY)
    avery, _ = add_user(store, name="Avery Counsel", email="avery@firm.example", role="attorney")
    text_in(store, "They arrested my brother last night, what do we do?", start)
    s = settings()
    with pytest.raises(MatterlineError):
        services.messages.send(
            store,
            s,
            matter_cms_id="101",
            body="Send your SSN 123-45-6789",
            actor=Actor.of(avery),
            now=start + timedelta(minutes=1),
        )
    services.messages.send(
        store,
        s,
        matter_cms_id="101",
        body="The DA offered 40k to settle",
        actor=Actor.of(avery),
        override_reason="client asked for the number",
        now=start + timedelta(minutes=2),
    )
    with store.begin() as conn:  # Twilio took the override's text: it belongs in this window's record
        conn.execute(update(messages).where(messages.c.direction == "outbound").values(status="delivered"))
    close_due(store, s, now=start + timedelta(minutes=3), force=True)
    with store.connect() as conn:
        bodies = dict(
            conn.execute(select(writebacks.c.kind, writebacks.c.body).where(writebacks.c.kind != "task")).all()
        )
    transcript, summary = bodies["transcript"], bodies["summary"]
    assert "123-45-6789" not in transcript + summary
    assert "Avery Counsel" in transcript
    assert "content rules (ssn)" in transcript
    assert "content warning (settlement_amount) overridden by Avery Counsel: client asked for the number" in summary
    escalations = summary.split("Escalations", 1)[1]
    assert "They arrested my brother" in escalations


def test_a_text_held_for_quiet_hours_joins_the_record_only_once_it_went(store: Engine) -> None:
    evening = datetime(2026, 11, 27, 23, 0, tzinfo=NY)  # 20:00 in Los Angeles, where Jane's number is
    text_in(store, "Can we talk tomorrow?", evening)
    s = settings(MATTERLINE_QUIET_HOURS="08:00-20:00")
    held = services.messages.send(
        store, s, matter_cms_id="101", body="Yes, 9am works.", actor=Actor("alice"), now=evening
    )
    assert held.status == "scheduled"
    [closed] = close_due(store, s, now=evening + timedelta(hours=2))
    assert closed.messages == 1  # the client's text only; the held answer has not gone
    with store.connect() as conn:
        transcript = conn.execute(select(writebacks.c.body).where(writebacks.c.kind == "transcript")).scalar_one()
    assert "9am works" not in transcript
    services.messages.cancel(store, held.id, actor=Actor("alice"), reason="client called instead")
    [later] = close_due(store, s, now=evening + timedelta(hours=3))
    assert later.messages == 1
    with store.connect() as conn:
        follow_up = conn.execute(
            select(writebacks.c.body).where(writebacks.c.kind == "transcript").order_by(writebacks.c.id.desc())
        ).first()
    assert follow_up is not None
    assert "9am works" not in follow_up.body
    assert "[not sent: canceled by alice before it was sent: client called instead]" in follow_up.body


@pytest.mark.parametrize(
    ("first", "last", "now", "expected"),
    [
        ("09:00", "09:30", "10:29", None),
        ("09:00", "09:30", "10:30", "idle"),
        ("17:00", "17:55", "18:00", "day_end"),
        ("19:00", "19:10", "19:30", None),  # after the day end: it closes tomorrow evening or when idle
    ],
)
def test_due_reasons(first: str, last: str, now: str, expected: str | None) -> None:
    day = datetime(2026, 11, 27, tzinfo=NY)

    def at(clock: str) -> datetime:
        hour, minute = map(int, clock.split(":"))
        return day.replace(hour=hour, minute=minute)

    assert due_reason(at(first), at(last), at(now), settings()) == expected
