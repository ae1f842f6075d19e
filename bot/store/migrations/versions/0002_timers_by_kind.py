"""Due timers looked up by kind: each feature's worker claims only its own kinds (`Timers.due(kinds=…)`),
ordered by due time, so the index leads with the kind.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobbot_timers_kind_due_at", "jobbot_timers", ["kind", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_jobbot_timers_kind_due_at", table_name="jobbot_timers")
