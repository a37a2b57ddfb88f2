"""Same-day replies: when a client text counts as answered, since when a thread waits, and the one alert at the limit.

The definitions live here once, and the inbox's "Waiting for reply" filter, each row's age and the worker's
alerts all use them, so a thread the inbox lists as waiting is one that can be alerted on, and the reverse:

- An answer is an outbound text a person wrote (an author) as conversation, which went out (not blocked or
  cancelled). Matterline's automatic replies (STOP confirmations, HELP, the emergency reply), reminders and
  notices are not answers: nobody in the firm has read the client yet.
- A thread waits since its first client text after its last answer. A bare keyword (STOP, START, HELP) does
  not start a wait: Matterline has answered it, and there is nothing for a person to say. Keywords are not
  marked on the stored text, so the test reads the body in SQL (case, spaces and common punctuation aside);
  a keyword wrapped in an emoji counts as a text, which errs toward an alert rather than none.
- The wait is measured in office time (settings.office, closed days included): a text at 11 pm is not late
  at 9:05 am. At the firm's limit (MATTERLINE_REPLY_WITHIN_HOURS) the thread's person gets one alert per
  text that started a wait (reply_alerts.message_id is unique).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, Connection, Engine, FromClause, and_, func, not_, select

from connector.compliance import audit
from connector.messaging.keywords import HELP_KEYWORDS, OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS
from connector.messaging.purpose import CONVERSATION
from connector.settings import Settings
from connector.staff import coverage
from connector.store import dialect
from connector.store.tables import contacts, matters, messages, threads, users
from connector.store.workflow_tables import reply_alerts
from connector.writeback import writer

__all__ = [
    "ALERT_ACTOR",
    "CMS_TASK",
    "HORIZON",
    "IN_APP",
    "Waiting",
    "alert_overdue",
    "client_text",
    "hours_text",
    "is_answer",
    "short_age",
    "waiting",
    "waiting_since",
]

CMS_TASK: Final = "cms_task"
IN_APP: Final = "in_app"
ALERT_ACTOR: Final = "worker"
# How far back the alert job looks for waits: past the longest limit (40 business hours) over a holiday
# fortnight. A text older than this when the job first runs (a store from before alerts) is not alerted on.
HORIZON: Final = timedelta(days=30)
# Sends that never left are no answer: a guardrail stopped them, or someone cancelled them while held.
_NOT_SENT: Final = ("blocked", "canceled")
_KEYWORDS: Final = sorted(OPT_OUT_KEYWORDS | OPT_IN_KEYWORDS | HELP_KEYWORDS)
# Marks a client puts around a keyword ("Stop!", "'HELP'", "stop."), taken off before it is compared.
_MARKS: Final = (".", "!", "?", ",", '"', "'")


@dataclass(frozen=True, slots=True)
class Waiting:
    """A thread waiting for an answer: the client text that started the wait, and when it came."""

    thread_id: int
    message_id: int
    since: datetime


def is_answer(m: FromClause) -> ColumnElement[bool]:
    """Whether a row of `m` (messages or an alias of it) answers the client: see the module's definition."""
    return and_(
        m.c.direction == "outbound",
        m.c.author_id.is_not(None),
        m.c.purpose == CONVERSATION,
        m.c.status.not_in(_NOT_SENT),
    )


def _bare_keyword(m: FromClause) -> ColumnElement[bool]:
    body: Any = m.c.body
    for mark in _MARKS:
        body = func.replace(body, mark, "")
    return func.upper(func.trim(body)).in_(_KEYWORDS)


def _last_answer(thread_id: ColumnElement[Any]) -> ColumnElement[Any]:
    """The id of the last answer in thread `thread_id` (a column of an enclosing query), 0 before any: one
    backward range of `ix_messages_thread_id_id` from the thread's newest text."""
    answer = messages.alias("answer")
    newest = select(func.max(answer.c.id)).where(answer.c.thread_id == thread_id, is_answer(answer))
    return func.coalesce(newest.correlate_except(answer).scalar_subquery(), 0)


def client_text(m: FromClause) -> ColumnElement[bool]:
    """Rows of `m` (an alias of messages) that are client texts which can start a wait."""
    return and_(m.c.direction == "inbound", not_(_bare_keyword(m)))


