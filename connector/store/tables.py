"""The store's tables, in SQLAlchemy Core: the sync engine writes whole pages at a time through them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike.

    SQLite has no time zone type, so values are stored as naive UTC everywhere and re-labelled on read.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

# People synced from the CMS: clients and the other contacts related to matters.
contacts = Table(
    "contacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("cms_id", String(64), nullable=False, unique=True),
    # What matters point at as their client (the contact id in Clio; the account id in PracticePanther).
    Column("client_key", String(64), nullable=False, index=True),
    Column("name", String(512), nullable=False),
    Column("is_client", Boolean, nullable=False, default=False),
    Column("time_zone", String(64)),
    Column("region_code", String(8)),
    Column("cms_updated_at", UTCDateTime()),
    Column("fingerprint", String(40), nullable=False),
    Column("seen_run", Integer, nullable=False, default=0),
    Column("deleted_at", UTCDateTime()),
    Column("synced_at", UTCDateTime(), nullable=False),
)

contact_phones = Table(
    "contact_phones",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("contact_id", Integer, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("raw", String(256), nullable=False),
    # Null when the raw value cannot be read as a phone number; the raw text is kept either way.
    Column("e164", String(20), index=True),
    Column("label", String(64)),
    Column("is_primary", Boolean, nullable=False, default=False),
    Column("parse_error", String(128)),
    UniqueConstraint("contact_id", "e164"),
    Index("ix_contact_phones_contact_id", "contact_id"),
)

matters = Table(
    "matters",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("cms_id", String(64), nullable=False, unique=True),
    Column("display_number", String(256), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False),
    Column("client_cms_id", String(64), index=True),
    Column("responsible_attorney_cms_id", String(64)),
    Column("responsible_attorney", String(256)),
    Column("cms_updated_at", UTCDateTime()),
    Column("fingerprint", String(40), nullable=False),
    Column("seen_run", Integer, nullable=False, default=0),
    Column("deleted_at", UTCDateTime()),
    Column("synced_at", UTCDateTime(), nullable=False),
)

# Other contacts related to a matter (spouse, guardian, co-defendant), where the mapping says how.
matter_contacts = Table(
    "matter_contacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("cms_id", String(64), nullable=False, unique=True),
    Column("matter_cms_id", String(64), nullable=False, index=True),
    Column("contact_cms_id", String(64), nullable=False, index=True),
    Column("description", String(256)),
    Column("cms_updated_at", UTCDateTime()),
    Column("fingerprint", String(40), nullable=False),
    Column("seen_run", Integer, nullable=False, default=0),
    Column("deleted_at", UTCDateTime()),
    Column("synced_at", UTCDateTime(), nullable=False),
)

# One row per synced resource. `bookmark` moves only when a run finishes; `resume_url` moves with
# each committed page, so a killed run resumes where it stopped and ends where an unbroken one would.
sync_state = Table(
    "sync_state",
    metadata,
    Column("resource", String(64), primary_key=True),
    Column("bookmark", UTCDateTime()),
    Column("run_seq", Integer, nullable=False, default=0),
    Column("run_full", Boolean, nullable=False, default=False),
    Column("run_started_at", UTCDateTime()),
    Column("resume_url", Text),
    Column("last_completed_at", UTCDateTime()),
    Column("last_error", Text),
)

# Contact/matter changes announced by a CMS webhook without the record itself; fetched by the worker.
pending_refresh = Table(
    "pending_refresh",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resource", String(64), nullable=False),
    Column("cms_id", String(64), nullable=False),
    Column("event", String(32), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    UniqueConstraint("resource", "cms_id"),
)

oauth_tokens = Table(
    "oauth_tokens",
    metadata,
    Column("vendor", String(64), primary_key=True),
    Column("access_token", Text),
    Column("refresh_token", Text),
    Column("expires_at", UTCDateTime()),
    Column("updated_at", UTCDateTime(), nullable=False),
)

cms_webhooks = Table(
    "cms_webhooks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("vendor", String(64), nullable=False),
    Column("cms_id", String(64), nullable=False),
    Column("model", String(64), nullable=False),
    Column("url", Text, nullable=False),
    Column("status", String(32), nullable=False),
    Column("shared_secret", Text),
    Column("expires_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("details", JSON),
    UniqueConstraint("vendor", "cms_id"),
)
