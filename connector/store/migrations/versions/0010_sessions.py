"""staff sign-in: a password hash per user, server-side sessions, and failed sign-ins for the throttle

Existing users get no password (NULL): they sign in only after `matterline users password EMAIL`.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.store.tables

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.String(length=256), nullable=True))
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", connector.store.tables.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", connector.store.tables.UTCDateTime(), nullable=False),
        sa.Column("ended_at", connector.store.tables.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    op.create_index(op.f("ix_sessions_user_id"), "sessions", ["user_id"], unique=False)
    op.create_table(
        "signin_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", connector.store.tables.UTCDateTime(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signin_failures")),
    )
    op.create_index(op.f("ix_signin_failures_at"), "signin_failures", ["at"], unique=False)
    op.create_index(op.f("ix_signin_failures_email"), "signin_failures", ["email"], unique=False)
    op.create_index(op.f("ix_signin_failures_address"), "signin_failures", ["address"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_signin_failures_address"), table_name="signin_failures")
    op.drop_index(op.f("ix_signin_failures_email"), table_name="signin_failures")
    op.drop_index(op.f("ix_signin_failures_at"), table_name="signin_failures")
    op.drop_table("signin_failures")
    op.drop_index(op.f("ix_sessions_user_id"), table_name="sessions")
    op.drop_table("sessions")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("password_hash")
