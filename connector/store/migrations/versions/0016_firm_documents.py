"""the firm's documents edited on the admin pages (firm_documents): mapping override, content rules, templates

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 20:00:00

Before this revision those came from files only; with no row of a kind, the file (or the default) stays in force.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.store.tables

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "firm_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("changed_at", connector.store.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_firm_documents")),
    )
    op.create_index(op.f("ix_firm_documents_kind"), "firm_documents", ["kind"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_firm_documents_kind"), table_name="firm_documents")
    op.drop_table("firm_documents")
