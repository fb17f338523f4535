"""Release gates: one row per gate, its view and its signed report.

Revision ID: r0004
Revises: r0003
"""

import sqlalchemy as sa
from alembic import op

revision = "r0004"
down_revision = "r0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gates",
        sa.Column("gate_id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("model", sa.String(200)),
        sa.Column("verdict", sa.String(16)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("stage", sa.SmallInteger, nullable=False),
        sa.Column("view", sa.Text, nullable=False),
        sa.Column("signed_report", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_gates_owner_created", "gates", ["owner", "created_at", "gate_id"])


def downgrade() -> None:
    op.drop_index("ix_gates_owner_created", "gates")
    op.drop_table("gates")
