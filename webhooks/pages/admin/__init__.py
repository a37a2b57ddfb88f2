"""The admin pages under `/admin`, one blueprint per area, for admins only (see guard.py).

Each area's view calls the same services as the API and the CLI, so a change made here is the same
transaction and the same audit entry as the command that does it.
"""

from __future__ import annotations

from webhooks.pages.admin import (
    audit,
    connection,
    consent,
    home,
    mappings,
    outbox,
    retention,
    rules,
    settings,
    users,
)

__all__ = ["AREAS", "NAV"]

AREAS = (home, connection, mappings, outbox, audit, users, consent, rules, retention, settings)

# The admin menu: (endpoint, label), in the order an admin setting up a firm visits them.
NAV = (
    ("admin_connection.index", "Connection"),
    ("admin_mappings.index", "Field mappings"),
    ("admin_outbox.index", "Outbox"),
    ("admin_audit.index", "Audit"),
    ("admin_users.index", "Users"),
    ("admin_consent.index", "Consent"),
    ("admin_rules.index", "Content rules"),
    ("admin_retention.index", "Retention"),
    ("admin_settings.index", "Settings"),
)
