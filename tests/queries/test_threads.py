"""The inbox's threads: what each shows, the filters, keyset paging, and per-person unread counts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, update

from connector import queries, services
from connector.errors import MatterlineError
from connector.messaging import filing
from connector.queries.threads import ThreadView
from connector.staff.users import Actor, User
from connector.store.tables import metadata
from connector.store.tables import threads as thread_rows
from tests.support.firm import FIRM_NUMBER, JANE, NOW, OMAR, seed
from tests.support.inbox import SETTINGS, at_fault, stranger, text_in
from tests.support.people import add_user


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine)
    return engine


@pytest.fixture
def people(store: Engine) -> tuple[User, User]:
    alice, _ = add_user(store, name="Alice Attorney", email="alice@firm.example", role="attorney")
    sam, _ = add_user(store, name="Sam Staff", email="sam@firm.example", role="staff")
    return alice, sam


def ids(views: list[ThreadView]) -> list[int]:
    return [view.id for view in views]


# -- what a thread shows ---------------------------------------------------------------------------------


def test_threads_show_client_matter_and_filing_newest_first(store: Engine) -> None:
    jane = text_in(store, JANE, "Is my hearing still on?", minutes=1)
    unknown = text_in(store, stranger(1), "who is this", minutes=2)
    views, cursor = queries.threads.listing(store, user_id=None)
    assert cursor is None
    assert ids(views) == [unknown.thread_id, jane.thread_id]
    newest, older = views
    assert older.client_name == "Jane Doe"
    assert older.client_cms_id == "1"
    assert older.matter_cms_id == "101"
    assert older.matter_display_number == "00101-Doe"
    assert older.state == "filed"
    assert older.filing_rule == filing.RULE_ONLY_OPEN_MATTER
    assert older.firm_number == FIRM_NUMBER
    assert older.client_phone == JANE
    assert older.message_count == 1
    assert older.last_message_at == NOW + timedelta(minutes=1)
    assert (older.unread, older.opted_out, older.urgent, older.assignee) == (0, False, False, None)
    assert newest.client_name is None
    assert newest.matter_cms_id is None
    assert newest.matter_display_number is None
    assert newest.state == "needs_filing"


def test_get_thread_and_unknown_thread(store: Engine, people: tuple[User, User]) -> None:
    alice, _ = people
    received = text_in(store, JANE)
    view = queries.threads.get(store, received.thread_id, alice.id)
    assert view is not None
    assert view.unread == 1
    assert queries.threads.get(store, received.thread_id + 1000, alice.id) is None


def test_a_thread_without_messages_is_not_listed_but_can_be_fetched(store: Engine) -> None:
    with store.begin() as conn:
        empty = filing.thread_for(conn, FIRM_NUMBER, stranger(9), NOW)
    text_in(store, JANE)
    views, _ = queries.threads.listing(store, user_id=None)
    assert empty.id not in ids(views)
    fetched = queries.threads.get(store, empty.id, None)
    assert fetched is not None
    assert fetched.last_message_at is None


def test_outbound_texts_are_never_unread(store: Engine, people: tuple[User, User]) -> None:
    alice, _ = people
    thread_id = text_in(store, JANE).thread_id
    services.messages.send(store, SETTINGS, body="We got it", thread_id=thread_id, actor=Actor.of(alice))
    view = queries.threads.get(store, thread_id, alice.id)
    assert view is not None
    assert view.unread == 1
    assert view.message_count == 2


# -- filters ---------------------------------------------------------------------------------------------


def test_filters(store: Engine, people: tuple[User, User]) -> None:
    alice, sam = people
    jane = text_in(store, JANE, "hello", minutes=1).thread_id
    omar = text_in(store, OMAR, "hi", minutes=2).thread_id  # two open matters: needs filing
    loose = text_in(store, stranger(1), "who?", minutes=3).thread_id
    quitter = text_in(store, stranger(2), "hey", minutes=4).thread_id
    text_in(store, stranger(2), "STOP", minutes=5)

    services.threads.assign(store, jane, alice.id, actor=Actor.of(sam))
    services.threads.assign(store, loose, sam.id, actor=Actor.of(sam))
    services.threads.set_urgent(store, omar, True, actor=Actor.of(alice))

    def listed(**kw: Any) -> list[int]:
        return ids(queries.threads.listing(store, user_id=alice.id, **kw)[0])

    assert listed() == [quitter, loose, omar, jane]
    assert listed(mine=True) == [jane]
    assert ids(queries.threads.listing(store, user_id=sam.id, mine=True)[0]) == [loose]
    assert listed(needs_filing=True) == [quitter, loose, omar]
    assert listed(urgent=True) == [omar]
    assert listed(opted_out=True) == [quitter]
    assert listed(matter_cms_id="101") == [jane]
    assert listed(matter_cms_id="999") == []
    assert listed(client_cms_id="2") == [omar]
    assert listed(needs_filing=True, urgent=True) == [omar]
    assert listed(mine=True, urgent=True) == []

    views = {view.id: view for view in queries.threads.listing(store, user_id=alice.id)[0]}
    assert views[quitter].opted_out is True
    assert views[jane].assignee == "alice@firm.example"
    assert views[jane].assignee_id == alice.id
    assert views[omar].urgent is True


def test_opting_back_in_leaves_the_opted_out_filter(store: Engine) -> None:
    thread_id = text_in(store, stranger(3), "STOP", minutes=1).thread_id
    assert ids(queries.threads.listing(store, user_id=None, opted_out=True)[0]) == [thread_id]
    text_in(store, stranger(3), "START", minutes=2)
    assert queries.threads.listing(store, user_id=None, opted_out=True)[0] == []
    view = queries.threads.get(store, thread_id, None)
    assert view is not None
    assert view.opted_out is False


def test_matter_filter_finds_a_thread_that_has_moved_on(store: Engine, people: tuple[User, User]) -> None:
    alice, _ = people
    received = text_in(store, OMAR, "about the DUI")
    with store.begin() as conn:
        filing.refile_message(conn, received.message_id, "201", actor=alice.actor, actor_id=alice.id, now=NOW)
        filing.refile_thread(conn, received.thread_id, "202", actor=alice.actor, actor_id=alice.id, now=NOW)
    assert ids(queries.threads.listing(store, user_id=None, matter_cms_id="202")[0]) == [received.thread_id]
    assert ids(queries.threads.listing(store, user_id=None, matter_cms_id="201")[0]) == [received.thread_id]


def test_mine_needs_a_user(store: Engine) -> None:
    with pytest.raises(MatterlineError) as caught:
        queries.threads.listing(store, user_id=None, mine=True)
    assert at_fault(caught.value) == "mine"


def test_unassigned_unread_and_waiting(store: Engine, people: tuple[User, User]) -> None:
    alice, sam = people
    jane = text_in(store, JANE, "hello", minutes=1).thread_id
    omar = text_in(store, OMAR, "hi", minutes=2).thread_id
    helped = text_in(store, stranger(1), "HELP", minutes=3).thread_id  # a bare keyword: Matterline answers it

    def listed(user: User = alice, **kw: Any) -> list[int]:
        return ids(queries.threads.listing(store, user_id=user.id, **kw)[0])

    services.threads.assign(store, jane, alice.id, actor=Actor.of(sam))
    assert listed(unassigned=True) == [helped, omar]
    assert listed(unassigned=True, mine=True) == []

    assert listed(unread=True) == [helped, omar, jane]
    services.threads.mark_read(store, omar, actor=Actor.of(alice))
    assert listed(unread=True) == [helped, jane]
    # A read mark is the person's own; and Jane's thread is Alice's now, so her texts are not Sam's to read.
    assert listed(sam, unread=True) == [helped, omar]
    services.threads.mark_unread(store, omar, actor=Actor.of(alice))
    assert listed(unread=True) == [helped, omar, jane]
    with pytest.raises(MatterlineError) as caught:
        queries.threads.listing(store, user_id=None, unread=True)
    assert at_fault(caught.value) == "unread"

    assert listed(waiting=True) == [omar, jane]
    services.messages.send(store, SETTINGS, body="We got it", thread_id=jane, actor=Actor.of(alice))
    assert listed(waiting=True) == [omar]
    text_in(store, JANE, "thanks", minutes=30)
    assert listed(waiting=True) == [jane, omar]
    assert listed(waiting=True, unassigned=True) == [omar]
    text_in(store, stranger(1), "Where do I park?", minutes=31)  # a question after the keyword waits
    assert listed(waiting=True) == [helped, jane, omar]


def test_each_row_carries_its_newest_text_and_delivery_status(store: Engine, people: tuple[User, User]) -> None:
    alice, _ = people
    long_text = "Is my hearing still on? " * 10
    jane = text_in(store, JANE, long_text, minutes=1).thread_id
    omar = text_in(store, OMAR, "one\nline", minutes=2).thread_id
    views = {view.id: view for view in queries.threads.listing(store, user_id=alice.id)[0]}
    assert views[omar].snippet == "one line"
    assert (views[omar].last_direction, views[omar].last_status) == ("inbound", "received")
    snippet = views[jane].snippet
    assert snippet is not None
    assert snippet.endswith("…")
    assert len(snippet) <= queries.threads.SNIPPET_LENGTH + 1
    assert long_text.startswith(snippet[:-1])
    services.messages.send(store, SETTINGS, body="We got it", thread_id=jane, actor=Actor.of(alice))
    view = queries.threads.get(store, jane, alice.id)
    assert view is not None
    assert (view.snippet, view.last_direction, view.last_status) == ("We got it", "outbound", "pending")
    assert view.last_inbound_at == NOW + timedelta(minutes=1)


# -- search ----------------------------------------------------------------------------------------------


@pytest.fixture
def searchable(store: Engine) -> dict[str, int]:
    return {
        "jane": text_in(store, JANE, "Is my hearing still on?", minutes=1).thread_id,
        "omar": text_in(store, OMAR, "About the lease", minutes=2).thread_id,
        "odd": text_in(store, stranger(7), '50% off_today, it\'s "done"', minutes=3).thread_id,
    }


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("jane", ["jane"]),
        ("JANE DOE", ["jane"]),
        ("haddad", ["omar"]),
        ("(415) 867-5309", ["jane"]),
        ("415.867.5309", ["jane"]),
        ("+1 415 867 5309", ["jane"]),
        ("867-5309", ["omar", "jane"]),  # a run of digits inside both numbers
        ("5555-0007", ["odd"]),
        ("00101", ["jane"]),
        ("00101-doe", ["jane"]),
        ("hearing", ["jane"]),
        ("LEASE", ["omar"]),
        ("%", ["odd"]),
        ("_", ["odd"]),
        ("it's", ["odd"]),
        ('"done"', ["odd"]),
        ("%_'\";--", []),
        ("nothing like it", []),
        ("  hearing  ", ["jane"]),
        ("", ["odd", "omar", "jane"]),
    ],
)
def test_search_by_name_number_matter_and_text(
    store: Engine, searchable: dict[str, int], q: str, expected: list[str]
) -> None:
    found = ids(queries.threads.listing(store, user_id=None, q=q)[0])
    assert found == [searchable[name] for name in expected]


def test_search_combines_with_a_filter_and_pages(store: Engine, people: tuple[User, User]) -> None:
    alice, sam = people
    for n in range(5):
        thread_id = text_in(store, stranger(n), f"parking ticket {n}", minutes=n).thread_id
        if n % 2:
            services.threads.assign(store, thread_id, alice.id, actor=Actor.of(sam))
    text_in(store, JANE, "no match here", minutes=10)
    first, cursor = queries.threads.listing(store, user_id=alice.id, q="parking", limit=3)
    second, last = queries.threads.listing(store, user_id=alice.id, q="parking", before=cursor, limit=3)
    assert (len(first), len(second), last) == (3, 2, None)
    mine = queries.threads.listing(store, user_id=alice.id, q="ticket", mine=True)[0]
    assert [view.snippet for view in mine] == ["parking ticket 3", "parking ticket 1"]


def test_text_search_looks_only_in_the_newest_texts(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    old = text_in(store, JANE, "the old word", minutes=1).thread_id
    text_in(store, OMAR, "something newer", minutes=2)
    assert ids(queries.threads.listing(store, user_id=None, q="old word")[0]) == [old]
    monkeypatch.setattr(queries.threads, "TEXT_SEARCH_WINDOW", 1)
    assert ids(queries.threads.listing(store, user_id=None, q="old word")[0]) == []
    assert ids(queries.threads.listing(store, user_id=None, q="jane")[0]) == [old]  # names are searched in full


@pytest.mark.parametrize("q", ["x" * 10_000, "x" * (queries.threads.SEARCH_MAX + 1), "nul\x00byte", "tab\there"])
def test_a_search_that_cannot_be_one_is_refused_plainly(store: Engine, q: str) -> None:
    text_in(store, JANE)
    with pytest.raises(MatterlineError) as caught:
        queries.threads.listing(store, user_id=None, q=q)
    assert at_fault(caught.value) == "q"
    assert "search" in caught.value.message


# -- keyset paging ---------------------------------------------------------------------------------------


def test_paging_threads_has_no_duplicates_or_gaps_even_with_ties(store: Engine) -> None:
    # 23 threads; groups of three share the same instant, so the id has to break the ties.
    for n in range(23):
        text_in(store, stranger(n), f"text {n}", minutes=n // 3)
    everything, _ = queries.threads.listing(store, user_id=None, limit=200)
    assert len(everything) == 23
    moments = [view.last_message_at for view in everything]
    assert moments == sorted(moments, reverse=True)

    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        page, cursor = queries.threads.listing(store, user_id=None, before=cursor, limit=5)
        pages += 1
        seen.extend(ids(page))
        if cursor is None:
            break
    assert pages == 5
    assert seen == ids(everything)


def test_paging_is_stable_when_new_activity_arrives(store: Engine) -> None:
    for n in range(6):
        text_in(store, stranger(n), minutes=n)
    first, cursor = queries.threads.listing(store, user_id=None, limit=3)
    text_in(store, stranger(99), minutes=60)  # a new thread lands on top, not in the next page
    second, cursor = queries.threads.listing(store, user_id=None, before=cursor, limit=3)
    assert cursor is None
    assert len(set(ids(first)) | set(ids(second))) == 6


def test_paging_within_a_filter(store: Engine) -> None:
    for n in range(7):
        thread_id = text_in(store, stranger(n), minutes=n).thread_id
        if n % 2 == 0:
            with store.begin() as conn:
                conn.execute(update(thread_rows).where(thread_rows.c.id == thread_id).values(urgent=True))
    first, cursor = queries.threads.listing(store, user_id=None, urgent=True, limit=3)
    assert cursor is not None
    second, cursor = queries.threads.listing(store, user_id=None, urgent=True, before=cursor, limit=3)
    assert cursor is None
    assert len(first) == 3
    assert len(second) == 1
    assert all(view.urgent for view in first + second)


@pytest.mark.parametrize("cursor", ["nope", "", "W10", "WyJ4IiwgMV0", "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwgMV0"])
def test_a_bad_cursor_is_refused(store: Engine, cursor: str) -> None:
    with pytest.raises(MatterlineError) as caught:
        queries.threads.listing(store, user_id=None, before=cursor)
    assert at_fault(caught.value) == "cursor"


@pytest.mark.parametrize("limit", [0, -1, 201])
def test_a_bad_limit_is_refused(store: Engine, limit: int) -> None:
    with pytest.raises(MatterlineError) as caught:
        queries.threads.listing(store, user_id=None, limit=limit)
    assert at_fault(caught.value) == "limit"
    with pytest.raises(MatterlineError):
        queries.messages.listing(store, 1, limit=limit)


# -- the store -------------------------------------------------------------------------------------------


def test_the_migrations_create_the_inbox_indexes_the_tables_declare(store: Engine) -> None:
    with store.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    index_ops = [d for d in diffs if isinstance(d, tuple) and d[0] in ("add_index", "remove_index")]
    assert [(op, index.name) for op, index in index_ops if index.table.name == "threads"] == []
