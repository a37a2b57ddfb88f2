"""Sending the reminders that are due: each one a text in the client's thread, through the same guardrails.

A due reminder becomes an ordinary staff-kind text with purpose "reminder", stored the way a text typed in
the thread is (`messaging.texts.queue_in_thread`): from the firm number the client already texts, held for
quiet hours, on the reminder's matter (a new thread is filed to it), counted in the thread. From there the
sender's own checks at the moment of sending (opt-out, consent, quiet hours) apply as to any staff text.

Before it is queued, the queue-time guardrails run as for a staff text with no override: an opted-out
number, no consent, or a content rule the firm's wording trips skips the reminder, with the refusal's code
and sentence kept on it and a `send_blocked` audit entry. Each reminder is its own transaction, its row
locked (SKIP LOCKED on PostgreSQL), and only a scheduled one is taken: sent once, whatever runs at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Engine, select, tuple_, update

from connector.compliance import audit
from connector.guardrails import pipeline
from connector.messaging import filing, texts
from connector.messaging.purpose import REMINDER
from connector.messaging.segments import measure
from connector.settings import Settings
from connector.store.workflow_tables import calendar_entries, reminders

__all__ = ["ACTOR", "DueCounts", "send_due"]

# How the audit log names the reminders' sender.
ACTOR: Final = "reminders"
STARTED: Final = "too late: the entry has started"
GONE: Final = "the calendar entry is no longer in the store"
CLOSED: Final = "the matter is closed or was deleted in the CMS"


@dataclass
class DueCounts:
    """What a round of due reminders did: texts queued to go now (`sent`) or held for the client's morning
    (`held`), reminders skipped (with their reason), and reminders left for the planner first (`waiting`:
    their entry changed and is not re-planned yet)."""

    sent: int = 0
    skipped: int = 0
    held: int = 0
    waiting: int = 0


def send_due(engine: Engine, settings: Settings, *, now: datetime, batch: int = 100) -> DueCounts:
    """Queue every scheduled reminder due by `now`, `batch` looked up at a time, each in its own transaction."""
    counts = DueCounts()
    after: tuple[datetime, int] | None = None
    while True:
        query = (
            select(reminders.c.id, reminders.c.due_at)
            .where(reminders.c.state == "scheduled", reminders.c.due_at <= now)
            .order_by(reminders.c.due_at, reminders.c.id)
            .limit(batch)
        )
        if after is not None:  # past the ones already looked at (a waiting one stays scheduled)
            query = query.where(tuple_(reminders.c.due_at, reminders.c.id) > tuple_(*after))
        with engine.connect() as conn:
            due = conn.execute(query).all()
        if not due:
            return counts
        for reminder_id, due_at in due:
            with engine.begin() as conn:
                _send_one(conn, settings, reminder_id, now, counts)
            after = (due_at, reminder_id)


def _send_one(conn: Connection, settings: Settings, reminder_id: int, now: datetime, counts: DueCounts) -> None:
    """Take one reminder (unless another worker has it, or it is no longer scheduled) and send or skip it."""
    reminder = conn.execute(
        select(reminders)
        .where(reminders.c.id == reminder_id, reminders.c.state == "scheduled", reminders.c.due_at <= now)
        .with_for_update(skip_locked=True)
    ).first()
    if reminder is None:
        return
    entry = conn.execute(
        select(calendar_entries.c.starts_at, calendar_entries.c.needs_plan).where(
            calendar_entries.c.cms_id == reminder.entry_cms_id
        )
    ).first()
    if entry is not None and entry.needs_plan:
        counts.waiting += 1  # the entry changed: the planner moves or cancels this first
        return
    if entry is None or entry.starts_at is None:
        _skip(conn, reminder, GONE, now, counts)
        return
    if entry.starts_at <= now:
        _skip(conn, reminder, STARTED, now, counts)
        return
    if not filing.live_matter(conn, reminder.matter_cms_id):
        _skip(conn, reminder, CLOSED, now, counts)
        return
    found = pipeline.findings(conn, settings, reminder.body)
    refusal = pipeline.at_queue(
        conn,
        settings,
        phone=reminder.client_phone,
        firm_number=reminder.firm_number,
        found=found,
        override_reason=None,
        now=now,
        body=reminder.body,
        reminder=True,  # many clients get the same reminder text: that is not a blast
    )
    if refusal is not None:
        _skip(conn, reminder, f"{refusal.code}: {refusal.message}", now, counts)
        audit.append(
            conn,
            actor=ACTOR,
            action=audit.Action.SEND_BLOCKED,
            subject_type="reminder",
            subject_id=reminder.id,
            matter_cms_id=reminder.matter_cms_id,
            details={
                "reason": refusal.code,
                "reminder": reminder.id,
                "purpose": REMINDER,
                "to": reminder.client_phone,
                "rules": pipeline.rule_ids(found),
            },
            at=now,
        )
        return
    _queue(conn, settings, reminder, now, counts)


def _queue(conn: Connection, settings: Settings, reminder: Any, now: datetime, counts: DueCounts) -> None:
    """The reminder's text in the client's thread with the firm number, its audit entry, the reminder sent."""
    thread = filing.thread_for(conn, reminder.firm_number, reminder.client_phone, now)
    first = filing.Filing(
        reminder.matter_cms_id, filing.RULE_REMINDER, f"a reminder for matter {reminder.matter_cms_id}", None
    )
    stored = texts.queue_in_thread(
        conn,
        settings,
        thread,
        body=reminder.body,
        matter_cms_id=reminder.matter_cms_id,
        now=now,
        first_filing=first,
        purpose=REMINDER,
    )
    conn.execute(
        update(reminders)
        .where(reminders.c.id == reminder.id)
        .values(state="sent", message_id=stored.id, reason=None, updated_at=now)
    )
    audit.append(
        conn,
        actor=ACTOR,
        action=audit.Action.SEND,
        subject_type="message",
        subject_id=stored.id,
        matter_cms_id=reminder.matter_cms_id,
        details={
            "purpose": REMINDER,
            "reminder": reminder.id,
            "rule": reminder.rule,
            "entry": reminder.entry_cms_id,
            "thread": thread.id,
            "to": reminder.client_phone,
            "segments": measure(reminder.body).segments,
            "scheduled_for": stored.held_until.isoformat() if stored.held_until else None,
        },
        at=now,
    )
    if stored.held_until is not None:
        counts.held += 1
    else:
        counts.sent += 1


def _skip(conn: Connection, reminder: Any, reason: str, now: datetime, counts: DueCounts) -> None:
    conn.execute(
        update(reminders).where(reminders.c.id == reminder.id).values(state="skipped", reason=reason, updated_at=now)
    )
    counts.skipped += 1
