"""What staff do with a conversation: mark it read or unread (each person their own), assign it, flag it urgent;
each audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, update

from connector import queries, services
from connector.errors import Kind, MatterlineError
from connector.staff.users import Actor, User
from connector.store.engine import utcnow
from connector.store.tables import users
from tests.support.firm import JANE, NOW, OMAR, seed
from tests.support.inbox import SETTINGS, at_fault, audit_rows, text_in
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


# -- read state ------------------------------------------------------------------------------------------


def test_unread_counts_are_per_person(store: Engine, people: tuple[User, User]) -> None:
    alice, sam = people
    first = text_in(store, JANE, "one", minutes=1)
    second = text_in(store, JANE, "two", minutes=2)
    text_in(store, JANE, "three", minutes=3)
    thread_id = first.thread_id

    def unread(user: User | None) -> int:
        view = queries.threads.get(store, thread_id, None if user is None else user.id)
        assert view is not None
        listed = queries.threads.listing(store, user_id=None if user is None else user.id)[0]
        assert [v.unread for v in listed if v.id == thread_id] == [view.unread]
        return view.unread

    assert (unread(alice), unread(sam), unread(None)) == (3, 3, 0)
    mark = services.threads.mark_read(store, thread_id, actor=Actor.of(alice, "req-1"))
    assert (unread(alice), unread(sam)) == (0, 3)
    assert (
        services.threads.mark_read(store, thread_id, actor=Actor.of(sam), up_to_message_id=second.message_id)
        == second.message_id
    )
    assert (unread(alice), unread(sam)) == (0, 1)
    text_in(store, JANE, "four", minutes=4)
    assert (unread(alice), unread(sam)) == (1, 2)

    # The mark never moves back: an older message id leaves it where it is.
    assert (
        services.threads.mark_read(store, thread_id, actor=Actor.of(alice), up_to_message_id=first.message_id) == mark
    )
    assert unread(alice) == 1

    entries = audit_rows(store, "read")
    assert len(entries) == 2  # alice's and sam's; the read that moved nothing is neither written nor audited
    assert entries[0].actor == alice.actor
    assert entries[0].subject_type == "thread"
    assert entries[0].subject_id == str(thread_id)
    assert entries[0].request_id == "req-1"
    assert entries[0].matter_cms_id == "101"


def test_mark_read_checks_the_thread_and_message(store: Engine, people: tuple[User, User]) -> None:
    alice, _ = people
    jane = text_in(store, JANE)
    omar = text_in(store, OMAR)
    with pytest.raises(MatterlineError, match="no thread"):
        services.threads.mark_read(store, 999_999, actor=Actor.of(alice))
    with pytest.raises(MatterlineError) as caught:
        services.threads.mark_read(store, jane.thread_id, actor=Actor.of(alice), up_to_message_id=omar.message_id)
    assert at_fault(caught.value) == "message_id"
    assert audit_rows(store, "read") == []


# -- assignment and urgency --------------------------------------------------------------------------------


def test_assign_and_unassign_are_audited(store: Engine, people: tuple[User, User]) -> None:
    alice, sam = people
    thread_id = text_in(store, JANE).thread_id
    done = services.threads.assign(store, thread_id, sam.id, actor=Actor.of(alice, "req-a"))
    assert (done.thread.assignee, done.thread.assignee_id, done.covering_for) == ("sam@firm.example", sam.id, None)
    view = services.threads.assign(store, thread_id, None, actor=Actor.of(alice)).thread
    assert (view.assignee, view.assignee_id) == (None, None)
    first, second = audit_rows(store, "assign")
    assert first.actor == alice.actor
    assert first.request_id == "req-a"
    assert first.details == {"from": None, "to": sam.id, "to_email": "sam@firm.example"}
    assert second.details == {"from": sam.id, "to": None, "to_email": None}


def test_a_thread_assigned_to_someone_away_goes_to_their_backup(store: Engine, people: tuple[User, User]) -> None:
    alice, sam = people
    thread_id = text_in(store, JANE).thread_id
    now = utcnow()
    services.coverage.set_away(
        store,
        user_id=alice.id,
        backup_id=sam.id,
        starts_at=None,
        ends_at=now + timedelta(days=2),
        reason=None,
        actor=Actor.of(alice),
    )
    done = services.threads.assign(store, thread_id, "alice@firm.example", actor=Actor.of(sam, "req-b"))
    assert (done.thread.assignee, done.thread.assignee_id) == ("sam@firm.example", sam.id)
    assert done.covering_for is not None
    assert (done.covering_for.name, done.covering_for.backup_name) == ("Alice Attorney", "Sam Staff")
    [entry] = audit_rows(store, "assign")
    assert entry.details == {"from": None, "to": sam.id, "to_email": "sam@firm.example", "covering_for": alice.id}


def test_a_disabled_user_cannot_be_assigned(store: Engine, people: tuple[User, User]) -> None:
    alice, sam = people
    thread_id = text_in(store, JANE).thread_id
    with store.begin() as conn:
        conn.execute(update(users).where(users.c.id == sam.id).values(disabled_at=NOW))
    with pytest.raises(MatterlineError) as caught:
        services.threads.assign(store, thread_id, sam.id, actor=Actor.of(alice))
    assert at_fault(caught.value) == "assignee"
    with pytest.raises(MatterlineError, match="no thread"):
        services.threads.assign(store, 999_999, alice.id, actor=Actor.of(alice))
    assert audit_rows(store, "assign") == []


def test_urgent_flag_is_audited(store: Engine, people: tuple[User, User]) -> None:
    alice, _ = people
    thread_id = text_in(store, JANE).thread_id
    assert services.threads.set_urgent(store, thread_id, True, actor=Actor.of(alice, "req-u")).urgent is True
    assert services.threads.set_urgent(store, thread_id, False, actor=Actor.of(alice)).urgent is False
    first, second = audit_rows(store, "urgent")
    assert first.details == {"urgent": True, "was": False}
    assert first.request_id == "req-u"
    assert second.details == {"urgent": False, "was": True}
    with pytest.raises(MatterlineError, match="no thread"):
        services.threads.set_urgent(store, 999_999, True, actor=Actor.of(alice))


# -- marking unread --------------------------------------------------------------------------------------


def unread(store: Engine, thread_id: int, user: User) -> int:
    view = queries.threads.get(store, thread_id, user.id)
    assert view is not None
    return view.unread


def test_marking_unread_goes_back_to_the_newest_client_text_for_that_person_only(
    store: Engine, people: tuple[User, User]
) -> None:
    alice, sam = people
    text_in(store, JANE, "one", minutes=1)
    text_in(store, JANE, "two", minutes=2)
    third = text_in(store, JANE, "three", minutes=3)
    thread_id = third.thread_id
    services.messages.send(store, SETTINGS, body="We will call you", thread_id=thread_id, actor=Actor.of(alice))
    services.threads.mark_read(store, thread_id, actor=Actor.of(alice))
    services.threads.mark_read(store, thread_id, actor=Actor.of(sam))
    assert (unread(store, thread_id, alice), unread(store, thread_id, sam)) == (0, 0)

    # The firm's own reply is newer, but "unread" means the client's newest text is waiting again.
    mark = services.threads.mark_unread(store, thread_id, actor=Actor.of(alice))
    assert mark == third.message_id - 1
    assert (unread(store, thread_id, alice), unread(store, thread_id, sam)) == (1, 0)


def test_marking_unread_only_moves_the_mark_back(store: Engine, people: tuple[User, User]) -> None:
    alice, _ = people
    first = text_in(store, JANE, "one", minutes=1)
    text_in(store, JANE, "two", minutes=2)
    third = text_in(store, JANE, "three", minutes=3)
    thread_id = first.thread_id
    services.threads.mark_read(store, thread_id, actor=Actor.of(alice))

    mark = services.threads.mark_unread(store, thread_id, actor=Actor.of(alice), from_message_id=first.message_id)
    assert mark == first.message_id - 1
    assert unread(store, thread_id, alice) == 3
    # Marking a later text unread leaves the earlier ones unread: the mark does not move forward.
    again = services.threads.mark_unread(store, thread_id, actor=Actor.of(alice), from_message_id=third.message_id)
    assert again == mark
    assert unread(store, thread_id, alice) == 3


def test_marking_unread_a_thread_never_read_leaves_everything_unread(store: Engine, people: tuple[User, User]) -> None:
    alice, _ = people
    text_in(store, JANE, "one", minutes=1)
    second = text_in(store, JANE, "two", minutes=2)
    assert services.threads.mark_unread(store, second.thread_id, actor=Actor.of(alice)) == 0
    assert unread(store, second.thread_id, alice) == 2


def test_marking_unread_is_audited(store: Engine, people: tuple[User, User]) -> None:
    alice, _ = people
    received = text_in(store, JANE)
    services.threads.mark_read(store, received.thread_id, actor=Actor.of(alice))
    mark = services.threads.mark_unread(store, received.thread_id, actor=Actor.of(alice, "req-unread"))
    [entry] = audit_rows(store, "unread")
    assert (entry.actor, entry.subject_type, entry.subject_id) == (alice.actor, "thread", str(received.thread_id))
    assert (entry.request_id, entry.matter_cms_id) == ("req-unread", "101")
    assert entry.details == {"from": received.message_id, "read_mark": mark}


def test_a_message_of_another_thread_cannot_be_marked_unread(store: Engine, people: tuple[User, User]) -> None:
    alice, _ = people
    jane = text_in(store, JANE)
    omar = text_in(store, OMAR)
    services.threads.mark_read(store, jane.thread_id, actor=Actor.of(alice))
    with pytest.raises(MatterlineError) as caught:
        services.threads.mark_unread(store, jane.thread_id, actor=Actor.of(alice), from_message_id=omar.message_id)
    assert (caught.value.kind, caught.value.code) == (Kind.INVALID, "invalid_message")
    assert at_fault(caught.value) == "message_id"
    assert unread(store, jane.thread_id, alice) == 0
    assert audit_rows(store, "unread") == []


def test_a_thread_with_no_client_text_has_nothing_to_mark_unread(store: Engine, people: tuple[User, User]) -> None:
    alice, _ = people
    queued = services.messages.send(
        store, SETTINGS, body="Your lease papers are ready", matter_cms_id="202", actor=Actor.of(alice)
    )
    with pytest.raises(MatterlineError) as caught:
        services.threads.mark_unread(store, queued.thread_id, actor=Actor.of(alice))
    assert (caught.value.kind, caught.value.code) == (Kind.INVALID, "invalid_message")
    assert audit_rows(store, "unread") == []


def test_marking_unread_an_unknown_thread_is_not_found(store: Engine, people: tuple[User, User]) -> None:
    alice, _ = people
    with pytest.raises(MatterlineError) as caught:
        services.threads.mark_unread(store, 999_999, actor=Actor.of(alice))
    assert caught.value.kind is Kind.NOT_FOUND


@pytest.mark.parametrize("change", ["mark_read", "mark_unread"])
def test_read_state_is_per_person_so_an_operator_must_say_who(store: Engine, change: str) -> None:
    received = text_in(store, JANE)
    with pytest.raises(MatterlineError) as caught:
        getattr(services.threads, change)(store, received.thread_id, actor=Actor("cli:ops"))
    assert (caught.value.kind, caught.value.code) == (Kind.MALFORMED, "needs_a_person")
    assert at_fault(caught.value) == "as"
    assert audit_rows(store, "read") == audit_rows(store, "unread") == []


# -- filing and closing --------------------------------------------------------------------------------------


def test_filing_a_thread_moves_its_unfiled_texts_and_is_audited(store: Engine, people: tuple[User, User]) -> None:
    alice, _ = people
    first = text_in(store, OMAR, "about the lease", minutes=1)  # two open matters: the thread waits for staff
    text_in(store, OMAR, "the landlord called", minutes=2)
    view, moved = services.threads.refile(
        store, SETTINGS, first.thread_id, "202", actor=Actor.of(alice, "req-file"), now=NOW
    )
    assert (view.matter_cms_id, view.matter_display_number, view.state, moved) == ("202", "00202-Haddad", "filed", 2)
    listed, _ = queries.messages.listing(store, first.thread_id)
    assert {m.matter_cms_id for m in listed} == {"202"}
    [entry] = audit_rows(store, "refile")
    assert (entry.actor, entry.request_id, entry.matter_cms_id) == (alice.actor, "req-file", "202")
    assert entry.details == {"from_matter": None, "to_matter": "202", "messages": 2}


def test_a_thread_is_filed_only_to_a_matter_the_store_knows(store: Engine, people: tuple[User, User]) -> None:
    alice, _ = people
    received = text_in(store, OMAR)
    with pytest.raises(MatterlineError) as caught:
        services.threads.refile(store, SETTINGS, received.thread_id, "999", actor=Actor.of(alice))
    assert (caught.value.kind, caught.value.code) == (Kind.INVALID, "unknown_matter")
    with pytest.raises(MatterlineError) as missing:
        services.threads.refile(store, SETTINGS, 999_999, "201", actor=Actor.of(alice))
    assert missing.value.kind is Kind.NOT_FOUND
    view = queries.threads.get(store, received.thread_id, None)
    assert view is not None
    assert (view.matter_cms_id, view.state) == (None, "needs_filing")
    assert audit_rows(store, "refile") == []


def test_closing_a_threads_window_queues_its_records(store: Engine, people: tuple[User, User]) -> None:
    alice, _ = people
    jane = text_in(store, JANE)
    text_in(store, OMAR)  # unfiled: no window to close
    [closed] = services.threads.close_windows(store, SETTINGS, actor=Actor.of(alice), now=NOW + timedelta(hours=1))
    assert (closed.thread_id, closed.matter_cms_id, closed.messages, closed.writebacks) == (jane.thread_id, "101", 1, 2)
    assert services.threads.close_windows(store, SETTINGS, actor=Actor.of(alice), thread_id=jane.thread_id) == []
    with pytest.raises(MatterlineError) as caught:
        services.threads.close_windows(store, SETTINGS, actor=Actor.of(alice), thread_id=999_999)
    assert caught.value.kind is Kind.NOT_FOUND
