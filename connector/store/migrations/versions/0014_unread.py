"""each person's unread threads, kept as rows (thread_unread) beside their read marks

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 13:00:00

The rows are filled from what is unread today: a thread with a client text after the person's read mark,
for each active person whose thread it is to answer (assigned to them, or to nobody).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "thread_unread",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["threads.id"], name=op.f("fk_thread_unread_thread_id_threads"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_thread_unread_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "thread_id", name=op.f("pk_thread_unread")),
    )
    op.create_index(op.f("ix_thread_unread_thread_id"), "thread_unread", ["thread_id"], unique=False)
    op.execute(
        "INSERT INTO thread_unread (user_id, thread_id)"
        " SELECT u.id, t.id FROM users u JOIN threads t ON (t.assignee_id = u.id OR t.assignee_id IS NULL)"
        " LEFT JOIN thread_reads r ON r.thread_id = t.id AND r.user_id = u.id"
        " WHERE u.disabled_at IS NULL AND t.last_inbound_at IS NOT NULL AND EXISTS ("
        "  SELECT 1 FROM messages m WHERE m.thread_id = t.id AND m.direction = 'inbound'"
        "  AND m.id > COALESCE(r.last_read_message_id, 0))"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_thread_unread_thread_id"), table_name="thread_unread")
    op.drop_table("thread_unread")
