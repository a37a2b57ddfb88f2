"""Who has a thread unread: the rows of `thread_unread`, kept right where a client text is threaded, a
person reads or marks unread, and a thread changes hands.

A thread is unread for a person when a client text came after their read mark while the thread was
theirs to answer (assigned to them, or to nobody: the firm's shared queue), or when they marked it
unread. A text that came while a colleague had the thread is the colleague's to read, and a person who
joins the firm starts with nothing unread. How many texts are unread is still counted from the read mark
(`thread_reads`); the rows say only which threads to count, so the badge and the Unread filter cost what
the person has unread, not every thread the firm has.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, and_, delete, func, literal, or_, select

from connector.store import dialect
from connector.store.tables import messages, thread_reads, thread_unread, threads, users

__all__ = ["include", "read", "rescope"]


def _newest_inbound(thread_id: int) -> ColumnElement[int]:
    return (
        select(func.max(messages.c.id))
        .where(messages.c.thread_id == thread_id, messages.c.direction == "inbound")
        .scalar_subquery()
    )


def include(conn: Connection, thread_id: int, *, only: int | None = None) -> None:
    """Give the thread a row for each active person it is theirs to answer (or for `only`, whoever has it)
    who has not read its newest client text."""
    mark = (
        select(thread_reads.c.last_read_message_id)
        .where(thread_reads.c.thread_id == thread_id, thread_reads.c.user_id == users.c.id)
        .correlate(users)
        .scalar_subquery()
    )
    wanted = [users.c.disabled_at.is_(None), _newest_inbound(thread_id) > func.coalesce(mark, 0)]
    if only is not None:
        wanted.append(users.c.id == only)
    else:
        holder = select(threads.c.assignee_id).where(threads.c.id == thread_id).scalar_subquery()
        wanted.append(or_(holder.is_(None), users.c.id == holder))
    people = select(users.c.id, literal(thread_id)).where(and_(*wanted))
    statement = dialect.insert(conn, thread_unread).from_select(["user_id", "thread_id"], people)
    conn.execute(statement.on_conflict_do_nothing(index_elements=["user_id", "thread_id"]))


def read(conn: Connection, thread_id: int, user_id: int, mark: int) -> None:
    """The person's mark is now `mark`: the row goes when no client text is left after it."""
    behind = conn.execute(select(_newest_inbound(thread_id))).scalar()
    if behind is None or behind <= mark:
        conn.execute(
            delete(thread_unread).where(thread_unread.c.thread_id == thread_id, thread_unread.c.user_id == user_id)
        )


def rescope(conn: Connection, thread_id: int, assignee_id: int | None) -> None:
    """The thread changed hands: a new holder's unread texts are theirs, and nobody else's any longer;
    back in the shared queue, they are everyone's who has not read them."""
    if assignee_id is not None:
        conn.execute(
            delete(thread_unread).where(thread_unread.c.thread_id == thread_id, thread_unread.c.user_id != assignee_id)
        )
    include(conn, thread_id)
