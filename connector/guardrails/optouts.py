"""The opt-out ledger: append-only, the firm's legal record of who said stop (and start) and how.

A number's state is its newest entry. Opt-outs apply to every firm number: a client who says STOP to
one of the firm's numbers has told the firm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, func, insert, select

from connector.store.engine import utcnow
from connector.store.tables import opt_outs


@dataclass(frozen=True, slots=True)
class OptOutState:
    """Where a number stands: opted out or not, since when, and what said so."""

    phone: str
    opted_out: bool
    since: datetime | None
    source: str | None


def state_of(conn: Connection, phone: str) -> OptOutState:
    """The newest ledger entry for `phone`."""
    row = conn.execute(
        select(opt_outs.c.action, opt_outs.c.created_at, opt_outs.c.source)
        .where(opt_outs.c.phone == phone)
        .order_by(opt_outs.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return OptOutState(phone, False, None, None)
    return OptOutState(phone, row.action == "opt_out", row.created_at, row.source)


def is_opted_out(conn: Connection, phone: str) -> bool:
    """Whether a send to `phone` must be refused."""
    return state_of(conn, phone).opted_out


def record(
    conn: Connection,
    phone: str,
    action: str,
    source: str,
    *,
    keyword: str | None = None,
    message_sid: str | None = None,
    firm_number: str | None = None,
    actor_id: int | None = None,
    at: datetime | None = None,
) -> bool:
    """Append an entry; True when it changed the number's state (so a confirmation is due).

    Repeating the current state is still recorded (the ledger keeps every signal) but changes nothing.
    """
    changed = state_of(conn, phone).opted_out != (action == "opt_out")
    conn.execute(
        insert(opt_outs).values(
            phone=phone,
            action=action,
            source=source,
            keyword=keyword,
            message_sid=message_sid,
            firm_number=firm_number,
            actor_id=actor_id,
            created_at=at or utcnow(),
        )
    )
    return changed


def listing(engine: Engine, *, only_opted_out: bool = False) -> list[OptOutState]:
    """Every number in the ledger with its current state."""
    newest = select(opt_outs.c.phone, func.max(opt_outs.c.id).label("id")).group_by(opt_outs.c.phone).subquery()
    query = (
        select(opt_outs.c.phone, opt_outs.c.action, opt_outs.c.created_at, opt_outs.c.source)
        .join(newest, newest.c.id == opt_outs.c.id)
        .order_by(opt_outs.c.phone)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    states = [OptOutState(r.phone, r.action == "opt_out", r.created_at, r.source) for r in rows]
    return [s for s in states if s.opted_out] if only_opted_out else states
