"""Triage's tables: what it decided about each client text, and staff's corrections. Kept beside the
store's main tables (same metadata, same migrations) so that module stays one schema a person can read.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Float, ForeignKey, Integer, String, Table, Text

from connector.store.tables import UTCDateTime, metadata

__all__ = ["triage_corrections", "triage_decisions"]

# What triage decided about each client text, and why: the thread shows it beside the text, the attorney's
# task carries it, and a correction names the decision it corrects. One row per inbound text taken in.
triage_decisions = Table(
    "triage_decisions",
    metadata,
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("urgent", Boolean, nullable=False),
    Column("probability", Float),  # null when the escalation rules decided (no model file could be read)
    Column("category", String(32)),  # the situation, for an urgent text
    Column("rule", String(200)),  # the rule that decided on its own ("self_harm", "crisis: <phrase>")
    Column("reasons", JSON, nullable=False),  # the strongest signals, as a person reads them
    Column("date_read", String(80)),  # the date the text names, as read against its arrival
    Column("version", String(40), nullable=False),  # the model file's version, or "rules"
    Column("decided_at", UTCDateTime(), nullable=False),
)

# Staff saying triage was wrong about a text: a flag that should not have been, or a text it missed. Every
# correction is kept (who and when); the newest for a text is its label for retraining and evaluation.
triage_corrections = Table(
    "triage_corrections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("urgent", Boolean, nullable=False),
    Column("category", String(32)),
    Column("note", Text),
    # What triage had said (and with which model) when staff corrected it.
    Column("was_urgent", Boolean, nullable=False),
    Column("version", String(40), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("actor", String(128), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
