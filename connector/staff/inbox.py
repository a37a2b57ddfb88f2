"""The firm inbox: the thread and message listings, read state, assignment and the urgent flag.

The JSON API and the CLI both read threads through these functions, so a filter means the same thing
wherever it is used. The listings are built for a store of a million messages: pages are keyset
(newest activity first, resumed from an opaque cursor, never an OFFSET), nothing counts all messages,
and the per-person numbers (unread count, opt-out state, names) are computed only for the page of
threads being returned. Changes (assign, mark read, urgent) are audited in the transaction that makes them.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Select,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    true,
    union,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from connector.compliance import audit
from connector.staff.users import User
from connector.store.engine import utcnow
from connector.store.tables import contacts, matters, messages, opt_outs, thread_reads, threads, users

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "InboxError",
    "MessageView",
    "NotFound",
    "ThreadView",
    "assign",
    "get_message",
    "get_thread",
    "list_messages",
    "list_threads",
    "mark_read",
    "set_urgent",
]

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 200


class InboxError(ValueError):
    """A request that cannot be answered as asked; `parameter` names the argument at fault."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


class NotFound(LookupError):
    """An unknown thread or message."""


@dataclass(frozen=True, slots=True)
class ThreadView:
    """One conversation as a person in the firm sees it: where it is filed, who has it, what they have not read."""

    id: int
    firm_number: str
    client_phone: str
    client_cms_id: str | None
    client_name: str | None
    matter_cms_id: str | None
    matter_display_number: str | None
    state: str
    filing_rule: str
    urgent: bool
    assignee: str | None
    assignee_id: int | None
    message_count: int
    last_message_at: datetime | None
    unread: int
    opted_out: bool


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


# -- cursors -------------------------------------------------------------------------------------------


