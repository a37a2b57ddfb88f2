"""The reminder planner: from the calendar entries the sync changed to the reminders they should have.

The sync marks every entry it adds, moves or retires (`calendar_entries.needs_plan`); the planner takes the
marked ones in batches and, for each, works out the reminders the firm's rules want (one per rule and moment,
each with its due time and text) and brings the `reminders` rows in line: new ones scheduled, moved ones
moved, unwanted ones cancelled with a reason staff read, and a cancelled one wanted again scheduled again.
A reminder already sent or skipped is history and never touched.

Each batch is one transaction that locks its entries (on PostgreSQL with SKIP LOCKED, so two workers never
plan one entry twice and neither waits for the other), reads everything it needs for the whole batch at once
(matters, client numbers, threads, where each client is, the rules in force), writes, and clears the marks.
A change the sync makes to an entry while it is being planned waits for the lock and marks it again, so it
is planned again; never lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, bindparam, insert, or_, select, update

from connector.guardrails import pipeline
from connector.messaging import filing, recipients
from connector.reminders import rules as reminder_rules
from connector.settings import Settings
from connector.store.tables import matters, threads
from connector.store.workflow_tables import calendar_entries, reminders

__all__ = ["CANCEL_REASONS", "PlanCounts", "plan"]

SCHEDULED: Final = "scheduled"
CANCELLED: Final = "cancelled"

# Why a planned reminder was cancelled, as staff read it beside the entry.
DELETED: Final = "the calendar entry was deleted in the CMS"
NO_MATTER: Final = "the calendar entry is not on a matter"
NO_START: Final = "the calendar entry has no start time"
MATTER_GONE: Final = "the matter was deleted in the CMS"
MATTER_CLOSED: Final = "the matter is closed"
NO_NUMBER: Final = "the client has no number to text, or the firm has no number to text from"
NO_RULE: Final = "the firm's reminder rules no longer give this entry this reminder"
NO_MOMENT: Final = "the reminder rule no longer sends a reminder at this moment"
PASSED: Final = "the calendar entry moved: this reminder's time has passed"
# The columns a re-plan may change on an existing row.
_CHANGED: Final = ("state", "reason", "due_at", "body", "matter_cms_id", "client_phone", "firm_number")
CANCEL_REASONS: Final = (
    DELETED,
    NO_MATTER,
    NO_START,
    MATTER_GONE,
    MATTER_CLOSED,
    NO_NUMBER,
    NO_RULE,
    NO_MOMENT,
    PASSED,
)


_NEVER: Final = datetime.min.replace(tzinfo=UTC)


@dataclass
class PlanCounts:
    """What a planning run did: reminders planned (new, or cancelled and wanted again), moved (a new time,
    text, number or matter), cancelled, left as they were; entries whose client has no number to text;
    entries planned."""

    planned: int = 0
    moved: int = 0
    cancelled: int = 0
    unchanged: int = 0
    no_number: int = 0
    entries: int = 0

    def add(self, other: PlanCounts) -> None:
        """Add another batch's counts to these."""
        for name in ("planned", "moved", "cancelled", "unchanged", "no_number", "entries"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True, slots=True)
class _Wanted:
    """One reminder an entry should have."""

    due_at: datetime
    body: str
    matter_cms_id: str
    client_phone: str
    firm_number: str


@dataclass
class _Batch:
    """What one batch read for all its entries at once."""

    rules: reminder_rules.ReminderRules
    matters: dict[str, Any]
    phones: dict[str, str]
    firm_numbers: dict[str, str]
    zones: dict[str, ZoneInfo]
    existing: dict[str, dict[tuple[str, str], Any]] = field(default_factory=dict)


def plan(engine: Engine, settings: Settings, *, now: datetime, batch: int = 500) -> PlanCounts:
    """Plan every entry marked for planning, `batch` entries per transaction; what it did.

    Another planner running at once (PostgreSQL) takes other entries; each is planned by one of them.
    """
    total = PlanCounts()
    while True:
        with engine.begin() as conn:
            counts = _plan_batch(conn, settings, now, batch)
        if counts is None:
            return total
        total.add(counts)


