"""An outgoing text stored with the job that sends it, in the caller's transaction: staff texts and Matterline's own.

Whoever sends (staff from the API, the CLI or a page; intake confirming a STOP in words; the emergency
reply), the message row and its outbox job land together or not at all, and the job's key makes a
second enqueue of the same message a no-op. The worker's sender takes it from there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, insert

from connector.jobs import kinds, outbox
from connector.messaging.purpose import of_kind
from connector.messaging.segments import measure
from connector.store.tables import messages

__all__ = ["store"]


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
