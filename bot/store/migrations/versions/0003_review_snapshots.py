"""The job definitions reviews saw (`review_snapshots`): `jobbot review --diff` compares a job with one of them.
Secret values are masked before they are stored (bot/review/masking.py); the table holds no secret.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.schema import JSONDocument, RowId, UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("review_snapshots",
                    sa.Column("id", RowId, primary_key=True, autoincrement=True),
                    sa.Column("job_id", sa.Text, nullable=False),
                    sa.Column("taken_at", UTCDateTime, nullable=False),
                    sa.Column("definition", JSONDocument, nullable=False))
    op.create_index("ix_review_snapshots_job_taken", "review_snapshots", ["job_id", "taken_at"])


def downgrade() -> None:
    op.drop_index("ix_review_snapshots_job_taken", table_name="review_snapshots")
    op.drop_table("review_snapshots")
