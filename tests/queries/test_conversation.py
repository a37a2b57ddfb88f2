"""One conversation as its page reads it: here, the threads just newer and just older in the inbox's
order, found by seeking the (last_message_at, id) index, ties broken by id as the inbox breaks them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, insert, update

from connector import queries
from connector.store.tables import threads
from tests.support.firm import FIRM_NUMBER, NOW
from tests.support.inbox import SETTINGS, stranger, text_in
from tests.support.people import add_user


def test_the_neighbours_follow_the_inbox_order_with_ties_by_id_and_skip_a_thread_without_texts(
    engine: Engine,
) -> None:
    me, _ = add_user(engine, name="Pat Paralegal", email="pat@firm.example", role="staff")
    oldest = text_in(engine, stranger(1), minutes=1).thread_id
    tied_first = text_in(engine, stranger(2), minutes=2).thread_id
    tied_second = text_in(engine, stranger(3), minutes=3).thread_id
    with engine.begin() as conn:
        same = NOW + timedelta(minutes=5)  # the two share one time: the inbox orders them by id
        conn.execute(update(threads).where(threads.c.id.in_([tied_first, tied_second])).values(last_message_at=same))
        conn.execute(
            insert(threads).values(
                firm_number=FIRM_NUMBER, client_phone=stranger(9), state="needs_filing",
                filing_rule="needs_filing", urgent=False, message_count=0, created_at=NOW,
            )
        )  # fmt: skip

    def around(thread_id: int) -> tuple[int | None, int | None]:
        page = queries.conversation.load(engine, SETTINGS, thread_id, me.id)
        return page.newer_thread, page.older_thread

    assert around(tied_second) == (None, tied_first)
    assert around(tied_first) == (tied_second, oldest)
    assert around(oldest) == (tied_first, None)  # the thread with no text is nobody's neighbour
