"""a send in flight is claimed: the worker that started it, and until when no other worker may touch it

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 05:10:00
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

import connector.store.tables

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# A call started before the upgrade keeps the claim a worker of this version would have given it.
_CLAIM = timedelta(minutes=2)


def upgrade() -> None:
    with op.batch_alter_table("send_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", connector.store.tables.UTCDateTime(), nullable=True))
    attempts = sa.table(
        "send_attempts",
        sa.column("id", sa.Integer()),
        sa.column("outcome", sa.String()),
        sa.column("started_at", connector.store.tables.UTCDateTime()),
        sa.column("claimed_until", connector.store.tables.UTCDateTime()),
    )
    bind = op.get_bind()
    started = bind.execute(sa.select(attempts.c.id, attempts.c.started_at).where(attempts.c.outcome == "started"))
    for row in started.all():
        bind.execute(sa.update(attempts).where(attempts.c.id == row.id).values(claimed_until=row.started_at + _CLAIM))


def downgrade() -> None:
    with op.batch_alter_table("send_attempts", schema=None) as batch_op:
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("owner")
