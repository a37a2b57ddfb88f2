"""First-response times: how long the firm's clients wait for a person's answer, week by week, for the firm and
for each person, so a managing partner sees whether "we answer the same day" holds, and for whom.

What counts (the same definitions as the inbox's "waiting for reply" and the reply alerts):

- A client text that needs a reply is an inbound text that is not a bare keyword (STOP, START, HELP...: the
  webhook answers those itself) and is the client's first since the thread's last answer. It starts a wait;
  further client texts before the answer belong to the same wait and start none.
- Its first response is the next outbound text in the thread that a person wrote (an author, purpose
  "conversation") and that went out (not blocked or cancelled). Matterline's own replies (confirmations,
  help, auto replies), reminders and notices are not responses: a client who got "we are closed" is still
  waiting.

Both tests are `connector.messaging.replies`' (the inbox's and the alerts'), used here as they are, so a text
the inbox showed as waiting is a wait here.

A wait belongs to the week (Monday to Sunday, in the firm's zone) and the period in which it started; it is
answered if an answer came at any time since, even after the period, so last week's Friday text answered on
Monday counts as answered. Each wait's time is measured twice: in office time (`OfficeHours.business_time`,
the hours the firm promises to answer in; a text at 16:30 on a Friday answered at 9:30 on Monday waited 60
minutes) and in clock time (65 hours: what the client lived through).

An answered wait is the responder's; an unanswered one is the thread's current assignee's (who is to answer
it), and only the firm's when nobody is assigned. Medians and 90th percentiles are nearest-rank: the value at
rank ceil(p/100 x n) of the sorted times, always one of the real waits (the median of 1, 2, 3, 4 is 2).

How it reads: two queries over the period, walked once in Python. The first reads, for every thread with a
text in the period, its texts from its last answer before the period up to the period's end, in thread and id
order, each marked in SQL as an answer, a client text, or neither (the texts before the period say whether a
wait was already open when it began); the walk groups them into waits. The second reads the first answer
after the period's end in the threads still waiting then. A third reads the names of the people in the report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Select, func, select

from connector.errors import invalid
from connector.guardrails.schedule import OfficeHours
from connector.messaging.replies import client_text, is_answer
from connector.settings import Settings
from connector.store.engine import utcnow
from connector.store.tables import messages, threads, users

__all__ = [
    "DEFAULT_WEEKS",
    "MAX_DAYS",
    "Figures",
    "Line",
    "ResponseReport",
    "nearest_rank",
    "period",
    "report",
    "spoken",
]

# The period a report covers unless asked: the last four whole weeks, a month a partner can compare.
DEFAULT_WEEKS: Final = 4
# The longest period one report reads: a year of weeks is already more than a page can show usefully.
MAX_DAYS: Final = 371
FIRM_NAME: Final = "Whole firm"


@dataclass(frozen=True, slots=True)
class Figures:
    """One cell of the report: the waits that started in a week (or the whole period, `week` None).

    Durations are minutes rounded to 0.1; None when nothing was answered.
    """

    week: date | None  # the week's Monday, in the firm's zone; None for the whole period
    answered: int
    unanswered: int
    median_business_minutes: float | None
    p90_business_minutes: float | None
    median_clock_minutes: float | None
    p90_clock_minutes: float | None


@dataclass(frozen=True, slots=True)
class Line:
    """The firm's, or one person's, figures: every week of the period (empty weeks too) and the total."""

    user_id: int | None  # None for the whole firm
    name: str
    weeks: tuple[Figures, ...]
    total: Figures


@dataclass(frozen=True, slots=True)
class ResponseReport:
    """First-response times for the waits that started from `start` to `end` (both whole days, firm time)."""

    start: date
    end: date
    timezone: str
    weeks: tuple[date, ...]  # each week's Monday, oldest first
    firm: Line
    people: tuple[Line, ...]  # by name
    generated_at: datetime

    @property
    def empty(self) -> bool:
        """No client text needed a reply in the period."""
        return self.firm.total.answered + self.firm.total.unanswered == 0


@dataclass(frozen=True, slots=True)
class _Wait:
    """One client text that needed a reply, and what became of it."""

    started: datetime
    assignee_id: int | None
    answered: datetime | None = None
    responder_id: int | None = None
    business_minutes: float = 0.0
    clock_minutes: float = 0.0


def nearest_rank(values: Sequence[float], percent: int) -> float | None:
    """The `percent`th percentile of `values` by nearest rank: the sorted value at rank ceil(percent/100 x n).

    Always one of the values (no interpolation), so a report's median is a wait a client really had.
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-percent * len(ordered) // 100))
    return ordered[rank - 1]


