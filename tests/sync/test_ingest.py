"""Applying CMS records to the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from connector.store.tables import contact_phones, contacts, matters
from connector.sync.ingest import apply, mark_deleted, sweep_unseen
from connector.sync.records import read_contact, read_matter
from mappings import load_mapping

CLIO = load_mapping("clio")
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def contact(cms_id: int, name: str, *numbers: str) -> object:
    raw = {
        "id": cms_id,
        "name": name,
        "is_client": True,
        "phone_numbers": [{"number": n, "name": "Mobile", "primary": i == 0} for i, n in enumerate(numbers)],
    }
    return read_contact(CLIO.resources["clients"], raw, "US")


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


def test_given_a_deleted_contact_when_seen_again_then_restored(engine: Engine) -> None:
    with engine.begin() as conn:
        apply(conn, "clients", [contact(1, "Ann", "415-867-5309")], now=NOW)
        assert mark_deleted(conn, "clients", ["1"], NOW) == 1
        assert mark_deleted(conn, "clients", ["1"], NOW) == 0
    with engine.begin() as conn:
        counts = apply(conn, "clients", [contact(1, "Ann", "415-867-5309")], now=NOW)
    assert counts.updated == 1
    with engine.connect() as conn:
        assert conn.execute(select(contacts.c.deleted_at).where(contacts.c.cms_id == "1")).scalar_one() is None


def test_given_a_full_run_then_unseen_records_are_retired(engine: Engine) -> None:
    spec = CLIO.resources["matters"]

    def matter(i: int) -> object:
        return read_matter(spec, {"id": i, "display_number": f"M{i}", "status": "Open", "client": {"id": 1}})

    with engine.begin() as conn:
        apply(conn, "matters", [matter(1), matter(2), matter(3)], now=NOW, run_seq=1)
    with engine.begin() as conn:
        apply(conn, "matters", [matter(1), matter(3)], now=NOW, run_seq=2)
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
