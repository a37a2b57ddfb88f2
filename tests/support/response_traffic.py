"""Client texts and the firm's answers, written straight into the store, for the response-time report.

`seed_traffic` writes what a list of `Exchange`s says (threads, the client's texts, Matterline's automatic
replies and reminders, the answers), in time order, so message ids follow the clock as they do in use. A test
hands it a few exchanges whose waits it knows; `month_of_traffic` makes a realistic month of them (the
benchmark's 400 threads, or a few for a test), each exchange one wait whose start, answer and responder it
knows, so `expected` gives the report's figures without going through the report's code.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select

from connector.guardrails.schedule import OfficeHours
from connector.queries.response_times import nearest_rank
from connector.store.tables import messages, threads, users

FIRM = "+14155550100"
STAFF = (
    ("Avery Attorney", "attorney"),
    ("Blake Partner", "attorney"),
    ("Pat Paralegal", "staff"),
    ("Riley Reception", "staff"),
)
# How quickly each of STAFF answers in office hours (median business minutes): from prompt to slow.
_PACE = (12.0, 35.0, 90.0, 240.0)
# How long a client goes, on average, between an answer and their next wait.
_GAP_DAYS = 12.0


@dataclass(frozen=True)
class Exchange:
    """One client wait in a thread: the client's texts (the first starts the wait) and the answer, if any.

    `responder` and `assignee` are indexes into the staff ids given to `seed_traffic`. Around the wait may be
    Matterline's automatic reply to the first text, a reminder, a bare keyword sent (and answered by
    Matterline) before it, and a person's second text after the answer: none of them changes the wait.
    """

    thread: int
    asked: tuple[datetime, ...]
    answered: datetime | None = None
    responder: int | None = None
    auto_reply: bool = False
    reminder: datetime | None = None
    keyword_before: bool = False
    follow_up: bool = False


@dataclass(frozen=True)
class Seeded:
    thread_ids: tuple[int, ...]
    texts: int


@dataclass
class _Rows:
    rows: list[dict[str, Any]] = field(default_factory=list)

    def text(self, thread_id: int, phone: str, at: datetime, *, inbound: bool, **extra: Any) -> None:
        self.rows.append(
            {
                "thread_id": thread_id,
                "direction": "inbound" if inbound else "outbound",
                "kind": "message",
                "purpose": "conversation",
                "from_number": phone if inbound else FIRM,
                "to_number": FIRM if inbound else phone,
                "body": "Any news on my case?" if inbound else "Yes, we filed it today.",
                "num_media": 0,
                "status": "received" if inbound else "delivered",
                "author_id": None,
                "raw": None,
                "created_at": at,
            }
            | extra
        )


def add_staff(engine: Engine, people: Sequence[tuple[str, str]] = STAFF) -> tuple[int, ...]:
    """The firm's people (name, role), as rows; their ids in order."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        return tuple(
            int(
                conn.execute(
                    users.insert()
                    .values(name=name, email=f"{name.split()[0].lower()}@firm.example", role=role, created_at=now)
                    .returning(users.c.id)
                ).scalar_one()
            )
            for name, role in people
        )


def phone_of(thread: int) -> str:
    return f"+1202555{thread:04d}"


