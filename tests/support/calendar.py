"""Calendar entries in the store as the calendar sync leaves them (marked for planning), for reminder tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from connector.store.workflow_tables import calendar_entries, reminders
from tests.support.firm import NOW


def entry(
    engine: Engine,
    cms_id: str,
    *,
    matter: str | None = "101",
    starts_at: datetime,
    event_type: str | None = "Hearing",
    calendar: str | None = None,
    location: str | None = "Courtroom 4B, 100 Main St",
    all_day: bool = False,
) -> None:
    """An entry the sync just added: marked for planning."""
    with engine.begin() as conn:
        conn.execute(
            insert(calendar_entries).values(
                cms_id=cms_id,
                matter_cms_id=matter,
                calendar=calendar,
                event_type=event_type,
                summary="Custody hearing: bring the school records",  # for staff; never in a text
                location=location,
                starts_at=starts_at,
                ends_at=None,
                all_day=all_day,
                fingerprint="f" * 40,
                synced_at=NOW,
                needs_plan=True,
            )
        )


def change(engine: Engine, cms_id: str, **values: Any) -> None:
    """The sync applied a change to the entry (moved it, deleted it): it is marked for planning again."""
    with engine.begin() as conn:
        conn.execute(
            update(calendar_entries).where(calendar_entries.c.cms_id == cms_id).values(needs_plan=True, **values)
        )


def planned(engine: Engine, cms_id: str | None = None) -> list[Any]:
    """The reminders planned (of one entry), by rule, moment."""
    query = select(reminders).order_by(reminders.c.entry_cms_id, reminders.c.rule, reminders.c.due_at)
    if cms_id is not None:
        query = query.where(reminders.c.entry_cms_id == cms_id)
    with engine.connect() as conn:
        return list(conn.execute(query).all())
