"""inbox indexes: keyset listing per filter (newest activity first), threads by client phone

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 10:20:07.789426
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.create_index("ix_threads_assignee_last", ["assignee_id", "last_message_at", "id"], unique=False)
        batch_op.create_index("ix_threads_client_phone", ["client_phone"], unique=False)
        batch_op.create_index("ix_threads_last_message_at_id", ["last_message_at", "id"], unique=False)
        batch_op.create_index("ix_threads_urgent_last", ["urgent", "last_message_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.drop_index("ix_threads_urgent_last")
        batch_op.drop_index("ix_threads_last_message_at_id")
        batch_op.drop_index("ix_threads_client_phone")
        batch_op.drop_index("ix_threads_assignee_last")
