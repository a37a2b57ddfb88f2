"""Same-day replies (`connector/messaging/replies.py`): what answers a client, since when a thread waits, and the
one alert at the firm's limit (to whom, as a CMS task or in the app), counted in office hours."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert, select, update

from connector import queries, services
from connector.compliance import audit
from connector.messaging import replies, texts
from connector.messaging.purpose import NOTICE, REMINDER
from connector.staff.users import Actor, User
from connector.store.tables import audit_log, matters, users, writebacks
from connector.store.workflow_tables import coverage, reply_alerts
from tests.support.firm import FIRM_NUMBER, JANE, NOW, seed
from tests.support.inbox import SETTINGS, stranger, text_in
from tests.support.people import add_user

NY = ZoneInfo("America/New_York")
# NOW is Friday 27 November 2026, 10:00 in New York; the office is open Mon-Fri 09:00-17:00 and the limit is 4h.
FRIDAY_3PM = datetime(2026, 11, 27, 15, 0, tzinfo=NY)
MONDAY_11AM = datetime(2026, 11, 30, 11, 0, tzinfo=NY)  # 2 office hours on Friday, 2 on Monday morning


def minutes_after_now(moment: datetime) -> float:
    return (moment - NOW).total_seconds() / 60


@pytest.fixture
def people(engine: Engine) -> dict[str, User]:
    seed(engine)
    return {
        "pat": add_user(engine, name="Pat Paralegal", email="pat@firm.example", role="staff")[0],
        "alice": add_user(engine, name="Alice Attorney", email="alice@firm.example", role="attorney")[0],
        "bob": add_user(engine, name="Bob Backup", email="bob@firm.example", role="attorney")[0],
    }


def waits(engine: Engine, thread_id: int) -> replies.Waiting | None:
    with engine.connect() as conn:
        return replies.waiting_since(conn, [thread_id]).get(thread_id)


def listed_waiting(engine: Engine) -> list[int]:
    return [view.id for view in queries.threads.listing(engine, user_id=None, waiting=True)[0]]


def alerts(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(reply_alerts).order_by(reply_alerts.c.id)))


def test_a_thread_waits_from_the_first_unanswered_text_and_only_a_person_answers(
    engine: Engine, people: dict[str, User]
) -> None:
    first = text_in(engine, JANE, "Is my hearing still on?", minutes=1)
    text_in(engine, JANE, "Hello?", minutes=2)
    keyword = text_in(engine, stranger(1), "Stop!", minutes=3)  # a bare keyword: Matterline answered it
    assert waits(engine, keyword.thread_id) is None
    wait = waits(engine, first.thread_id)
    assert wait is not None
    assert (wait.message_id, wait.since) == (first.message_id, NOW + timedelta(minutes=1))
    # A reminder, a notice (even one a person chose) and an automatic reply are not answers.
    with engine.begin() as conn:
        for purpose, author in ((REMINDER, None), (NOTICE, people["alice"].id)):
            texts.store(
                conn,
                thread_id=first.thread_id,
                kind="message",
                firm_key=FIRM_NUMBER,
                to=JANE,
                body="Your hearing is on Monday at 9 am.",
                matter_cms_id="101",
                now=NOW + timedelta(minutes=5),
                author_id=author,
                purpose=purpose,
            )
        texts.store(
            conn,
            thread_id=first.thread_id,
            kind="auto_reply",
            firm_key=FIRM_NUMBER,
            to=JANE,
            body="We are closed.",
            matter_cms_id="101",
            now=NOW + timedelta(minutes=5),
        )
    assert waits(engine, first.thread_id) == wait
    assert listed_waiting(engine) == [first.thread_id]
    services.messages.send(
        engine,
        SETTINGS,
        body="Yes, Monday 9 am",
        thread_id=first.thread_id,
        actor=Actor.of(people["alice"]),
        now=NOW + timedelta(minutes=6),
    )
    assert waits(engine, first.thread_id) is None
    assert listed_waiting(engine) == []
    thanks = text_in(engine, JANE, "thanks", minutes=7)
    assert waits(engine, first.thread_id) == replies.Waiting(
        first.thread_id, thanks.message_id, NOW + timedelta(minutes=7)
    )


def test_one_alert_to_the_assignee_at_the_deadline_across_a_weekend(engine: Engine, people: dict[str, User]) -> None:
    pat = people["pat"]
    texted = text_in(engine, JANE, "Can you call me?", minutes=minutes_after_now(FRIDAY_3PM))
    services.threads.assign(engine, texted.thread_id, pat.id, actor=Actor.of(people["alice"]))
    assert replies.alert_overdue(engine, SETTINGS, now=MONDAY_11AM - timedelta(minutes=1)) == 0
    assert replies.alert_overdue(engine, SETTINGS, now=MONDAY_11AM) == 1
    assert replies.alert_overdue(engine, SETTINGS, now=MONDAY_11AM + timedelta(hours=1)) == 0
    [alert] = alerts(engine)
    assert (alert.thread_id, alert.message_id, alert.user_id, alert.covering_for, alert.via) == (
        texted.thread_id,
        texted.message_id,
        pat.id,
        None,
        "in_app",
    )
    assert alert.waited_since == FRIDAY_3PM
    with engine.connect() as conn:
        entries = list(conn.execute(select(audit_log).where(audit_log.c.action == audit.Action.REPLY_OVERDUE)))
        tasks = list(conn.execute(select(writebacks).where(writebacks.c.kind == "task")))
    assert len(entries) == 1
    assert entries[0].subject_id == str(texted.thread_id)
    assert tasks == []

    # Two workers that both found a wait before either wrote its alert: the second adds nothing.
    services.messages.send(
        engine, SETTINGS, body="Calling now", thread_id=texted.thread_id, actor=Actor.of(pat), now=MONDAY_11AM
    )
    again = text_in(engine, JANE, "Hello?", minutes=minutes_after_now(MONDAY_11AM) + 1)
    later = MONDAY_11AM + timedelta(hours=5)
    with engine.connect() as conn:
        due = replies._overdue(conn, SETTINGS, later)
    assert [item.wait.message_id for item in due] == [again.message_id]
    made = []
    for _worker in range(2):
        with engine.begin() as conn:
            made.append(replies._alert(conn, SETTINGS, due[0], later))
    assert made == [True, False]
    assert len(alerts(engine)) == 2


def test_the_attorney_gets_a_cms_task_and_their_backup_acts_while_they_are_away(
    engine: Engine, people: dict[str, User]
) -> None:
    alice, bob = people["alice"], people["bob"]
    with engine.begin() as conn:
        conn.execute(update(matters).where(matters.c.cms_id == "101").values(responsible_attorney_cms_id="900"))
        conn.execute(update(users).where(users.c.id == alice.id).values(cms_user_id="900"))
        conn.execute(
            insert(coverage).values(
                user_id=alice.id,
                backup_id=bob.id,
                starts_at=NOW - timedelta(days=1),
                ends_at=NOW + timedelta(days=10),
                reason="trial",
                set_by="test",
                created_at=NOW,
            )
        )
    filed = text_in(engine, JANE, "The landlord changed the locks", minutes=1)  # unassigned, on matter 101
    nobody = text_in(engine, stranger(2), "Who is my lawyer?", minutes=1)  # needs filing, unassigned
    assert replies.alert_overdue(engine, SETTINGS, now=NOW + timedelta(hours=4, minutes=1)) == 2
    by_thread = {alert.thread_id: alert for alert in alerts(engine)}
    task = by_thread[filed.thread_id]
    assert (task.user_id, task.covering_for, task.via) == (bob.id, alice.id, "cms_task")
    assert (by_thread[nobody.thread_id].user_id, by_thread[nobody.thread_id].via) == (None, "in_app")
    with engine.connect() as conn:
        [written] = list(conn.execute(select(writebacks).where(writebacks.c.kind == "task")))
    assert written.matter_cms_id == "101"
    assert written.subject.startswith("Client text waiting for a reply — 00101-Doe")
    assert "Jane Doe" in written.body
    assert f"thread {filed.thread_id}" in written.body
    assert "locks" not in written.body


def test_short_age_and_the_limit_in_words() -> None:
    assert [replies.short_age(timedelta(minutes=m)) for m in (-3, 5, 190, 60 * 50)] == ["0m", "5m", "3h 10m", "2d 2h"]
    assert [replies.hours_text(h) for h in (4, 1, 1.5)] == ["4 business hours", "1 business hour", "1.5 business hours"]