def _encode_cursor(last_message_at: datetime, thread_id: int) -> str:
    """The position after a thread, opaque to callers so its shape can change without breaking them."""
    raw = json.dumps([last_message_at.astimezone(UTC).isoformat(timespec="microseconds"), thread_id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (last_message_at, id) a cursor stands for.

    Raises:
        InboxError: the cursor was not made by `list_threads` (edited, truncated, from elsewhere).
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment_text, thread_id = json.loads(raw)
        moment = datetime.fromisoformat(moment_text)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        raise InboxError("cursor", "the cursor is not one this server issued") from None
    if moment.tzinfo is None or not isinstance(thread_id, int) or isinstance(thread_id, bool):
        raise InboxError("cursor", "the cursor is not one this server issued")
    return moment.astimezone(UTC), thread_id


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InboxError("limit", f"limit must be a whole number from 1 to {MAX_LIMIT}")


# -- threads -------------------------------------------------------------------------------------------


def _currently_opted_out() -> Select[Any]:
    """Phones whose newest ledger entry is an opt-out; the ledger is small next to the threads."""
    newer = opt_outs.alias("newer")
    newest_id = select(func.max(newer.c.id)).where(newer.c.phone == opt_outs.c.phone).scalar_subquery()
    return select(opt_outs.c.phone).where(opt_outs.c.action == "opt_out", opt_outs.c.id == newest_id)


def _filters(
    *,
    user_id: int | None,
    mine: bool,
    needs_filing: bool,
    urgent: bool,
    opted_out: bool,
    matter_cms_id: str | None,
    client_cms_id: str | None,
) -> list[ColumnElement[bool]]:
    """The WHERE terms of a listing; each one has an index that keeps the newest-first order cheap."""
    where: list[ColumnElement[bool]] = []
    if mine:
        if user_id is None:
            raise InboxError("mine", "the 'mine' filter needs a user")
        where.append(threads.c.assignee_id == user_id)
    if needs_filing:
        where.append(threads.c.state == "needs_filing")
    if urgent:
        where.append(threads.c.urgent == true())
    if opted_out:
        where.append(threads.c.client_phone.in_(_currently_opted_out()))
    if matter_cms_id is not None:
        # The thread's current matter, or any thread with a text filed to it: a matter's panel shows
        # a conversation that has since moved on to another matter too.
        # One IN over a UNION (not an OR) so both engines drive the page from the two small index
        # lookups instead of walking every thread in date order to test each one.
        on_matter = threads.alias("on_matter")
        candidates = union(
            select(on_matter.c.id).where(on_matter.c.matter_cms_id == matter_cms_id),
            select(messages.c.thread_id).where(messages.c.matter_cms_id == matter_cms_id),
        )
        where.append(threads.c.id.in_(candidates))
    if client_cms_id is not None:
        where.append(threads.c.client_cms_id == client_cms_id)
    return where


def _view_query(page: Select[Any], user_id: int | None) -> Select[Any]:
    """Decorate a page of thread rows with names, the opt-out state and the unread count.

    `page` is already limited, so every correlated lookup below runs once per returned thread, each
    through an index: thread_reads' key, `ix_messages_thread_id_id` for the unread range count (the
    read mark is a constant per thread, so the count is a range scan, not a scan of the thread), and
    `ix_opt_outs_phone_id` for the newest ledger entry.
    """
    rows = page.subquery("page")
    joined = (
        rows.outerjoin(users, users.c.id == rows.c.assignee_id)
        .outerjoin(contacts, contacts.c.cms_id == rows.c.client_cms_id)
        .outerjoin(matters, matters.c.cms_id == rows.c.matter_cms_id)
    )
    if user_id is None:
        unread: Any = literal(0)
    else:
        joined = joined.outerjoin(
            thread_reads, and_(thread_reads.c.thread_id == rows.c.id, thread_reads.c.user_id == user_id)
        )
        unread = (
            select(func.count())
            .select_from(messages)
            .where(
                messages.c.thread_id == rows.c.id,
                messages.c.direction == "inbound",
                messages.c.id > func.coalesce(thread_reads.c.last_read_message_id, 0),
            )
            .scalar_subquery()
        )
    ledger = (
        select(opt_outs.c.action)
        .where(opt_outs.c.phone == rows.c.client_phone)
        .order_by(opt_outs.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(
            rows,
            users.c.email.label("assignee"),
            contacts.c.name.label("client_name"),
            matters.c.display_number.label("matter_display_number"),
            unread.label("unread"),
            ledger.label("ledger_action"),
        )
        .select_from(joined)
        .order_by(rows.c.last_message_at.desc(), rows.c.id.desc())
    )


_THREAD_COLUMNS: Final = (
    threads.c.id,
    threads.c.firm_number,
    threads.c.client_phone,
    threads.c.client_cms_id,
    threads.c.matter_cms_id,
    threads.c.state,
    threads.c.filing_rule,
    threads.c.urgent,
    threads.c.assignee_id,
    threads.c.message_count,
    threads.c.last_message_at,
)


def _thread_view(row: Row[Any]) -> ThreadView:
    return ThreadView(
        id=row.id,
        firm_number=row.firm_number,
        client_phone=row.client_phone,
        client_cms_id=row.client_cms_id,
        client_name=row.client_name,
        matter_cms_id=row.matter_cms_id,
        matter_display_number=row.matter_display_number,
        state=row.state,
        filing_rule=row.filing_rule,
        urgent=bool(row.urgent),
        assignee=row.assignee,
        assignee_id=row.assignee_id,
        message_count=int(row.message_count or 0),
        last_message_at=row.last_message_at,
        unread=int(row.unread or 0),
        opted_out=row.ledger_action == "opt_out",
    )


def list_threads(
    engine: Engine,
    *,
    user_id: int | None,
    mine: bool = False,
    needs_filing: bool = False,
    urgent: bool = False,
    opted_out: bool = False,
    matter_cms_id: str | None = None,
    client_cms_id: str | None = None,
    before: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> tuple[list[ThreadView], str | None]:
    """A page of threads, newest activity first, and the cursor of the next page (None on the last).

    Filters combine with AND. Unread counts are `user_id`'s (0 when None). Threads with no message
    yet (a send refused before anything was stored) have no activity to list and are left out;
    `get_thread` still finds them.

    Raises:
        InboxError: a bad cursor or limit, or `mine` without a user.
    """
    _check_limit(limit)
    where = _filters(
        user_id=user_id,
        mine=mine,
        needs_filing=needs_filing,
        urgent=urgent,
        opted_out=opted_out,
        matter_cms_id=matter_cms_id,
        client_cms_id=client_cms_id,
    )
    where.append(threads.c.last_message_at.is_not(None))
    if before is not None:
        moment, thread_id = _decode_cursor(before)
        # The `<=` term is the index range; the OR only breaks ties at the same instant.
        where.append(threads.c.last_message_at <= moment)
        where.append(or_(threads.c.last_message_at < moment, threads.c.id < thread_id))
    page = (
        select(*_THREAD_COLUMNS)
        .where(and_(*where))
        .order_by(threads.c.last_message_at.desc(), threads.c.id.desc())
        .limit(limit + 1)
    )
    with engine.connect() as conn:
        rows = conn.execute(_view_query(page, user_id)).all()
    views = [_thread_view(row) for row in rows[:limit]]
    if len(rows) <= limit:
        return views, None
    last = views[-1]
    assert last.last_message_at is not None  # listed threads all have activity
    return views, _encode_cursor(last.last_message_at, last.id)


def _get_thread(conn: Connection, thread_id: int, user_id: int | None) -> ThreadView | None:
    page = select(*_THREAD_COLUMNS).where(threads.c.id == thread_id)
    row = conn.execute(_view_query(page, user_id)).first()
    return None if row is None else _thread_view(row)


def get_thread(engine: Engine, thread_id: int, user_id: int | None) -> ThreadView | None:
    """One thread with `user_id`'s unread count, or None when there is no such thread."""
    with engine.connect() as conn:
        return _get_thread(conn, thread_id, user_id)


# -- messages ------------------------------------------------------------------------------------------


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
    )


def list_messages(
    engine: Engine, thread_id: int, *, before_id: int | None = None, limit: int = DEFAULT_LIMIT
) -> tuple[list[MessageView], int | None]:
    """A page of a thread's messages, newest first, and the `before_id` of the next page (None on the last).

    Message ids only grow, so the id is the keyset: each page is one range scan of
    `ix_messages_thread_id_id`, however deep the caller has paged.

    Raises:
        NotFound: no such thread.
        InboxError: a bad limit or before_id.
    """
    _check_limit(limit)
    if before_id is not None and (isinstance(before_id, bool) or not isinstance(before_id, int) or before_id < 1):
        raise InboxError("before", "before must be a message id (a positive whole number)")
    query = _message_query().where(messages.c.thread_id == thread_id)
    if before_id is not None:
        query = query.where(messages.c.id < before_id)
    query = query.order_by(messages.c.id.desc()).limit(limit + 1)
    with engine.connect() as conn:
        if conn.execute(select(threads.c.id).where(threads.c.id == thread_id)).first() is None:
            raise NotFound(f"no thread {thread_id}")
        rows = conn.execute(query).all()
    views = [_message_view(row) for row in rows[:limit]]
    return views, (views[-1].id if len(rows) > limit else None)


def get_message(engine: Engine, message_id: int) -> MessageView | None:
    """One message, or None when there is no such message."""
    with engine.connect() as conn:
        row = conn.execute(_message_query().where(messages.c.id == message_id)).first()
    return None if row is None else _message_view(row)


# -- changes -------------------------------------------------------------------------------------------


def _thread_row(conn: Connection, thread_id: int) -> Any:
    row = conn.execute(
        select(threads.c.id, threads.c.matter_cms_id, threads.c.assignee_id, threads.c.urgent).where(
            threads.c.id == thread_id
        )
    ).first()
    if row is None:
        raise NotFound(f"no thread {thread_id}")
    return row


def _after_change(engine: Engine, thread_id: int, user_id: int) -> ThreadView:
    """The thread as it stands once the change committed (read after, never inside, the transaction)."""
    view = get_thread(engine, thread_id, user_id)
    if view is None:  # deleted between the commit and this read
        raise NotFound(f"no thread {thread_id}")
    return view


def mark_read(
    engine: Engine,
    thread_id: int,
    user: User,
    *,
    up_to_message_id: int | None = None,
    request_id: str | None = None,
) -> int:
    """Mark `thread_id` read for `user` up to a message (default: its newest); returns the read mark.

    The mark only moves forward, so two tabs racing cannot make read texts unread again.

    Raises:
        NotFound: no such thread.
        InboxError: the message is not in the thread (parameter "message_id").
    """
    now = utcnow()
    with engine.begin() as conn:
        thread = _thread_row(conn, thread_id)
        if up_to_message_id is None:
            target = conn.execute(select(func.max(messages.c.id)).where(messages.c.thread_id == thread_id)).scalar()
            target = int(target or 0)
        else:
            found = conn.execute(
                select(messages.c.id).where(messages.c.id == up_to_message_id, messages.c.thread_id == thread_id)
            ).first()
            if found is None:
                raise InboxError("message_id", f"no message {up_to_message_id} in thread {thread_id}")
            target = up_to_message_id
        dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        statement = dialect_insert(thread_reads).values(
            thread_id=thread_id, user_id=user.id, last_read_message_id=target, read_at=now
        )
        statement = statement.on_conflict_do_update(
            index_elements=[thread_reads.c.thread_id, thread_reads.c.user_id],
            set_={
                "last_read_message_id": case(
                    (
                        statement.excluded.last_read_message_id > thread_reads.c.last_read_message_id,
                        statement.excluded.last_read_message_id,
                    ),
                    else_=thread_reads.c.last_read_message_id,
                ),
                "read_at": statement.excluded.read_at,
            },
        )
        conn.execute(statement)
        mark = int(
            conn.execute(
                select(thread_reads.c.last_read_message_id).where(
                    thread_reads.c.thread_id == thread_id, thread_reads.c.user_id == user.id
                )
            ).scalar_one()
        )
        audit.append(
            conn,
            actor=user.actor,
            action="read",
            subject_type="thread",
            subject_id=thread_id,
            matter_cms_id=thread.matter_cms_id,
            request_id=request_id,
            details={"up_to": target, "read_mark": mark},
            at=now,
        )
    return mark


def assign(
    engine: Engine,
    thread_id: int,
    assignee: User | None,
    *,
    actor: User,
    request_id: str | None = None,
) -> ThreadView:
    """Give a thread to a person (None: to nobody); returns the thread as `actor` now sees it.

    Raises:
        NotFound: no such thread.
        InboxError: the assignee does not exist or is disabled (parameter "assignee").
    """
    now = utcnow()
    with engine.begin() as conn:
        thread = _thread_row(conn, thread_id)
        if assignee is not None:
            active = conn.execute(
                select(users.c.id).where(users.c.id == assignee.id, users.c.disabled_at.is_(None))
            ).first()
            if active is None:
                raise InboxError("assignee", f"{assignee.email} is not an active user")
        new_id = None if assignee is None else assignee.id
        conn.execute(update(threads).where(threads.c.id == thread_id).values(assignee_id=new_id))
        audit.append(
            conn,
            actor=actor.actor,
            action="assign",
            subject_type="thread",
            subject_id=thread_id,
            matter_cms_id=thread.matter_cms_id,
            request_id=request_id,
            details={
                "from": thread.assignee_id,
                "to": new_id,
                "to_email": None if assignee is None else assignee.email,
            },
            at=now,
        )
    return _after_change(engine, thread_id, actor.id)


def set_urgent(
    engine: Engine,
    thread_id: int,
    urgent: bool,
    *,
    actor: User,
    request_id: str | None = None,
) -> ThreadView:
    """Flag a thread urgent or clear the flag; returns the thread as `actor` now sees it.

    Raises:
        NotFound: no such thread.
    """
    now = utcnow()
    with engine.begin() as conn:
        thread = _thread_row(conn, thread_id)
        conn.execute(update(threads).where(threads.c.id == thread_id).values(urgent=urgent))
        audit.append(
            conn,
            actor=actor.actor,
            action="urgent",
            subject_type="thread",
            subject_id=thread_id,
            matter_cms_id=thread.matter_cms_id,
            request_id=request_id,
            details={"urgent": urgent, "was": bool(thread.urgent)},
            at=now,
        )
    return _after_change(engine, thread_id, actor.id)
