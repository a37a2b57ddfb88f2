"""The opt-out ledger's current state per number: the firm's record of who said stop, when, and how."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from connector.guardrails.optouts import OptOutState
from connector.store.tables import opt_outs

__all__ = ["OptOutState", "listing"]


def listing(engine: Engine, *, only_opted_out: bool = False) -> list[OptOutState]:
    """Every number in the ledger with its newest entry, by number; only those opted out now, if asked."""
    newest = select(opt_outs.c.phone, func.max(opt_outs.c.id).label("id")).group_by(opt_outs.c.phone).subquery()
    query = (
        select(opt_outs.c.phone, opt_outs.c.action, opt_outs.c.created_at, opt_outs.c.source)
        .join(newest, newest.c.id == opt_outs.c.id)
        .order_by(opt_outs.c.phone)
    )
    if only_opted_out:
        query = query.where(opt_outs.c.action == "opt_out")
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [OptOutState(r.phone, r.action == "opt_out", r.created_at, r.source) for r in rows]
