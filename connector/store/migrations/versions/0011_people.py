"""people: one-time invite and reset links, and each person's own privacy-mode choice

Existing people get no privacy choice (NULL): they follow the firm's default, MATTERLINE_PRIVACY_MODE.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.store.tables

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("privacy_mode", sa.Boolean(), nullable=True))
    op.create_table(
        "signin_links",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=8), nullable=False),
        sa.Column("created_at", connector.store.tables.UTCDateTime(), nullable=False),
        sa.Column("expires_at", connector.store.tables.UTCDateTime(), nullable=False),
        sa.Column("used_at", connector.store.tables.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", connector.store.tables.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_signin_links_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signin_links")),
    )
    op.create_index(op.f("ix_signin_links_user_id"), "signin_links", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_signin_links_user_id"), table_name="signin_links")
    op.drop_table("signin_links")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("privacy_mode")
