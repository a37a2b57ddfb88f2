"""The firm inbox page's list: one filter (or all), an optional search, and what each row needs to be read.

A page of `threads.listing`, plus the one thing the API's thread does not carry: whether the firm may
text the client now (recorded consent, or a recent text from them), decided by the same rule a send
checks (`guardrails.consent.decide`) from two batched reads for the page's rows only; and how long each
thread has waited for an answer (`messaging.replies`), one more batched read, past the firm's limit or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Engine

from connector.errors import bad_parameter
from connector.guardrails import consent
from connector.messaging import replies
from connector.queries import threads
from connector.settings import Settings
from connector.store.engine import utcnow

__all__ = ["ALL", "FILTER_LABELS", "InboxPage", "InboxRow", "page"]

ALL: Final = "all"
# The page's filters in the order it shows them, with their names on screen.
FILTER_LABELS: Final = {
    "mine": "Mine",
    "unassigned": "Unassigned",
    ALL: "All",
    "unread": "Unread",
    "urgent": "Urgent",
    "needs_filing": "Needs filing",
    "waiting": "Waiting for reply",
    "opted_out": "Opted out",
}


@dataclass(frozen=True, slots=True)
class InboxRow:
    """One thread as a row of the inbox: the thread, whether a text may go to the client now, and since when
    it has waited for an answer (None when it does not) and whether that is past the firm's limit."""

    thread: threads.ThreadView
    consented: bool
    waiting_since: datetime | None = None
    overdue: bool = False
    now: datetime | None = None

    @property
    def waited(self) -> str | None:
        """How long the client has waited, by the clock, as the row says it ("3h 10m"); None when not waiting."""
        if self.waiting_since is None or self.now is None:
            return None
        return replies.short_age(self.now - self.waiting_since)


@dataclass(frozen=True, slots=True)
class InboxPage:
    """A page of rows, the cursor of the next (None on the last), and the filter and search it answers."""

    rows: list[InboxRow]
    next_cursor: str | None
    filter: str
    q: str


def page(
    engine: Engine,
    settings: Settings,
    *,
    user_id: int,
    filter: str = ALL,
    q: str = "",
    before: str | None = None,
    limit: int = threads.DEFAULT_LIMIT,
    now: datetime | None = None,
) -> InboxPage:
    """A page of the inbox as `user_id` sees it.

    Raises:
        MatterlineError: malformed `invalid_parameter` for an unknown filter, a bad cursor or search.
    """
    if filter not in FILTER_LABELS:
        raise bad_parameter("filter", f"unknown value {filter!r}", allowed=list(FILTER_LABELS))
    text = threads.check_search(q)
    views, cursor = threads.listing(
        engine,
        user_id=user_id,
        mine=filter == "mine",
        unassigned=filter == "unassigned",
        unread=filter == "unread",
        urgent=filter == "urgent",
        needs_filing=filter == "needs_filing",
        waiting=filter == "waiting",
        opted_out=filter == "opted_out",
        q=text or None,
        region=settings.default_region,
        before=before,
        limit=limit,
    )
    moment = now or utcnow()
    with engine.connect() as conn:
        ledger = consent.latest_of(conn, [view.client_phone for view in views])
        waits = replies.waiting_since(conn, [view.id for view in views])
    reply_limit = timedelta(hours=settings.reply_within_hours)
    rows = []
    for view in views:
        wait = waits.get(view.id)
        deadline = None if wait is None else settings.office.after(wait.since, reply_limit, settings.zone)
        allowed = consent.decide(
            view.client_phone,
            ledger.get(view.client_phone),
            view.last_inbound_at,
            inbound_days=settings.consent_inbound_days,
            now=moment,
        ).allowed
        rows.append(
            InboxRow(
                view,
                allowed,
                waiting_since=None if wait is None else wait.since,
                overdue=deadline is not None and deadline <= moment,
                now=moment,
            )
        )
    return InboxPage(rows, cursor, filter, text)
