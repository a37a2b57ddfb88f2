"""The records for the CMS (transcripts, summaries, corrections, tasks) and how far each has got."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import Engine, select

from connector.errors import not_found
from connector.jobs import kinds
from connector.store.tables import outbox, writebacks

__all__ = ["STATES", "WritebackRecord", "WritebackView", "get", "listing"]

# "withdrawn": an attorney task staff took back before it started out to the CMS (a triage correction).
STATES: Final = ("draft", "pending", "written", "dead", "withdrawn")


@dataclass(frozen=True, slots=True)
class WritebackView:
    """One record for the CMS in a listing: where it goes, its state, and its job's attempts so far."""

    id: int
    kind: str
    thread_id: int
    matter_cms_id: str
    state: str
    cms_record_id: str | None
    attempts: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class WritebackRecord:
    """One record with its text, for staff to read (and, for a summary draft, to edit)."""

    id: int
    kind: str
    thread_id: int
    matter_cms_id: str
    state: str
    subject: str
    body: str
    cms_record_id: str | None
    last_error: str | None


def listing(
    engine: Engine,
    *,
    state: str | None = None,
    matter_cms_id: str | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> list[WritebackView]:
    """Records by id, filtered and paged in SQL; then the page's attempts from the outbox."""
    query = select(writebacks).order_by(writebacks.c.id)
    if state is not None:
        query = query.where(writebacks.c.state == state)
    if matter_cms_id is not None:
        query = query.where(writebacks.c.matter_cms_id == matter_cms_id)
    if after is not None:
        query = query.where(writebacks.c.id > after)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        keys = {kinds.write_key(r.id): r.id for r in rows}
        attempts = (
            {
                keys[key]: count
                for key, count in conn.execute(
                    select(outbox.c.idempotency_key, outbox.c.attempts).where(outbox.c.idempotency_key.in_(keys))
                )
            }
            if keys
            else {}
        )
    return [
        WritebackView(
            id=r.id,
            kind=r.kind,
            thread_id=r.thread_id,
            matter_cms_id=r.matter_cms_id,
            state=r.state,
            cms_record_id=r.cms_record_id,
            attempts=attempts.get(r.id, 0),
            last_error=r.last_error,
        )
        for r in rows
    ]


def get(engine: Engine, writeback_id: int) -> WritebackRecord:
    """One record with its text.

    Raises:
        MatterlineError: not found.
    """
    with engine.connect() as conn:
        row = conn.execute(select(writebacks).where(writebacks.c.id == writeback_id)).first()
    if row is None:
        raise not_found(f"no write-back {writeback_id}")
    return WritebackRecord(
        id=row.id,
        kind=row.kind,
        thread_id=row.thread_id,
        matter_cms_id=row.matter_cms_id,
        state=row.state,
        subject=row.subject,
        body=row.body,
        cms_record_id=row.cms_record_id,
        last_error=row.last_error,
    )
