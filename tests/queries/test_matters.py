"""The synced matters as staff pick them: by status, by client, one by its CMS id, and paged by id."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from connector import queries
from connector.sync.ingest import mark_deleted
from tests.support.firm import NOW, seed


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine)
    return engine


def cms_ids(views: list[queries.matters.MatterView]) -> list[str]:
    return [view.cms_id for view in views]


def test_every_matter_as_the_cms_describes_it_by_id(store: Engine) -> None:
    everything = queries.matters.listing(store)
    assert cms_ids(everything) == ["101", "102", "201", "202", "301", "501"]
    assert [view.id for view in everything] == sorted(view.id for view in everything)
    custody = everything[0]
    assert (custody.display_number, custody.description, custody.status, custody.client_cms_id) == (
        "00101-Doe",
        "Doe custody",
        "open",
        "1",
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [("open", ["101", "201", "202", "301"]), ("closed", ["102", "501"]), ("pending", [])],
)
def test_matters_by_status(store: Engine, status: str, expected: list[str]) -> None:
    found = queries.matters.listing(store, status=status)
    assert cms_ids(found) == expected
    assert {view.status for view in found} <= {status}


def test_a_clients_matters_and_one_matter(store: Engine) -> None:
    assert cms_ids(queries.matters.listing(store, client_cms_id="1")) == ["101", "102"]
    assert cms_ids(queries.matters.listing(store, client_cms_id="1", status="open")) == ["101"]
    assert cms_ids(queries.matters.listing(store, client_cms_id="4")) == []  # Bo Lee is on no matter of his own
    assert cms_ids(queries.matters.listing(store, cms_id="202")) == ["202"]
    assert queries.matters.listing(store, cms_id="202", client_cms_id="1") == []


def test_pages_by_id_have_no_gaps_or_repeats(store: Engine) -> None:
    everything = queries.matters.listing(store)
    seen: list[str] = []
    after: int | None = None
    while page := queries.matters.listing(store, after=after, limit=4):
        seen.extend(cms_ids(page))
        after = page[-1].id
    assert seen == cms_ids(everything)
    open_page = queries.matters.listing(store, status="open", after=everything[0].id, limit=2)
    assert cms_ids(open_page) == ["201", "202"]


def test_a_matter_deleted_in_the_cms_is_not_listed(store: Engine) -> None:
    with store.begin() as conn:
        mark_deleted(conn, "matters", ["202"], NOW)
    assert cms_ids(queries.matters.listing(store, client_cms_id="2")) == ["201"]
    assert queries.matters.listing(store, cms_id="202") == []
