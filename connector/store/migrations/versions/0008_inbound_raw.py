"""a status callback Twilio repeats is kept once

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_INDEX = "uq_status_events_sid_status_code"


def upgrade() -> None:
    # Repeats already stored go first (the earliest of each is kept), or the unique index cannot be built.
    op.execute(
        "DELETE FROM status_events WHERE id NOT IN ("
        " SELECT keep FROM (SELECT MIN(id) AS keep FROM status_events"
        " GROUP BY sid, status, COALESCE(error_code, -1)) AS firsts)"
    )
    op.create_index(_INDEX, "status_events", ["sid", "status", sa.text("coalesce(error_code, -1)")], unique=True)


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="status_events")
