"""Apply CMS records to the store, a page at a time: one read, then bulk inserts and updates.

Sync pages, CMS webhook payloads and webhook-triggered refreshes all come through here, so a contact
looks the same in the store however it arrived.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update

from connector.guardrails import consent
from connector.store import dialect
from connector.store.tables import contact_phones, contacts, matter_contacts, matters, pending_refresh
from connector.store.workflow_tables import calendar_entries
from connector.sync.records import CalendarEntryRecord, ContactRecord, MatterRecord, RelationshipRecord


@dataclass
class Counts:
    """What happened to the records of one resource."""

    fetched: int = 0
    created: int = 0
    updated: int = 0
    # Left as stored: the same, or refused as stale (counted again below).
    unchanged: int = 0
    deleted: int = 0
    skipped: int = 0
    # Of the unchanged: older than the stored version or its deletion, or not orderable against it.
    stale: int = 0

    def add(self, other: Counts) -> None:
        """Accumulate `other` into this."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


Record = ContactRecord | MatterRecord | RelationshipRecord | CalendarEntryRecord

TABLES: dict[str, Table] = {
    "clients": contacts,
    "matters": matters,
    "relationships": matter_contacts,
    "calendar_entries": calendar_entries,
}


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


def _calendar_entry_row(record: CalendarEntryRecord) -> dict[str, Any]:
    # A row is built only for a new entry or a real change (never for an unchanged or stale one), and each
    # of those is one the reminder planner must see: so every built row asks for a plan.
    return {
        "cms_id": record.cms_id,
        "matter_cms_id": record.matter_cms_id,
        "calendar": record.calendar,
        "event_type": record.event_type,
        "summary": record.summary,
        "location": record.location,
        "starts_at": record.starts_at,
        "ends_at": record.ends_at,
        "all_day": record.all_day,
        "cms_updated_at": record.updated_at,
        "fingerprint": record.fingerprint,
        "needs_plan": True,
    }


ROW_BUILDERS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "clients": _contact_row,
    "matters": _matter_row,
    "relationships": _relationship_row,
    "calendar_entries": _calendar_entry_row,
}


def apply(
    conn: Connection,
    resource: str,
    records: Sequence[Record],
    *,
    now: datetime,
    run_seq: int | None = None,
    fetched_at: datetime | None = None,
) -> Counts:
    """Create, update or leave each record; `run_seq` marks them seen by a full run.

    A record replaces the stored one only when it is newer (`_verdict`), so a replayed or late webhook
    or a page read before a webhook landed never rolls the store back. `fetched_at` is when the records
    were read from the CMS (a sync page, a refresh); None for a webhook, which may describe the past.
    Duplicates within one page keep the last copy.
    """
    table = TABLES[resource]
    by_id = {record.cms_id: record for record in records}
    counts = Counts(fetched=len(records))
    if not by_id:
        return counts
    existing: dict[str, Any] = {
        row.cms_id: row
        for row in conn.execute(
            select(
                table.c.id,
                table.c.cms_id,
                table.c.fingerprint,
                table.c.deleted_at,
                table.c.cms_updated_at,
                table.c.synced_at,
            ).where(table.c.cms_id.in_(list(by_id)))
        )
    }
    build = ROW_BUILDERS[resource]
    new = [record for cms_id, record in by_id.items() if cms_id not in existing]
    verdicts = {
        cms_id: _verdict(existing[cms_id], record, fetched_at) for cms_id, record in by_id.items() if cms_id in existing
    }
    changed = [(existing[cms_id].id, by_id[cms_id]) for cms_id, v in verdicts.items() if v is _Verdict.CHANGED]
    confirmed = [(existing[cms_id].id, by_id[cms_id]) for cms_id, v in verdicts.items() if v is _Verdict.CONFIRMED]
    left = [existing[cms_id].id for cms_id, v in verdicts.items() if v is not _Verdict.CHANGED]
    unsure = [cms_id for cms_id, v in verdicts.items() if v is _Verdict.UNSURE]
    stale = [cms_id for cms_id, v in verdicts.items() if v in (_Verdict.STALE, _Verdict.UNSURE)]
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
            {
                "b_id": row_id,
                **{f"b_{k}": v for k, v in {**build(record), **stamp}.items()},
                # A record without a timestamp keeps the stored one, so what came before it stays refused.
                "b_cms_updated_at": record.updated_at or existing[record.cms_id].cms_updated_at,
            }
            for row_id, record in changed
        ]
        conn.execute(statement, params)
        if run_seq is not None:
            _mark_seen(conn, table, [row_id for row_id, _ in changed], run_seq)
    if confirmed:
        conn.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(cms_updated_at=bindparam("b_cms_updated_at"), synced_at=now),
            [{"b_id": row_id, "b_cms_updated_at": record.updated_at} for row_id, record in confirmed],
        )
    if left and run_seq is not None:
        _mark_seen(conn, table, left, run_seq)
    if unsure:
        _ask_again(conn, resource, unsure, now)
    if resource == "clients":
        _replace_phones(conn, new, created_ids, changed)
        applied = [*new, *(record for _, record in changed)]
        consented = [
            (phone.e164, record.client_key, record.sms_consent)
            for record in applied
            if isinstance(record, ContactRecord) and record.sms_consent is not None
            for phone in record.phones
            if phone.e164 is not None
        ]
        consent.reconcile_cms_field(conn, consented, field="sms_consent", now=now)
    counts.created, counts.updated, counts.unchanged, counts.stale = len(new), len(changed), len(left), len(stale)
    counts.fetched = len(records)
    return counts


