"""Apply CMS records to the store, a page at a time: one read, then bulk inserts and updates.

Sync pages, CMS webhook payloads and webhook-triggered refreshes all come through here, so a contact
looks the same in the store however it arrived.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update

from connector.guardrails import consent
from connector.store.tables import contact_phones, contacts, matter_contacts, matters
from connector.sync.records import ContactRecord, MatterRecord, RelationshipRecord


@dataclass
class Counts:
    """What happened to the records of one resource."""

    fetched: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    skipped: int = 0

    def add(self, other: Counts) -> None:
        """Accumulate `other` into this."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


Record = ContactRecord | MatterRecord | RelationshipRecord

TABLES: dict[str, Table] = {"clients": contacts, "matters": matters, "relationships": matter_contacts}


def _contact_row(record: ContactRecord) -> dict[str, Any]:
    return {
        "cms_id": record.cms_id,
        "client_key": record.client_key,
        "name": record.name,
        "is_client": record.is_client,
        "time_zone": record.time_zone,
        "region_code": record.region_code,
        "state": record.state,
        "cms_updated_at": record.updated_at,
        "fingerprint": record.fingerprint,
    }


def _matter_row(record: MatterRecord) -> dict[str, Any]:
    return {
        "cms_id": record.cms_id,
        "display_number": record.display_number,
        "description": record.description,
        "status": record.status,
        "client_cms_id": record.client_cms_id,
        "responsible_attorney_cms_id": record.responsible_attorney_cms_id,
        "responsible_attorney": record.responsible_attorney,
        "cms_updated_at": record.updated_at,
        "fingerprint": record.fingerprint,
    }


def _relationship_row(record: RelationshipRecord) -> dict[str, Any]:
    return {
        "cms_id": record.cms_id,
        "matter_cms_id": record.matter_cms_id,
        "contact_cms_id": record.contact_cms_id,
        "description": record.description,
        "cms_updated_at": record.updated_at,
        "fingerprint": record.fingerprint,
    }


ROW_BUILDERS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "clients": _contact_row,
    "matters": _matter_row,
    "relationships": _relationship_row,
}


def apply(
    conn: Connection, resource: str, records: Sequence[Record], *, now: datetime, run_seq: int | None = None
) -> Counts:
    """Create, update or leave each record; `run_seq` marks them seen by a full run.

    A record that was deleted and comes back is restored. Duplicates within one page keep the last copy.
    """
    table = TABLES[resource]
    by_id = {record.cms_id: record for record in records}
    counts = Counts(fetched=len(records))
    if not by_id:
        return counts
    existing = {
        row.cms_id: row
        for row in conn.execute(
            select(table.c.id, table.c.cms_id, table.c.fingerprint, table.c.deleted_at).where(
                table.c.cms_id.in_(list(by_id))
            )
        )
    }
    build = ROW_BUILDERS[resource]
    new = [record for cms_id, record in by_id.items() if cms_id not in existing]
    changed = [
        (existing[cms_id].id, record)
        for cms_id, record in by_id.items()
        if cms_id in existing
        and (existing[cms_id].fingerprint != record.fingerprint or existing[cms_id].deleted_at is not None)
    ]
    unchanged_ids = [
        existing[cms_id].id
        for cms_id, record in by_id.items()
        if cms_id in existing
        and existing[cms_id].fingerprint == record.fingerprint
        and existing[cms_id].deleted_at is None
    ]
    stamp = {"synced_at": now, "deleted_at": None}
    created_ids: dict[str, int] = {}
    if new:
        rows = [{**build(record), **stamp, "seen_run": run_seq or 0} for record in new]
        result = conn.execute(insert(table).returning(table.c.id, table.c.cms_id, sort_by_parameter_order=True), rows)
        created_ids = {row.cms_id: row.id for row in result}
    if changed:
        columns = [*build(changed[0][1]), "synced_at", "deleted_at"]
        statement = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values({name: bindparam(f"b_{name}") for name in columns})
        )
        params = [
            {"b_id": row_id, **{f"b_{k}": v for k, v in {**build(record), **stamp}.items()}}
            for row_id, record in changed
        ]
        conn.execute(statement, params)
        if run_seq is not None:
            _mark_seen(conn, table, [row_id for row_id, _ in changed], run_seq)
    if unchanged_ids and run_seq is not None:
        _mark_seen(conn, table, unchanged_ids, run_seq)
    if resource == "clients":
        _replace_phones(conn, new, created_ids, changed)
        consented = [
            (phone.e164, record.client_key, record.sms_consent)
            for record in by_id.values()
            if isinstance(record, ContactRecord) and record.sms_consent is not None
            for phone in record.phones
            if phone.e164 is not None
        ]
        consent.reconcile_cms_field(conn, consented, field="sms_consent", now=now)
    counts.created, counts.updated, counts.unchanged = len(new), len(changed), len(unchanged_ids)
    counts.fetched = len(records)
    return counts


def _mark_seen(conn: Connection, table: Table, row_ids: list[int], run_seq: int) -> None:
    conn.execute(update(table).where(table.c.id.in_(row_ids)).values(seen_run=run_seq))


def _replace_phones(
    conn: Connection,
    new: Iterable[Any],
    created_ids: dict[str, int],
    changed: list[tuple[int, Any]],
) -> None:
    targets: list[tuple[int, ContactRecord]] = [(created_ids[r.cms_id], r) for r in new]
    targets += changed
    if changed:
        conn.execute(delete(contact_phones).where(contact_phones.c.contact_id.in_([i for i, _ in changed])))
    rows = [
        {
            "contact_id": contact_id,
            "position": position,
            "raw": phone.raw[:256],
            "e164": phone.e164,
            "label": phone.label,
            "is_primary": phone.is_primary,
            "parse_error": phone.error,
        }
        for contact_id, record in targets
        for position, phone in enumerate(record.phones)
    ]
    if rows:
        conn.execute(insert(contact_phones), rows)


def mark_deleted(conn: Connection, resource: str, cms_ids: Sequence[str], now: datetime) -> int:
    """Soft-delete records the CMS reported deleted; their history stays, they stop being routable."""
    table = TABLES[resource]
    result = conn.execute(
        update(table)
        .where(table.c.cms_id.in_(list(cms_ids)), table.c.deleted_at.is_(None))
        .values(deleted_at=now, synced_at=now)
    )
    return int(result.rowcount or 0)


def sweep_unseen(conn: Connection, resource: str, run_seq: int, now: datetime) -> int:
    """After a complete full run: whatever the CMS no longer lists is marked deleted."""
    table = TABLES[resource]
    result = conn.execute(
        update(table)
        .where(table.c.seen_run != run_seq, table.c.deleted_at.is_(None))
        .values(deleted_at=now, synced_at=now)
    )
    return int(result.rowcount or 0)
