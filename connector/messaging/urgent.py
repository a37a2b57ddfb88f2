"""What happens when a client's text is urgent: the thread is flagged, the attorney gets a task, and
after hours the client is told what to do now.

Runs at intake, in the same transaction that files the text, so the flag, the task job and the reply
job land together or not at all. Matterline never answers the question itself: the auto-reply only
gives the firm's emergency instructions, and only once per thread per day.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from connector.compliance import audit
from connector.const import AUTO_REPLY_QUIET
from connector.guardrails import optouts, pipeline, rules_in_force
from connector.messaging import filing, texts
from connector.settings import Settings
from connector.store.tables import contacts, matters, messages, threads, users
from connector.store.triage_tables import triage_corrections, triage_decisions
from connector.triage import judge
from connector.triage.model import Decision
from connector.writeback import writer
from connector.writeback.transcripts import URGENT_KIND

AUTO_REPLY_KIND = "auto_reply"
_SIGNAL = "an opt-out or keyword: only self-harm or crisis language flags it"


def escalate(
    conn: Connection,
    row: Any,
    settings: Settings,
    decision: filing.Filing,
    thread_id: int,
    firm_key: str,
    *,
    signal: bool = False,
) -> Decision:
    """Triage the inbound `row` and record why; when it is urgent, flag, task and (after hours) auto-reply.

    The text's dates are read against its arrival in the client's own zone (their CMS time zone, state or
    area code), so "tomorrow" means the client's tomorrow. A `signal` (a keyword, or an opt-out in the
    client's words: "please don't text me anymore") is urgent only by self-harm or crisis language: the
    opt-out itself is handled, and its words read like distress to the model.
    """
    zone = pipeline.recipient_for(conn, settings, row.from_number).zones[0]
    found = judge.decide(row.body or "", row.created_at.astimezone(zone).replace(tzinfo=None))
    if signal and found.urgent and found.rule in (None, "self_harm_model"):
        found = replace(found, urgent=False, category=None, rule=None, reasons=(_SIGNAL, *found.reasons))
    now: datetime = row.created_at
    conn.execute(
        insert(triage_decisions).values(
            message_id=row.id,
            urgent=found.urgent,
            probability=found.probability,
            category=found.category,
            rule=found.rule,
            reasons=list(found.reasons),
            date_read=found.date_read,
            version=found.version,
            decided_at=now,
        )
    )
    if not found.urgent:
        return found
    flag(conn, row.id, thread_id)
    task = None
    if decision.matter_cms_id is not None:
        task = queue_task(conn, row, settings, decision.matter_cms_id, found, thread_id)
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
        # Never the reasons: they quote the text, and the audit log outlives it.
        details={
            "thread": thread_id,
            "category": found.category,
            "rule": found.rule,
            "probability": found.probability,
            "version": found.version,
            "task_writeback": task,
            "auto_reply": replied,
        },
        at=now,
    )
    return found


def flag(conn: Connection, message_id: int, thread_id: int) -> None:
    """Mark the text urgent and flag its thread: what an urgent text, or staff marking a missed one, sets."""
    conn.execute(update(threads).where(threads.c.id == thread_id).values(urgent=True))
    conn.execute(update(messages).where(messages.c.id == message_id).values(kind=URGENT_KIND))


def queue_task(
    conn: Connection, row: Any, settings: Settings, matter_cms_id: str, found: Decision, thread_id: int
) -> int | None:
    """The attorney's task: one per thread per local day, whichever urgent text (or filing) asks first."""
    subject, body = _task_text(conn, row, settings, matter_cms_id, found, thread_id)
    return writer.queue_task(
        conn,
        thread_id=thread_id,
        matter_cms_id=matter_cms_id,
        trigger=_trigger(row, settings, thread_id),
        subject=subject,
        body=body,
        now=row.created_at,
    )


def withdraw_task(conn: Connection, row: Any, settings: Settings, thread_id: int, why: str) -> int | None:
    """Take back the attorney's task of `row`'s day in its thread, if it has not started out to the CMS."""
    return writer.withdraw_task(conn, trigger=_trigger(row, settings, thread_id), why=why)


def _trigger(row: Any, settings: Settings, thread_id: int) -> str:
    return f"escalation:{thread_id}:{row.created_at.astimezone(settings.zone).date().isoformat()}"


