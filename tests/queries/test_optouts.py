"""The opt-out ledger as the firm reads it: every number's newest word (stop or start), when, and how it came."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from connector import queries
from connector.errors import Kind, MatterlineError
from tests.support.firm import CARA, FIRM_NUMBER, JANE, OMAR, seed
from tests.support.matter_history import text_in

NY = ZoneInfo("America/New_York")
T0 = datetime(2026, 11, 30, 10, 0, tzinfo=NY)
STRANGER = "+13105550142"


@pytest.fixture
def store(engine: Engine) -> Engine:
    """Jane and a stranger said stop; Omar said stop and then start; Cara only ever said start."""
    seed(engine)
    text_in(engine, JANE, "STOP", T0)
    text_in(engine, OMAR, "STOP", T0 + timedelta(minutes=1))
    text_in(engine, CARA, "START", T0 + timedelta(minutes=2))
    text_in(engine, OMAR, "START", T0 + timedelta(minutes=3))
    text_in(engine, STRANGER, "Please stop texting me, I hired another attorney", T0 + timedelta(minutes=4))
    return engine


def test_every_number_in_the_ledger_with_its_newest_entry(store: Engine) -> None:
    states = queries.optouts.listing(store)
    assert [s.phone for s in states] == sorted([JANE, OMAR, CARA, STRANGER])
    by_phone = {s.phone: s for s in states}
    assert (by_phone[JANE].opted_out, by_phone[JANE].since) == (True, T0)
    assert (by_phone[OMAR].opted_out, by_phone[OMAR].since) == (False, T0 + timedelta(minutes=3))
    assert by_phone[CARA].opted_out is False
    assert by_phone[STRANGER].opted_out is True
    assert (by_phone[JANE].source, by_phone[STRANGER].source) == ("keyword", "plain_language")


def test_only_the_numbers_opted_out_now(store: Engine) -> None:
    assert [s.phone for s in queries.optouts.listing(store, only_opted_out=True)] == sorted([JANE, STRANGER])
    text_in(store, JANE, "START", T0 + timedelta(minutes=5))
    assert [s.phone for s in queries.optouts.listing(store, only_opted_out=True)] == [STRANGER]


def test_one_numbers_every_entry_newest_first_as_typed_any_way(store: Engine) -> None:
    history = queries.optouts.history(store, "212.867.5309")
    assert [(e.action, e.source, e.keyword, e.created_at) for e in history] == [
        ("opt_in", "keyword", "START", T0 + timedelta(minutes=3)),
        ("opt_out", "keyword", "STOP", T0 + timedelta(minutes=1)),
    ]
    assert {(e.phone, e.firm_number, e.actor) for e in history} == {(OMAR, FIRM_NUMBER, None)}
    assert [e.source for e in queries.optouts.history(store, STRANGER)] == ["plain_language"]
    assert queries.optouts.history(store, "+14155550199") == []


def test_a_history_of_something_that_is_no_number_is_refused(store: Engine) -> None:
    with pytest.raises(MatterlineError) as caught:
        queries.optouts.history(store, "555")
    assert (caught.value.kind, caught.value.code) == (Kind.INVALID, "invalid_phone")
