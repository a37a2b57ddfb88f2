"""What changed since a page was drawn, and how many texts a person has not read: the pages' live poll.

Every open page asks every five seconds; nearly always nothing has changed, so that answer must cost
almost nothing. `stamp` is the newest id of each table whose rows change what a page shows (a text, a
delivery status, an audited action such as a read mark, assignment or filing, an opt-out, a send
attempt): five index look-ups, whatever the store's size. Only when it moves does a page redraw.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import Engine, and_, func, select

from connector.store.tables import (
    audit_log,
    messages,
    opt_outs,
    send_attempts,
    status_events,
    thread_reads,
    thread_unread,
)

__all__ = ["BADGE_CAP", "stamp", "unread_total"]

# The badge says "99+" past this: counting further would read every unread text of a busy firm per poll.
BADGE_CAP: Final = 100

_WATCHED: Final = (messages, status_events, audit_log, opt_outs, send_attempts)


def stamp(engine: Engine) -> str:
    """An opaque token that changes whenever anything a page shows may have changed."""
    newest = [select(func.max(table.c.id)).scalar_subquery() for table in _WATCHED]
    with engine.connect() as conn:
        row = conn.execute(select(*newest)).one()
    return ".".join(str(value or 0) for value in row)


def unread_total(engine: Engine, user_id: int) -> int:
    """How many client texts `user_id` has not read in the threads they have unread, up to BADGE_CAP.

    Those threads are theirs to answer (assigned to them, or to nobody: the firm's shared queue) or ones
    they marked unread, so the number is one the person can bring to zero. The read starts from their
    `thread_unread` rows, so a person who has read everything costs one empty index range.
    """
    mark = func.coalesce(thread_reads.c.last_read_message_id, 0)
    unread = (
        select(messages.c.id)
        .select_from(
            thread_unread.join(messages, messages.c.thread_id == thread_unread.c.thread_id).outerjoin(
                thread_reads,
                and_(thread_reads.c.thread_id == thread_unread.c.thread_id, thread_reads.c.user_id == user_id),
            )
        )
        .where(thread_unread.c.user_id == user_id, messages.c.direction == "inbound", messages.c.id > mark)
        .limit(BADGE_CAP)
        .subquery()
    )
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(unread)).scalar_one())
