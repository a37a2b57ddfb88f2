"""One synced CMS contact's numbers as a person texting them needs to see: opted out or not, and the thread."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from connector.store.tables import contact_phones, contacts, opt_outs, threads

__all__ = ["ContactNumber", "ContactNumbers", "numbers"]


@dataclass(frozen=True, slots=True)
class ContactNumber:
    """A textable number of the contact: its label, whether it said stop, and its newest thread, if any."""

    e164: str
    label: str | None
    primary: bool
    opted_out: bool
    thread_id: int | None


@dataclass(frozen=True, slots=True)
class ContactNumbers:
    """The contact (by CMS id), its name, and its readable numbers, primary first."""

    cms_id: str
    name: str
    numbers: tuple[ContactNumber, ...]


def numbers(engine: Engine, cms_id: str) -> ContactNumbers | None:
    """The contact's readable numbers, or None when no contact with that CMS id is synced."""
    with engine.connect() as conn:
        contact = conn.execute(select(contacts.c.id, contacts.c.name).where(contacts.c.cms_id == cms_id)).first()
        if contact is None:
            return None
        phones = conn.execute(
            select(contact_phones.c.e164, contact_phones.c.label, contact_phones.c.is_primary)
            .where(contact_phones.c.contact_id == contact.id, contact_phones.c.e164.is_not(None))
            .order_by(contact_phones.c.is_primary.desc(), contact_phones.c.position)
        ).all()
        found: list[ContactNumber] = []
        for phone in phones:
            newest = conn.execute(
                select(opt_outs.c.action).where(opt_outs.c.phone == phone.e164).order_by(opt_outs.c.id.desc()).limit(1)
            ).scalar()
            thread_id = conn.execute(
                select(threads.c.id)
                .where(threads.c.client_phone == phone.e164)
                .order_by(func.coalesce(threads.c.last_message_at, threads.c.created_at).desc(), threads.c.id.desc())
                .limit(1)
            ).scalar()
            found.append(ContactNumber(phone.e164, phone.label, bool(phone.is_primary), newest == "opt_out", thread_id))
    return ContactNumbers(cms_id, contact.name, tuple(found))
