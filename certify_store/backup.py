"""Backup and restore of the record database: SQLite's online backup, PostgreSQL's pg_dump.

Both run while the service is up: SQLite copies a consistent snapshot page by
page without stopping writers for long; pg_dump reads one transaction's view.
A restore replaces every record with the backup's.
"""

import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa


class BackupError(RuntimeError):
    """A backup or restore that could not run (missing tool, unreadable file)."""


def backup(url: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    parsed = sa.engine.make_url(url)
    if parsed.drivername.startswith("sqlite"):
        with sqlite3.connect(_sqlite_path(parsed)) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        return
    _run(["pg_dump", "--format=custom", "--no-owner", f"--file={target}", _libpq(parsed)])


def restore(url: str, source: Path) -> None:
    if not source.is_file():
        raise BackupError(f"No backup file at {source}.")
    parsed = sa.engine.make_url(url)
    if parsed.drivername.startswith("sqlite"):
        with sqlite3.connect(source) as copy, sqlite3.connect(_sqlite_path(parsed)) as live:
            copy.backup(live)
        return
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
          f"--dbname={_libpq(parsed)}", str(source)])


def _sqlite_path(url: sa.URL) -> str:
    if not url.database or url.database == ":memory:":
        raise BackupError("An in-memory SQLite database has nothing to back up.")
    return url.database


def _libpq(url: sa.URL) -> str:
    # pg_dump speaks libpq URIs: the same URL without SQLAlchemy's `+psycopg` driver part.
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _run(argv: list[str]) -> None:
    if shutil.which(argv[0]) is None:
        raise BackupError(f"{argv[0]} is not installed (Debian: postgresql-client).")
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=3600)
    if result.returncode != 0:
        raise BackupError(f"{argv[0]} failed: {result.stderr.strip()[-500:]}")
