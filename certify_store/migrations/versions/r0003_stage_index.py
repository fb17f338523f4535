"""An index on the jobs' stage: the reconciler asks for the records not yet ended.

Revision ID: r0003
Revises: r0002
"""

from alembic import op

revision = "r0003"
down_revision = "r0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_stage", "jobs", ["stage"])


def downgrade() -> None:
    op.drop_index("ix_jobs_stage", "jobs")