def _plan_batch(conn: Connection, settings: Settings, now: datetime, batch: int) -> PlanCounts | None:
    """Plan one batch in `conn`'s transaction; None when no entry was waiting (or all were another's)."""
    entries = conn.execute(
        select(calendar_entries)
        .where(calendar_entries.c.needs_plan.is_(True))
        .order_by(calendar_entries.c.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    ).all()
    if not entries:
        return None
    read = _read(conn, settings, entries)
    counts = PlanCounts(entries=len(entries))
    inserts: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for entry in entries:
        wanted, why_not, no_number = _wanted(entry, read, settings, now)
        counts.no_number += no_number
        existing = read.existing.get(entry.cms_id, {})
        for key, want in wanted.items():
            row = existing.get(key)
            if row is None:
                inserts.append(_new_row(entry.cms_id, key, want, now))
                counts.planned += 1
            elif row.state == CANCELLED:
                changes.append(_change(row, want))
                counts.planned += 1
            elif row.state == SCHEDULED and _differs(row, want):
                changes.append(_change(row, want))
                counts.moved += 1
            else:
                counts.unchanged += 1
        for key, row in existing.items():
            if row.state == SCHEDULED and key not in wanted:
                changes.append(_cancel(row, why_not or _why_dropped(entry, key, read.rules)))
                counts.cancelled += 1
    if inserts:
        conn.execute(insert(reminders), inserts)
    if changes:
        # Only a row still scheduled or cancelled moves: sent and skipped ones are history.
        conn.execute(
            update(reminders)
            .where(
                reminders.c.id == bindparam("row_id"),
                or_(reminders.c.state == SCHEDULED, reminders.c.state == CANCELLED),
            )
            .values({name: bindparam(f"new_{name}") for name in _CHANGED} | {"updated_at": now}),
            changes,
        )
    conn.execute(
        update(calendar_entries)
        .where(calendar_entries.c.id.in_([entry.id for entry in entries]))
        .values(needs_plan=False)
    )
    return counts


def _read(conn: Connection, settings: Settings, entries: Sequence[Any]) -> _Batch:
    """Everything the batch's entries need, in one read per table: never a query per entry."""
    matter_ids = {e.matter_cms_id for e in entries if e.matter_cms_id is not None}
    matter_rows = {
        row.cms_id: row
        for row in conn.execute(
            select(matters.c.cms_id, matters.c.client_cms_id, matters.c.status, matters.c.deleted_at).where(
                matters.c.cms_id.in_(sorted(matter_ids))
            )
        )
    }
    client_keys = {row.client_cms_id for row in matter_rows.values() if row.client_cms_id is not None}
    phones = recipients.client_phones(conn, client_keys)
    numbers = set(phones.values())
    read = _Batch(
        # Read once the entries are locked: a version of the rules saved meanwhile marked them again (and
        # waits for this batch to commit to do so), or is the version read here.
        rules=reminder_rules.in_force(settings, conn),
        matters=matter_rows,
        phones=phones,
        firm_numbers=_firm_numbers(conn, settings, numbers),
        zones={phone: r.zones[0] for phone, r in pipeline.recipients_for(conn, settings, numbers).items()},
    )
    for row in conn.execute(
        select(reminders)
        .where(reminders.c.entry_cms_id.in_(sorted({e.cms_id for e in entries})))
        .with_for_update()  # waits for a send in progress, which may make it history
    ):
        read.existing.setdefault(row.entry_cms_id, {})[(row.rule, row.moment)] = row
    return read


def _firm_numbers(conn: Connection, settings: Settings, phones: Iterable[str]) -> dict[str, str]:
    """For each client number, the firm number it already texts (its newest thread's), else the firm's sender.

    A thread on a number the firm no longer sends from is passed over: a reminder from it could not go.
    """
    ours = set(settings.firm_numbers) | ({settings.twilio_messaging_service_sid} - {None, ""})
    found: dict[str, str] = {}
    wanted = sorted(set(phones))
    if wanted:
        rows = conn.execute(
            select(threads.c.client_phone, threads.c.firm_number, threads.c.last_message_at, threads.c.id).where(
                threads.c.client_phone.in_(wanted)
            )
        ).all()
        newest = sorted(rows, key=lambda r: (r.last_message_at or _NEVER, r.id), reverse=True)
        for row in newest:
            if row.firm_number in ours:
                found.setdefault(row.client_phone, row.firm_number)
    sender = settings.sender
    if sender is not None:
        for phone in wanted:
            found.setdefault(phone, sender)
    return found


def _wanted(
    entry: Any, read: _Batch, settings: Settings, now: datetime
) -> tuple[dict[tuple[str, str], _Wanted], str | None, int]:
    """The reminders `entry` should have, by (rule, moment); why it should have none (None: see each rule's
    moments); and 1 when its client has no number to text (0 otherwise)."""
    if entry.deleted_at is not None:
        return {}, DELETED, 0
    if entry.matter_cms_id is None:
        return {}, NO_MATTER, 0
    if entry.starts_at is None:
        return {}, NO_START, 0
    matter = read.matters.get(entry.matter_cms_id)
    if matter is None or matter.deleted_at is not None:
        return {}, MATTER_GONE, 0
    if matter.status not in filing.LIVE_STATUSES:
        return {}, MATTER_CLOSED, 0
    matched = read.rules.for_entry(entry.calendar, entry.event_type)
    if not matched:
        return {}, NO_RULE, 0
    phone = read.phones.get(matter.client_cms_id) if matter.client_cms_id is not None else None
    firm_number = read.firm_numbers.get(phone) if phone is not None else None
    if phone is None or firm_number is None:
        return {}, NO_NUMBER, 1
    zone = read.zones.get(phone, settings.zone)
    existing = read.existing.get(entry.cms_id, {})
    wanted: dict[tuple[str, str], _Wanted] = {}
    for rule in matched:
        body = rule.render(
            firm=settings.firm_name,
            starts_at=entry.starts_at,
            all_day=entry.all_day,
            location=entry.location,
            zone=zone,
        )
        for moment in rule.moments:
            due = moment.due(entry.starts_at, zone, all_day=entry.all_day)
            row = existing.get((rule.name, moment.label))
            # A time already past is not planned, unless it is this reminder's own, due and about to go.
            if due <= now and not (row is not None and row.state == SCHEDULED and row.due_at == due):
                continue
            wanted[(rule.name, moment.label)] = _Wanted(due, body, entry.matter_cms_id, phone, firm_number)
    return wanted, None, 0


def _why_dropped(entry: Any, key: tuple[str, str], rules: reminder_rules.ReminderRules) -> str:
    """Why a reminder the entry still has a rule for is no longer wanted: its rule, its moment, or its time."""
    name, label = key
    rule = next((r for r in rules.for_entry(entry.calendar, entry.event_type) if r.name == name), None)
    if rule is None:
        return NO_RULE
    if label not in {moment.label for moment in rule.moments}:
        return NO_MOMENT
    return PASSED


def _differs(row: Any, want: _Wanted) -> bool:
    return (row.due_at, row.body, row.matter_cms_id, row.client_phone, row.firm_number) != (
        want.due_at,
        want.body,
        want.matter_cms_id,
        want.client_phone,
        want.firm_number,
    )


def _new_row(entry_cms_id: str, key: tuple[str, str], want: _Wanted, now: datetime) -> dict[str, Any]:
    return {
        "entry_cms_id": entry_cms_id,
        "rule": key[0],
        "moment": key[1],
        "matter_cms_id": want.matter_cms_id,
        "client_phone": want.client_phone,
        "firm_number": want.firm_number,
        "due_at": want.due_at,
        "body": want.body,
        "state": SCHEDULED,
        "reason": None,
        "created_at": now,
        "updated_at": now,
    }


def _change(row: Any, want: _Wanted) -> dict[str, Any]:
    return {"row_id": row.id, **_values(SCHEDULED, None, want)}


def _cancel(row: Any, reason: str) -> dict[str, Any]:
    return {"row_id": row.id, **_values(CANCELLED, reason, row)}


def _values(state: str, reason: str | None, source: Any) -> dict[str, Any]:
    """The bound values of one row's change (the statement binds them as `new_<column>`)."""
    kept = {name: getattr(source, name) for name in _CHANGED[2:]}
    return {f"new_{name}": value for name, value in {"state": state, "reason": reason, **kept}.items()}
