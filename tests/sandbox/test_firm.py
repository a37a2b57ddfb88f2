"""The generated firm: deterministic, realistic, and as messy as real firm data."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import phonenumbers
import pytest

from connector.sandbox.firm import (
    FOREIGN_NUMBERS,
    GENERATED_AT,
    JUNK_NUMBERS,
    RELATIONSHIP_DESCRIPTIONS,
    Firm,
    UsNumber,
    calendar_from,
    format_timestamp,
    format_us_number,
    generate_firm,
)

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$")


@pytest.fixture(scope="module")
def firm() -> Firm:
    return generate_firm(6_000, 3_000, seed=11)


def _numbers(firm: Firm) -> list[str]:
    return [phone["number"] for contact in firm.contacts for phone in contact["phone_numbers"]]


def _e164(number: str) -> str | None:
    try:
        parsed = phonenumbers.parse(number, "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def test_same_seed_gives_the_same_firm_and_another_seed_does_not() -> None:
    first, again = generate_firm(300, 150, seed=3), generate_firm(300, 150, seed=3)
    other = generate_firm(300, 150, seed=4)
    assert first == again
    assert first.contacts != other.contacts


def test_sizes_and_ascending_unique_ids(firm: Firm) -> None:
    assert len(firm.contacts) == 6_000
    assert len(firm.matters) == 3_000
    assert len(firm.users) == 12
    for rows in (firm.contacts, firm.matters, firm.relationships, firm.users):
        ids = [row["id"] for row in rows]
        assert ids == sorted(set(ids))


def test_contacts_look_like_clio_contacts(firm: Firm) -> None:
    types = Counter(contact["type"] for contact in firm.contacts)
    clients = sum(contact["is_client"] for contact in firm.contacts) / len(firm.contacts)
    assert 0.55 < clients < 0.65
    assert types["Person"] > types["Company"] > 0
    for contact in firm.contacts[:500]:
        assert ISO.match(contact["created_at"])
        assert ISO.match(contact["updated_at"])
        assert contact["updated_at"] >= contact["created_at"]
        assert contact["etag"].startswith('"')
        assert contact["etag"].endswith('"')
        if contact["type"] == "Person":
            assert contact["name"] == f"{contact['first_name']} {contact['last_name']}"
        phones = contact["phone_numbers"]
        if phones:
            assert contact["primary_phone_number"] == phones[0]["number"]
            assert [phone["primary"] for phone in phones] == [True] + [False] * (len(phones) - 1)
            assert {phone["name"] for phone in phones} <= {"Mobile", "Work", "Home", "Personal", "Other"}
        if "primary_address" in contact:
            assert contact["addresses"][0] is contact["primary_address"]
            assert contact["primary_address"]["country"] == "US"


def test_about_one_point_two_phone_numbers_per_contact(firm: Firm) -> None:
    average = len(_numbers(firm)) / len(firm.contacts)
    assert 1.1 < average < 1.3


def test_every_good_us_number_is_valid_and_every_junk_one_is_not(firm: Firm) -> None:
    numbers = _numbers(firm)
    junk = [number for number in numbers if number in JUNK_NUMBERS]
    foreign = [number for number in numbers if number in FOREIGN_NUMBERS]
    us = [number for number in numbers if number not in JUNK_NUMBERS and number not in FOREIGN_NUMBERS]
    assert 0.003 < len(junk) / len(numbers) < 0.02
    assert foreign
    assert all(_e164(number) is None for number in junk)
    invalid = [number for number in us if not (_e164(number) or "").startswith("+1")]
    assert invalid == []
    assert not any("555-" in number or " 555 " in number for number in us)


def test_numbers_come_in_every_format_firms_type(firm: Firm) -> None:
    numbers = _numbers(firm)
    shapes = {
        "paren": r"^\(\d{3}\) \d{3}-\d{4}$",
        "dash": r"^\d{3}-\d{3}-\d{4}$",
        "dot": r"^\d{3}\.\d{3}\.\d{4}$",
        "plain": r"^\d{10}$",
        "plus_spaced": r"^\+1 \d{3} \d{3} \d{4}$",
        "one_dash": r"^1-\d{3}-\d{3}-\d{4}$",
        "e164": r"^\+1\d{10}$",
        "paren_tight": r"^\(\d{3}\)\d{7}$",
        "ext": r"^\d{3}-\d{3}-\d{4} x\d+$",
    }
    for name, pattern in shapes.items():
        assert any(re.match(pattern, number) for number in numbers), name


def test_format_us_number_writes_the_same_digits_in_each_style() -> None:
    number = UsNumber(415, 867, 5309)
    assert format_us_number(number, "paren") == "(415) 867-5309"
    assert format_us_number(number, "one_dash") == "1-415-867-5309"
    assert format_us_number(number, "ext").startswith("415-867-5309 x")


def test_some_family_members_share_a_number_in_different_formats(firm: Firm) -> None:
    holders: defaultdict[str, set[int]] = defaultdict(set)
    last_names: dict[int, str | None] = {}
    for contact in firm.contacts:
        last_names[contact["id"]] = contact.get("last_name")
        for phone in contact["phone_numbers"]:
            e164 = _e164(phone["number"])
            if e164 is not None:
                holders[e164].add(contact["id"])
    sharing = {
        contact_id
        for ids in holders.values()
        if len(ids) > 1 and len({last_names[i] for i in ids}) == 1
        for contact_id in ids
    }
    persons = sum(1 for contact in firm.contacts if contact["type"] == "Person")
    assert 0.02 < len(sharing) / persons < 0.08


def test_matters_belong_to_clients_with_realistic_statuses(firm: Firm) -> None:
    contacts = {contact["id"]: contact for contact in firm.contacts}
    users = {user["id"] for user in firm.users}
    statuses = Counter(matter["status"] for matter in firm.matters)
    assert 0.6 < statuses["Open"] / len(firm.matters) < 0.7
    assert 0.07 < statuses["Pending"] / len(firm.matters) < 0.13
    assert 0.2 < statuses["Closed"] / len(firm.matters) < 0.3
    for matter in firm.matters:
        client = contacts[matter["client"]["id"]]
        assert client["is_client"]
        assert matter["client"]["name"] == client["name"]
        assert matter["responsible_attorney"]["id"] in users
        assert re.match(r"^\d{5}-\S+$", matter["display_number"])
        assert matter["description"]
        assert ("close_date" in matter) == (matter["status"] == "Closed")
    open_per_client = Counter(matter["client"]["id"] for matter in firm.matters if matter["status"] == "Open")
    assert max(open_per_client.values()) >= 3


def test_about_thirty_percent_of_matters_have_related_contacts(firm: Firm) -> None:
    clients = {matter["id"]: matter["client"]["id"] for matter in firm.matters}
    related = {row["matter"]["id"] for row in firm.relationships}
    assert 0.25 < len(related) / len(firm.matters) < 0.35
    for row in firm.relationships:
        assert row["description"] in RELATIONSHIP_DESCRIPTIONS
        assert row["contact"]["id"] != clients[row["matter"]["id"]]


def test_open_matters_have_hearings_and_appointments_in_the_two_weeks_ahead(firm: Firm) -> None:
    matters = {matter["id"]: matter for matter in firm.matters}
    entries = firm.calendar_entries
    assert [e["id"] for e in entries] == sorted({e["id"] for e in entries})
    assert 0.12 < len({e["matter"]["id"] for e in entries}) / sum(m["status"] == "Open" for m in firm.matters) < 0.18
    assert entries[0]["all_day"]
    assert {e["calendar_entry_event_type"]["name"] for e in entries} >= {"Hearing", "Appointment", "Deposition"}
    for entry in entries:
        matter = matters[entry["matter"]["id"]]
        assert matter["status"] == "Open"
        assert entry["calendar_owner"]["name"] == matter["responsible_attorney"]["name"]
        start = datetime.fromisoformat(entry["start_at"]).replace(tzinfo=UTC) if entry["all_day"] else None
        if start is None:
            assert ISO.match(entry["start_at"])
            assert entry["end_at"] > entry["start_at"]
            start = datetime.fromisoformat(entry["start_at"])
        else:
            assert re.match(r"^\d{4}-\d{2}-\d{2}$", entry["start_at"])
        assert GENERATED_AT < start < GENERATED_AT + timedelta(days=15)
        assert entry["updated_at"] < format_timestamp(GENERATED_AT)
    # Served "as if generated today": whole days later, each at its own time of day.
    today = datetime(2026, 12, 7, 23, 0, tzinfo=UTC)
    moved = calendar_from(entries[:2], today)
    days = (today.date() - GENERATED_AT.date()).days
    for before, after in zip(entries[:2], moved, strict=True):
        shift = datetime.fromisoformat(after["start_at"][:10]) - datetime.fromisoformat(before["start_at"][:10])
        assert shift == timedelta(days=days)
        assert after["start_at"][10:] == before["start_at"][10:]
    assert entries[0]["start_at"] != moved[0]["start_at"]  # the firm's own records are left as generated


def test_users_have_firm_emails_and_the_first_is_an_enabled_admin(firm: Firm) -> None:
    first = firm.users[0]
    assert first["enabled"]
    assert "Admin" in first["roles"]
    assert all(user["email"].endswith("@morganreyes.law") for user in firm.users)
    assert not firm.users[-1]["enabled"]


def test_matters_need_contacts_and_sizes_must_be_sane() -> None:
    with pytest.raises(ValueError, match="client"):
        generate_firm(0, 5)
    with pytest.raises(ValueError, match="users"):
        generate_firm(5, 0, users=0)
    empty = generate_firm(0, 0)
    assert empty.contacts == []
    assert empty.matters == []


def test_a_benchmark_sized_firm_has_the_records_and_numbers_the_benchmarks_count_on() -> None:
    # How long it takes is the sync benchmark's to print; a timed assert here failed on a busy machine.
    big = generate_firm(100_000, 50_000)
    assert len(big.contacts) == 100_000
    assert len(big.matters) == 50_000
    assert 110_000 < sum(len(contact["phone_numbers"]) for contact in big.contacts) < 130_000
