"""Reading vendor JSON into Matterline's records through a mapping."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from connector.sync.records import RecordError, read_calendar_entry, read_contact, read_matter, read_relationship
from mappings import load_mapping
from tests.support.fixtures import FIXTURES_ROOT

CLIO = load_mapping("clio")
PAGE = json.loads((FIXTURES_ROOT / "http/clio/contacts_page1.json").read_text())


def test_clio_contact_with_every_number_kept() -> None:
    jane = read_contact(CLIO.resources["clients"], PAGE["data"][0], "US")
    assert (jane.cms_id, jane.name, jane.is_client, jane.client_key) == ("101", "Jane Doe", True, "101")
    assert [(p.raw, p.e164, p.label, p.is_primary) for p in jane.phones] == [
        ("(415) 867-5309", "+14158675309", "Mobile", True),
        ("415.867.5310 x12", "+14158675310", "Work", False),
    ]
    assert jane.updated_at is not None
    assert jane.updated_at.isoformat() == "2026-11-20T15:04:05+00:00"


def test_unparseable_number_is_kept_with_its_reason() -> None:
    robert = read_contact(CLIO.resources["clients"], PAGE["data"][1], "US")
    assert robert.is_client is False
    bad = [p for p in robert.phones if p.e164 is None]
    assert [(p.raw, p.error) for p in bad] == [("call office", "not a phone number")]


def test_the_same_number_twice_on_one_contact_is_stored_once() -> None:
    raw = {
        "id": 7,
        "name": "A",
        "phone_numbers": [
            {"number": "415-867-5309", "name": "Work", "primary": False},
            {"number": "(415) 867 5309", "name": "Mobile", "primary": True},
        ],
    }
    phones = read_contact(CLIO.resources["clients"], raw, "US").phones
    assert [(p.raw, p.label) for p in phones] == [("(415) 867 5309", "Mobile")]


def test_fingerprint_changes_with_what_matters_only() -> None:
    spec = CLIO.resources["clients"]
    base = PAGE["data"][0]
    same = {**base, "etag": '"other"', "updated_at": "2026-11-27T00:00:00+00:00"}
    renamed = {**base, "name": "Jane Roe"}
    assert read_contact(spec, base, "US").fingerprint == read_contact(spec, same, "US").fingerprint
    assert read_contact(spec, base, "US").fingerprint != read_contact(spec, renamed, "US").fingerprint


def test_contact_without_id_is_refused() -> None:
    with pytest.raises(RecordError, match="id"):
        read_contact(CLIO.resources["clients"], {"name": "Nobody"}, "US")


@pytest.mark.parametrize(
    ("vendor_status", "expected"), [("Open", "open"), ("Pending", "pending"), ("Closed", "closed")]
)
def test_clio_matter_status_mapped(vendor_status: str, expected: str) -> None:
    matter = read_matter(
        CLIO.resources["matters"],
        {
            "id": 9,
            "display_number": "00009-Doe",
            "description": "Doe v. Roe",
            "status": vendor_status,
            "client": {"id": 101, "name": "Jane Doe"},
            "responsible_attorney": {"id": 3, "name": "Ann Counsel"},
        },
    )
    assert (matter.status, matter.status_known) == (expected, True)
    assert (matter.client_cms_id, matter.responsible_attorney, matter.responsible_attorney_cms_id) == (
        "101",
        "Ann Counsel",
        "3",
    )


def test_unknown_matter_status_is_pending_not_open() -> None:
    matter = read_matter(CLIO.resources["matters"], {"id": 9, "status": "Archived", "client": {"id": 1}})
    assert (matter.status, matter.status_known, matter.display_number) == ("pending", False, "9")


def test_relationship_needs_its_matter_and_contact() -> None:
    spec = CLIO.resources["relationships"]
    rel = read_relationship(spec, {"id": 4, "description": "Spouse", "matter": {"id": 9}, "contact": {"id": 102}})
    assert (rel.matter_cms_id, rel.contact_cms_id, rel.description) == ("9", "102", "Spouse")
    with pytest.raises(RecordError):
        read_relationship(spec, {"id": 5, "matter": {"id": 9}})


def hearing(**changes: Any) -> dict[str, Any]:
    """A Clio calendar entry as `/calendar_entries.json` answers the mapping's `fields=`."""
    raw: dict[str, Any] = {
        "id": 36000007,
        "etag": '"abc"',
        "summary": "Hearing: Quintero — motion to compel",
        "location": "Superior Court, Dept. 14",
        "start_at": "2026-12-10T09:30:00-08:00",
        "end_at": "2026-12-10T10:30:00-08:00",
        "all_day": False,
        "matter": {"id": 20000003},
        "calendar_owner": {"id": 3600002, "name": "Kwame Taylor"},
        "calendar_entry_event_type": {"id": 62001, "name": "Hearing"},
        "updated_at": "2026-12-01T16:00:00+00:00",
    }
    raw.update(changes)
    return raw


def test_a_calendar_entry_is_read_with_its_matter_calendar_and_times_in_utc() -> None:
    spec = CLIO.resources["calendar_entries"]
    entry = read_calendar_entry(spec, hearing())
    assert (entry.cms_id, entry.matter_cms_id, entry.calendar, entry.event_type) == (
        "36000007",
        "20000003",
        "Kwame Taylor",
        "Hearing",
    )
    assert (entry.summary, entry.location, entry.all_day) == (
        "Hearing: Quintero — motion to compel",
        "Superior Court, Dept. 14",
        False,
    )
    assert entry.starts_at == datetime(2026, 12, 10, 17, 30, tzinfo=UTC)
    assert entry.ends_at == datetime(2026, 12, 10, 18, 30, tzinfo=UTC)
    assert entry.updated_at == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
    moved = read_calendar_entry(spec, hearing(start_at="2026-12-11T09:30:00-08:00"))
    assert moved.fingerprint != entry.fingerprint
    assert read_calendar_entry(spec, hearing(etag='"new"', updated_at=None)).fingerprint == entry.fingerprint


@pytest.mark.parametrize("start", ["2026-12-10", "2026-12-10T00:00:00-08:00"])
def test_an_all_day_entry_starts_at_midnight_utc_of_its_date(start: str) -> None:
    entry = read_calendar_entry(CLIO.resources["calendar_entries"], hearing(all_day=True, start_at=start, end_at=None))
    assert entry.all_day
    assert entry.starts_at == datetime(2026, 12, 10, tzinfo=UTC)
    assert entry.ends_at is None


def test_a_calendar_entry_without_an_id_or_a_readable_start_is_refused() -> None:
    spec = CLIO.resources["calendar_entries"]
    with pytest.raises(RecordError, match="'id'"):
        read_calendar_entry(spec, hearing(id=None))
    with pytest.raises(RecordError, match="start"):
        read_calendar_entry(spec, hearing(start_at="next Tuesday"))
    loose = read_calendar_entry(spec, hearing(matter=None, calendar_owner=None, calendar_entry_event_type=None))
    assert (loose.matter_cms_id, loose.calendar, loose.event_type) == (None, None, None)


def test_slot_style_phones_from_mycase() -> None:
    mycase = load_mapping("mycase")
    spec = mycase.resources["clients"]
    raw = {
        "id": 55,
        "first_name": "Ana",
        "last_name": "Ruiz",
        "cell_phone_number": "212-867-5309",
        "work_phone_number": "",
        "home_phone_number": "(646) 867-5309",
    }
    contact = read_contact(spec, raw, "US")
    assert [p.e164 for p in contact.phones][:2] == ["+12128675309", "+16468675309"]
    assert contact.phones[0].is_primary
