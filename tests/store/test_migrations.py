"""Migrations on both engines: from an empty database, and from the first schema with data in it."""

from datetime import UTC, datetime

import sqlalchemy as sa

from certify_store.database import current_revision, head_revision, migrate
from certify_store.records import JobFilter, RecordStore


def test_an_empty_database_migrates_to_the_latest_schema(engine: sa.Engine) -> None:
    assert current_revision(engine) is None
    assert migrate(engine) == head_revision() == "r0004"
    tables = set(sa.inspect(engine).get_table_names())
    assert {"jobs", "batches", "models", "gates", "certify_schema_version"} <= tables
    assert migrate(engine) == "r0004"  # a second start changes nothing


def test_the_first_schema_migrates_with_its_records_kept(engine: sa.Engine) -> None:
    assert migrate(engine, "r0001") == "r0001"
    columns = {column["name"] for column in sa.inspect(engine).get_columns("jobs")}
    assert "signed_certificate" not in columns
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO jobs (job_id, owner, status, model, created_at, stage, view, updated_at) "
            "VALUES ('old-job', 'tenant-a', 'succeeded', 'm1', :now, 2, :view, :now)"),
            {"now": now, "view": '{"status":"succeeded"}'})
    assert migrate(engine) == "r0004"
    store = RecordStore(engine)
    record = store.job("old-job")
    assert record is not None and record.view == {"status": "succeeded"}
    assert record.signed_certificate is None and record.created_at == now
    assert [r.job_id for r in store.jobs(JobFilter(model="m1"), limit=5).records] == ["old-job"]
