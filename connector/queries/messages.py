"""A thread's texts as staff read them: who sent each, what it said, where it is filed, how it fared.

Pages are keyset by message id (ids only grow), newest first, so each page is one range scan of
`ix_messages_thread_id_id` however deep the caller has paged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, Select, select

from connector.errors import bad_parameter, not_found
from connector.messaging.purpose import of_kind
from connector.queries.threads import DEFAULT_LIMIT, check_limit
from connector.store.tables import messages, threads, users

__all__ = ["MessageView", "get", "listing"]


@dataclass(frozen=True, slots=True)
class MessageView:
    """One text in a thread; `author` is the sender as a person would name them (email, or the client's phone)."""

    id: int
    thread_id: int
    sid: str | None
    direction: str
    kind: str
    body: str
    status: str
    error_code: int | None
    error_message: str | None
    matter_cms_id: str | None
    author: str | None
    num_segments: int | None
    encoding: str | None
    media: tuple[dict[str, str], ...]
    created_at: datetime
    # When a text held for the recipient's quiet hours goes (status "scheduled"); null otherwise.
    scheduled_for: datetime | None
    # Set once retention purged the body and media: `body` is empty and `body_sha256` proves what it was.
    purged_at: datetime | None
    # Why it was sent (messaging.purpose): conversation, reminder (from the CMS calendar) or notice.
    purpose: str


def _message_query() -> Select[Any]:
    return select(
        messages.c.id,
        messages.c.thread_id,
        messages.c.sid,
        messages.c.direction,
        messages.c.kind,
        messages.c.body,
        messages.c.status,
        messages.c.error_code,
        messages.c.error_message,
        messages.c.matter_cms_id,
        messages.c.from_number,
        messages.c.num_segments,
        messages.c.encoding,
        messages.c.media,
        messages.c.created_at,
        messages.c.scheduled_for,
        messages.c.purged_at,
        messages.c.purpose,
        users.c.email.label("author_email"),
    ).select_from(messages.outerjoin(users, users.c.id == messages.c.author_id))


def _message_view(row: Row[Any]) -> MessageView:
    media = tuple({str(k): str(v) for k, v in item.items()} for item in (row.media or []) if isinstance(item, dict))
    return MessageView(
        id=row.id,
        thread_id=row.thread_id,
        sid=row.sid,
        direction=row.direction,
        kind=row.kind,
        body=row.body,
        status=row.status,
        error_code=row.error_code,
        error_message=row.error_message,
        matter_cms_id=row.matter_cms_id,
        author=row.from_number if row.direction == "inbound" else row.author_email,
        num_segments=row.num_segments,
        encoding=row.encoding,
        media=media,
        created_at=row.created_at,
        scheduled_for=row.scheduled_for if row.status == "scheduled" else None,
        purged_at=row.purged_at,
        purpose=row.purpose or of_kind(row.kind),
    )


def listing(
    engine: Engine, thread_id: int, *, before_id: int | None = None, limit: int = DEFAULT_LIMIT
) -> tuple[list[MessageView], int | None]:
    """A page of a thread's messages, newest first, and the `before_id` of the next page (None on the last).

    Message ids only grow, so the id is the keyset: each page is one range scan of
    `ix_messages_thread_id_id`, however deep the caller has paged.

    Raises:
        MatterlineError: not found (thread); malformed `invalid_parameter` for a bad limit or before_id.
    """
    check_limit(limit)
    if before_id is not None and (isinstance(before_id, bool) or not isinstance(before_id, int) or before_id < 1):
        raise bad_parameter("before", "before must be a message id (a positive whole number)")
    query = _message_query().where(messages.c.thread_id == thread_id)
    if before_id is not None:
        query = query.where(messages.c.id < before_id)
    query = query.order_by(messages.c.id.desc()).limit(limit + 1)
    with engine.connect() as conn:
        if conn.execute(select(threads.c.id).where(threads.c.id == thread_id)).first() is None:
            raise not_found(f"no thread {thread_id}")
        rows = conn.execute(query).all()
    views = [_message_view(row) for row in rows[:limit]]
    return views, (views[-1].id if len(rows) > limit else None)


def get(engine: Engine, message_id: int) -> MessageView | None:
    """One message, or None when there is no such message."""
    with engine.connect() as conn:
        row = conn.execute(_message_query().where(messages.c.id == message_id)).first()
    return None if row is None else _message_view(row)