def recorded(conn: Connection, row: Any) -> Decision:
    """What is decided about `row` now: staff's newest correction, else what triage decided when it came in,
    else (a text from before decisions were kept) what the escalation rules say of it now."""
    fixed = conn.execute(
        select(triage_corrections, users.c.name)
        .outerjoin(users, users.c.id == triage_corrections.c.user_id)
        .where(triage_corrections.c.message_id == row.id)
        .order_by(triage_corrections.c.id.desc())
        .limit(1)
    ).first()
    if fixed is not None:
        marked = "urgent" if fixed.urgent else "not urgent"
        why = f"marked {marked} by {fixed.name or fixed.actor}" + (f": {fixed.note}" if fixed.note else "")
        return Decision(fixed.urgent, None, fixed.category, (why,), None, None, judge.STAFF_VERSION)
    return decided(conn, row)


def decided(conn: Connection, row: Any) -> Decision:
    """What triage decided about `row` when it came in, whatever staff said since; for a text from before
    decisions were kept, what the escalation rules say of it now."""
    kept = conn.execute(select(triage_decisions).where(triage_decisions.c.message_id == row.id)).first()
    if kept is None:
        return judge.rules_decision(row.body or "")
    return Decision(
        urgent=kept.urgent,
        probability=kept.probability,
        category=kept.category,
        reasons=tuple(kept.reasons or ()),
        date_read=kept.date_read,
        rule=kept.rule,
        version=kept.version,
    )


def on_filed(conn: Connection, settings: Settings, thread_id: int, matter_cms_id: str) -> int | None:
    """Staff filed a thread that was urgent while it had no matter: its attorney gets the task now.

    The newest text marked urgent makes the task, under the same once-per-day trigger, so filing a thread
    that was already tasked adds nothing. A thread staff un-flagged gets none.
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
    return None if row is None else queue_task(conn, row, settings, matter_cms_id, recorded(conn, row), thread_id)


def _task_text(
    conn: Connection, row: Any, settings: Settings, matter_cms_id: str, found: Decision, thread_id: int
) -> tuple[str, str]:
    """The task's title and description; with private previews, no client name, no message text, and no
    reasons (they quote the text)."""
    matter = conn.execute(select(matters.c.display_number).where(matters.c.cms_id == matter_cms_id)).scalar()
    label = matter or f"matter {matter_cms_id}"
    what = judge.situation(found.category)
    when = row.created_at.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M %Z")
    if settings.private_previews:
        return (
            f"Urgent client text — {label}",
            f"A client text on {label} was flagged urgent ({what}) at {when}. Open thread {thread_id} in "
            f"Matterline to read it and why it was flagged.\n\n{_provenance(found)}",
        )
    name = conn.execute(
        select(contacts.c.name)
        .join(matters, matters.c.client_cms_id == contacts.c.client_key)
        .where(matters.c.cms_id == matter_cms_id)
    ).scalar()
    return (
        f"Urgent text from {name or row.from_number}: {what} — {label}",
        f"Flagged urgent ({what}) at {when} (thread {thread_id}):\n\n{row.body}\n\n{explain(found)}",
    )


def explain(found: Decision) -> str:
    """Why triage flagged a text, for the attorney's task: the signals, the date it read, and which model."""
    lines = []
    if found.reasons:
        lines.append("Why: " + "; ".join(found.reasons) + ".")
    if found.date_read:
        lines.append(f"Date read: {found.date_read}.")
    lines.append(_provenance(found))
    return "\n".join(lines)


def _provenance(found: Decision) -> str:
    if found.version == judge.STAFF_VERSION:
        return "Marked urgent by staff in Matterline."
    who = "the escalation rules" if found.version == judge.RULES_VERSION else f"the triage model {found.version}"
    sure = "" if found.probability is None else f", {found.probability:.0%} sure"
    return f"Decided by {who}{sure}. If the flag is wrong, mark it in the thread: corrections teach the next model."


def _auto_reply(
    conn: Connection,
    row: Any,
    settings: Settings,
    decision: filing.Filing,
    thread_id: int,
    firm_key: str,
    found: Decision,
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
    if any(f.action == "block" for f in rules_in_force.content_rules(settings, conn).check(text)):
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