def seed_traffic(
    engine: Engine,
    exchanges: Sequence[Exchange],
    staff: Sequence[int],
    *,
    assignees: dict[int, int | None] | None = None,
) -> Seeded:
    """Write `exchanges` (threads numbered from 0; `assignees` maps a thread to a staff index, default none)."""
    count = max((e.thread for e in exchanges), default=-1) + 1
    first = min((e.asked[0] for e in exchanges), default=datetime(2026, 1, 1, tzinfo=UTC))
    chosen = assignees or {}
    with engine.begin() as conn:
        inserted = conn.execute(
            threads.insert().returning(threads.c.id, sort_by_parameter_order=True),
            [
                {
                    "firm_number": FIRM,
                    "client_phone": phone_of(t),
                    "state": "needs_filing",
                    "filing_rule": "needs_filing",
                    "assignee_id": None if chosen.get(t) is None else staff[chosen[t]],  # type: ignore[index]
                    "urgent": False,
                    "message_count": 0,
                    "created_at": first - timedelta(days=1),
                }
                for t in range(count)
            ],
        )
        ids = tuple(int(row.id) for row in inserted)
        out = _Rows()
        for e in exchanges:
            thread_id, phone = ids[e.thread], phone_of(e.thread)
            if e.keyword_before:
                out.text(thread_id, phone, e.asked[0] - timedelta(minutes=5), inbound=True, body="HELP")
                help_at = e.asked[0] - timedelta(minutes=5, seconds=-1)
                out.text(thread_id, phone, help_at, inbound=False, kind="help", purpose="notice", body="Doe & Roe LLP")
            for at in e.asked:
                out.text(thread_id, phone, at, inbound=True)
            if e.auto_reply:
                at = e.asked[0] + timedelta(seconds=2)
                out.text(
                    thread_id, phone, at, inbound=False, kind="auto_reply", purpose="notice", body="We are closed."
                )
            if e.reminder is not None:
                out.text(thread_id, phone, e.reminder, inbound=False, purpose="reminder", body="Hearing Tuesday 9 am.")
            if e.answered is not None:
                assert e.responder is not None
                out.text(thread_id, phone, e.answered, inbound=False, author_id=staff[e.responder])
                if e.follow_up:
                    at = e.answered + timedelta(minutes=3)
                    out.text(thread_id, phone, at, inbound=False, author_id=staff[e.responder], body="One more thing.")
        out.rows.sort(key=lambda row: row["created_at"])
        if out.rows:
            conn.execute(messages.insert(), out.rows)
        mine = messages.c.thread_id == threads.c.id
        conn.execute(
            threads.update()
            .where(threads.c.id.in_(ids))
            .values(
                message_count=select(func.count()).where(mine).scalar_subquery(),
                last_message_id=select(func.max(messages.c.id)).where(mine).scalar_subquery(),
                last_message_at=select(func.max(messages.c.created_at)).where(mine).scalar_subquery(),
                last_inbound_at=select(func.max(messages.c.created_at))
                .where(mine, messages.c.direction == "inbound")
                .scalar_subquery(),
            )
        )
    return Seeded(ids, len(out.rows))


def month_of_traffic(
    start: date,
    office: OfficeHours,
    zone: ZoneInfo,
    *,
    threads: int = 400,
    days: int = 28,
    lead_in: int = 7,
    seed: int = 14,
) -> tuple[list[Exchange], dict[int, int | None]]:
    """A realistic month from `start` (firm time): each thread's waits one after another, the client mostly
    texting in office hours but also evenings and weekends, answered at each person's own pace (out of hours:
    the next office morning, or now and then at once from a phone), a few never; and who each thread is
    assigned to (every fifth to nobody). Threads start from `lead_in` days before `start`, so the period opens
    on conversations already under way (`expected(..., begins=...)` leaves their earlier waits out). About
    nine texts a thread."""
    rng = random.Random(seed)
    ends = datetime.combine(start, time(0), zone) + timedelta(days=days)
    begins = ends - timedelta(days=days + lead_in)
    assignees: dict[int, int | None] = {t: None if t % 5 == 4 else t % len(_PACE) for t in range(threads)}
    exchanges: list[Exchange] = []
    for t in range(threads):
        # A thread's waits come at random (a Poisson process), so each week is as busy as the next.
        moment = _client_moment(rng, begins + timedelta(days=int(rng.expovariate(1 / _GAP_DAYS))), 1)
        while moment < ends:
            asked = [moment]
            for _ in range(rng.choice((0, 0, 0, 1, 1, 2))):
                asked.append(asked[-1] + timedelta(minutes=rng.uniform(1, 20)))
            open_now = office.open_at(moment.astimezone(zone))
            owner = assignees[t] if assignees[t] is not None else rng.randrange(len(_PACE))
            assert owner is not None
            responder = owner if rng.random() < 0.85 else rng.randrange(len(_PACE))
            if rng.random() < 0.06:  # never answered: the client gives up (the thread's last wait)
                exchanges.append(Exchange(t, tuple(asked), auto_reply=not open_now and rng.random() < 0.5))
                break
            if not open_now and rng.random() < 0.2:  # answered at once, out of hours, from someone's phone
                answered = asked[-1] + timedelta(minutes=rng.uniform(4, 90))
            else:
                wait = timedelta(minutes=rng.lognormvariate(0, 0.9) * _PACE[responder])
                found = office.after(moment, wait, zone)
                assert found is not None
                answered = max(found, asked[-1] + timedelta(minutes=1))
            reminder = moment + (answered - moment) / 2 if rng.random() < 0.08 else None
            exchanges.append(
                Exchange(
                    t,
                    tuple(asked),
                    answered,
                    responder,
                    auto_reply=not open_now and rng.random() < 0.5,
                    reminder=reminder,
                    keyword_before=rng.random() < 0.04,
                    follow_up=rng.random() < 0.3,
                )
            )
            moment = answered + timedelta(minutes=30) + timedelta(days=rng.expovariate(1 / _GAP_DAYS))
            moment = _shifted_to_waking(rng, moment, zone)
    return exchanges, assignees


