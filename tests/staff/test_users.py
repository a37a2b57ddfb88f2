"""Who a request is from: a bearer token names a person while it is theirs and they are active, and every
action names its actor (a person, or the operator at the command line) the same way."""

from __future__ import annotations

from sqlalchemy import Engine, update

from connector.staff.users import ACTOR_CHARS, Actor, User, authenticate
from connector.store.tables import api_tokens
from tests.support.people import add_user


def test_a_token_names_its_person_until_it_is_revoked(engine: Engine) -> None:
    person, token = add_user(engine, name="Avery Counsel", email="avery@firm.example", role="attorney")
    assert authenticate(engine, token) == person
    assert authenticate(engine, token + "x") is None
    assert authenticate(engine, "not-even-ours") is None  # no prefix: refused before any look-up
    with engine.begin() as conn:
        conn.execute(update(api_tokens).values(revoked_at=api_tokens.c.created_at))
    assert authenticate(engine, token) is None


def test_an_actor_is_a_person_with_their_request_or_an_operator() -> None:
    avery = User(7, "Avery Counsel", "avery@firm.example", "attorney")
    sam = User(8, "Sam Staff", "sam@firm.example", "staff")
    as_avery = Actor.of(avery, "req-1")
    assert (as_avery.label, as_avery.user_id, as_avery.request_id) == ("user:7:avery@firm.example", 7, "req-1")
    assert as_avery.counsel is True
    assert Actor.of(sam).counsel is False
    operator = Actor("cli:ops")
    assert (operator.user_id, operator.counsel) == (None, True)  # the operator holds the store's keys anyway


def test_a_long_email_is_cut_to_what_the_audit_log_keeps_and_stays_unique_by_id() -> None:
    one = User(1, "P", "p" * 300 + "@firm.example", "staff")
    two = User(2, "P", "p" * 300 + "@firm.example", "staff")
    assert len(one.actor) == ACTOR_CHARS
    assert one.actor != two.actor
