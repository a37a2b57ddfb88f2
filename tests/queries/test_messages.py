"""A thread's texts as staff read them: newest first, paged by message id, with who sent each and how it fared."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from connector import queries, services
from connector.errors import MatterlineError
from connector.staff.users import Actor, User
from tests.support.firm import JANE, seed
from tests.support.inbox import SETTINGS, at_fault, text_in
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


def test_messages_page_newest_first(store: Engine, people: tuple[User, User]) -> None:
    alice, _ = people
    thread_id = text_in(store, JANE, "text 0").thread_id
    for n in range(1, 7):
        text_in(store, JANE, f"text {n}", minutes=n)
    services.messages.send(store, SETTINGS, body="Reply 😊", thread_id=thread_id, actor=Actor.of(alice))

    everything, more = queries.messages.listing(store, thread_id, limit=200)
    assert more is None
    assert len(everything) == 8
    assert [m.id for m in everything] == sorted((m.id for m in everything), reverse=True)
    reply = everything[0]
    assert (reply.direction, reply.author, reply.body, reply.status) == ("outbound", alice.email, "Reply 😊", "pending")
    assert (reply.encoding, reply.num_segments, reply.matter_cms_id) == ("UCS-2", 1, "101")
    received = everything[1]
    assert (received.direction, received.author, received.body, received.kind) == ("inbound", JANE, "text 6", "message")
    assert received.sid is not None
    assert received.media == ()
    assert received.thread_id == thread_id

    seen: list[int] = []
    before: int | None = None
    while True:
        page, before = queries.messages.listing(store, thread_id, before_id=before, limit=3)
        seen.extend(m.id for m in page)
        if before is None:
            break
    assert seen == [m.id for m in everything]

    message = queries.messages.get(store, reply.id)
    assert message == reply
    assert queries.messages.get(store, 999_999) is None


def test_messages_of_an_unknown_thread(store: Engine) -> None:
    with pytest.raises(MatterlineError, match="no thread"):
        queries.messages.listing(store, 999_999)
    thread_id = text_in(store, JANE).thread_id
    with pytest.raises(MatterlineError) as caught:
        queries.messages.listing(store, thread_id, before_id=0)
    assert at_fault(caught.value) == "before"