def spoken(minutes: float | None) -> str:
    """A duration as a person reads it in a table: "45 m", "1 h 20 m", "2 d 17 h"; a dash for none."""
    if minutes is None:
        return "—"
    whole = round(minutes)
    if whole < 1:
        return "under 1 m"
    hours, mins = divmod(whole, 60)
    if hours >= 24:
        days, hours = divmod(hours, 24)
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} m" if mins else f"{hours} h"
    return f"{mins} m"


def period(
    settings: Settings, start: date | None = None, end: date | None = None, now: datetime | None = None
) -> tuple[date, date]:
    """The days a report covers when asked for `start` to `end`, either or both left out: neither, the last
    DEFAULT_WEEKS whole weeks before this one (Monday to Sunday, firm time); only a start, up to today; only an
    end, the DEFAULT_WEEKS weeks that end on it. The page and the command line both ask here."""
    today = (now or utcnow()).astimezone(settings.zone).date()
    if start is None and end is None:
        this_monday = today - timedelta(days=today.weekday())
        return this_monday - timedelta(weeks=DEFAULT_WEEKS), this_monday - timedelta(days=1)
    if end is None:
        assert start is not None
        return start, max(start, today)
    return (end - timedelta(weeks=DEFAULT_WEEKS) + timedelta(days=1) if start is None else start), end


def report(engine: Engine, settings: Settings, *, start: date, end: date) -> ResponseReport:
    """First-response times for the client texts that started a wait from `start` to `end` (inclusive).

    Raises:
        MatterlineError: invalid `invalid_period` (the start is after the end, or the period is longer than
            MAX_DAYS days).
    """
    if start > end:
        raise invalid("invalid_period", f"the period starts ({start}) after it ends ({end})", {"field": "from"})
    if (end - start).days + 1 > MAX_DAYS:
        raise invalid(
            "invalid_period", f"a report covers at most {MAX_DAYS} days, not {(end - start).days + 1}", {"field": "to"}
        )
    zone = settings.zone
    begins = datetime.combine(start, time(0), zone).astimezone(UTC)
    ends = datetime.combine(end + timedelta(days=1), time(0), zone).astimezone(UTC)
    with engine.connect() as conn:
        waits, open_at_end = _walk(conn, begins, ends)
        for thread_id, answer in _answers_after(conn, begins, ends, open_at_end).items():
            index = open_at_end[thread_id]
            waits[index] = _answered(waits[index], *answer)
        names = _names(conn, {w.responder_id if w.answered else w.assignee_id for w in waits})
    office = settings.office  # built on each read: once here, not once a wait
    measured = [_measured(wait, office, zone) for wait in waits]
    mondays = _mondays(start, end)
    firm = _line(None, FIRM_NAME, [(_monday(w.started, zone), w) for w in measured], mondays)
    by_person: dict[int, list[tuple[date, _Wait]]] = defaultdict(list)
    for wait in measured:
        person = wait.responder_id if wait.answered is not None else wait.assignee_id
        if person is not None:
            by_person[person].append((_monday(wait.started, zone), wait))
    people = sorted(
        (_line(user_id, names.get(user_id, f"User {user_id}"), rows, mondays) for user_id, rows in by_person.items()),
        key=lambda line: (line.name.casefold(), line.user_id or 0),
    )
    return ResponseReport(start, end, str(zone.key), mondays, firm, tuple(people), utcnow())


def _active(begins: datetime, ends: datetime) -> Select[tuple[int]]:
    """The threads with a text in [begins, ends): the only ones a wait of the period can be in."""
    return (
        select(messages.c.thread_id)
        .where(messages.c.thread_id.is_not(None), messages.c.created_at >= begins, messages.c.created_at < ends)
        .distinct()
    )


