"""Finding where a number stands on consent and opt-out, by the number typed any way or by a client's name;
and the consent ledger as written."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from connector import queries, services
from connector.errors import Kind, MatterlineError
from connector.staff.users import Actor
from tests.support.firm import ANN_LEE, CARA, JANE, OMAR, seed, settings
from tests.support.matter_history import text_in

PAT = Actor("user:3:pat@firm.example")
T0 = datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("America/New_York"))


@pytest.fixture
def store(engine: Engine) -> Engine:
    """Every client consented in their engagement letter; Omar then withdrew, and Jane said STOP."""
    seed(engine)
    services.consents.withdraw(engine, settings(), OMAR, method="verbal", actor=PAT, source="call with Omar")
    text_in(engine, JANE, "STOP", T0)
    return engine


@pytest.mark.parametrize("typed", ["(415) 867-5309", "415.867.5309", "+1 415 867 5309", "4158675309"])
def test_a_number_typed_any_way_is_found_with_its_client_consent_and_opt_out(store: Engine, typed: str) -> None:
    [found] = queries.consents.lookup(store, typed, region="US")
    assert (found.phone, found.clients) == (JANE, ("Jane Doe",))
    assert found.consent is not None
    assert (found.consent.action, found.consent.method) == ("grant", "engagement_letter")
    assert (found.opt_out.opted_out, found.opt_out.since, found.opt_out.source) == (True, T0, "keyword")


def test_a_client_name_finds_their_numbers_in_any_case(store: Engine) -> None:
    [omar] = queries.consents.lookup(store, "haddad", region="US")
    assert (omar.phone, omar.clients, omar.opt_out.opted_out) == (OMAR, ("Omar Haddad",), False)
    assert omar.consent is not None
    assert (omar.consent.action, omar.consent.source) == ("revoke", "call with Omar")
    [lees] = queries.consents.lookup(store, "Lee", region="US")  # one number the family shares
    assert (lees.phone, lees.clients) == (ANN_LEE, ("Ann Lee", "Bo Lee"))
    assert [f.phone for f in queries.consents.lookup(store, "a", region="US")] == sorted([JANE, OMAR, ANN_LEE, CARA])
    assert queries.consents.lookup(store, "Nobody%", region="US") == []


def test_a_number_no_one_has_stands_alone(store: Engine) -> None:
    [found] = queries.consents.lookup(store, "+44 20 7946 0958", region="US")
    assert (found.phone, found.clients, found.consent, found.opt_out.opted_out) == ("+442079460958", (), None, False)


@pytest.mark.parametrize("typed", ["555", "  ", "+1 (415) 000"])
def test_what_is_neither_a_number_nor_a_name_is_refused_in_words(store: Engine, typed: str) -> None:
    with pytest.raises(MatterlineError) as caught:
        queries.consents.lookup(store, typed, region="US")
    assert (caught.value.kind, caught.value.code) == (Kind.INVALID, "invalid_phone")
    assert "phone number" in caught.value.message


def test_the_ledger_is_every_row_as_written_oldest_first(store: Engine) -> None:
    services.consents.record(store, settings(), "212-867-5309", method="web_form", actor=PAT, scope="matter 201")
    rows = queries.consents.listing(store, "(212) 867-5309")
    assert [(r.action, r.method, r.captured_by) for r in rows] == [
        ("grant", "engagement_letter", "seed"),
        ("revoke", "verbal", PAT.label),
        ("grant", "web_form", PAT.label),
    ]
    assert rows[0].created_at < rows[2].created_at + timedelta(seconds=1)
