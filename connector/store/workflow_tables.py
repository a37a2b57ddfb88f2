"""The firm workflow's tables: calendar entries synced from the CMS, the reminders planned from them, who is
away and who covers, and the alerts for client texts left unanswered. Kept beside the store's main tables
(same metadata, same migrations) so that module stays one schema a person can read.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from connector.store.tables import PARTY, UTCDateTime, metadata

__all__ = ["calendar_entries", "coverage", "reminders", "reply_alerts"]

# The CMS's calendar entries tied to matters (Clio `calendar_entries`), synced like matters. Only what a
# reminder needs and what staff read beside it; `summary` is for staff and never goes into a text.
calendar_entries = Table(
    "calendar_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("cms_id", String(64), nullable=False, unique=True),
    Column("matter_cms_id", String(64), index=True),
    Column("calendar", String(256)),  # the calendar it is on (a firm calendar, an attorney's)
    Column("event_type", String(256)),  # the CMS's type for it (Hearing, Appointment), where it has one
    Column("summary", Text),
    Column("location", Text),
    Column("starts_at", UTCDateTime(), index=True),
    Column("ends_at", UTCDateTime()),
    Column("all_day", Boolean, nullable=False, default=False),
    Column("cms_updated_at", UTCDateTime()),
    Column("fingerprint", String(40), nullable=False),
    Column("seen_run", Integer, nullable=False, default=0),
    Column("deleted_at", UTCDateTime()),
    Column("synced_at", UTCDateTime(), nullable=False),
    # Set by every change the sync applies (new, moved, retired); the reminder planner clears it in the
    # transaction that plans the entry's reminders, so no change is planned twice or missed.
    Column("needs_plan", Boolean, nullable=False, default=True),
    Index("ix_calendar_entries_needs_plan", "needs_plan"),
)

# One row per (entry, rule, moment before it): planned when the entry is synced, moved when the entry moves,
# cancelled when it is deleted or no longer matches, and sent once (its message) when due.
reminders = Table(
    "reminders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entry_cms_id", String(64), nullable=False, index=True),
    Column("rule", String(64), nullable=False),  # the firm's reminder rule that planned it
    Column("moment", String(64), nullable=False),  # which of the rule's moments ("2 days before at 09:00")
    Column("matter_cms_id", String(64), index=True),
    Column("client_phone", String(PARTY), nullable=False),
    Column("firm_number", String(PARTY), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("body", Text, nullable=False),
    Column("state", String(16), nullable=False),  # scheduled | sent | cancelled | skipped
    Column("reason", Text),  # why it was cancelled or skipped, as staff read it
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("entry_cms_id", "rule", "moment"),
    Index("ix_reminders_state_due", "state", "due_at"),
)

# A person away for a period, and who covers for them: urgent-text tasks, new threads assigned to them and
# reply alerts go to the backup meanwhile. Kept when it ends (early: `ended_at`), so who covered is on record.
coverage = Table(
    "coverage",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("backup_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("starts_at", UTCDateTime(), nullable=False),
    Column("ends_at", UTCDateTime(), nullable=False),
    Column("reason", Text),
    Column("set_by", String(128), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime()),
)

# A client text left unanswered past the firm's reply limit: one alert per text that started the wait, to the
# thread's assignee (or whoever covers for them), as a CMS task or in the app.
reply_alerts = Table(
    "reply_alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("thread_id", Integer, ForeignKey("threads.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL"), index=True),
    Column("covering_for", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("via", String(16), nullable=False),  # cms_task | in_app
    Column("waited_since", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("seen_at", UTCDateTime()),
)