def _newest_not_an_answer(thread: FromClause) -> ColumnElement[bool]:
    """Whether the newest text of a row of `thread` is not an answer: one primary-key look-up. A thread whose
    newest text is an answer waits for nothing, and most threads of a firm that answers are such threads, so
    this is tested before the ranges below (which only threads it lets through need)."""
    newest = messages.alias("newest")
    return (
        select(newest.c.id)
        .where(newest.c.id == thread.c.last_message_id, not_(is_answer(newest)))
        .correlate(thread)
        .exists()
    )


def waiting(thread: FromClause) -> ColumnElement[bool]:
    """Whether a row of `thread` (threads, or an alias) waits for an answer: the inbox's filter.

    Per thread tested, a look-up of its newest text; then, only when that is not an answer, two short ranges
    of the thread's message index: back to its last answer, and forward from there to the first client text.
    """
    m = messages.alias("unanswered")
    after = select(m.c.id).where(m.c.thread_id == thread.c.id, m.c.id > _last_answer(thread.c.id), client_text(m))
    return and_(thread.c.last_inbound_at.is_not(None), _newest_not_an_answer(thread), after.correlate(thread).exists())


def _waits(conn: Connection, *conditions: ColumnElement[bool], before: datetime | None = None) -> dict[int, Waiting]:
    """The wait of each thread matching `conditions` that waits (its first client text sent before `before`,
    when given): the last answer of each thread first, then the client texts after it, one query."""
    answered = select(threads.c.id.label("thread_id"), _last_answer(threads.c.id).label("answered"))
    last = answered.where(*conditions, _newest_not_an_answer(threads)).subquery("answered")
    m = messages.alias("unanswered")
    query = (
        select(m.c.id, m.c.thread_id, m.c.created_at)
        .join(last, and_(m.c.thread_id == last.c.thread_id, m.c.id > last.c.answered))
        .where(client_text(m))
        .order_by(m.c.thread_id, m.c.id)
    )
    if before is not None:
        query = query.where(m.c.created_at <= before)
    found: dict[int, Waiting] = {}
    for row in conn.execute(query):
        found.setdefault(row.thread_id, Waiting(row.thread_id, row.id, row.created_at))
    return found


def waiting_since(conn: Connection, thread_ids: Iterable[int]) -> dict[int, Waiting]:
    """The threads among `thread_ids` that wait, with the text that started each wait: one query for a page."""
    ids = sorted(set(thread_ids))
    return _waits(conn, threads.c.id.in_(ids)) if ids else {}


