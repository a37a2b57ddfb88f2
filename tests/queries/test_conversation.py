"""One conversation as its page reads it: the threads just newer and just older in the inbox's order, found
by seeking the (last_message_at, id) index, ties broken by id as the inbox breaks them; and beside each client
text what triage decided and who corrected it, read in a constant number of queries however long the page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, event, insert, update

from connector import queries, services
from connector.staff.users import Actor
from connector.store.tables import threads
from tests.support.firm import FIRM_NUMBER, JANE, NOW, seed
from tests.support.inbox import SETTINGS, stranger, text_in
from tests.support.people import add_user

ARREST = "They arrested my son last night, he's in county jail"
ROUTINE = "Thanks, see you at the meeting next month"


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements `engine` runs inside the block."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


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


def test_each_client_text_carries_what_triage_decided_and_the_newest_correction(engine: Engine) -> None:
    seed(engine)
    pat, _ = add_user(engine, name="Pat Paralegal", email="pat@firm.example", role="staff")
    arrest = text_in(engine, JANE, ARREST)
    routine = text_in(engine, JANE, ROUTINE, minutes=1)
    services.messages.send(engine, SETTINGS, thread_id=arrest.thread_id, body="Calling you now.", actor=Actor.of(pat))
    services.triage.correct(
        engine,
        SETTINGS,
        routine.message_id,
        urgent=True,
        category="court_deadline",
        note="hearing",
        actor=Actor.of(pat),
    )

    page = queries.conversation.load(engine, SETTINGS, arrest.thread_id, pat.id)
    first, second, reply = page.entries
    assert first.message.id == arrest.message_id
    assert first.triage is not None
    assert (first.triage.urgent, first.triage.category, first.triage.situation) == (
        True,
        "arrest_custody",
        "arrest or custody",
    )
    assert first.triage.reasons  # why, as a person reads it
    assert first.triage.corrected is None
    assert second.triage is not None
    assert (second.triage.urgent, second.triage.decided_urgent, second.triage.situation) == (
        True,
        False,
        "court date or deadline",
    )
    assert second.triage.corrected is not None
    assert (second.triage.corrected.by, second.triage.corrected.note) == ("Pat Paralegal", "hearing")
    assert reply.message.direction == "outbound"
    assert reply.triage is None  # the firm's own texts are never triaged


def test_the_page_reads_triage_in_the_same_number_of_queries_however_many_texts(engine: Engine) -> None:
    seed(engine)
    pat, _ = add_user(engine, name="Pat Paralegal", email="pat@firm.example", role="staff")
    thread_id = text_in(engine, JANE, ARREST).thread_id
    with counted(engine) as few:
        queries.conversation.load(engine, SETTINGS, thread_id, pat.id)
    for n in range(1, 6):
        texted = text_in(engine, JANE, f"{ROUTINE} ({n})", minutes=n)
        services.triage.correct(engine, SETTINGS, texted.message_id, urgent=True, actor=Actor.of(pat))
    with counted(engine) as many:
        queries.conversation.load(engine, SETTINGS, thread_id, pat.id)
    assert len(many) == len(few)
