"""`/api/clients` (`webhooks/api/clients.py`): the synced clients and contacts, with the numbers Matterline can
text and the numbers the sync could not read."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from connector.sync.ingest import apply, mark_deleted
from connector.sync.records import read_contact
from tests.support.firm import ANN_LEE, CLIO, JANE, NOW
from tests.webhooks.api.harness import Firm, error

DEE = {
    "id": 6,
    "name": "Dee Unknown",
    "is_client": True,
    "phone_numbers": [{"number": "call the office", "primary": True}, {"number": "(415) 555-0199"}],
}


def sync_contacts(engine: Engine, *raw: dict[str, Any]) -> None:
    """Contacts written the way a sync writes them."""
    with engine.begin() as conn:
        apply(conn, "clients", [read_contact(CLIO.resources["clients"], item, "US") for item in raw], now=NOW)


def cms_ids(firm: Firm, query: str = "") -> list[str]:
    response = firm.staff.get(f"/api/clients{query}")
    assert response.status_code == 200, response.get_json()
    return [c["cms_id"] for c in response.get_json()["clients"]]


def test_anyone_signed_in_lists_the_clients_by_store_id_with_their_numbers(firm: Firm) -> None:
    response = firm.staff.get("/api/clients")
    assert response.status_code == 200
    listed = response.get_json()["clients"]
    assert [c["cms_id"] for c in listed] == ["1", "2", "3", "4", "5"]
    assert [c["id"] for c in listed] == sorted(c["id"] for c in listed)
    assert listed[0] == {
        "id": listed[0]["id"],
        "cms_id": "1",
        "name": "Jane Doe",
        "phones": [JANE],
        "unparseable_phones": [],
    }
    assert listed[2]["phones"] == listed[3]["phones"] == [ANN_LEE]  # the Lee family shares one number
    assert response.headers["Cache-Control"] == "no-store"


def test_clients_are_filtered_by_cms_id(firm: Firm) -> None:
    [omar] = firm.attorney.get("/api/clients?cms_id=2").get_json()["clients"]
    assert (omar["cms_id"], omar["name"]) == ("2", "Omar Haddad")
    assert cms_ids(firm, "?cms_id=999") == []


def test_a_number_the_sync_could_not_read_is_kept_as_typed_and_can_be_listed_alone(firm: Firm) -> None:
    sync_contacts(firm.store, DEE)
    [dee] = firm.staff.get("/api/clients?unparseable=true").get_json()["clients"]
    assert (dee["cms_id"], dee["phones"], dee["unparseable_phones"]) == ("6", ["+14155550199"], ["call the office"])
    assert cms_ids(firm, "?unparseable=false") == ["1", "2", "3", "4", "5", "6"]
    assert cms_ids(firm, "?unparseable=true&cms_id=1") == []


def test_a_contact_deleted_in_the_cms_is_no_longer_listed(firm: Firm) -> None:
    with firm.store.begin() as conn:
        mark_deleted(conn, "clients", ["4"], NOW)
    assert cms_ids(firm) == ["1", "2", "3", "5"]
    assert cms_ids(firm, "?cms_id=4") == []


def test_clients_page_after_the_last_id_of_the_previous_page(firm: Firm) -> None:
    sync_contacts(firm.store, DEE)
    everyone = firm.staff.get("/api/clients").get_json()["clients"]
    seen: list[dict[str, Any]] = []
    query = "limit=4"
    pages = 0
    while True:
        page = firm.staff.get(f"/api/clients?{query}").get_json()["clients"]
        pages += 1
        seen.extend(page)
        if len(page) < 4:
            break
        query = f"limit=4&after={page[-1]['id']}"
    assert pages == 2
    assert seen == everyone
    assert cms_ids(firm, f"?after={everyone[-1]['id']}") == []
    assert cms_ids(firm, "?after=0&limit=1") == ["1"]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("unparseable=maybe", "unparseable"),
        ("unparseable=true&unparseable=false", "unparseable"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("after=-1", "after"),
        ("after=three", "after"),
        ("cms_id=", "cms_id"),
        ("cms_id=" + "9" * 65, "cms_id"),
    ],
)
def test_list_clients_refuses_bad_parameters_by_name(firm: Firm, query: str, parameter: str) -> None:
    response = firm.staff.get(f"/api/clients?{query}")
    assert response.status_code == 400
    assert error(response)["code"] == "invalid_parameter"
    assert error(response)["details"]["parameter"] == parameter
