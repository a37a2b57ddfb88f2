"""The matters on legal hold now, with when, why and by whom each hold was set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select

from connector.compliance.retention import SET
from connector.store.tables import legal_holds, matters

__all__ = ["HoldView", "listing"]


@dataclass(frozen=True, slots=True)
class HoldView:
    """A matter on hold: its messages are never purged until the hold is released.

    `display_number` and `description` are the matter as the CMS names it, so a person can tell which
    matter a CMS id is; None when the store no longer holds the matter.
    """

    matter_cms_id: str
    since: datetime
    reason: str
    actor: str
    display_number: str | None = None
    description: str | None = None


def listing(engine: Engine) -> list[HoldView]:
    """Matters whose newest hold entry sets a hold, by CMS id."""
    newest = select(func.max(legal_holds.c.id)).group_by(legal_holds.c.matter_cms_id)
    query = (
        select(legal_holds, matters.c.display_number, matters.c.description)
        .select_from(legal_holds)
        .outerjoin(matters, matters.c.cms_id == legal_holds.c.matter_cms_id)
        .where(legal_holds.c.id.in_(newest), legal_holds.c.action == SET)
        .order_by(legal_holds.c.matter_cms_id)
    )
    with engine.connect() as conn:
        return [
            HoldView(row.matter_cms_id, row.created_at, row.reason, row.actor, row.display_number, row.description)
            for row in conn.execute(query)
        ]
