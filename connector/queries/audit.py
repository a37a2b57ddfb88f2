"""The audit log as people read it: who did what, when, in which matter; filtered in SQL, oldest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from connector.store.tables import audit_log

__all__ = ["AuditEntry", "entry", "listing"]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One entry with its place in the hash chain."""

    id: int
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str | None
    matter_cms_id: str | None
    request_id: str | None
    details: dict[str, Any] | None
    hash: str
    prev_hash: str


def listing(
    engine: Engine,
    *,
    matter_cms_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    newest: int | None = None,
    before: int | None = None,
) -> list[AuditEntry]:
    """Entries oldest first; `newest` keeps only the last N that match (still oldest first).

    `before` keeps only entries older than that entry id: with `newest`, a keyset page that reaches back
    through a long log (the admin page's "older entries") without counting or skipping rows.
    """
    query = select(audit_log)
    if before is not None:
        query = query.where(audit_log.c.id < before)
    if matter_cms_id is not None:
        query = query.where(audit_log.c.matter_cms_id == matter_cms_id)
    if actor is not None:
        query = query.where(audit_log.c.actor == actor)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    if until is not None:
        query = query.where(audit_log.c.at < until)
    with engine.connect() as conn:
        if newest is None:
            rows = list(conn.execute(query.order_by(audit_log.c.id)))
        else:
            rows = list(reversed(conn.execute(query.order_by(audit_log.c.id.desc()).limit(newest)).all()))
    return [_view(r) for r in rows]


def entry(engine: Engine, entry_id: int) -> AuditEntry | None:
    """One entry by id, or None: what a verdict's "first bad entry" was (when, who, which action)."""
    with engine.connect() as conn:
        row = conn.execute(select(audit_log).where(audit_log.c.id == entry_id)).first()
    return None if row is None else _view(row)


def _view(r: Any) -> AuditEntry:
    return AuditEntry(
        id=r.id,
        at=r.at,
        actor=r.actor,
        action=r.action,
        subject_type=r.subject_type,
        subject_id=r.subject_id,
        matter_cms_id=r.matter_cms_id,
        request_id=r.request_id,
        details=r.details,
        hash=r.hash,
        prev_hash=r.prev_hash,
    )
