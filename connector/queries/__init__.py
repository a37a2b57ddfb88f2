"""What a person can see: one module per subject, each filtering and paging in SQL and returning frozen views.

The API, the CLI and the pages read through these, never the tables, so a listing means the same
thing wherever it is shown and its shape is the one the API documents.
"""

from __future__ import annotations

from connector.queries import (
    activity,
    audit,
    clients,
    connection,
    consents,
    contacts,
    conversation,
    coverage,
    documents,
    holds,
    inbox,
    intake,
    matter_panel,
    matters,
    media,
    messages,
    optouts,
    outbox,
    reminders,
    replies,
    response_times,
    threads,
    triage,
    users,
    writebacks,
)

__all__ = [
    "activity",
    "audit",
    "clients",
    "connection",
    "consents",
    "contacts",
    "conversation",
    "coverage",
    "documents",
    "holds",
    "inbox",
    "intake",
    "matter_panel",
    "matters",
    "media",
    "messages",
    "optouts",
    "outbox",
    "reminders",
    "replies",
    "response_times",
    "threads",
    "triage",
    "users",
    "writebacks",
]
