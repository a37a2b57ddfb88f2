"""The live poll's two numbers: the stamp that says whether anything changed, and a person's unread badge."""

from __future__ import annotations

from sqlalchemy import Engine, insert

from connector import queries, services
from connector.queries.activity import BADGE_CAP, stamp, unread_total
from connector.staff.users import Actor
from connector.store.engine import utcnow
from connector.store.tables import opt_outs, status_events
from tests.support.inbox import stranger, text_in
from tests.support.people import add_user


def test_the_badge_counts_my_threads_and_the_shared_queue_but_not_a_colleagues(engine: Engine) -> None:
    me, _ = add_user(engine, name="Pat Paralegal", email="pat@firm.example", role="staff")
    colleague, _ = add_user(engine, name="Casey Clerk", email="casey@firm.example", role="staff")
    mine = text_in(engine, stranger(1), "one")
    text_in(engine, stranger(1), "two")
    theirs = text_in(engine, stranger(2), "three")
    text_in(engine, stranger(3), "four")  # unassigned: the shared queue
    services.threads.assign(engine, mine.thread_id, me.id, actor=Actor.of(me))
    services.threads.assign(engine, theirs.thread_id, colleague.id, actor=Actor.of(me))

    assert unread_total(engine, me.id) == 3  # two in my thread, one in the queue
    assert unread_total(engine, colleague.id) == 2  # theirs and the queue

    services.threads.mark_read(engine, mine.thread_id, actor=Actor.of(me))
    assert unread_total(engine, me.id) == 1
    assert unread_total(engine, colleague.id) == 2  # my reading is mine only


def test_the_badge_stops_counting_at_its_cap(engine: Engine) -> None:
    me, _ = add_user(engine, name="Pat Paralegal", email="pat@firm.example", role="staff")
    for n in range(BADGE_CAP + 5):
        text_in(engine, stranger(n % 7), f"text {n}")
    assert unread_total(engine, me.id) == BADGE_CAP


def test_the_stamp_moves_with_each_kind_of_change_a_page_shows_and_not_otherwise(engine: Engine) -> None:
    me, _ = add_user(engine, name="Pat Paralegal", email="pat@firm.example", role="staff")
    first = text_in(engine, stranger(1), "hello")
    seen = [stamp(engine)]
    assert stamp(engine) == seen[-1]  # asking again changes nothing

    text_in(engine, stranger(1), "a new text")
    seen.append(stamp(engine))
    with engine.begin() as conn:  # a delivery status from Twilio
        conn.execute(
            insert(status_events).values(
                message_id=first.message_id, sid="SM" + "0" * 32, status="delivered", received_at=utcnow()
            )
        )
    seen.append(stamp(engine))
    services.threads.set_urgent(engine, first.thread_id, True, actor=Actor.of(me))  # an audited action
    seen.append(stamp(engine))
    with engine.begin() as conn:  # an opt-out lands in the ledger
        conn.execute(
            insert(opt_outs).values(phone=stranger(1), action="opt_out", source="keyword", created_at=utcnow())
        )
    seen.append(stamp(engine))

    assert len(set(seen)) == len(seen)
    assert queries.activity.stamp(engine) == seen[-1]
