"""Staff correcting triage: a flag that should not have been, or a client text it missed.

A correction is kept with who and when (every one, not just the newest), and it acts at once: a missed
text marked urgent flags its thread and tasks the attorney exactly as triage would have; a wrong flag
taken back clears the thread's flag unless another of its texts is still urgent. The corrected texts are
what `matterline triage corrections` exports for retraining (`export_corrections`, audited like any export of
client texts) and `triage evaluate --firm` scores.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import Engine, insert, select, update

from connector import queries
from connector.compliance import audit
from connector.errors import forbidden, invalid, not_found
from connector.messaging import urgent as escalation
from connector.settings import Settings
from connector.staff.users import ADMIN_ROLES, Actor
from connector.store.engine import utcnow
from connector.store.tables import messages, threads
from connector.store.triage_tables import triage_corrections
from connector.triage.judge import SITUATIONS
from connector.writeback.transcripts import URGENT_KIND

__all__ = ["NOTE_MAX", "correct", "export_corrections"]

NOTE_MAX: Final = 500


def _category(urgent: bool, category: str | None, named: str | None) -> str | None:
    """The situation a correction records: the one given, else the one last named (by staff, else triage)."""
    if not urgent:
        if category not in (None, "", "none"):
            raise invalid("category_needs_urgent", "only an urgent text has a situation", {"field": "category"})
        return None
    chosen = category or named or "other"
    if chosen not in SITUATIONS:
        raise invalid(
            "unknown_category",
            f"category must be one of {', '.join(SITUATIONS)}; got {chosen!r}",
            {"field": "category", "allowed": list(SITUATIONS)},
        )
    return chosen


def correct(
    engine: Engine,
    settings: Settings,
    message_id: int,
    *,
    urgent: bool,
    actor: Actor,
    category: str | None = None,
    note: str | None = None,
) -> queries.triage.TriageView:
    """Say whether client text `message_id` is urgent (and its situation), against what triage decided.

    Raises:
        MatterlineError: not found (no such client text taken in); invalid `unknown_category`,
            `category_needs_urgent` or `note_too_long`.
    """
    text = (note or "").strip() or None
    if text is not None and len(text) > NOTE_MAX:
        raise invalid("note_too_long", f"a note is at most {NOTE_MAX} characters", {"field": "note"})
    now = utcnow()
    with engine.begin() as conn:
        row = conn.execute(
            select(messages).where(messages.c.id == message_id, messages.c.direction == "inbound").with_for_update()
        ).first()
        if row is None or row.thread_id is None:
            raise not_found(f"no client text {message_id} taken in")
        decided = escalation.decided(conn, row)
        chosen = _category(urgent, category, escalation.recorded(conn, row).category or decided.category)
        thread = conn.execute(select(threads.c.id, threads.c.matter_cms_id).where(threads.c.id == row.thread_id)).one()
        conn.execute(
            insert(triage_corrections).values(
                message_id=message_id,
                urgent=urgent,
                category=chosen,
                note=text,
                was_urgent=decided.urgent,
                version=decided.version,
                user_id=actor.user_id,
                actor=actor.label,
                created_at=now,
            )
        )
        task = _act(conn, settings, row, thread, urgent=urgent)
        audit.append(
            conn,
            actor=actor.label,
            action=audit.Action.TRIAGE_CORRECTED,
            subject_type="message",
            subject_id=message_id,
            matter_cms_id=row.matter_cms_id or thread.matter_cms_id,
            request_id=actor.request_id,
            # Never the note: staff may quote the text in it, and the audit log outlives the text.
            details={
                "thread": thread.id,
                "urgent": urgent,
                "category": chosen,
                "was_urgent": decided.urgent,
                "version": decided.version,
                **task,
            },
            at=now,
        )
    return queries.triage.require(engine, message_id)


def _act(
    conn: Any,
    settings: Settings,
    row: Any,
    thread: Any,
    *,
    urgent: bool,
) -> dict[str, int | None]:
    """The correction's effect on the thread: the flag, and the attorney's task (queued for a missed text,
    withdrawn for a wrong flag if it has not started out), as the audit entry names it."""
    if not urgent:
        conn.execute(
            update(messages).where(messages.c.id == row.id, messages.c.kind == URGENT_KIND).values(kind="message")
        )
        still = conn.execute(
            select(messages.c.id).where(messages.c.thread_id == thread.id, messages.c.kind == URGENT_KIND).limit(1)
        ).first()
        conn.execute(update(threads).where(threads.c.id == thread.id).values(urgent=still is not None))
        if still is not None:
            return {"task_withdrawn": None}
        # Nothing in the thread is urgent now: the attorney's task for that day goes only if it has not
        # started out (a task already in the CMS is the attorney's to close there).
        why = "withdrawn: staff marked the text not urgent"
        return {"task_withdrawn": escalation.withdraw_task(conn, row, settings, thread.id, why)}
    escalation.flag(conn, row.id, thread.id)
    if thread.matter_cms_id is None:
        return {"task_writeback": None}  # filing the thread tasks its attorney (`urgent.on_filed`)
    found = escalation.recorded(conn, row)
    return {"task_writeback": escalation.queue_task(conn, row, settings, thread.matter_cms_id, found, thread.id)}


def export_corrections(engine: Engine, settings: Settings, *, actor: Actor) -> list[queries.triage.Corrected]:
    """Every text staff corrected, with its newest label, for retraining; audited as `export`.

    Admins and operators only: it is the firm's client texts, across every matter, leaving the system.
    The audit entry holds the count, never a text: the log outlives the texts retention purges.

    Raises:
        MatterlineError: forbidden `forbidden_role`.
    """
    if actor.user is not None and actor.user.role not in ADMIN_ROLES:
        raise forbidden(
            "forbidden_role",
            "only an admin may export the corrected texts",
            {"role": actor.user.role, "allowed": list(ADMIN_ROLES)},
        )
    found = list(queries.triage.corrected(engine, settings))
    with engine.begin() as conn:
        audit.append(
            conn,
            actor=actor.label,
            action=audit.Action.EXPORT,
            subject_type="triage_corrections",
            request_id=actor.request_id,
            details={"texts": len(found)},
        )
    return found
