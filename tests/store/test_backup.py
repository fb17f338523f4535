"""Backup and restore: SQLite's online backup, and pg_dump/pg_restore on a real server."""

from datetime import UTC, datetime
from pathlib import Path

from certify_store.backup import backup, restore
from certify_store.database import create_engine, migrate
from certify_store.locations import sqlite_url
from certify_store.records import STAGE_ENDED, JobRecord, RecordStore


def _round_trip(url: str, path: Path) -> None:
    engine = create_engine(url)
    migrate(engine)
    store = RecordStore(engine)
    kept = JobRecord("k" * 32, "t", "succeeded", datetime(2026, 1, 1, tzinfo=UTC), {"a": 1}, STAGE_ENDED)
    store.put_job(kept)
    backup(url, path)
    assert path.stat().st_size > 0
    store.put_job(JobRecord("l" * 32, "t", "failed", datetime(2026, 1, 2, tzinfo=UTC), {}, STAGE_ENDED))
    assert store.count_jobs() == 2
    restore(url, path)
    assert store.count_jobs() == 1 and store.job("k" * 32) == kept
    engine.dispose()


def test_sqlite_backup_and_restore(tmp_path: Path) -> None:
    _round_trip(sqlite_url(tmp_path / "data" / "certify.db"), tmp_path / "backup.db")


def test_postgresql_backup_and_restore(postgres_database_url: str, tmp_path: Path) -> None:
    _round_trip(postgres_database_url, tmp_path / "backup.dump")
