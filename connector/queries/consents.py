"""The consent ledger as it was written: every grant and withdrawal, oldest first, never edited."""

from __future__ import annotations

from sqlalchemy import Engine, select

from connector.guardrails.consent import ConsentRow, phone_of, row_of
from connector.store.tables import consents

__all__ = ["ConsentRow", "listing"]


def listing(engine: Engine, phone: str | None = None, *, region: str = "US") -> list[ConsentRow]:
    """Ledger rows, oldest first; one number's (as typed, read in `region`) when `phone` is given.

    Raises:
        MatterlineError: invalid `invalid_phone` when `phone` cannot be read as a number.
    """
    query = select(consents).order_by(consents.c.id)
    if phone is not None:
        query = query.where(consents.c.phone == phone_of(phone, region, code="invalid_phone"))
    with engine.connect() as conn:
        return [row_of(row) for row in conn.execute(query)]