class _Verdict(enum.Enum):
    CHANGED = "changed"  # newer, or no timestamp to say otherwise, and different: applied
    CONFIRMED = "confirmed"  # the same content at a later timestamp: only the timestamp moves
    SAME = "same"
    STALE = "stale"  # older than the stored version or than its deletion: refused
    UNSURE = "unsure"  # a different version from the same second: refused, and read again from the CMS


def _verdict(stored: Any, record: Record, fetched_at: datetime | None) -> _Verdict:
    """Whether `record` may replace the stored row.

    The CMS's `updated_at` orders versions. A deleted record stays deleted unless the CMS shows a change
    later than the deletion. Without a timestamp a record is applied as before, except over a deletion.
    Two different versions stamped in the same second (the CMS's resolution) cannot be ordered by the
    timestamp; an etag would only say they differ, which the fingerprint already does. So the one read
    from the CMS after the stored version was written wins (it is the CMS's current state), and otherwise
    the stored one stands while the record is fetched again by id.
    """
    incoming, known = record.updated_at, stored.cms_updated_at
    if stored.deleted_at is not None:
        return _Verdict.CHANGED if incoming is not None and incoming > stored.deleted_at else _Verdict.STALE
    if incoming is not None and known is not None:
        if incoming < known:
            return _Verdict.STALE
        if incoming == known and stored.fingerprint != record.fingerprint:
            fresh = fetched_at is not None and fetched_at > stored.synced_at
            return _Verdict.CHANGED if fresh else _Verdict.UNSURE
    if stored.fingerprint != record.fingerprint:
        return _Verdict.CHANGED
    if incoming is not None and (known is None or incoming > known):
        return _Verdict.CONFIRMED
    return _Verdict.SAME


def _ask_again(conn: Connection, resource: str, cms_ids: Sequence[str], now: datetime) -> None:
    rows = [{"resource": resource, "cms_id": cms_id, "event": "updated", "received_at": now} for cms_id in cms_ids]
    dialect.insert_ignore(conn, pending_refresh, rows, ["resource", "cms_id"])


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
    """Soft-delete records the CMS reported deleted; their history stays, they stop being routable.

    A record the store has never seen gets a deleted row of its own: a late `created` or `updated`
    delivery for it then finds the deletion and is refused, instead of bringing a deleted record in.
    """
    table = TABLES[resource]
    result = conn.execute(
        update(table)
        .where(table.c.cms_id.in_(list(cms_ids)), table.c.deleted_at.is_(None))
        .values(deleted_at=now, synced_at=now, **_replan(table))
    )
    graves = [{**_TOMBSTONES[resource], "cms_id": cms_id, "deleted_at": now, "synced_at": now} for cms_id in cms_ids]
    dialect.insert_ignore(conn, table, graves, ["cms_id"])
    return int(result.rowcount or 0)


# The columns a deleted row needs besides its id and times; nothing reads them while it stays deleted.
_TOMBSTONES: dict[str, dict[str, Any]] = {
    "clients": {"client_key": "", "name": "", "is_client": False, "fingerprint": "", "seen_run": 0},
    "matters": {"display_number": "", "description": "", "status": "closed", "fingerprint": "", "seen_run": 0},
    "relationships": {"matter_cms_id": "", "contact_cms_id": "", "fingerprint": "", "seen_run": 0},
    "calendar_entries": {"all_day": False, "fingerprint": "", "seen_run": 0, "needs_plan": True},
}


def _replan(table: Table) -> dict[str, Any]:
    """A retired calendar entry must be planned again (its reminders cancelled); other tables have no plan."""
    return {"needs_plan": True} if "needs_plan" in table.c else {}


def sweep_unseen(conn: Connection, resource: str, run_seq: int, now: datetime) -> int:
    """After a complete full run: whatever the CMS no longer lists is marked deleted."""
    table = TABLES[resource]
    result = conn.execute(
        update(table)
        .where(table.c.seen_run != run_seq, table.c.deleted_at.is_(None))
        .values(deleted_at=now, synced_at=now, **_replan(table))
    )
    return int(result.rowcount or 0)