def _walk(conn: Connection, begins: datetime, ends: datetime) -> tuple[list[_Wait], dict[int, int]]:
    """The waits that started in [begins, ends), with the answers that came before `ends`; and, per thread
    still waiting at `ends` on a wait of the period, that wait's index in the list."""
    active = _active(begins, ends)
    before = (
        select(messages.c.thread_id, func.max(messages.c.id).label("id"))
        .where(messages.c.thread_id.in_(active), messages.c.created_at < begins, is_answer(messages))
        .group_by(messages.c.thread_id)
        .subquery("answered_before")
    )
    rows = conn.execute(
        select(
            messages.c.thread_id,
            messages.c.author_id,
            messages.c.created_at,
            is_answer(messages).label("answer"),
            client_text(messages).label("client_text"),
            threads.c.assignee_id,
        )
        .select_from(
            messages.join(threads, threads.c.id == messages.c.thread_id).outerjoin(
                before, before.c.thread_id == messages.c.thread_id
            )
        )
        .where(
            messages.c.thread_id.in_(active),
            messages.c.created_at < ends,
            messages.c.id > func.coalesce(before.c.id, 0),
        )
        .order_by(messages.c.thread_id, messages.c.id)
    )
    waits: list[_Wait] = []
    open_at_end: dict[int, int] = {}
    thread: int | None = None
    waiting: int | None = None  # index of the thread's open wait of the period; -1: open, started before it
    for row in rows:
        if row.thread_id != thread:
            if waiting is not None and waiting >= 0 and thread is not None:
                open_at_end[thread] = waiting
            thread, waiting = row.thread_id, None
        if row.answer:
            if waiting is not None and waiting >= 0:
                waits[waiting] = _answered(waits[waiting], row.created_at, row.author_id)
            waiting = None
        elif waiting is None and row.client_text:
            if row.created_at >= begins:
                waits.append(_Wait(row.created_at, row.assignee_id))
                waiting = len(waits) - 1
            else:
                waiting = -1
    if waiting is not None and waiting >= 0 and thread is not None:
        open_at_end[thread] = waiting
    return waits, open_at_end


def _answers_after(
    conn: Connection, begins: datetime, ends: datetime, open_at_end: dict[int, int]
) -> dict[int, tuple[datetime, int]]:
    """The first answer at or after `ends` (when and who) in each thread still waiting then."""
    if not open_at_end:
        return {}
    active = _active(begins, ends)
    first = (
        select(func.min(messages.c.id))
        .where(messages.c.thread_id.in_(active), messages.c.created_at >= ends, is_answer(messages))
        .group_by(messages.c.thread_id)
    )
    rows = conn.execute(
        select(messages.c.thread_id, messages.c.created_at, messages.c.author_id).where(messages.c.id.in_(first))
    )
    return {row.thread_id: (row.created_at, row.author_id) for row in rows if row.thread_id in open_at_end}


def _names(conn: Connection, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted(i for i in ids if i is not None)
    if not wanted:
        return {}
    return {row.id: row.name for row in conn.execute(select(users.c.id, users.c.name).where(users.c.id.in_(wanted)))}


def _answered(wait: _Wait, at: datetime, responder_id: int) -> _Wait:
    return _Wait(wait.started, wait.assignee_id, at, responder_id)


def _measured(wait: _Wait, office: OfficeHours, zone: ZoneInfo) -> _Wait:
    """The wait with its office and clock minutes (never negative, should clocks disagree by a moment)."""
    if wait.answered is None:
        return wait
    clock = max(0.0, (wait.answered - wait.started).total_seconds() / 60)
    business = office.business_time(wait.started, wait.answered, zone).total_seconds() / 60
    return _Wait(wait.started, wait.assignee_id, wait.answered, wait.responder_id, business, clock)


def _monday(moment: datetime, zone: ZoneInfo) -> date:
    day = moment.astimezone(zone).date()
    return day - timedelta(days=day.weekday())


def _mondays(start: date, end: date) -> tuple[date, ...]:
    first = start - timedelta(days=start.weekday())
    count = (end - first).days // 7 + 1
    return tuple(first + timedelta(weeks=n) for n in range(count))


def _figures(week: date | None, waits: Sequence[_Wait]) -> Figures:
    answered = [w for w in waits if w.answered is not None]
    business = [w.business_minutes for w in answered]
    clock = [w.clock_minutes for w in answered]

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return Figures(
        week,
        len(answered),
        len(waits) - len(answered),
        rounded(nearest_rank(business, 50)),
        rounded(nearest_rank(business, 90)),
        rounded(nearest_rank(clock, 50)),
        rounded(nearest_rank(clock, 90)),
    )


def _line(user_id: int | None, name: str, rows: Sequence[tuple[date, _Wait]], mondays: Sequence[date]) -> Line:
    by_week: dict[date, list[_Wait]] = defaultdict(list)
    for monday, wait in rows:
        by_week[monday].append(wait)
    weeks = tuple(_figures(monday, by_week.get(monday, [])) for monday in mondays)
    return Line(user_id, name, weeks, _figures(None, [wait for _, wait in rows]))
