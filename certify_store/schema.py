"""The record tables, as the latest migration leaves them (queries are written against these).

A row holds the record's JSON as the API renders it (`view`), plus the columns
that lists filter and sort on. `stage` orders writes: a row only ever moves
forward (created 1, ended 2), so a late or repeated "created" write never
overwrites an ended record, and repeating a write changes nothing.
"""

import sqlalchemy as sa

metadata = sa.MetaData()

STAGE_CREATED = 1
STAGE_ENDED = 2

jobs = sa.Table(
    "jobs", metadata,
    sa.Column("job_id", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("model", sa.String(200)),
    sa.Column("media_type", sa.String(100)),
    sa.Column("upload_sha256", sa.String(64)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True)),
    sa.Column("stage", sa.SmallInteger, nullable=False),
    sa.Column("view", sa.Text, nullable=False),
    sa.Column("signed_certificate", sa.Text),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_jobs_owner_created", "owner", "created_at", "job_id"),
    sa.Index("ix_jobs_created", "created_at", "job_id"),
    sa.Index("ix_jobs_model_created", "model", "created_at"),
    sa.Index("ix_jobs_stage", "stage"),
)

batches = sa.Table(
    "batches", metadata,
    sa.Column("batch_id", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("model", sa.String(200)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True)),
    sa.Column("stage", sa.SmallInteger, nullable=False),
    sa.Column("view", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_batches_owner_created", "owner", "created_at", "batch_id"),
)

models = sa.Table(
    "models", metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("version", sa.String(64), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("stage", sa.SmallInteger, nullable=False),
    sa.Column("view", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# A release gate: its view (progress, verdict) and, once ended, its signed report.
gates = sa.Table(
    "gates", metadata,
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
    sa.Index("ix_gates_owner_created", "owner", "created_at", "gate_id"),
)
