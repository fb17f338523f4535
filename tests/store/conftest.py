"""The store's tests run on both engines: SQLite in a temporary folder and a real PostgreSQL.

PostgreSQL: `CERTIFY_TEST_POSTGRES_URL` (default the local server, trust auth, database
`test`); every test gets a schema of its own, dropped afterwards. Without a server the
PostgreSQL half is skipped, unless `CERTIFY_TEST_POSTGRES_REQUIRED=1` (CI) makes that an error.
"""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from certify_store.database import create_engine, migrate
from certify_store.locations import sqlite_url
from certify_store.records import RecordStore
from certify_testkit.processes import free_port, start_redis, stop

POSTGRES_URL = os.environ.get("CERTIFY_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def postgres_admin() -> sa.Engine:
    engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        engine.dispose()
        if os.environ.get("CERTIFY_TEST_POSTGRES_REQUIRED") == "1":
            raise
        pytest.skip(f"no PostgreSQL at {POSTGRES_URL}: {exc.orig}")
    return engine


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A URL whose connections work in a fresh, empty schema of the test database."""
    admin = postgres_admin()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = sa.engine.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def postgres_database_url() -> Iterator[str]:
    """A URL of a fresh database of its own (for pg_dump and pg_restore)."""
    admin = postgres_admin()
    name = f"t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        yield sa.engine.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each engine."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "data" / "certify.db")
    url: str = request.getfixturevalue("postgres_schema_url")
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: sa.Engine) -> RecordStore:
    migrate(engine)
    return RecordStore(engine)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    process = start_redis(port, tmp_path_factory.mktemp("redis"))
    try:
        yield f"redis://127.0.0.1:{port}"
    finally:
        stop(process)


@pytest.fixture
def redis_client(redis_server: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(f"{redis_server}/0")
    client.flushdb()
    yield client
    client.close()
