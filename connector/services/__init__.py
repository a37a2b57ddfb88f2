"""What a person can do: one function per action, each owning its transaction and its audit entry.

The API, the CLI and the pages call these and only translate input and output, so a rule (who may
cancel a text, what a send must pass, that a replay is audited) lives in one place. Refusals are a
`connector.errors.MatterlineError`, whose kind each front end says in its own way.
"""

from __future__ import annotations

from connector.services import (
    backups,
    cms_signin,
    connection,
    consents,
    coverage,
    custom_actions,
    documents,
    exports,
    holds,
    intake,
    invites,
    messages,
    outbox,
    presence,
    replies,
    secrets,
    signin,
    summaries,
    threads,
    triage,
    users,
)

__all__ = [
    "backups",
    "cms_signin",
    "connection",
    "consents",
    "coverage",
    "custom_actions",
    "documents",
    "exports",
    "holds",
    "intake",
    "invites",
    "messages",
    "outbox",
    "presence",
    "replies",
    "secrets",
    "signin",
    "summaries",
    "threads",
    "triage",
    "users",
]
