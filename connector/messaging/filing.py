"""Threads and matter linking: which conversation a text belongs to, and which matter it is filed to.

A thread is a firm number × a client phone, so one conversation stays one conversation whatever it is
about. Each inbound text is filed by a fixed chain of rules, never by a guess; when no rule applies,
the thread goes to *needs filing* where staff decide. Every decision records the rule that made it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from connector.errors import invalid, not_found
from connector.messaging.purpose import REMINDER
from connector.store import dialect
from connector.store.tables import contact_phones, contacts, filing_decisions, matters, messages, threads
from connector.writeback import writer

# A matter is "still open" unless it is closed: a pending matter (intake) is live work too.
LIVE_STATUSES = ("open", "pending")

RULE_RECENT_THREAD = "recent_thread"
RULE_LAST_OUTBOUND = "last_outbound"
RULE_ONLY_OPEN_MATTER = "only_open_matter"
RULE_NEEDS_FILING = "needs_filing"
RULE_OUTBOUND = "sent_from_matter"
RULE_MANUAL = "manual"
# A reminder the firm's rules planned is a new thread's first text: the thread is filed to the reminder's matter.
RULE_REMINDER = "reminder"
# A reply to a reminder: the client answers about the entry the reminder was for, so its matter.
RULE_REMINDER_REPLY = "reminder_reply"
# Statuses of a text that never reached the client.
_NEVER_REACHED = ("blocked", "canceled", "failed", "undelivered")


@dataclass(frozen=True, slots=True)
class Filing:
    """Where a text goes and why."""

    matter_cms_id: str | None
    rule: str
    detail: str
    client_cms_id: str | None

    @property
    def filed(self) -> bool:
        """False when the text waits in needs filing."""
        return self.matter_cms_id is not None


def thread_for(conn: Connection, firm_number: str, client_phone: str, now: datetime) -> Row[Any]:
    """The thread for this pair, created when new; safe under concurrent first texts."""
    new = {
        "firm_number": firm_number,
        "client_phone": client_phone,
        "state": RULE_NEEDS_FILING,
        "filing_rule": RULE_NEEDS_FILING,
        "urgent": False,
        "message_count": 0,
        "created_at": now,
    }
    dialect.insert_ignore(conn, threads, new, ["firm_number", "client_phone"])
    return conn.execute(
        select(threads).where(threads.c.firm_number == firm_number, threads.c.client_phone == client_phone)
    ).one()


def live_matter(conn: Connection, cms_id: str | None) -> bool:
    """Whether `cms_id` is a matter in the store that is still live work (open or pending)."""
    if cms_id is None:
        return False
    status = conn.execute(
        select(matters.c.status).where(matters.c.cms_id == cms_id, matters.c.deleted_at.is_(None))
    ).scalar()
    return status in LIVE_STATUSES


def owners_of(conn: Connection, phone: str) -> list[Any]:
    """The synced contacts (not deleted) that have this number."""
    return list(
        conn.execute(
            select(contacts.c.cms_id, contacts.c.client_key, contacts.c.name)
            .join(contact_phones, contact_phones.c.contact_id == contacts.c.id)
            .where(contact_phones.c.e164 == phone, contacts.c.deleted_at.is_(None))
            .distinct()
        ).all()
    )


def decide(conn: Connection, thread: Row[Any], now: datetime, active_days: int) -> Filing:
    """The filing chain: a reply to a reminder, recent thread, last outbound text, the client's only open
    matter, else needs filing.

    A number several contacts share goes to needs filing before any rule runs: the thread's matter and
    the last text the firm sent say who the firm was talking to, not who is texting now, so any of
    them would be a guess between people (and their matters).

    A reply to a reminder comes before the thread's matter: a client with two matters answers the court-date
    reminder about the matter the court date is on, whatever the thread was last filed to.
    """
    owners = owners_of(conn, thread.client_phone)
    if len(owners) > 1:
        return Filing(None, RULE_NEEDS_FILING, f"number shared by {len(owners)} contacts", None)
    client = owners[0].cms_id if owners else None
    reminded = _reminder_matter(conn, thread, now, active_days)
    if reminded is not None:
        return Filing(reminded, RULE_REMINDER_REPLY, "matter of the reminder the firm just sent", client)
    recent = thread.last_message_at is not None and now - thread.last_message_at <= timedelta(days=active_days)
    if recent and live_matter(conn, thread.matter_cms_id):
        return Filing(thread.matter_cms_id, RULE_RECENT_THREAD, f"thread active within {active_days} days", client)
    last_out = conn.execute(
        select(messages.c.matter_cms_id)
        .where(
            messages.c.to_number == thread.client_phone,
            messages.c.direction == "outbound",
            messages.c.kind == "message",
            messages.c.matter_cms_id.is_not(None),
        )
        .order_by(messages.c.created_at.desc(), messages.c.id.desc())
        .limit(1)
    ).scalar()
    if live_matter(conn, last_out):
        return Filing(last_out, RULE_LAST_OUTBOUND, "matter of the last text the firm sent to this number", client)
    if not owners:
        return Filing(None, RULE_NEEDS_FILING, "unknown number", None)
    open_matters = list(
        conn.execute(
            select(matters.c.cms_id).where(
                matters.c.client_cms_id == owners[0].client_key,
                matters.c.status.in_(LIVE_STATUSES),
                matters.c.deleted_at.is_(None),
            )
        ).scalars()
    )
    if len(open_matters) == 1:
        return Filing(open_matters[0], RULE_ONLY_OPEN_MATTER, "the client's only open matter", client)
    reason = "no open matter" if not open_matters else f"{len(open_matters)} open matters"
    return Filing(None, RULE_NEEDS_FILING, reason, client)


def _reminder_matter(conn: Connection, thread: Row[Any], now: datetime, active_days: int) -> str | None:
    """The matter of the firm's newest text in the thread when it is a reminder sent within `active_days` and
    the matter is live; else None. A text that never reached the client (blocked, canceled, failed) is no
    text the client answers."""
    newest = conn.execute(
        select(messages.c.purpose, messages.c.matter_cms_id, messages.c.created_at)
        .where(
            messages.c.thread_id == thread.id,
            messages.c.direction == "outbound",
            messages.c.kind == "message",
            messages.c.created_at <= now,
            messages.c.status.not_in(_NEVER_REACHED),
        )
        .order_by(messages.c.id.desc())  # the thread's index, newest first
        .limit(1)
    ).first()
    if newest is None or newest.purpose != REMINDER or now - newest.created_at > timedelta(days=active_days):
        return None
    matter: str | None = newest.matter_cms_id
    return matter if live_matter(conn, matter) else None


def apply_filing(
    conn: Connection,
    thread_id: int,
    message_id: int | None,
    filing: Filing,
    now: datetime,
    *,
    actor_id: int | None = None,
) -> None:
    """Record the decision and move the message and thread to where it says."""
    previous = None
    if message_id is not None:
        previous = conn.execute(select(messages.c.matter_cms_id).where(messages.c.id == message_id)).scalar()
        conn.execute(update(messages).where(messages.c.id == message_id).values(matter_cms_id=filing.matter_cms_id))
    conn.execute(
        insert(filing_decisions).values(
            thread_id=thread_id,
            message_id=message_id,
            matter_cms_id=filing.matter_cms_id,
            previous_matter_cms_id=previous,
            rule=filing.rule,
            detail=filing.detail,
            actor_id=actor_id,
            created_at=now,
        )
    )
    values: dict[str, Any] = {"filing_rule": filing.rule}
    if filing.filed:
        values.update(state="filed", matter_cms_id=filing.matter_cms_id)
    else:
        values.update(state=RULE_NEEDS_FILING)
    if filing.client_cms_id is not None:
        values["client_cms_id"] = filing.client_cms_id
    conn.execute(update(threads).where(threads.c.id == thread_id).values(**values))


def _require_matter(conn: Connection, cms_id: str) -> None:
    if not conn.execute(
        select(func.count()).select_from(matters).where(matters.c.cms_id == cms_id, matters.c.deleted_at.is_(None))
    ).scalar_one():
        raise invalid(
            "unknown_matter", f"no matter {cms_id!r} in the store (run `matterline sync`?)", {"field": "matter_cms_id"}
        )


def refile_message(
    conn: Connection, message_id: int, matter_cms_id: str, *, actor: str, actor_id: int | None, now: datetime
) -> str | None:
    """Staff move one message to another matter; the decision records who. A text already in a written
    transcript gets a correction note on both matters, so the record is never silently wrong. Returns the
    matter it was filed to before.

    Raises:
        MatterlineError: not found (the message); invalid `unknown_matter`.
    """
    message = conn.execute(select(messages).where(messages.c.id == message_id).with_for_update()).first()
    if message is None:
        raise not_found(f"no message {message_id}")
    _require_matter(conn, matter_cms_id)
    filing = Filing(matter_cms_id, RULE_MANUAL, f"re-filed by {actor}", None)
    conn.execute(update(messages).where(messages.c.id == message_id).values(matter_cms_id=matter_cms_id))
    conn.execute(
        insert(filing_decisions).values(
            thread_id=message.thread_id,
            message_id=message_id,
            matter_cms_id=matter_cms_id,
            previous_matter_cms_id=message.matter_cms_id,
            rule=filing.rule,
            detail=filing.detail,
            actor_id=actor_id,
            created_at=now,
        )
    )
    if message.matter_cms_id is not None and message.matter_cms_id != matter_cms_id:
        writer.queue_correction(conn, message, message.matter_cms_id, matter_cms_id, actor, now)
    previous: str | None = message.matter_cms_id
    return previous


def refile_thread(
    conn: Connection,
    thread_id: int,
    matter_cms_id: str,
    *,
    actor: str,
    actor_id: int | None,
    now: datetime,
    rule: str = RULE_MANUAL,
    reason: str | None = None,
) -> int:
    """Staff file a thread to a matter: it becomes the thread's matter, and its unfiled texts go there.

    `rule` and `reason` say how (by hand, by default; or by texting from the matter).

    Returns the number of messages filed.

    Raises:
        MatterlineError: invalid `unknown_matter`.
    """
    _require_matter(conn, matter_cms_id)
    unfiled = list(
        conn.execute(
            select(messages.c.id).where(messages.c.thread_id == thread_id, messages.c.matter_cms_id.is_(None))
        ).scalars()
    )
    filing = Filing(matter_cms_id, rule, reason or f"filed by {actor}", None)
    for message_id in unfiled:
        apply_filing(conn, thread_id, message_id, filing, now, actor_id=actor_id)
    apply_filing(conn, thread_id, None, filing, now, actor_id=actor_id)
    return len(unfiled)