def _client_moment(rng: random.Random, begins: datetime, days: int) -> datetime:
    """When a client first texts: office hours three times in four, else an evening or a weekend."""
    day = begins + timedelta(days=rng.randrange(days))
    hour = rng.uniform(9, 17) if rng.random() < 0.75 else rng.choice((rng.uniform(7, 9), rng.uniform(17, 23)))
    return (day + timedelta(hours=hour)).astimezone(UTC)


def _shifted_to_waking(rng: random.Random, moment: datetime, zone: ZoneInfo) -> datetime:
    """Clients sleep: a text that would fall between 23:00 and 7:00 comes at breakfast instead."""
    local = moment.astimezone(zone)
    if local.hour >= 23 or local.hour < 7:
        morning = (local + timedelta(hours=8)).replace(hour=7, minute=0) + timedelta(minutes=rng.uniform(0, 90))
        return morning.astimezone(UTC)
    return moment


@dataclass(frozen=True)
class Expected:
    """A line of the report as the exchanges say it should read (whole period)."""

    answered: int
    unanswered: int
    median_business: float | None
    median_clock: float | None
    p90_clock: float | None


def expected(
    exchanges: Sequence[Exchange],
    office: OfficeHours,
    zone: ZoneInfo,
    *,
    responder: int | None = None,
    begins: datetime | None = None,
    ends: datetime | None = None,
) -> Expected:
    """The firm's figures for the waits that started in [begins, ends) (or one responder's answered ones)."""
    picked = [
        e
        for e in exchanges
        if (begins is None or e.asked[0] >= begins)
        and (ends is None or e.asked[0] < ends)
        and (responder is None or e.responder == responder)
    ]
    done = [e for e in picked if e.answered is not None]
    clock = [(e.answered - e.asked[0]).total_seconds() / 60 for e in done if e.answered]
    business = [office.business_time(e.asked[0], e.answered, zone).total_seconds() / 60 for e in done if e.answered]

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return Expected(
        len(done),
        len(picked) - len(done),
        rounded(nearest_rank(business, 50)),
        rounded(nearest_rank(clock, 50)),
        rounded(nearest_rank(clock, 90)),
    )


def _et(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of November 2026 in New York (the firm's zone in tests; UTC-5 all month)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)


def hand_counted() -> tuple[list[Exchange], dict[int, int | None]]:
    """Waits worked out by hand, for the two weeks from Monday 9 November 2026 (office Mon-Fri 9-17, New York),
    staff 0 and 1; and who each thread is assigned to. What the report must say:

    week of Nov 9: answered 4 - office [5, 10, 45, 60] (median 10, p90 60), clock [45, 575, 790, 3900]
    week of Nov 16: answered 2, unanswered 2 - office [20, 30] (median 20, p90 30), clock [30, 570]
    whole period: answered 6, unanswered 2 - office median 20, p90 60; clock median 570, p90 3900
    staff 0: 4 answered (3 + 1), office [5, 10, 20, 60]; staff 1: 2 answered (1 + 1), 1 unanswered (thread 3)
    """
    return [
        # Friday 16:30 answered Monday 9:30: 60 office minutes, 65 h on the clock.
        Exchange(0, (_et(13, 16, 30),), _et(16, 9, 30), 0),
        # Three texts, one wait: 45 minutes from the first.
        Exchange(1, (_et(10, 10), _et(10, 10, 5), _et(10, 10, 20)), _et(10, 10, 45), 1),
        # Wednesday 20:00, an auto reply and a reminder (neither answers), then Thursday 9:10: 10 office minutes.
        Exchange(2, (_et(11, 20),), _et(12, 9, 10), 0, auto_reply=True, reminder=_et(12, 8)),
        # Never answered: thread 3 is staff 1's.
        Exchange(3, (_et(19, 11),)),
        # Never answered, nobody's thread: the firm's alone.
        Exchange(4, (_et(20, 12),)),
        # Sunday 23:30 in New York is Monday in UTC: still the week of Nov 9. 5 office minutes, 9 h 35 m.
        Exchange(5, (_et(15, 23, 30),), _et(16, 9, 5), 0),
        # Sunday 22 at 23:50, the period's last day, answered after it: 20 office minutes, 9 h 30 m.
        Exchange(6, (_et(22, 23, 50),), _et(23, 9, 20), 0),
        # Waiting since before the period (Sunday 8): its text of the 10th starts nothing, so it counts nowhere.
        Exchange(7, (_et(8, 22), _et(10, 9)), _et(10, 12), 0),
        # A bare HELP five minutes before does not start the wait: 30 office minutes, not 35.
        Exchange(8, (_et(17, 10),), _et(17, 10, 30), 1, keyword_before=True),
    ], {0: 0, 1: 1, 2: 0, 3: 1, 4: None, 5: 0, 6: 1, 7: 0, 8: 1}
