"""The firm inbox's threads: who each conversation is with, where it is filed, who has it, what is unread.

The API, the CLI and the pages read threads through these functions, so a filter means the same thing
wherever it is used. Built for a store of a million messages: pages are keyset (newest activity first,
resumed from an opaque cursor, never an OFFSET), nothing counts all messages, and the per-person
numbers (unread count, opt-out state, names) are computed only for the page being returned.
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
)

from connector.errors import bad_parameter, not_found
from connector.messaging import replies
from connector.phones import to_e164
from connector.store.tables import (
    contact_phones,
    contacts,
    matters,
    messages,
    opt_outs,
    thread_reads,
    thread_unread,
    threads,
    users,
)

__all__ = [
    "DEFAULT_LIMIT",
    "FILTERS",
    "MAX_LIMIT",
    "SEARCH_MAX",
    "SNIPPET_LENGTH",
    "TEXT_SEARCH_WINDOW",
    "ThreadView",
    "check_limit",
    "check_search",
    "get",
    "get_in",
    "listing",
    "require",
]

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 200
# The inbox's filters, as the API, the CLI and the pages name them.
FILTERS: Final = ("mine", "unassigned", "unread", "urgent", "needs_filing", "waiting", "opted_out")
# A search is a name, a number or a few words; anything longer is refused rather than scanned for.
SEARCH_MAX: Final = 100
# Message text is searched in the newest this-many texts only: a LIKE over a million bodies has no index
# to use on either engine (PostgreSQL's pg_trgm and SQLite's FTS5 would need an extension or a shadow
# table kept by triggers), so the bound keeps a search's cost fixed as the store grows. Names, numbers
# and matter numbers are searched in full.
TEXT_SEARCH_WINDOW: Final = 20_000
# The digits a partial phone number needs before it is matched inside numbers (fewer matches nearly all).
_MIN_PHONE_DIGITS: Final = 4
SNIPPET_LENGTH: Final = 120


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
    # The newest text: its start (None when purged or empty), which way it went, and its delivery status.
    snippet: str | None
    last_direction: str | None
    last_status: str | None
    last_inbound_at: datetime | None


# -- cursors -------------------------------------------------------------------------------------------


def _encode_cursor(last_message_at: datetime, thread_id: int) -> str:
    """The position after a thread, opaque to callers so its shape can change without breaking them."""
    raw = json.dumps([last_message_at.astimezone(UTC).isoformat(timespec="microseconds"), thread_id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (last_message_at, id) a cursor stands for.

    Raises:
        MatterlineError: malformed `invalid_parameter` when the cursor was not made by `listing` (edited,
            truncated, from elsewhere).
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment_text, thread_id = json.loads(raw)
        moment = datetime.fromisoformat(moment_text)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        raise bad_parameter("cursor", "the cursor is not one this server issued") from None
    if moment.tzinfo is None or not isinstance(thread_id, int) or isinstance(thread_id, bool):
        raise bad_parameter("cursor", "the cursor is not one this server issued")
    return moment.astimezone(UTC), thread_id


def check_limit(limit: int) -> None:
    """Refuse a page size outside 1 to MAX_LIMIT (the API's parameter checks say the same first).

    Raises:
        MatterlineError: malformed `invalid_parameter` naming `limit`.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise bad_parameter("limit", f"limit must be a whole number from 1 to {MAX_LIMIT}")


# -- threads -------------------------------------------------------------------------------------------


def _currently_opted_out() -> Select[Any]:
    """Phones whose newest ledger entry is an opt-out; the ledger is small next to the threads."""
    newer = opt_outs.alias("newer")
    newest_id = select(func.max(newer.c.id)).where(newer.c.phone == opt_outs.c.phone).scalar_subquery()
    return select(opt_outs.c.phone).where(opt_outs.c.action == "opt_out", opt_outs.c.id == newest_id)


def check_search(q: str) -> str:
    """`q` trimmed, or refused when it cannot be a search (too long, or a character no store accepts).

    Raises:
        MatterlineError: malformed `invalid_parameter` naming `q`.
    """
    text = q.strip()
    if len(text) > SEARCH_MAX:
        raise bad_parameter("q", f"a search is at most {SEARCH_MAX} characters")
    if any(ord(ch) < 32 for ch in text):
        raise bad_parameter("q", "a search cannot contain control characters")
    return text


def _like(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own wildcards taken literally (escaped with a backslash)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _search(q: str, region: str) -> ColumnElement[bool]:
    """Threads whose client's name, phone number, matter number or (recent) message text matches `q`.

    Each part finds thread ids from its own small table, and one IN over their UNION picks the
    threads, so the listing still walks its date index: client names and matter numbers are a LIKE
    over contacts and matters (thousands of rows, not millions); a full number is one index look-up,
    a partial one a LIKE over the threads' numbers; message text is a LIKE over the newest
    TEXT_SEARCH_WINDOW texts only (see there). Case is ignored; `%` and `_` match themselves.
    """
    pattern = _like(q)
    named = select(contacts.c.cms_id).where(contacts.c.name.ilike(pattern, escape="\\"))
    named_phones = (
        select(contact_phones.c.e164)
        .join(contacts, contacts.c.id == contact_phones.c.contact_id)
        .where(contacts.c.name.ilike(pattern, escape="\\"), contact_phones.c.e164.is_not(None))
    )
    numbered = select(matters.c.cms_id).where(matters.c.display_number.ilike(pattern, escape="\\"))
    newest = select(func.max(messages.c.id)).scalar_subquery()
    said = select(messages.c.thread_id).where(
        messages.c.id > newest - TEXT_SEARCH_WINDOW,
        messages.c.thread_id.is_not(None),
        messages.c.body.ilike(pattern, escape="\\"),
    )
    by_thread = threads.alias("by_search")
    parts: list[Select[Any]] = [
        select(by_thread.c.id).where(by_thread.c.client_cms_id.in_(named)),
        select(by_thread.c.id).where(by_thread.c.client_phone.in_(named_phones)),
        select(by_thread.c.id).where(by_thread.c.matter_cms_id.in_(numbered)),
        said,
    ]
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= _MIN_PHONE_DIGITS and not any(ch.isalpha() for ch in q):
        e164 = to_e164(q, region)
        if e164 is not None:
            parts.append(select(by_thread.c.id).where(by_thread.c.client_phone == e164))
        else:
            # Part of a number, typed any way: its digits in a row inside the stored E.164 form.
            parts.append(select(by_thread.c.id).where(by_thread.c.client_phone.like(f"%{digits}%")))
    return threads.c.id.in_(union(*parts))


def _unread_by(user_id: int) -> ColumnElement[bool]:
    """Threads `user_id` has unread: their rows in `thread_unread`, one primary-key range, however many
    threads the firm has (see `connector.messaging.unread` for when a thread is someone's unread)."""
    return threads.c.id.in_(select(thread_unread.c.thread_id).where(thread_unread.c.user_id == user_id))


def _waiting() -> ColumnElement[bool]:
    """Nobody in the firm has answered the client's newest texts (`connector.messaging.replies` says what an
    answer is and which texts start a wait, for this filter, each row's age and the alerts alike).

    Per thread tested: two short ranges of the thread's message index, back to its last answer and forward
    to the first client text after it.
    """
    return replies.waiting(threads)


def _filters(
    *,
    user_id: int | None,
    mine: bool,
    unassigned: bool,
    unread: bool,
    needs_filing: bool,
    urgent: bool,
    waiting: bool,
    opted_out: bool,
    q: str | None,
    region: str,
    matter_cms_id: str | None,
    client_cms_id: str | None,
) -> list[ColumnElement[bool]]:
    """The WHERE terms of a listing; each one has an index that keeps the newest-first order cheap."""
    where: list[ColumnElement[bool]] = []
    for name, wanted in (("mine", mine), ("unread", unread)):
        if wanted and user_id is None:
            raise bad_parameter(name, f"the '{name}' filter needs a user")
    if mine:
        assert user_id is not None
        where.append(threads.c.assignee_id == user_id)
    if unassigned:
        where.append(threads.c.assignee_id.is_(None))
    if unread:
        assert user_id is not None
        where.append(_unread_by(user_id))
    if needs_filing:
        where.append(threads.c.state == "needs_filing")
    if urgent:
        where.append(threads.c.urgent == true())
    if waiting:
        where.append(_waiting())
    if opted_out:
        where.append(threads.c.client_phone.in_(_currently_opted_out()))
    if q is not None:
        text = check_search(q)
        if text:
            where.append(_search(text, region))
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
    through an index: thread_reads' and thread_unread's keys, `ix_messages_thread_id_id` for the unread range count (the
    read mark is a constant per thread, so the count is a range scan, not a scan of the thread), and
    `ix_opt_outs_phone_id` for the newest ledger entry.
    """
    rows = page.subquery("page")
    last = messages.alias("newest")
    joined = (
        rows.outerjoin(users, users.c.id == rows.c.assignee_id)
        .outerjoin(contacts, contacts.c.cms_id == rows.c.client_cms_id)
        .outerjoin(matters, matters.c.cms_id == rows.c.matter_cms_id)
        .outerjoin(last, last.c.id == rows.c.last_message_id)
    )
    if user_id is None:
        unread: Any = literal(0)
    else:
        joined = joined.outerjoin(
            thread_reads, and_(thread_reads.c.thread_id == rows.c.id, thread_reads.c.user_id == user_id)
        ).outerjoin(thread_unread, and_(thread_unread.c.thread_id == rows.c.id, thread_unread.c.user_id == user_id))
        after_mark = (
            select(func.count())
            .select_from(messages)
            .where(
                messages.c.thread_id == rows.c.id,
                messages.c.direction == "inbound",
                messages.c.id > func.coalesce(thread_reads.c.last_read_message_id, 0),
            )
            .scalar_subquery()
        )
        unread = case((thread_unread.c.user_id.is_not(None), after_mark), else_=literal(0))
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
            func.substr(last.c.body, 1, SNIPPET_LENGTH + 1).label("last_body"),
            last.c.direction.label("last_direction"),
            last.c.status.label("last_status"),
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
    threads.c.last_inbound_at,
    threads.c.last_message_id,
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
        snippet=_snippet(row.last_body),
        last_direction=row.last_direction,
        last_status=row.last_status,
        last_inbound_at=row.last_inbound_at,
    )


def _snippet(body: str | None) -> str | None:
    """The start of a text on one line, cut at a word with an ellipsis when longer; None when there is none."""
    if not body:
        return None
    flat = " ".join(body.split())
    if len(flat) <= SNIPPET_LENGTH:
        return flat or None
    cut = flat[:SNIPPET_LENGTH].rsplit(" ", 1)[0] or flat[:SNIPPET_LENGTH]
    return cut + "…"


def listing(
    engine: Engine,
    *,
    user_id: int | None,
    mine: bool = False,
    unassigned: bool = False,
    unread: bool = False,
    needs_filing: bool = False,
    urgent: bool = False,
    waiting: bool = False,
    opted_out: bool = False,
    q: str | None = None,
    region: str = "US",
    matter_cms_id: str | None = None,
    client_cms_id: str | None = None,
    before: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> tuple[list[ThreadView], str | None]:
    """A page of threads, newest activity first, and the cursor of the next page (None on the last).

    Filters combine with AND; `q` searches (see `_search`; a number typed without a country code is read
    in `region`). Unread counts are `user_id`'s (0 when None). Threads with no message
    yet (a send refused before anything was stored) have no activity to list and are left out;
    `get_thread` still finds them.

    Raises:
        MatterlineError: malformed `invalid_parameter` for a bad cursor, limit or search, or `mine` or
            `unread` without a user.
    """
    check_limit(limit)
    where = _filters(
        user_id=user_id,
        mine=mine,
        unassigned=unassigned,
        unread=unread,
        needs_filing=needs_filing,
        urgent=urgent,
        waiting=waiting,
        opted_out=opted_out,
        q=q,
        region=region,
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


def get_in(conn: Connection, thread_id: int, user_id: int | None) -> ThreadView | None:
    """One thread as `user_id` sees it, read in the caller's transaction."""
    page = select(*_THREAD_COLUMNS).where(threads.c.id == thread_id)
    row = conn.execute(_view_query(page, user_id)).first()
    return None if row is None else _thread_view(row)


def get(engine: Engine, thread_id: int, user_id: int | None) -> ThreadView | None:
    """One thread with `user_id`'s unread count, or None when there is no such thread."""
    with engine.connect() as conn:
        return get_in(conn, thread_id, user_id)


def require(engine: Engine, thread_id: int, user_id: int | None) -> ThreadView:
    """One thread as `user_id` sees it.

    Raises:
        MatterlineError: not found.
    """
    view = get(engine, thread_id, user_id)
    if view is None:
        raise not_found(f"no thread {thread_id}")
    return view
