"""The opt-out ledger: each number's current state (the firm's record of who said stop, when, and how), and
one number's every entry, as written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select

from connector.guardrails.consent import phone_of
from connector.guardrails.optouts import OptOutState
from connector.store.tables import opt_outs, users

__all__ = ["OptOutEntry", "OptOutState", "history", "listing"]


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


@dataclass(frozen=True, slots=True)
class OptOutEntry:
    """One opt-out ledger entry: stop (`opt_out`) or start (`opt_in`), what carried it (`source`: a keyword,
    plain words, Twilio's report, a person), the word itself, the text's SID, and who when a person did it."""

    id: int
    phone: str
    action: str
    source: str
    keyword: str | None
    message_sid: str | None
    firm_number: str | None
    actor: str | None
    created_at: datetime


def history(engine: Engine, phone: str, *, region: str = "US") -> list[OptOutEntry]:
    """One number's entries (as typed, read in `region`), newest first: every STOP and START the firm heard.

    Raises:
        MatterlineError: invalid `invalid_phone` when `phone` cannot be read as a number.
    """
    number = phone_of(phone, region, code="invalid_phone")
    query = (
        select(opt_outs, users.c.name.label("actor_name"))
        .outerjoin(users, users.c.id == opt_outs.c.actor_id)
        .where(opt_outs.c.phone == number)
        .order_by(opt_outs.c.id.desc())
    )
    with engine.connect() as conn:
        return [
            OptOutEntry(
                r.id, r.phone, r.action, r.source, r.keyword, r.message_sid, r.firm_number, r.actor_name, r.created_at
            )
            for r in conn.execute(query)
        ]
