"""Signed certificates on job records, the model filter's index, and model records.

Revision ID: r0002
Revises: r0001
"""

import sqlalchemy as sa
from alembic import op

revision = "r0002"
down_revision = "r0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch_alter_table: SQLite cannot alter columns in place; on PostgreSQL it is a plain ALTER.
    with op.batch_alter_table("jobs") as jobs:
        jobs.add_column(sa.Column("signed_certificate", sa.Text))
    op.create_index("ix_jobs_model_created", "jobs", ["model", "created_at"])
    op.create_table(
        "models",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stage", sa.SmallInteger, nullable=False),
        sa.Column("view", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("models")
    op.drop_index("ix_jobs_model_created", "jobs")
    with op.batch_alter_table("jobs") as jobs:
        jobs.drop_column("signed_certificate")
