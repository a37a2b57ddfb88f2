"""Who a staff text goes to and what it is about: a thread, a matter's client, or a number typed in.

A text from a matter goes to the client's primary readable number, on that number's thread with the
firm, and is filed to the matter; a reply in a thread goes to its client phone, filed to the thread's
matter; a number typed in is read as the firm's region reads it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from connector.errors import invalid, not_found
from connector.messaging import filing
from connector.phones import to_e164
from connector.settings import Settings
from connector.store.tables import contact_phones, contacts, matters, threads

__all__ = ["client_phone", "resolve"]


def client_phone(conn: Connection, client_key: str) -> str | None:
    """The number to text a client on: the primary readable number, else the first readable one."""
    return conn.execute(
        select(contact_phones.c.e164)
        .join(contacts, contacts.c.id == contact_phones.c.contact_id)
        .where(contacts.c.client_key == client_key, contacts.c.deleted_at.is_(None), contact_phones.c.e164.is_not(None))
        .order_by(contacts.c.is_client.desc(), contact_phones.c.is_primary.desc(), contact_phones.c.position)
        .limit(1)
    ).scalar()


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
        matter = conn.execute(
            select(matters.c.client_cms_id, matters.c.status).where(
                matters.c.cms_id == matter_cms_id, matters.c.deleted_at.is_(None)
            )
        ).first()
        if matter is None:
            raise not_found(f"no matter {matter_cms_id} in the store (run `matterline sync`?)")
        phone = client_phone(conn, matter.client_cms_id) if matter.client_cms_id else None
        if phone is None:
            raise invalid("no_textable_number", f"matter {matter_cms_id}'s client has no readable phone number")
        return filing.thread_for(conn, sender, phone, now), matter_cms_id
    phone = to_e164(to or "", settings.default_region)
    if phone is None:
        raise invalid("invalid_recipient", f"{to!r} is not a valid phone number")
    thread = filing.thread_for(conn, sender, phone, now)
    return thread, thread.matter_cms_id
