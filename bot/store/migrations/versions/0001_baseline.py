"""The store as jobbot 0.1.0 created it (schema_version 1): meta, audit, claims, records, timers.

A database 0.1.0 made has these tables and no alembic_version: `migrate` recognises it and records it at
this revision instead of creating anything.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.schema import JSONDocument, RowId, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("jobbot_meta",
                    sa.Column("key", sa.Text, primary_key=True),
                    sa.Column("value", sa.Text, nullable=False))
    op.create_table("jobbot_audit",
                    sa.Column("id", RowId, primary_key=True, autoincrement=True),
                    sa.Column("at", UTCDateTime, nullable=False),
                    sa.Column("actor", sa.Text, nullable=False),
                    sa.Column("channel", sa.Text),
                    sa.Column("action", sa.Text, nullable=False),
                    sa.Column("target", sa.Text),
                    sa.Column("detail", sa.Text, nullable=False),
                    sa.Column("outcome", sa.Text, nullable=False),
                    sa.Column("duration_ms", sa.Integer, nullable=False))
    op.create_index("ix_jobbot_audit_at", "jobbot_audit", ["at"])
    op.create_index("ix_jobbot_audit_actor_at", "jobbot_audit", ["actor", "at"])
    op.create_index("ix_jobbot_audit_target_at", "jobbot_audit", ["target", "at"])
    op.create_table("jobbot_claims",
                    sa.Column("kind", sa.Text, primary_key=True),
                    sa.Column("key", sa.Text, primary_key=True),
                    sa.Column("owner", sa.Text, nullable=False),
                    sa.Column("claimed_at", UTCDateTime, nullable=False),
                    sa.Column("expires_at", UTCDateTime))
    op.create_table("jobbot_records",
                    sa.Column("kind", sa.Text, primary_key=True),
                    sa.Column("key", sa.Text, primary_key=True),
                    sa.Column("value", JSONDocument, nullable=False),
                    sa.Column("version", sa.Integer, nullable=False),
                    sa.Column("updated_at", UTCDateTime, nullable=False))
    op.create_table("jobbot_timers",
                    sa.Column("kind", sa.Text, primary_key=True),
                    sa.Column("key", sa.Text, primary_key=True),
                    sa.Column("id", sa.Text, nullable=False, unique=True),
                    sa.Column("due_at", UTCDateTime, nullable=False),
                    sa.Column("payload", JSONDocument, nullable=False),
                    sa.Column("owner", sa.Text),
                    sa.Column("claimed_at", UTCDateTime))
    op.create_index("ix_jobbot_timers_due_at", "jobbot_timers", ["due_at"])


def downgrade() -> None:
    for table in ("jobbot_timers", "jobbot_records", "jobbot_claims", "jobbot_audit", "jobbot_meta"):
        op.drop_table(table)
