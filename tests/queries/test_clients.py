"""The synced clients as staff look them up: their textable numbers, the numbers the sync could not read, and
pages by id; every filter narrows the query itself."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from connector import queries
from connector.sync.ingest import apply, mark_deleted
from connector.sync.records import read_contact
from tests.support.firm import ANN_LEE, CARA, CLIO, JANE, NOW, OMAR, seed

# One number typed so badly the sync kept it as it was, next to a good one; and a contact with only a bad one.
MORE: list[dict[str, Any]] = [
    {
        "id": 6,
        "name": "Dev Patel",
        "is_client": True,
        "phone_numbers": [{"number": "call my cell", "primary": True}, {"number": "(646) 555-0199"}],
    },
    {"id": 7, "name": "Eve Stone", "is_client": True, "phone_numbers": [{"number": "12", "primary": True}]},
]


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine)
    with engine.begin() as conn:
        apply(conn, "clients", [read_contact(CLIO.resources["clients"], raw, "US") for raw in MORE], now=NOW)
    return engine


def names(views: list[queries.clients.ClientView]) -> list[str]:
    return [view.name for view in views]


def test_every_client_with_their_numbers_by_id(store: Engine) -> None:
    everyone = queries.clients.listing(store)
    assert names(everyone) == ["Jane Doe", "Omar Haddad", "Ann Lee", "Bo Lee", "Cara Diaz", "Dev Patel", "Eve Stone"]
    assert [view.id for view in everyone] == sorted(view.id for view in everyone)
    by_name = {view.name: view for view in everyone}
    assert (by_name["Jane Doe"].cms_id, by_name["Jane Doe"].phones, by_name["Jane Doe"].unparseable_phones) == (
        "1",
        [JANE],
        [],
    )
    assert by_name["Omar Haddad"].phones == [OMAR]
    assert by_name["Ann Lee"].phones == by_name["Bo Lee"].phones == [ANN_LEE]
    assert by_name["Cara Diaz"].phones == [CARA]


def test_one_client_by_cms_id(store: Engine) -> None:
    [omar] = queries.clients.listing(store, cms_id="2")
    assert (omar.name, omar.phones) == ("Omar Haddad", [OMAR])
    assert queries.clients.listing(store, cms_id="999") == []


def test_only_the_clients_with_numbers_that_could_not_be_read(store: Engine) -> None:
    unreadable = queries.clients.listing(store, unparseable=True)
    assert names(unreadable) == ["Dev Patel", "Eve Stone"]
    dev, eve = unreadable
    assert (dev.phones, dev.unparseable_phones) == (["+16465550199"], ["call my cell"])
    assert (eve.phones, eve.unparseable_phones) == ([], ["12"])
    assert queries.clients.listing(store, unparseable=True, cms_id="1") == []


def test_pages_by_id_have_no_gaps_or_repeats(store: Engine) -> None:
    everyone = queries.clients.listing(store)
    seen: list[int] = []
    after: int | None = None
    while page := queries.clients.listing(store, after=after, limit=3):
        assert len(page) <= 3
        seen.extend(view.id for view in page)
        after = page[-1].id
    assert seen == [view.id for view in everyone]
    assert names(queries.clients.listing(store, after=everyone[1].id, limit=2)) == ["Ann Lee", "Bo Lee"]


def test_a_contact_deleted_in_the_cms_is_not_listed(store: Engine) -> None:
    with store.begin() as conn:
        assert mark_deleted(conn, "clients", ["5"], NOW) == 1
    assert "Cara Diaz" not in names(queries.clients.listing(store))
    assert queries.clients.listing(store, cms_id="5") == []
