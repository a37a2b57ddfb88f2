"""Applying CMS records to the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table, func, select

from connector.store.tables import consents, contact_phones, contacts, matter_contacts, matters, pending_refresh
from connector.store.workflow_tables import calendar_entries
from connector.sync.ingest import apply, mark_deleted, sweep_unseen
from connector.sync.records import read_calendar_entry, read_contact, read_matter, read_relationship
from mappings import load_mapping

CLIO = load_mapping("clio")
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


EARLIER, LATER, ONE = NOW - timedelta(hours=1), NOW + timedelta(hours=1), timedelta(seconds=1)


def contact(cms_id: int, name: str, *numbers: str, at: datetime | None = None, consent: bool | None = None) -> object:
    raw: dict[str, Any] = {
        "id": cms_id,
        "name": name,
        "is_client": True,
        "phone_numbers": [{"number": n, "name": "Mobile", "primary": i == 0} for i, n in enumerate(numbers)],
    }
    if at is not None:
        raw["updated_at"] = at.isoformat()
    if consent is not None:
        raw["custom_field_values"] = [{"field_name": "SMS consent", "value": consent}]
    return read_contact(CLIO.resources["clients"], raw, "US")


def matter(cms_id: int, status: str, at: datetime | None = None) -> object:
    raw: dict[str, Any] = {"id": cms_id, "display_number": f"M{cms_id}", "status": status, "client": {"id": 1}}
    if at is not None:
        raw["updated_at"] = at.isoformat()
    return read_matter(CLIO.resources["matters"], raw)


def stored(engine: Engine, table: Table, cms_id: str, column: Any = None) -> tuple[Any, bool]:
    """One stored column of a record (the name by default) and whether it is deleted."""
    with engine.connect() as conn:
        row = conn.execute(
            select(column if column is not None else table.c.name, table.c.deleted_at).where(table.c.cms_id == cms_id)
        ).one()
    return row[0], row.deleted_at is not None


def phones_of(engine: Engine, cms_id: str) -> list[tuple[str | None, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(contact_phones.c.e164, contact_phones.c.raw)
            .join(contacts, contacts.c.id == contact_phones.c.contact_id)
            .where(contacts.c.cms_id == cms_id)
            .order_by(contact_phones.c.position)
        )
        return [(r.e164, r.raw) for r in rows]


def test_given_new_changed_and_same_records_then_counted_and_stored(engine: Engine) -> None:
    with engine.begin() as conn:
        first = apply(conn, "clients", [contact(1, "Ann", "415-867-5309"), contact(2, "Bo", "n/a")], now=NOW)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    with engine.begin() as conn:
        second = apply(
            conn,
            "clients",
            [contact(1, "Ann", "415-867-5309"), contact(2, "Bo", "(212) 867-5309"), contact(3, "Cy")],
            now=NOW,
        )
    assert (second.created, second.updated, second.unchanged, second.fetched) == (1, 1, 1, 3)
    assert phones_of(engine, "2") == [("+12128675309", "(212) 867-5309")]
    assert phones_of(engine, "1") == [("+14158675309", "415-867-5309")]
    with engine.connect() as conn:
        synced = conn.execute(select(contacts.c.synced_at).where(contacts.c.cms_id == "1")).scalar_one()
    assert synced == NOW


def test_given_a_deleted_contact_then_only_a_change_the_cms_made_after_the_deletion_restores_it(engine: Engine) -> None:
    with engine.begin() as conn:
        apply(conn, "clients", [contact(1, "Ann", "415-867-5309", at=EARLIER)], now=EARLIER)
        assert mark_deleted(conn, "clients", ["1"], NOW) == 1
        assert mark_deleted(conn, "clients", ["1"], NOW) == 0
    for late in (contact(1, "Ann", "415-867-5309", at=EARLIER), contact(1, "Ann B", "415-867-5309")):
        with engine.begin() as conn:  # an old copy, and one without a timestamp: neither outranks the deletion
            counts = apply(conn, "clients", [late], now=LATER, fetched_at=LATER)
        assert (counts.updated, counts.stale) == (0, 1)
        assert stored(engine, contacts, "1") == ("Ann", True)
    with engine.begin() as conn:
        counts = apply(conn, "clients", [contact(1, "Ann", "415-867-5309", at=LATER)], now=LATER)
    assert counts.updated == 1
    assert stored(engine, contacts, "1") == ("Ann", False)
    assert phones_of(engine, "1") == [("+14158675309", "415-867-5309")]


def test_given_a_deletion_of_a_record_never_synced_then_its_late_creation_is_refused(engine: Engine) -> None:
    with engine.begin() as conn:
        mark_deleted(conn, "matters", ["7"], NOW)
        counts = apply(conn, "matters", [matter(7, "Open", at=EARLIER)], now=LATER)
    assert (counts.created, counts.stale) == (0, 1)
    assert stored(engine, matters, "7", matters.c.status) == ("closed", True)
    with engine.connect() as conn:
        assert (
            conn.execute(select(func.count()).select_from(matters).where(matters.c.deleted_at.is_(None))).scalar() == 0
        )


def test_given_a_newer_matter_then_an_older_copy_is_refused_whatever_its_source(engine: Engine) -> None:
    with engine.begin() as conn:
        apply(conn, "matters", [matter(1, "Closed", at=NOW)], now=NOW)
    for fetched_at in (None, LATER):
        with engine.begin() as conn:
            counts = apply(conn, "matters", [matter(1, "Open", at=EARLIER)], now=LATER, fetched_at=fetched_at)
        assert (counts.updated, counts.unchanged, counts.stale) == (0, 1, 1)
    assert stored(engine, matters, "1", matters.c.status) == ("closed", False)


def test_given_the_same_content_at_a_later_time_then_a_version_between_the_two_is_refused(engine: Engine) -> None:
    with engine.begin() as conn:
        apply(conn, "matters", [matter(1, "Open", at=EARLIER)], now=EARLIER)
        counts = apply(conn, "matters", [matter(1, "Open", at=LATER)], now=LATER)  # reopened: closed in between
        assert (counts.updated, counts.unchanged, counts.stale) == (0, 1, 0)
        apply(conn, "matters", [matter(1, "Closed", at=NOW)], now=LATER)  # the close, delivered late
    assert stored(engine, matters, "1", matters.c.status) == ("open", False)


def test_given_two_versions_stamped_in_the_same_second_then_only_a_read_made_after_the_stored_one_decides(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        apply(conn, "matters", [matter(1, "Closed", at=NOW)], now=LATER)
        # A webhook or a page read before the stored version was written cannot say which came last.
        for fetched_at in (None, NOW):
            counts = apply(conn, "matters", [matter(1, "Open", at=NOW)], now=LATER, fetched_at=fetched_at)
            assert counts.stale == 1
    assert stored(engine, matters, "1", matters.c.status) == ("closed", False)
    with engine.connect() as conn:  # so the worker reads it from the CMS again
        asked = conn.execute(select(pending_refresh.c.resource, pending_refresh.c.cms_id)).all()
    assert [tuple(r) for r in asked] == [("matters", "1")]
    with engine.begin() as conn:
        counts = apply(conn, "matters", [matter(1, "Open", at=NOW)], now=LATER, fetched_at=LATER + ONE)
    assert counts.updated == 1
    assert stored(engine, matters, "1", matters.c.status) == ("open", False)


def test_given_records_without_timestamps_then_applied_as_they_come(engine: Engine) -> None:
    with engine.begin() as conn:
        apply(conn, "matters", [matter(1, "Open")], now=NOW)
        assert apply(conn, "matters", [matter(1, "Closed")], now=NOW).updated == 1
        apply(conn, "matters", [matter(2, "Open", at=NOW)], now=NOW)
        assert apply(conn, "matters", [matter(2, "Closed")], now=NOW).updated == 1
        # ...and the timestamp it had still refuses what came before it.
        assert apply(conn, "matters", [matter(2, "Open", at=EARLIER)], now=NOW).stale == 1
    assert stored(engine, matters, "1", matters.c.status) == ("closed", False)
    assert stored(engine, matters, "2", matters.c.status) == ("closed", False)


def test_given_an_older_contact_then_its_numbers_and_consent_field_are_not_taken(engine: Engine) -> None:
    with engine.begin() as conn:
        apply(conn, "clients", [contact(1, "Ann", "415-867-5309", at=NOW, consent=False)], now=NOW)
        counts = apply(conn, "clients", [contact(1, "Ann", "212-867-5309", at=EARLIER, consent=True)], now=LATER)
    assert counts.stale == 1
    assert phones_of(engine, "1") == [("+14158675309", "415-867-5309")]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(consents)).scalar() == 0


def test_given_an_older_relationship_then_refused(engine: Engine) -> None:
    spec = CLIO.resources["relationships"]

    def link(description: str, at: datetime) -> object:
        raw = {"id": 9, "description": description, "matter": {"id": 1}, "contact": {"id": 2}}
        return read_relationship(spec, {**raw, "updated_at": at.isoformat()})

    with engine.begin() as conn:
        apply(conn, "relationships", [link("Guardian", NOW)], now=NOW)
        assert apply(conn, "relationships", [link("Spouse", EARLIER)], now=LATER).stale == 1
    assert stored(engine, matter_contacts, "9", matter_contacts.c.description) == ("Guardian", False)


def test_given_a_full_run_then_unseen_records_are_retired(engine: Engine) -> None:
    with engine.begin() as conn:
        apply(conn, "matters", [matter(1, "Open"), matter(2, "Open"), matter(3, "Open")], now=NOW, run_seq=1)
    with engine.begin() as conn:
        apply(conn, "matters", [matter(1, "Open"), matter(3, "Open")], now=NOW, run_seq=2)
        assert sweep_unseen(conn, "matters", 2, NOW) == 1
    with engine.connect() as conn:
        gone = conn.execute(select(matters.c.cms_id).where(matters.c.deleted_at.is_not(None))).scalars().all()
    assert gone == ["2"]


def test_given_two_contacts_sharing_a_family_number_then_both_keep_it(engine: Engine) -> None:
    with engine.begin() as conn:
        apply(conn, "clients", [contact(1, "Ann Lee", "415-867-5309"), contact(2, "Bo Lee", "(415) 867-5309")], now=NOW)
    with engine.connect() as conn:
        owners = (
            conn.execute(
                select(contacts.c.name)
                .join(contact_phones, contact_phones.c.contact_id == contacts.c.id)
                .where(contact_phones.c.e164 == "+14158675309")
                .order_by(contacts.c.name)
            )
            .scalars()
            .all()
        )
    assert owners == ["Ann Lee", "Bo Lee"]


def entry(cms_id: int, starts: datetime, at: datetime) -> object:
    raw = {"id": cms_id, "start_at": starts.isoformat(), "matter": {"id": 7}, "updated_at": at.isoformat()}
    return read_calendar_entry(CLIO.resources["calendar_entries"], raw)


def plans(engine: Engine) -> dict[str, tuple[bool, bool]]:
    """Each stored entry: (needs_plan, deleted); then every flag is cleared, as the planner would."""
    with engine.begin() as conn:
        rows = conn.execute(
            select(calendar_entries.c.cms_id, calendar_entries.c.needs_plan, calendar_entries.c.deleted_at)
        )
        found = {row.cms_id: (row.needs_plan, row.deleted_at is not None) for row in rows}
        conn.execute(calendar_entries.update().values(needs_plan=False))
    return found


def test_given_calendar_entries_then_only_new_moved_and_retired_ones_ask_for_a_plan(engine: Engine) -> None:
    hearing = NOW + timedelta(days=3)
    with engine.begin() as conn:
        apply(conn, "calendar_entries", [entry(1, hearing, EARLIER), entry(2, hearing, EARLIER)], now=NOW, run_seq=1)
    assert plans(engine) == {"1": (True, False), "2": (True, False)}
    with engine.begin() as conn:
        same = apply(conn, "calendar_entries", [entry(1, hearing, EARLIER)], now=NOW)
        touched = apply(conn, "calendar_entries", [entry(2, hearing, NOW)], now=NOW)  # a later stamp, same entry
    assert (same.unchanged, touched.unchanged) == (1, 1)
    assert plans(engine) == {"1": (False, False), "2": (False, False)}
    with engine.begin() as conn:
        assert apply(conn, "calendar_entries", [entry(1, hearing + timedelta(hours=1), LATER)], now=LATER).updated == 1
        assert apply(conn, "calendar_entries", [entry(1, hearing, NOW)], now=LATER).stale == 1  # the older copy
    assert plans(engine) == {"1": (True, False), "2": (False, False)}
    assert stored(engine, calendar_entries, "1", calendar_entries.c.starts_at)[0] == hearing + timedelta(hours=1)
    with engine.begin() as conn:
        assert mark_deleted(conn, "calendar_entries", ["2", "3"], LATER) == 1  # 3: a deletion never synced
    assert plans(engine) == {"1": (False, False), "2": (True, True), "3": (True, True)}
    with engine.begin() as conn:
        apply(conn, "calendar_entries", [entry(4, hearing, NOW)], now=NOW, run_seq=2)
        assert sweep_unseen(conn, "calendar_entries", 2, LATER) == 1
    assert plans(engine) == {"1": (True, True), "2": (False, True), "3": (False, True), "4": (True, False)}
