"""the thread page: who is viewing a thread now, and the composer's one-time send keys

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.store.tables

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "thread_presence",
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", connector.store.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["threads.id"], name=op.f("fk_thread_presence_thread_id_threads"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_thread_presence_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("thread_id", "user_id", name=op.f("pk_thread_presence")),
    )
    op.create_table(
        "send_keys",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("created_at", connector.store.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_send_keys_message_id_messages"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_send_keys_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_send_keys")),
    )
    op.create_index(op.f("ix_send_keys_created_at"), "send_keys", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_send_keys_created_at"), table_name="send_keys")
    op.drop_table("send_keys")
    op.drop_table("thread_presence")
