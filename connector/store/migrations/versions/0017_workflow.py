"""the firm workflow: calendar entries, reminders, coverage, reply alerts, and each text's purpose

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 23:30:00

Texts stored before this revision get a purpose from their kind: a staff text is a conversation, Matterline's
own (confirmation, help, auto reply) a notice, and an inbound text a conversation.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.store.tables

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_UTC = connector.store.tables.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "calendar_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cms_id", sa.String(length=64), nullable=False),
        sa.Column("matter_cms_id", sa.String(length=64), nullable=True),
        sa.Column("calendar", sa.String(length=256), nullable=True),
        sa.Column("event_type", sa.String(length=256), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("starts_at", _UTC(), nullable=True),
        sa.Column("ends_at", _UTC(), nullable=True),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.Column("cms_updated_at", _UTC(), nullable=True),
        sa.Column("fingerprint", sa.String(length=40), nullable=False),
        sa.Column("seen_run", sa.Integer(), nullable=False),
        sa.Column("deleted_at", _UTC(), nullable=True),
        sa.Column("synced_at", _UTC(), nullable=False),
        sa.Column("needs_plan", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_entries")),
        sa.UniqueConstraint("cms_id", name=op.f("uq_calendar_entries_cms_id")),
    )
    op.create_index(op.f("ix_calendar_entries_matter_cms_id"), "calendar_entries", ["matter_cms_id"], unique=False)
    op.create_index(op.f("ix_calendar_entries_starts_at"), "calendar_entries", ["starts_at"], unique=False)
    op.create_index("ix_calendar_entries_needs_plan", "calendar_entries", ["needs_plan"], unique=False)
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_cms_id", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("moment", sa.String(length=64), nullable=False),
        sa.Column("matter_cms_id", sa.String(length=64), nullable=True),
        sa.Column("client_phone", sa.String(length=40), nullable=False),
        sa.Column("firm_number", sa.String(length=40), nullable=False),
        sa.Column("due_at", _UTC(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.Column("updated_at", _UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_reminders_message_id_messages"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint("entry_cms_id", "rule", "moment", name=op.f("uq_reminders_entry_cms_id_rule_moment")),
    )
    op.create_index(op.f("ix_reminders_entry_cms_id"), "reminders", ["entry_cms_id"], unique=False)
    op.create_index(op.f("ix_reminders_matter_cms_id"), "reminders", ["matter_cms_id"], unique=False)
    op.create_index("ix_reminders_state_due", "reminders", ["state", "due_at"], unique=False)
    op.create_table(
        "coverage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("backup_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", _UTC(), nullable=False),
        sa.Column("ends_at", _UTC(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("set_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.Column("ended_at", _UTC(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_coverage_user_id_users"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["backup_id"], ["users.id"], name=op.f("fk_coverage_backup_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverage")),
    )
    op.create_index(op.f("ix_coverage_user_id"), "coverage", ["user_id"], unique=False)
    op.create_index(op.f("ix_coverage_backup_id"), "coverage", ["backup_id"], unique=False)
    op.create_table(
        "reply_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("covering_for", sa.Integer(), nullable=True),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("waited_since", _UTC(), nullable=False),
        sa.Column("created_at", _UTC(), nullable=False),
        sa.Column("seen_at", _UTC(), nullable=True),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["threads.id"], name=op.f("fk_reply_alerts_thread_id_threads"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_reply_alerts_message_id_messages"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reply_alerts_user_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["covering_for"], ["users.id"], name=op.f("fk_reply_alerts_covering_for_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply_alerts")),
        sa.UniqueConstraint("message_id", name=op.f("uq_reply_alerts_message_id")),
    )
    op.create_index(op.f("ix_reply_alerts_thread_id"), "reply_alerts", ["thread_id"], unique=False)
    op.create_index(op.f("ix_reply_alerts_user_id"), "reply_alerts", ["user_id"], unique=False)
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("purpose", sa.String(length=16), nullable=True))
    op.execute("UPDATE messages SET purpose = 'conversation' WHERE direction = 'inbound' OR kind = 'message'")
    op.execute("UPDATE messages SET purpose = 'notice' WHERE purpose IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("purpose")
    op.drop_table("reply_alerts")
    op.drop_table("coverage")
    op.drop_table("reminders")
    op.drop_table("calendar_entries")
