"""The admin pages under `/admin`, one blueprint per area, for admins only (see guard.py).

Each area's view calls the same services as the API and the CLI, so a change made here is the same
transaction and the same audit entry as the command that does it.
"""

from __future__ import annotations

from webhooks.pages.admin import home, settings

__all__ = ["AREAS", "NAV"]

AREAS = (home, settings)

# The admin menu: (endpoint, label), in the order an admin setting up a firm visits them.
NAV = (("admin_settings.index", "Settings"),)
