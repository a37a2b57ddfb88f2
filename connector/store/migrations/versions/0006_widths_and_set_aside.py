"""widths that agree (a sender is 40 characters wherever it is kept) and texts intake set aside

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 17:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Where a text's other party is kept; messages.from_number and to_number are 40 already.
_PHONES = (("threads", "client_phone"), ("opt_outs", "phone"), ("consents", "phone"))


def upgrade() -> None:
    for table, column in _PHONES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.String(length=20), type_=sa.String(length=40))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("intake_error", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("intake_error")
    for table, column in _PHONES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.String(length=40), type_=sa.String(length=20))
