"""The synced clients and contacts with their phone numbers, and the numbers the sync could not read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import Engine, select

from connector.store.tables import contact_phones, contacts

__all__ = ["ClientView", "listing"]

# Phone look-ups go in chunks so an IN list stays within every engine's parameter limit.
_CHUNK: Final = 500


@dataclass(frozen=True, slots=True)
class ClientView:
    """A contact from the CMS: the numbers Matterline can text, and the ones kept as they were typed."""

    id: int
    cms_id: str
    name: str
    phones: list[str]
    unparseable_phones: list[str]


def listing(
    engine: Engine,
    *,
    cms_id: str | None = None,
    unparseable: bool = False,
    after: int | None = None,
    limit: int | None = None,
) -> list[ClientView]:
    """Contacts not deleted in the CMS, by id; only one CMS id, only those with unreadable numbers, or a page."""
    query = select(contacts.c.id, contacts.c.cms_id, contacts.c.name).where(contacts.c.deleted_at.is_(None))
    if cms_id is not None:
        query = query.where(contacts.c.cms_id == cms_id)
    if unparseable:
        query = query.where(
            contacts.c.id.in_(select(contact_phones.c.contact_id).where(contact_phones.c.e164.is_(None)))
        )
    if after is not None:
        query = query.where(contacts.c.id > after)
    query = query.order_by(contacts.c.id)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        found: dict[int, tuple[list[str], list[str]]] = {row.id: ([], []) for row in rows}
        ids = list(found)
        for start in range(0, len(ids), _CHUNK):
            phones = conn.execute(
                select(contact_phones.c.contact_id, contact_phones.c.e164, contact_phones.c.raw)
                .where(contact_phones.c.contact_id.in_(ids[start : start + _CHUNK]))
                .order_by(contact_phones.c.contact_id, contact_phones.c.position)
            )
            for phone in phones:
                good, bad = found[phone.contact_id]
                (good if phone.e164 else bad).append(phone.e164 or phone.raw)
    return [ClientView(row.id, row.cms_id, row.name, *found[row.id]) for row in rows]