def short_age(age: timedelta) -> str:
    """An age as the inbox says it: "5m", "3h 10m", "2d 4h" (never negative)."""
    minutes = max(0, int(age.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def hours_text(hours: float) -> str:
    """The firm's limit as a sentence says it: "4 business hours", "1.5 business hours", "1 business hour"."""
    figure = f"{hours:g}"
    return f"{figure} business hour{'' if hours == 1 else 's'}"


# -- the alerts ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Due:
    """A wait whose deadline has passed, with what picking its alert's person needs."""

    wait: Waiting
    matter_cms_id: str | None
    assignee_id: int | None
    attorney_id: int | None
    client: str


def _overdue(conn: Connection, settings: Settings, now: datetime) -> list[_Due]:
    """Waits past their deadline that have no alert yet: one query for the waits, one for their alerts."""
    limit = timedelta(hours=settings.reply_within_hours)
    # Office time never runs faster than the clock: a text younger than the limit cannot be late, and a
    # thread's first text that is younger means none of its texts is.
    first = _waits(
        conn,
        threads.c.last_message_at >= now - HORIZON,
        threads.c.last_inbound_at >= now - HORIZON,
        before=now - limit,
    )
    late = [
        wait
        for wait in first.values()
        if (deadline := settings.office.after(wait.since, limit, settings.zone)) is not None and deadline <= now
    ]
    if not late:
        return []
    alerted = set(
        conn.execute(
            select(reply_alerts.c.message_id).where(reply_alerts.c.message_id.in_([w.message_id for w in late]))
        ).scalars()
    )
    late = [wait for wait in late if wait.message_id not in alerted]
    if not late:
        return []
    assignee, attorney = users.alias("assignee"), users.alias("attorney")
    facts = conn.execute(
        select(
            threads.c.id,
            threads.c.matter_cms_id,
            threads.c.client_phone,
            threads.c.state,
            assignee.c.id.label("assignee_id"),
            attorney.c.id.label("attorney_id"),
            contacts.c.name,
        )
        .outerjoin(assignee, and_(assignee.c.id == threads.c.assignee_id, assignee.c.disabled_at.is_(None)))
        .outerjoin(matters, matters.c.cms_id == threads.c.matter_cms_id)
        .outerjoin(
            attorney,
            and_(
                attorney.c.cms_user_id == matters.c.responsible_attorney_cms_id,
                matters.c.responsible_attorney_cms_id.is_not(None),
                attorney.c.disabled_at.is_(None),
            ),
        )
        .outerjoin(contacts, contacts.c.cms_id == threads.c.client_cms_id)
        .where(threads.c.id.in_([w.thread_id for w in late]))
    ).all()
    by_thread = {row.id: row for row in facts}
    due = []
    for wait in late:
        row = by_thread[wait.thread_id]
        # A thread not filed to a matter (needs filing) has no responsible attorney to fall back on.
        filed = row.matter_cms_id if row.state == "filed" else None
        attorney_id = row.attorney_id if filed is not None else None
        due.append(_Due(wait, filed, row.assignee_id, attorney_id, row.name or row.client_phone))
    return due


def _task_text(conn: Connection, settings: Settings, item: _Due) -> tuple[str, str]:
    """The task's title and description: who, since when, which thread; never a word of what they wrote."""
    assert item.matter_cms_id is not None
    number = conn.execute(select(matters.c.display_number).where(matters.c.cms_id == item.matter_cms_id)).scalar()
    label = number or f"matter {item.matter_cms_id}"
    who = "A client" if settings.private_previews else item.client
    since = item.wait.since.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M %Z")
    return (
        f"Client text waiting for a reply — {label}",
        f"{who} has waited for a reply since {since}, past the firm's {hours_text(settings.reply_within_hours)}. "
        f"Open thread {item.wait.thread_id} in Matterline to answer.",
    )


def _alert(conn: Connection, settings: Settings, item: _Due, now: datetime) -> bool:
    """Record one alert, its task when it is one, and the audit entry; False when another worker got there first."""
    meant_for = item.assignee_id if item.assignee_id is not None else item.attorney_id
    acting, covering_for = (None, None) if meant_for is None else coverage.covering(conn, meant_for, now)
    task = item.matter_cms_id is not None and meant_for is not None and meant_for == item.attorney_id
    # RETURNING says whether this worker's row landed (rowcount is not reported for an INSERT on PostgreSQL).
    statement = dialect.insert(conn, reply_alerts).on_conflict_do_nothing(index_elements=["message_id"])
    added = conn.execute(
        statement.values(
            thread_id=item.wait.thread_id,
            message_id=item.wait.message_id,
            user_id=acting,
            covering_for=covering_for,
            via=CMS_TASK if task else IN_APP,
            waited_since=item.wait.since,
            created_at=now,
        ).returning(reply_alerts.c.id)
    ).scalar()
    if added is None:
        return False
    writeback_id = None
    if task:
        assert item.matter_cms_id is not None
        subject, body = _task_text(conn, settings, item)
        writeback_id = writer.queue_task(
            conn,
            thread_id=item.wait.thread_id,
            matter_cms_id=item.matter_cms_id,
            trigger=f"reply_overdue:{item.wait.message_id}",
            subject=subject,
            body=body,
            now=now,
        )
    audit.append(
        conn,
        actor=ALERT_ACTOR,
        action=audit.Action.REPLY_OVERDUE,
        subject_type="thread",
        subject_id=item.wait.thread_id,
        matter_cms_id=item.matter_cms_id,
        details={
            "message": item.wait.message_id,
            "waited_since": item.wait.since.isoformat(),
            "user": acting,
            "covering_for": covering_for,
            "via": CMS_TASK if task else IN_APP,
            "writeback": writeback_id,
        },
        at=now,
    )
    return True


def alert_overdue(engine: Engine, settings: Settings, *, now: datetime) -> int:
    """Alert once on every wait past the firm's limit at `now`; how many alerts were made.

    The alert goes to the thread's assignee, else the matter's responsible attorney (the Matterline person
    linked to that CMS user), else nobody (admins see it); whoever covers for that person while they are
    away gets it instead. It is a CMS task on the matter when it is for the responsible attorney (the writer
    assigns it to them, or their backup, when it writes), else an alert in the app. Each alert is one
    transaction with its task and audit entry; the unique text id keeps two workers from alerting twice.
    """
    with engine.connect() as conn:
        due = _overdue(conn, settings, now)
    made = 0
    for item in due:
        with engine.begin() as conn:
            made += _alert(conn, settings, item, now)
    return made
