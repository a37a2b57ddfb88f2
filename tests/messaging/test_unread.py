"""Who has a thread unread: a client text is unread for the people whose thread it is to answer when it
comes, reading clears it, marking unread brings it back, and a thread changing hands takes its unread
texts with it. Each rule is checked where a person sees it: the Unread filter and the badge."""

from __future__ import annotations

from sqlalchemy import Engine, select

from connector import queries, services
from connector.queries.activity import unread_total
from connector.staff.users import Actor, User
from connector.store.tables import thread_unread
from tests.support.inbox import stranger, text_in
from tests.support.people import add_user


def _people(engine: Engine) -> tuple[User, User]:
    pat, _ = add_user(engine, name="Pat Paralegal", email="pat@firm.example", role="staff")
    alice, _ = add_user(engine, name="Alice Attorney", email="alice@firm.example", role="attorney")
    return pat, alice


def unread_for(engine: Engine, person: User) -> list[int]:
    """The Unread filter as `person` sees it: thread ids, newest first."""
    return [view.id for view in queries.threads.listing(engine, user_id=person.id, unread=True)[0]]


def test_a_text_in_the_shared_queue_is_unread_for_everyone_active_and_reading_is_each_persons_own(
    engine: Engine,
) -> None:
    pat, alice = _people(engine)
    gone, _ = add_user(engine, name="Dee Departed", email="dee@firm.example", role="staff")
    services.users.disable(engine, gone.id, actor=Actor.of(alice))
    queue = text_in(engine, stranger(1), "is anyone there?").thread_id
    assert unread_for(engine, pat) == unread_for(engine, alice) == [queue]
    assert unread_for(engine, gone) == []
    services.threads.mark_read(engine, queue, actor=Actor.of(pat))
    assert unread_for(engine, pat) == []
    assert (unread_total(engine, pat.id), unread_total(engine, alice.id)) == (0, 1)


def test_a_text_in_a_colleagues_thread_is_theirs_to_read_not_mine(engine: Engine) -> None:
    pat, alice = _people(engine)
    thread = text_in(engine, stranger(1), "first").thread_id
    services.threads.assign(engine, thread, alice.id, actor=Actor.of(pat))
    assert unread_for(engine, pat) == []  # handing it over took it out of my unread
    text_in(engine, stranger(1), "second")
    assert unread_for(engine, pat) == []
    assert unread_for(engine, alice) == [thread]
    assert unread_total(engine, alice.id) == 2


def test_back_in_the_queue_its_unread_texts_are_everyones_who_has_not_read_them(engine: Engine) -> None:
    pat, alice = _people(engine)
    thread = text_in(engine, stranger(1), "first").thread_id
    services.threads.assign(engine, thread, alice.id, actor=Actor.of(pat))
    services.threads.assign(engine, thread, None, actor=Actor.of(alice))
    assert unread_for(engine, pat) == [thread]
    assert unread_for(engine, alice) == [thread]


def test_marking_unread_brings_a_thread_back_even_a_colleagues(engine: Engine) -> None:
    pat, alice = _people(engine)
    thread = text_in(engine, stranger(1), "call me").thread_id
    services.threads.assign(engine, thread, alice.id, actor=Actor.of(alice))
    services.threads.mark_unread(engine, thread, actor=Actor.of(pat))  # "remind me of this one"
    assert unread_for(engine, pat) == [thread]
    assert unread_total(engine, pat.id) == 1


def test_a_read_up_to_an_earlier_text_leaves_the_thread_unread(engine: Engine) -> None:
    pat, _ = _people(engine)
    first = text_in(engine, stranger(1), "one")
    text_in(engine, stranger(1), "two")
    services.threads.mark_read(engine, first.thread_id, actor=Actor.of(pat), up_to_message_id=first.message_id)
    assert unread_for(engine, pat) == [first.thread_id]
    assert unread_total(engine, pat.id) == 1


def test_someone_who_joins_starts_with_nothing_unread_and_gets_what_comes_after(engine: Engine) -> None:
    before = text_in(engine, stranger(1), "before you joined").thread_id
    newcomer, _ = add_user(engine, name="Nia New", email="nia@firm.example", role="staff")
    assert unread_for(engine, newcomer) == []
    after = text_in(engine, stranger(2), "after").thread_id
    assert unread_for(engine, newcomer) == [after]
    assert before != after


def test_the_rows_are_exactly_the_unread_threads_after_a_mixed_day(engine: Engine) -> None:
    """The index beside the marks never drifts from them: each row is a thread with a text after the mark."""
    pat, alice = _people(engine)
    threads_ = [text_in(engine, stranger(n), f"text {n}").thread_id for n in range(6)]
    services.threads.assign(engine, threads_[0], alice.id, actor=Actor.of(pat))
    services.threads.mark_read(engine, threads_[1], actor=Actor.of(pat))
    services.threads.mark_read(engine, threads_[2], actor=Actor.of(alice))
    text_in(engine, stranger(2), "again")
    services.threads.assign(engine, threads_[3], pat.id, actor=Actor.of(pat))
    services.threads.mark_unread(engine, threads_[1], actor=Actor.of(pat))
    with engine.connect() as conn:
        rows = set(conn.execute(select(thread_unread.c.user_id, thread_unread.c.thread_id)).all())
    for person in (pat, alice):
        marked = {t for u, t in rows if u == person.id}
        counted = {view.id for view in queries.threads.listing(engine, user_id=person.id)[0] if view.unread}
        assert marked == counted, person.name
    assert {t for u, t in rows if u == pat.id} == {threads_[1], threads_[2], threads_[3], threads_[4], threads_[5]}
    assert {t for u, t in rows if u == alice.id} == {threads_[0], threads_[1], threads_[2], threads_[4], threads_[5]}
