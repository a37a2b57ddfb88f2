"""Conversation windows: a thread's texts about one matter, closed after a pause, at the end of the firm's
day, or on demand, and handed to write-back as a transcript and a summary in the same transaction.

A text that arrives after its conversation was written starts a new window: a follow-up transcript.
Nothing is dropped: every sent or received text that is filed to a matter ends up in exactly one window.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from connector.compliance import audit
from connector.const import UNSENT_STATUSES
from connector.settings import Settings
from connector.store.engine import utcnow
from connector.store.tables import audit_log, contacts, matters, messages, threads, users, windows
from connector.writeback import writer
from connector.writeback.summaries import summarize
from connector.writeback.transcripts import Window, WindowMessage, render_transcript

MAX_RECORD_CHARS = 60_000


class _Taken(Exception):
    """Another worker claimed these texts for its window first."""


@dataclass(frozen=True, slots=True)
class Closed:
    """A window that was closed and queued for write-back."""

    window_id: int
    thread_id: int
    matter_cms_id: str
    messages: int
    writebacks: int


def _day_end(first: datetime, settings: Settings) -> datetime:
    local = first.astimezone(settings.zone)
    end = datetime.combine(local.date(), settings.day_end, tzinfo=settings.zone)
    return end if end > local else end + timedelta(days=1)


def due_reason(first: datetime, last: datetime, now: datetime, settings: Settings) -> str | None:
    """Why a window with these first and last texts closes now, or None while it stays open."""
    if now - last >= timedelta(minutes=settings.window_idle_minutes):
        return "idle"
    if now >= _day_end(first, settings):
        return "day_end"
    return None


def close_due(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime | None = None,
    thread_id: int | None = None,
    force: bool = False,
    actor: str = "worker",
) -> list[Closed]:
    """Close every window that is due (all of them with `force`), optionally for one thread."""
    moment = now or utcnow()
    query = (
        select(messages.c.id, messages.c.thread_id, messages.c.matter_cms_id, messages.c.created_at)
        .where(
            messages.c.window_id.is_(None),
            messages.c.thread_id.is_not(None),
            messages.c.matter_cms_id.is_not(None),
            # A text not sent yet is not part of the record yet: it joins a window once it went.
            messages.c.status.not_in(UNSENT_STATUSES),
        )
        .order_by(messages.c.id)
    )
    if thread_id is not None:
        query = query.where(messages.c.thread_id == thread_id)
    groups: dict[tuple[int, str], list[Any]] = defaultdict(list)
    with engine.connect() as conn:
        for row in conn.execute(query):
            groups[(row.thread_id, row.matter_cms_id)].append(row)
    closed = []
    for (thread, matter), rows in groups.items():
        first, last = min(r.created_at for r in rows), max(r.created_at for r in rows)
        reason = "manual" if force else due_reason(first, last, moment, settings)
        if reason is None:
            continue
        try:
            with engine.begin() as conn:
                closed.append(_close(conn, settings, thread, matter, [r.id for r in rows], reason, moment, actor))
        except _Taken:
            continue
    return closed


def _close(
    conn: Connection,
    settings: Settings,
    thread_id: int,
    matter_cms_id: str,
    message_ids: list[int],
    reason: str,
    now: datetime,
    actor: str,
) -> Closed:
    sequence = 1 + int(
        conn.execute(
            select(func.count())
            .select_from(windows)
            .where(windows.c.thread_id == thread_id, windows.c.matter_cms_id == matter_cms_id)
        ).scalar_one()
    )
    rows = conn.execute(select(messages).where(messages.c.id.in_(message_ids)).order_by(messages.c.id)).all()
    window_id = int(
        conn.execute(
            insert(windows)
            .values(
                thread_id=thread_id,
                matter_cms_id=matter_cms_id,
                sequence=sequence,
                opened_at=rows[0].created_at,
                closed_at=now,
                close_reason=reason,
                message_count=len(rows),
                created_at=now,
            )
            .returning(windows.c.id)
        ).scalar_one()
    )
    claimed = conn.execute(
        update(messages)
        .where(messages.c.id.in_(message_ids), messages.c.window_id.is_(None))
        .values(window_id=window_id)
    ).rowcount
    if claimed != len(message_ids):  # another worker closed it first: undo ours, leave it to them
        raise _Taken
    window = _window(conn, settings, thread_id, matter_cms_id, rows, sequence, now)
    made = 0
    common: dict[str, Any] = {
        "thread_id": thread_id,
        "matter_cms_id": matter_cms_id,
        "now": now,
        "window_id": window_id,
    }
    for part in render_transcript(window, settings.zone, max_chars=MAX_RECORD_CHARS):
        writer.queue(conn, "transcript", subject=part.subject, body=part.body, part=part.part, **common)
        made += 1
    note = summarize(window, settings.zone)
    writer.queue(conn, "summary", subject=note.subject, body=note.body, draft=settings.summary_review, **common)
    made += 1
    audit.append(
        conn,
        actor=actor,
        action=audit.Action.WINDOW_CLOSED,
        subject_type="window",
        subject_id=window_id,
        matter_cms_id=matter_cms_id,
        details={"thread": thread_id, "messages": len(rows), "reason": reason, "sequence": sequence},
        at=now,
    )
    return Closed(window_id, thread_id, matter_cms_id, len(rows), made)


def _window(
    conn: Connection,
    settings: Settings,
    thread_id: int,
    matter_cms_id: str,
    rows: Sequence[Any],
    sequence: int,
    now: datetime,
) -> Window:
    thread = conn.execute(select(threads).where(threads.c.id == thread_id)).one()
    matter = conn.execute(
        select(matters.c.display_number, matters.c.description).where(matters.c.cms_id == matter_cms_id)
    ).first()
    client = None
    if thread.client_cms_id is not None:
        client = conn.execute(select(contacts.c.name).where(contacts.c.cms_id == thread.client_cms_id)).scalar()
    if client is None:  # a thread the firm started from the matter: name the matter's client
        client = conn.execute(
            select(contacts.c.name)
            .join(matters, matters.c.client_cms_id == contacts.c.client_key)
            .where(matters.c.cms_id == matter_cms_id, contacts.c.deleted_at.is_(None))
            .order_by(contacts.c.is_client.desc(), contacts.c.id)
            .limit(1)
        ).scalar()
    decisions = conn.execute(
        select(audit_log.c.id, audit_log.c.at, audit_log.c.actor, audit_log.c.action)
        .add_columns(audit_log.c.subject_type, audit_log.c.subject_id, audit_log.c.details)
        .where(
            audit_log.c.matter_cms_id == matter_cms_id,
            audit_log.c.action.in_(_GUARDRAIL_ACTIONS),
            audit_log.c.at >= rows[0].created_at,
            audit_log.c.at <= now,
        )
        .order_by(audit_log.c.id)
    ).all()
    ids = {str(r.id) for r in rows}
    refused = [d for d in decisions if d.subject_type == "thread" and d.subject_id == str(thread_id)]
    overridden = [d for d in decisions if d.subject_type == "message" and d.subject_id in ids]
    author_ids = {r.author_id for r in rows if r.author_id is not None}
    author_ids |= {uid for d in decisions if (uid := _user_id(d.actor)) is not None}
    names = (
        dict(conn.execute(select(users.c.id, users.c.name).where(users.c.id.in_(author_ids))).all())
        if author_ids
        else {}
    )
    stored = [
        WindowMessage(
            id=r.id,
            direction=r.direction,
            kind=r.kind,
            body=r.body,
            status=r.status,
            error_code=r.error_code,
            error_message=r.error_message,
            author=names.get(r.author_id) if r.direction == "outbound" else None,
            media=tuple((m.get("content_type", ""), m.get("url", "")) for m in (r.media or [])),
            # When the client got it: a text held for quiet hours went in the morning, not when it was typed.
            created_at=(r.sent_at or r.created_at) if r.direction == "outbound" else r.created_at,
            blocked=r.status in ("blocked", "canceled"),
        )
        for r in rows
    ]
    # A send refused before it was stored leaves only its audit entry: it shows as blocked, without a body.
    attempts = [
        WindowMessage(
            id=-d.id,
            direction="outbound",
            kind="message",
            body="",
            status="blocked",
            error_code=None,
            error_message=_refusal_reason(d.details or {}),
            author=names.get(_user_id(d.actor) or 0) or d.actor,
            media=(),
            created_at=d.at,
            blocked=True,
        )
        for d in refused
    ]
    notes = tuple((d.at, _override_note(d, names)) for d in overridden)
    return Window(
        thread_id=thread_id,
        matter_cms_id=matter_cms_id,
        matter_display_number=matter.display_number if matter else matter_cms_id,
        matter_description=matter.description if matter else "",
        client_name=client,
        client_phone=thread.client_phone,
        firm_number=thread.firm_number,
        messages=tuple(sorted([*stored, *attempts], key=lambda m: (m.created_at, m.id))),
        opened_at=rows[0].created_at,
        closed_at=now,
        part_of=f"follow-up {sequence - 1}" if sequence > 1 else None,
        guardrail_notes=notes,
    )


# Audit actions that the window's record reports: refused sends, and texts sent past a guardrail.
_GUARDRAIL_ACTIONS = ("send_blocked", "override", "quiet_hours_override")
_REFUSALS = {
    "recipient_opted_out": "the client had opted out",
    "consent_required": "no consent to texts on record",
    "content_rule": "content rules",
    "rules_unavailable": "the content rules could not be read",
}


def _user_id(actor: str) -> int | None:
    """The user id in an audit actor (`user:ID:email`), or None for the worker, the CLI or Twilio."""
    parts = actor.split(":")
    return int(parts[1]) if len(parts) >= 2 and parts[0] == "user" and parts[1].isdigit() else None


def _refusal_reason(details: dict[str, Any]) -> str:
    reason = str(details.get("reason", ""))
    rules = details.get("rules") or []
    text = _REFUSALS.get(reason, reason or "refused by the firm's texting guardrails")
    return f"{text} ({', '.join(rules)})" if reason == "content_rule" and rules else text


def _override_note(decision: Any, names: dict[int, str]) -> str:
    who = names.get(_user_id(decision.actor) or 0) or decision.actor
    details = decision.details or {}
    if decision.action == "override":
        rules = ", ".join(details.get("rules") or [])
        return f"content warning ({rules}) overridden by {who}: {details.get('reason', '')}"
    return f"sent during the client's quiet hours by {who}: {details.get('reason', '')}"
