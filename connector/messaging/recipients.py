"""Who a staff text goes to and what it is about: a thread, a matter's client, or a number typed in.

A text from a matter goes to the client's primary readable number, on that number's thread with the
firm, and is filed to the matter; a reply in a thread goes to its client phone, filed to the thread's
matter; a number typed in is read as the firm's region reads it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, Connection, or_, select

from connector.errors import invalid, not_found
from connector.messaging import filing
from connector.phones import to_e164
from connector.settings import Settings
from connector.store.tables import contact_phones, contacts, matter_contacts, matters, threads

__all__ = ["client_phone", "client_phones", "resolve"]

# Which of a client's numbers a text goes to: the client's own contact first, its primary number, then the first.
_BEST_NUMBER: Final = (contacts.c.is_client.desc(), contact_phones.c.is_primary.desc(), contact_phones.c.position)


def client_phone(conn: Connection, client_key: str) -> str | None:
    """The number to text a client on: the primary readable number, else the first readable one."""
    return conn.execute(
        select(contact_phones.c.e164)
        .join(contacts, contacts.c.id == contact_phones.c.contact_id)
        .where(contacts.c.client_key == client_key, contacts.c.deleted_at.is_(None), contact_phones.c.e164.is_not(None))
        .order_by(*_BEST_NUMBER)
        .limit(1)
    ).scalar()


def client_phones(conn: Connection, client_keys: Collection[str]) -> dict[str, str]:
    """`client_phone` for many clients in one read (the reminder planner's batch): client key -> number; a
    client without a readable number is left out."""
    if not client_keys:
        return {}
    rows = conn.execute(
        select(contacts.c.client_key, contact_phones.c.e164)
        .join(contacts, contacts.c.id == contact_phones.c.contact_id)
        .where(
            contacts.c.client_key.in_(sorted(client_keys)),
            contacts.c.deleted_at.is_(None),
            contact_phones.c.e164.is_not(None),
        )
        .order_by(contacts.c.client_key, *_BEST_NUMBER)
    )
    found: dict[str, str] = {}
    for row in rows:
        found.setdefault(row.client_key, row.e164)
    return found


def resolve(
    conn: Connection,
    settings: Settings,
    *,
    thread_id: int | None,
    matter_cms_id: str | None,
    to: str | None,
    now: datetime,
) -> tuple[Any, str | None]:
    """The thread to send on (created for a new number) and the matter the text is about.

    Raises:
        MatterlineError: not found (thread, matter); invalid `no_firm_number`, `no_textable_number`,
            `invalid_recipient`.
    """
    if thread_id is not None:
        thread = conn.execute(select(threads).where(threads.c.id == thread_id)).first()
        if thread is None:
            raise not_found(f"no thread {thread_id}")
        return thread, thread.matter_cms_id
    sender = settings.sender
    if sender is None:
        raise invalid("no_firm_number", "set MATTERLINE_FIRM_NUMBERS or TWILIO_MESSAGING_SERVICE_SID")
    if matter_cms_id is not None:
        return _for_matter(conn, sender, matter_cms_id, to, settings.default_region, now), matter_cms_id
    phone = to_e164(to or "", settings.default_region)
    if phone is None:
        raise invalid("invalid_recipient", f"{to!r} is not a valid phone number")
    thread = filing.thread_for(conn, sender, phone, now)
    return thread, thread.matter_cms_id


def matter_numbers(conn: Connection, matter_cms_id: str, client_cms_id: str | None) -> set[str]:
    """Every readable number of a matter's client and of the contacts related to the matter."""
    related = select(matter_contacts.c.contact_cms_id).where(
        matter_contacts.c.matter_cms_id == matter_cms_id, matter_contacts.c.deleted_at.is_(None)
    )
    people: ColumnElement[bool] = contacts.c.cms_id.in_(related)
    if client_cms_id is not None:
        people = or_(people, contacts.c.client_key == client_cms_id)
    rows = conn.execute(
        select(contact_phones.c.e164)
        .join(contacts, contacts.c.id == contact_phones.c.contact_id)
        .where(people, contacts.c.deleted_at.is_(None), contact_phones.c.e164.is_not(None))
    )
    return {row.e164 for row in rows}


def _for_matter(conn: Connection, sender: str, matter_cms_id: str, to: str | None, region: str, now: datetime) -> Any:
    """The thread for a text about a matter: to its client's number, or to `to` if it is one of the matter's people.

    A number outside the matter is refused rather than texted under the matter's name: the text would be
    filed to a matter its recipient has nothing to do with.
    """
    matter = conn.execute(
        select(matters.c.client_cms_id, matters.c.status).where(
            matters.c.cms_id == matter_cms_id, matters.c.deleted_at.is_(None)
        )
    ).first()
    if matter is None:
        raise not_found(f"no matter {matter_cms_id} in the store (run `matterline sync`?)")
    if to is not None:
        phone = to_e164(to, region)
        if phone is None or phone not in matter_numbers(conn, matter_cms_id, matter.client_cms_id):
            raise invalid(
                "invalid_recipient",
                f"{to!r} is not a number of matter {matter_cms_id}'s client or of a contact related to it",
            )
    else:
        phone = client_phone(conn, matter.client_cms_id) if matter.client_cms_id else None
        if phone is None:
            raise invalid("no_textable_number", f"matter {matter_cms_id}'s client has no readable phone number")
    return filing.thread_for(conn, sender, phone, now)
