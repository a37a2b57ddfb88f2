"""Intake: the worker's half of an inbound text — thread, filing, counters and the audit entry.

The webhook stores the text and answers; intake, a moment later, puts it in its conversation and on its
matter by the filing chain (`connector.messaging.filing`). Replies the webhook sent in TwiML are threaded the
same way. Texts are taken in arrival order; on PostgreSQL several workers split the work with
FOR UPDATE SKIP LOCKED, and a crash mid-batch leaves the batch for the next round.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select, update

from connector.compliance import audit
from connector.const import INTAKE_BATCH, LOGGER
from connector.messaging import filing, reception, texts, unread, urgent
from connector.messaging.keywords import classify, keyword_only
from connector.messaging.segments import measure
from connector.redaction import describe
from connector.settings import Settings
from connector.store.tables import WAITING_FOR_INTAKE, messages, opt_outs, threads

TWILIO_ACTOR = "twilio"


def firm_key(row: Any, settings: Settings) -> str:
    """The firm side of a thread: the Messaging Service when the text came through it, else the number."""
    service = settings.twilio_messaging_service_sid
    raw = row.raw or {}
    if service and raw.get("MessagingServiceSid") == service:
        return service
    return str(row.to_number if row.direction == "inbound" else row.from_number)


def run(engine: Engine, settings: Settings, *, limit: int = INTAKE_BATCH) -> int:
    """Thread and file up to `limit` waiting texts; returns how many were taken in.

    Each text is taken in a savepoint of its own: one that fails (a bug, a value the store refuses) is
    rolled back alone and set aside with its reason, for an admin to see and retry, and never blocks the
    texts behind it or the rest of the worker's round.
    """
    return _run(engine, settings, limit)[0]


def _run(engine: Engine, settings: Settings, limit: int) -> tuple[int, int]:
    """(texts taken in, texts looked at): a round that looked at none found nothing it could take."""
    taken = 0
    with engine.begin() as conn:
        query = select(messages).where(WAITING_FOR_INTAKE).order_by(messages.c.id).limit(limit)
        rows = conn.execute(query.with_for_update(skip_locked=True)).all()
        for row in rows:
            try:
                with conn.begin_nested():
                    _take(conn, row, settings)
                taken += 1
            except Exception as exc:  # set aside, with its reason, instead of failing the batch
                reason = describe(exc)[:500]
                LOGGER.exception("intake.set_aside message=%s", row.id)
                conn.execute(update(messages).where(messages.c.id == row.id).values(intake_error=reason))
    return taken, len(rows)


def drain(engine: Engine, settings: Settings) -> int:
    """Run until nothing waits; returns how many texts were taken in."""
    total = 0
    while True:
        taken, seen = _run(engine, settings, INTAKE_BATCH)
        total += taken
        if not seen:
            return total


def _take(conn: Connection, row: Any, settings: Settings) -> None:
    client_phone = row.from_number if row.direction == "inbound" else row.to_number
    thread = filing.thread_for(conn, firm_key(row, settings), client_phone, row.created_at)
    conn.execute(update(messages).where(messages.c.id == row.id).values(thread_id=thread.id))
    counters: dict[str, Any] = {
        "message_count": threads.c.message_count + 1,
        "last_message_id": row.id,
    }
    if row.direction != "inbound":
        conn.execute(update(messages).where(messages.c.id == row.id).values(matter_cms_id=thread.matter_cms_id))
        conn.execute(update(threads).where(threads.c.id == thread.id).values(**counters))
        return
    if row.encoding is None:
        segments = measure(row.body)
        conn.execute(
            update(messages)
            .where(messages.c.id == row.id)
            .values(encoding=segments.encoding, num_segments=row.num_segments or segments.segments)
        )
    decision = filing.decide(conn, thread, row.created_at, settings.thread_active_days)
    filing.apply_filing(conn, thread.id, row.id, decision, row.created_at)
    conn.execute(
        update(threads)
        .where(threads.c.id == thread.id)
        .values(**counters, last_message_at=row.created_at, last_inbound_at=row.created_at)
    )
    unread.include(conn, thread.id)
    signal = _plain_language(conn, row, settings, decision, thread.id)
    urgent.escalate(conn, row, settings, decision, thread.id, firm_key(row, settings), signal=signal)
    audit.append(
        conn,
        actor=TWILIO_ACTOR,
        action=audit.Action.RECEIVE,
        subject_type="message",
        subject_id=row.id,
        matter_cms_id=decision.matter_cms_id,
        details={"thread": thread.id, "sid": row.sid, "filing_rule": decision.rule, "media": row.num_media},
        at=row.created_at,
    )


def _answered_later(conn: Connection, row: Any) -> bool:
    """Whether the ledger holds a signal for the sender newer than `row`: later in time, or from a text that
    arrived with it in the same group commit (same instant) but after it."""
    after_it = select(messages.c.sid).where(messages.c.created_at == row.created_at, messages.c.id > row.id)
    newer = or_(
        opt_outs.c.created_at > row.created_at,
        and_(opt_outs.c.created_at == row.created_at, opt_outs.c.message_sid.in_(after_it)),
    )
    found = conn.execute(select(opt_outs.c.id).where(opt_outs.c.phone == row.from_number, newer).limit(1)).first()
    return found is not None


def _plain_language(conn: Connection, row: Any, settings: Settings, decision: filing.Filing, thread_id: int) -> bool:
    """A revocation in the client's own words ("please stop texting me") opts the number out here. True when
    the text is such a signal or a keyword (STOP, START, HELP): triage reads it as one.

    Single keywords were handled by the webhook, so one sent after these words may already be in the
    ledger: signals apply in the order the client sent them, not the order they were read. The one
    confirmation goes out through the outbox; it is the only text the sender lets through to an
    opted-out number.
    """
    if keyword_only(row.body, (row.raw or {}).get("OptOutType")).kind != "none":
        return True
    found = classify(row.body)
    if found.kind != "opt_out":
        return False
    if _answered_later(conn, row):
        # The client said START (or STOP) after these words, and the webhook applied it at once: applying the
        # older words now would undo what they said last. The words stay on record, unapplied.
        audit.append(
            conn,
            actor=f"client:{row.from_number}",
            action=audit.Action.OPT_OUT,
            subject_type="phone",
            subject_id=row.from_number,
            matter_cms_id=decision.matter_cms_id,
            details={"source": found.source, "keyword": found.keyword, "sid": row.sid, "changed": False},
            at=row.created_at,
        )
        return True
    text = reception.record_signal(
        conn,
        row.from_number,
        row.to_number,
        found,
        row.sid,
        settings,
        row.created_at,
        matter_cms_id=decision.matter_cms_id,
    )
    if text is not None:
        texts.store(
            conn,
            thread_id=thread_id,
            kind="confirmation",
            firm_key=firm_key(row, settings),
            to=row.from_number,
            body=text,
            matter_cms_id=decision.matter_cms_id,
            now=row.created_at,
        )
    return True
