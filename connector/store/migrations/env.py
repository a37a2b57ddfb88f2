"""Alembic environment: runs against the engine handed over by `connector.store.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from connector.store import triage_tables, workflow_tables  # noqa: F401 - their tables join `metadata` on import
from connector.store.tables import metadata

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise TypeError("run migrations through connector.store.migrate (matterline init)")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
