"""What a verified CMS change notification does to the store: apply the record, retire it, or fetch it later.

The webhook view has already checked the signature and read the body; everything here happens in one
transaction per delivery, so a delivery is applied whole or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError

from connector.const import LOGGER
from connector.store import dialect
from connector.store.tables import cms_webhooks, pending_refresh
from connector.sync import ingest

__all__ = ["apply_record", "model_of", "queue_refresh", "retire"]

_EVENT_CHARS: Final = 32


def model_of(engine: Engine, vendor: str, subscription_id: int | None, webhook_id: str | None) -> str | None:
    """The model a delivery is about: from the subscription whose secret signed it, else its webhook id."""
    with engine.connect() as conn:
        if subscription_id is not None:
            model = conn.execute(
                select(cms_webhooks.c.model).where(cms_webhooks.c.id == subscription_id)
            ).scalar_one_or_none()
            if model is not None:
                return str(model)
        if webhook_id is None:
            return None
        found = conn.execute(
            select(cms_webhooks.c.model).where(cms_webhooks.c.vendor == vendor, cms_webhooks.c.cms_id == webhook_id)
        ).scalar_one_or_none()
    return None if found is None else str(found)


def retire(engine: Engine, resource: str, cms_id: str, now: datetime) -> None:
    """The CMS deleted the record: mark it deleted, known or not, and drop a queued fetch that can find nothing."""
    with engine.begin() as conn:
        ingest.mark_deleted(conn, resource, [cms_id], now)
        conn.execute(
            delete(pending_refresh).where(pending_refresh.c.resource == resource, pending_refresh.c.cms_id == cms_id)
        )


def queue_refresh(engine: Engine, resource: str, cms_id: str, event: str, now: datetime) -> None:
    """Ask the worker to fetch the record; a row already waiting for it is kept as it is."""
    with engine.begin() as conn:
        values = {"resource": resource, "cms_id": cms_id, "event": event[:_EVENT_CHARS], "received_at": now}
        dialect.insert_ignore(conn, pending_refresh, values, ["resource", "cms_id"])


def apply_record(engine: Engine, resource: str, record: ingest.Record, now: datetime) -> bool:
    """Upsert one record unless the store holds a newer version; False when it was refused as stale.

    If a concurrent writer inserted it first, apply again as an update: Clio can deliver `created` and
    `updated` for one record within milliseconds, and a sync page can carry it at the same moment; the
    loser of that race sees a unique-key violation, not a lost write.
    """
    try:
        with engine.begin() as conn:
            counts = ingest.apply(conn, resource, [record], now=now)
    except IntegrityError:
        LOGGER.info("cms.webhook.insert_race resource=%s cms_id=%s", resource, record.cms_id)
        with engine.begin() as conn:
            counts = ingest.apply(conn, resource, [record], now=now)
    return counts.stale == 0
