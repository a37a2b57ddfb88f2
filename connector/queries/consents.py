"""The consent ledger as it was written: every grant and withdrawal, oldest first, never edited; and where a
number stands (its clients, its newest consent row, whether it said stop), found by number or client name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import Connection, Engine, func, select

from connector.errors import invalid
from connector.guardrails import optouts
from connector.guardrails.consent import ConsentRow, latest_of, phone_of, row_of
from connector.guardrails.optouts import OptOutState
from connector.phones import to_e164
from connector.store.tables import consents, contact_phones, contacts

__all__ = ["ConsentRow", "NumberStanding", "listing", "lookup"]

# How many contacts a name search reads: enough for a firm's namesakes, never the whole directory.
NAME_MATCHES: Final = 50


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


@dataclass(frozen=True, slots=True)
class NumberStanding:
    """Where one number stands: the synced contacts who have it, its newest consent row (None: never
    recorded) and its opt-out state. Consent and opt-out are separate ledgers: a grant does not undo a STOP."""

    phone: str
    clients: tuple[str, ...]
    consent: ConsentRow | None
    opt_out: OptOutState


def lookup(engine: Engine, text: str, *, region: str) -> list[NumberStanding]:
    """The numbers `text` names: itself when it reads as a number in `region` (any way people type one),
    else the numbers of the contacts whose name contains it (any case); by number.

    Raises:
        MatterlineError: invalid `invalid_phone` when `text` is empty, or has no letters and is no number.
    """
    wanted = text.strip()
    if not wanted:
        raise invalid("invalid_phone", "type a phone number or a client's name to search for", {"field": "q"})
    phone = to_e164(wanted, region)
    if phone is None and not any(ch.isalpha() for ch in wanted):
        raise invalid("invalid_phone", f"{wanted!r} is not a phone number that can be texted", {"field": "q"})
    with engine.connect() as conn:
        if phone is not None:
            phones = [phone]
        else:
            named = (
                select(contacts.c.id)
                .where(
                    contacts.c.deleted_at.is_(None),
                    func.lower(contacts.c.name).contains(wanted.lower(), autoescape=True),
                )
                .order_by(contacts.c.name, contacts.c.id)
                .limit(NAME_MATCHES)
            )
            phones = sorted(
                set(
                    conn.execute(
                        select(contact_phones.c.e164).where(
                            contact_phones.c.contact_id.in_(named), contact_phones.c.e164.is_not(None)
                        )
                    ).scalars()
                )
            )
        return _standings(conn, phones)


def _standings(conn: Connection, phones: list[str]) -> list[NumberStanding]:
    """Each number's clients, newest consent and opt-out state, in `phones`' order."""
    if not phones:
        return []
    names: dict[str, list[str]] = {phone: [] for phone in phones}
    rows = conn.execute(
        select(contact_phones.c.e164, contacts.c.name)
        .join(contacts, contacts.c.id == contact_phones.c.contact_id)
        .where(contact_phones.c.e164.in_(phones), contacts.c.deleted_at.is_(None))
        .order_by(contacts.c.name, contacts.c.id)
    )
    for row in rows:
        names[row.e164].append(row.name)
    newest = latest_of(conn, phones)
    return [
        NumberStanding(
            phone,
            tuple(names[phone]),
            row_of(newest[phone]) if phone in newest else None,
            optouts.state_of(conn, phone),
        )
        for phone in phones
    ]
