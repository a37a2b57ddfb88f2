"""An outgoing text stored with the job that sends it, in the caller's transaction: staff texts and Matterline's own.

Whoever sends (staff from the API, the CLI or a page; intake confirming a STOP in words; the emergency
reply), the message row and its outbox job land together or not at all, and the job's key makes a
second enqueue of the same message a no-op. The worker's sender takes it from there.

`queue_in_thread` is the part a staff text and a reminder share: held for quiet hours, stored, the new thread
filed by it, the thread's counters moved on. One function, so a reminder lands in a thread exactly as a text
typed in it would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, update

from connector.guardrails import pipeline
from connector.jobs import kinds, outbox
from connector.messaging import filing
from connector.messaging.purpose import of_kind
from connector.messaging.segments import measure
from connector.settings import Settings
from connector.store.tables import messages, threads

__all__ = ["Stored", "queue_in_thread", "store"]


def store(
    conn: Connection,
    *,
    thread_id: int,
    kind: str,
    firm_key: str,
    to: str,
    body: str,
    matter_cms_id: str | None,
    now: datetime,
    media_urls: Sequence[str] | None = None,
    author_id: int | None = None,
    held_until: datetime | None = None,
    quiet_hours_exempt: bool = False,
    purpose: str | None = None,
) -> int:
    """Store one outgoing text and queue its send (at `held_until` when quiet hours hold it); the message id.

    `purpose` (messaging.purpose) is the kind's own unless given: a reminder says so."""
    segments = measure(body)
    message_id = int(
        conn.execute(
            insert(messages)
            .values(
                thread_id=thread_id,
                direction="outbound",
                kind=kind,
                purpose=purpose or of_kind(kind),
                from_number=firm_key,
                to_number=to,
                body=body,
                encoding=segments.encoding,
                num_segments=segments.segments,
                num_media=len(media_urls or ()),
                # Staff texts record their (possibly empty) media list; Matterline's own texts have none.
                media=None if media_urls is None else [{"url": url, "content_type": ""} for url in media_urls],
                status="scheduled" if held_until else "pending",
                scheduled_for=held_until,
                quiet_hours_exempt=quiet_hours_exempt,
                matter_cms_id=matter_cms_id,
                author_id=author_id,
                created_at=now,
            )
            .returning(messages.c.id)
        ).scalar_one()
    )
    outbox.enqueue(conn, kinds.SEND, kinds.send_key(message_id), {"message_id": message_id}, now=now, due=held_until)
    return message_id


@dataclass(frozen=True, slots=True)
class Stored:
    """A text `queue_in_thread` stored: its id, when quiet hours hold it until (None: it goes now), and whether
    the sender's reason let it go during quiet hours."""

    id: int
    held_until: datetime | None
    exempt: bool


def queue_in_thread(
    conn: Connection,
    settings: Settings,
    thread: Any,
    *,
    body: str,
    matter_cms_id: str | None,
    now: datetime,
    first_filing: filing.Filing | None = None,
    media_urls: Sequence[str] | None = None,
    author_id: int | None = None,
    quiet_hours_override: bool = False,
    purpose: str | None = None,
) -> Stored:
    """Store a text (kind "message") on `thread` with its send job, after the guardrails let it be queued.

    Quiet hours hold it until the recipient's morning unless `quiet_hours_override` (a reason was given).
    `first_filing` files a new thread (no matter, no texts yet) by this, its first text: the matter a staff
    text was sent from, or a reminder's. The thread's counters count the text.
    """
    held_until = pipeline.hold_until(conn, settings, thread.client_phone, now)
    exempt = held_until is not None and quiet_hours_override
    if exempt:
        held_until = None
    message_id = store(
        conn,
        thread_id=thread.id,
        kind="message",
        firm_key=thread.firm_number,
        to=thread.client_phone,
        body=body,
        matter_cms_id=matter_cms_id,
        now=now,
        media_urls=media_urls,
        author_id=author_id,
        held_until=held_until,
        quiet_hours_exempt=exempt,
        purpose=purpose,
    )
    if first_filing is not None and thread.matter_cms_id is None and thread.message_count == 0:
        # A new thread's first text decides its matter (a move of a filed thread is the caller's).
        filing.apply_filing(conn, thread.id, None, first_filing, now, actor_id=author_id)
    conn.execute(
        update(threads)
        .where(threads.c.id == thread.id)
        .values(message_count=threads.c.message_count + 1, last_message_at=now, last_message_id=message_id)
    )
    return Stored(message_id, held_until, exempt)
