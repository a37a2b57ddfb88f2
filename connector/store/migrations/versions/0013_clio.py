"""sign in with Clio: a person's CMS user id, their own CMS tokens (sealed), and single-use OAuth states

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.store.tables

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cms_user_id", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_users_cms_user_id"), ["cms_user_id"])
    op.create_table(
        "cms_user_tokens",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("expires_at", connector.store.tables.UTCDateTime(), nullable=True),
        sa.Column("updated_at", connector.store.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_cms_user_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_cms_user_tokens")),
    )
    op.create_table(
        "oauth_states",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("next_path", sa.String(length=512), nullable=False),
        sa.Column("created_at", connector.store.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_oauth_states_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_states")),
    )
    op.create_index(op.f("ix_oauth_states_created_at"), "oauth_states", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_oauth_states_created_at"), table_name="oauth_states")
    op.drop_table("oauth_states")
    op.drop_table("cms_user_tokens")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_cms_user_id"), type_="unique")
        batch_op.drop_column("cms_user_id")
