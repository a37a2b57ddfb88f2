"""Staff read, edit and file a conversation's summary before it goes onto the matter.

With `MATTERLINE_SUMMARY_REVIEW=true` summaries wait as drafts. A summary may be edited while it is a
draft, or queued but not yet being written; once a write may be under way the CMS is the place to
change it. The marker that makes the record findable in the CMS is kept through every edit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select, update

from connector import queries
from connector.compliance import audit
from connector.errors import conflict, invalid, not_found
from connector.jobs import kinds, outbox
from connector.staff.users import Actor
from connector.store.engine import utcnow
from connector.store.tables import writebacks
from connector.writeback import writer

__all__ = ["edit", "file"]


def edit(
    engine: Engine, writeback_id: int, *, subject: str | None, body: str | None, actor: Actor
) -> queries.writebacks.WritebackRecord:
    """Change a summary's subject or text before it is written; audited as `summary_edit`.

    Raises:
        MatterlineError: not found; conflict `not_editable` (not a summary), `already_written`, `in_flight`;
            invalid `empty_subject`.
    """
    now = utcnow()
    with engine.begin() as conn:
        row = conn.execute(select(writebacks).where(writebacks.c.id == writeback_id).with_for_update()).first()
        if row is None:
            raise not_found(f"no write-back {writeback_id}")
        if row.kind != "summary":
            raise conflict("not_editable", "only summaries are edited; transcripts are the record as sent")
        if row.state == "written":
            raise conflict("already_written", "this summary is already on the matter; add a note in the CMS")
        leased = outbox.in_flight(conn, kinds.write_key(row.id), now=now)
        if row.state == "pending" and (leased or row.ambiguous):
            raise conflict("in_flight", "this summary is being written to the CMS right now; edit it there")
        values: dict[str, Any] = {}
        if subject is not None:
            if not subject.strip():
                raise invalid("empty_subject", "a summary needs a subject", {"field": "subject"})
            values["subject"] = f"{subject.strip()} [{row.marker}]"
        if body is not None:
            values["body"] = body
        if values:
            conn.execute(update(writebacks).where(writebacks.c.id == row.id).values(**values))
            audit.append(
                conn,
                actor=actor.label,
                action=audit.Action.SUMMARY_EDIT,
                subject_type="writeback",
                subject_id=row.id,
                matter_cms_id=row.matter_cms_id,
                request_id=actor.request_id,
                details={"fields": sorted(values)},
                at=now,
            )
    return queries.writebacks.get(engine, writeback_id)


def file(engine: Engine, writeback_id: int, *, actor: Actor) -> queries.writebacks.WritebackRecord:
    """Queue a reviewed summary draft for the CMS; audited as `summary_filed`.

    Raises:
        MatterlineError: not found; conflict `not_a_draft`.
    """
    now = utcnow()
    with engine.begin() as conn:
        row = conn.execute(select(writebacks).where(writebacks.c.id == writeback_id).with_for_update()).first()
        if row is None:
            raise not_found(f"no write-back {writeback_id}")
        if row.state != "draft":
            raise conflict("not_a_draft", f"this write-back is {row.state}, not a draft")
        conn.execute(update(writebacks).where(writebacks.c.id == row.id).values(state="pending"))
        writer.enqueue(conn, row.id, now)
        audit.append(
            conn,
            actor=actor.label,
            action=audit.Action.SUMMARY_FILED,
            subject_type="writeback",
            subject_id=row.id,
            matter_cms_id=row.matter_cms_id,
            request_id=actor.request_id,
            at=now,
        )
    return queries.writebacks.get(engine, writeback_id)
