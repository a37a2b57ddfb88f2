"""The synced matters: number, description, status, client and responsible attorney."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import Engine, select

from connector.store.tables import matters

__all__ = ["STATUSES", "MatterView", "listing"]

STATUSES: Final = ("open", "pending", "closed")


@dataclass(frozen=True, slots=True)
class MatterView:
    """A matter as the CMS describes it."""

    id: int
    cms_id: str
    display_number: str
    description: str
    status: str
    client_cms_id: str | None
    responsible_attorney: str | None


def listing(
    engine: Engine,
    *,
    cms_id: str | None = None,
    status: str | None = None,
    client_cms_id: str | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> list[MatterView]:
    """Matters not deleted in the CMS, by id; filtered and paged in SQL."""
    query = select(matters).where(matters.c.deleted_at.is_(None))
    if cms_id is not None:
        query = query.where(matters.c.cms_id == cms_id)
    if status is not None:
        query = query.where(matters.c.status == status)
    if client_cms_id is not None:
        query = query.where(matters.c.client_cms_id == client_cms_id)
    if after is not None:
        query = query.where(matters.c.id > after)
    query = query.order_by(matters.c.id)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        MatterView(
            id=row.id,
            cms_id=row.cms_id,
            display_number=row.display_number,
            description=row.description,
            status=row.status,
            client_cms_id=row.client_cms_id,
            responsible_attorney=row.responsible_attorney,
        )
        for row in rows
    ]
