"""The store: engine, tables, migrations, group commit, and the one SQLite/PostgreSQL switch."""

from __future__ import annotations

from connector.store.engine import make_engine, utcnow
from connector.store.migrate import current_revision, head_revision, upgrade

__all__ = ["current_revision", "head_revision", "make_engine", "upgrade", "utcnow"]
