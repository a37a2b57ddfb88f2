"""What happens when a client's text is urgent: the thread is flagged, the attorney gets a task, and
after hours the client is told what to do now.

Runs at intake, in the same transaction that files the text, so the flag, the task job and the reply
job land together or not at all. Matterline never answers the question itself: the auto-reply only
gives the firm's emergency instructions, and only once per thread per day.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from connector.compliance import audit
from connector.const import AUTO_REPLY_QUIET
from connector.guardrails import optouts, rules_in_force, urgency
from connector.messaging import filing, texts
from connector.settings import Settings
from connector.store.tables import contacts, matters, messages, threads
from connector.writeback import writer
from connector.writeback.transcripts import URGENT_KIND

AUTO_REPLY_KIND = "auto_reply"


def escalate(
    conn: Connection, row: Any, settings: Settings, decision: filing.Filing, thread_id: int, firm_key: str
) -> urgency.Escalation | None:
    """Flag, task and (after hours) auto-reply for an urgent inbound `row`; None when it is not urgent."""
    found = urgency.classify(row.body or "")
    if found is None:
        return None
    now: datetime = row.created_at
    conn.execute(update(threads).where(threads.c.id == thread_id).values(urgent=True))
    conn.execute(update(messages).where(messages.c.id == row.id).values(kind=URGENT_KIND))
    task = None
    if decision.matter_cms_id is not None:
        task = _queue_task(conn, row, settings, decision.matter_cms_id, found, thread_id)
    replied = None
    if not settings.office.open_at(now.astimezone(settings.zone)):
        replied = _auto_reply(conn, row, settings, decision, thread_id, firm_key, found)
    audit.append(
        conn,
        actor="worker",
        action=audit.Action.ESCALATE,
        subject_type="message",
        subject_id=row.id,
        matter_cms_id=decision.matter_cms_id,
        details={
            "thread": thread_id,
            "categories": list(found.categories),
            "task_writeback": task,
            "auto_reply": replied,
        },
        at=now,
    )
    return found


def _queue_task(
    conn: Connection, row: Any, settings: Settings, matter_cms_id: str, found: urgency.Escalation, thread_id: int
) -> int | None:
    """The attorney's task: one per thread per local day, whichever urgent text (or filing) asks first."""
    local_day = row.created_at.astimezone(settings.zone).date().isoformat()
    subject, body = _task_text(conn, row, settings, matter_cms_id, found, thread_id)
    return writer.queue_task(
        conn,
        thread_id=thread_id,
        matter_cms_id=matter_cms_id,
        trigger=f"escalation:{thread_id}:{local_day}",
        subject=subject,
        body=body,
        now=row.created_at,
    )


def on_filed(conn: Connection, settings: Settings, thread_id: int, matter_cms_id: str) -> int | None:
    """Staff filed a thread that was urgent while it had no matter: its attorney gets the task now.

    The newest text intake marked urgent makes the task, under the same once-per-day trigger, so filing
    a thread that was already tasked adds nothing. A thread staff un-flagged gets none.
    """
    urgent = conn.execute(select(threads.c.urgent).where(threads.c.id == thread_id)).scalar()
    row = (
        conn.execute(
            select(messages)
            .where(messages.c.thread_id == thread_id, messages.c.kind == URGENT_KIND)
            .order_by(messages.c.id.desc())
            .limit(1)
        ).first()
        if urgent
        else None
    )
    found = None if row is None else urgency.classify(row.body or "")
    return None if row is None or found is None else _queue_task(conn, row, settings, matter_cms_id, found, thread_id)


def _task_text(
    conn: Connection, row: Any, settings: Settings, matter_cms_id: str, found: urgency.Escalation, thread_id: int
) -> tuple[str, str]:
    """The task's title and description; with private previews, no client name and no message text."""
    matter = conn.execute(select(matters.c.display_number).where(matters.c.cms_id == matter_cms_id)).scalar()
    label = matter or f"matter {matter_cms_id}"
    what = ", ".join(c.replace("_", " ") for c in found.categories)
    when = row.created_at.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M %Z")
    if settings.private_previews:
        return (
            f"Urgent client text — {label}",
            f"A client text on {label} was flagged urgent ({what}) at {when}. Open thread {thread_id} in "
            "Matterline to read it.",
        )
    name = conn.execute(
        select(contacts.c.name)
        .join(matters, matters.c.client_cms_id == contacts.c.client_key)
        .where(matters.c.cms_id == matter_cms_id)
    ).scalar()
    return (
        f"Urgent text from {name or row.from_number}: {what} — {label}",
        f"Flagged urgent ({what}) at {when} (thread {thread_id}):\n\n{row.body}",
    )


def _auto_reply(
    conn: Connection,
    row: Any,
    settings: Settings,
    decision: filing.Filing,
    thread_id: int,
    firm_key: str,
    found: urgency.Escalation,
) -> int | None:
    """Queue the emergency instructions, through the same guardrails as any send; the message id or None."""
    now: datetime = row.created_at
    if optouts.is_opted_out(conn, row.from_number):
        return None
    recent = conn.execute(
        select(messages.c.id).where(
            messages.c.thread_id == thread_id,
            messages.c.kind == AUTO_REPLY_KIND,
            messages.c.created_at > now - AUTO_REPLY_QUIET,
        )
    ).first()
    if recent is not None:
        return None
    text = emergency_reply(settings, self_harm=found.self_harm)
    if any(f.action == "block" for f in rules_in_force.content_rules(settings).check(text)):
        return None  # the firm's own text trips its rules: staff must fix the setting, not the client wait
    return texts.store(
        conn,
        thread_id=thread_id,
        kind=AUTO_REPLY_KIND,
        firm_key=firm_key,
        to=row.from_number,
        body=text,
        matter_cms_id=decision.matter_cms_id,
        now=now,
        quiet_hours_exempt=True,  # it answers a text the client sent a moment ago
    )


def emergency_reply(settings: Settings, *, self_harm: bool) -> str:
    """The after-hours auto-reply to an urgent text: what to do now, never an answer to the question."""
    text = settings.emergency_reply or (
        f"{settings.firm_name}: we got your message. Our office is closed right now; your attorney will see "
        "it first thing. If you are in danger or this is an emergency, call 911."
    )
    if self_harm and "988" not in text:
        text += " If you are thinking about harming yourself, call or text 988 (Suicide & Crisis Lifeline)."
    return text
