"""Job, batch, gate and model records in the database: idempotent upserts and the reads the API needs.

Every write is an upsert keyed by the record's id that only moves a row forward
(`stage`): writing the same record twice, or an older stage after a newer one,
leaves the row as it was. That is what lets the outbox retry freely.
"""

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from certify_store.schema import STAGE_CREATED, STAGE_ENDED, batches, gates, jobs, models

__all__ = ["STAGE_CREATED", "STAGE_ENDED", "BatchRecord", "CursorError", "GateRecord", "JobFilter",
           "JobPage", "JobRecord", "ModelRecord", "RecordStore"]


def utc(moment: datetime) -> datetime:
    """Aware UTC: SQLite hands back naive datetimes, and all the store writes is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class JobRecord:
    job_id: str
    owner: str
    status: str
    created_at: datetime
    view: dict[str, Any]
    stage: int = STAGE_CREATED
    model: str | None = None
    media_type: str | None = None
    upload_sha256: str | None = None
    ended_at: datetime | None = None
    signed_certificate: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**vars(self), "created_at": self.created_at.isoformat(),
                "ended_at": self.ended_at.isoformat() if self.ended_at else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "JobRecord":
        ended = data.get("ended_at")
        return cls(**{**data, "created_at": datetime.fromisoformat(data["created_at"]),
                      "ended_at": datetime.fromisoformat(ended) if ended else None})


@dataclass(frozen=True)
class BatchRecord:
    batch_id: str
    owner: str
    state: str
    created_at: datetime
    view: dict[str, Any]
    stage: int = STAGE_CREATED
    model: str | None = None
    ended_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**vars(self), "created_at": self.created_at.isoformat(),
                "ended_at": self.ended_at.isoformat() if self.ended_at else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "BatchRecord":
        ended = data.get("ended_at")
        return cls(**{**data, "created_at": datetime.fromisoformat(data["created_at"]),
                      "ended_at": datetime.fromisoformat(ended) if ended else None})


@dataclass(frozen=True)
class ModelRecord:
    """A registered model version: its weights' hash, its owner and its view (the API's JSON)."""

    name: str
    version: str
    sha256: str
    owner: str
    created_at: datetime
    view: dict[str, Any]


@dataclass(frozen=True)
class GateRecord:
    gate_id: str
    owner: str
    state: str
    created_at: datetime
    view: dict[str, Any]
    stage: int = STAGE_CREATED
    model: str | None = None
    verdict: str | None = None
    ended_at: datetime | None = None
    signed_report: dict[str, Any] | None = None


class CursorError(ValueError):
    """A page cursor this store did not write."""


@dataclass(frozen=True)
class JobFilter:
    """What `GET /jobs` may narrow a list to; `owner` None lists every tenant's (admins)."""

    owner: str | None = None
    statuses: Sequence[str] = ()
    model: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


@dataclass(frozen=True)
class JobPage:
    records: list[JobRecord] = field(default_factory=list)
    next_cursor: str | None = None


def encode_cursor(created_at: datetime, job_id: str) -> str:
    raw = f"{utc(created_at).isoformat()}|{job_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, job_id = raw.split("|", 1)
        return utc(datetime.fromisoformat(moment)), job_id
    except (ValueError, UnicodeDecodeError):
        raise CursorError(f"Expected a cursor from a previous page, got {cursor[:40]!r}.") from None


class RecordStore:
    """The records of one database (see `certify_store.database` to open and migrate it)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def _insert(self, table: sa.Table) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    def _upsert(self, table: sa.Table, keys: list[str], values: dict[str, Any]) -> None:
        statement = self._insert(table).values(**values)
        changed = {name: statement.excluded[name] for name in values if name not in keys}
        statement = statement.on_conflict_do_update(
            index_elements=keys, set_=changed, where=table.c.stage <= statement.excluded.stage)
        with self.engine.begin() as connection:
            connection.execute(statement)

    def put_job(self, record: JobRecord) -> None:
        """Write a job's record; repeating it, or an older stage later, changes nothing."""
        signed = record.signed_certificate
        self._upsert(jobs, ["job_id"], {
            "job_id": record.job_id, "owner": record.owner, "status": record.status,
            "model": record.model, "media_type": record.media_type,
            "upload_sha256": record.upload_sha256, "created_at": utc(record.created_at),
            "ended_at": utc(record.ended_at) if record.ended_at else None, "stage": record.stage,
            "view": _dumps(record.view), "signed_certificate": _dumps(signed) if signed else None,
            "updated_at": datetime.now(UTC)})

    def put_batch(self, record: BatchRecord) -> None:
        self._upsert(batches, ["batch_id"], {
            "batch_id": record.batch_id, "owner": record.owner, "state": record.state,
            "model": record.model, "created_at": utc(record.created_at),
            "ended_at": utc(record.ended_at) if record.ended_at else None, "stage": record.stage,
            "view": _dumps(record.view), "updated_at": datetime.now(UTC)})

    def put_gate(self, record: GateRecord) -> None:
        signed = record.signed_report
        self._upsert(gates, ["gate_id"], {
            "gate_id": record.gate_id, "owner": record.owner, "state": record.state,
            "model": record.model, "verdict": record.verdict, "created_at": utc(record.created_at),
            "ended_at": utc(record.ended_at) if record.ended_at else None, "stage": record.stage,
            "view": _dumps(record.view), "signed_report": _dumps(signed) if signed else None,
            "updated_at": datetime.now(UTC)})

    def gate(self, gate_id: str) -> GateRecord | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(gates).where(gates.c.gate_id == gate_id)).first()
        return _gate(row) if row is not None else None

    def gates(self, owner: str | None, limit: int) -> list[GateRecord]:
        """The newest `limit` gates (of `owner` only, when given), newest first."""
        query = sa.select(gates).order_by(gates.c.created_at.desc(), gates.c.gate_id.desc())
        if owner is not None:
            query = query.where(gates.c.owner == owner)
        with self.engine.connect() as connection:
            return [_gate(row) for row in connection.execute(query.limit(limit)).all()]

    def put_model(self, name: str, version: str, sha256: str, owner: str, view: dict[str, Any],
                  created_at: datetime) -> None:
        self._upsert(models, ["name", "version"], {
            "name": name, "version": version, "sha256": sha256, "owner": owner,
            "created_at": utc(created_at), "stage": STAGE_ENDED, "view": _dumps(view),
            "updated_at": datetime.now(UTC)})

    def add_model(self, record: ModelRecord) -> bool:
        """Register a version; False (and nothing written) when `name@version` exists already:
        a version never changes once registered."""
        statement = self._insert(models).values(
            name=record.name, version=record.version, sha256=record.sha256, owner=record.owner,
            created_at=utc(record.created_at), stage=STAGE_ENDED, view=_dumps(record.view),
            updated_at=datetime.now(UTC)).on_conflict_do_nothing(index_elements=["name", "version"])
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT.
        with self.engine.begin() as connection:
            return connection.execute(statement.returning(models.c.name)).first() is not None

    def model_versions(self, name: str) -> list[ModelRecord]:
        """Every version of `name`, newest first (the first is what `name` alone means)."""
        return self._models(models.c.name == name)

    def registered_models(self, owner: str | None = None) -> list[ModelRecord]:
        """Every version of every model (of `owner` only, when given), newest first."""
        return self._models(*([models.c.owner == owner] if owner is not None else []))

    def delete_model(self, name: str, version: str) -> bool:
        where = sa.and_(models.c.name == name, models.c.version == version)
        with self.engine.begin() as connection:
            return connection.execute(sa.delete(models).where(where)).rowcount == 1

    def _models(self, *conditions: Any) -> list[ModelRecord]:
        query = sa.select(models).where(*conditions).order_by(
            models.c.created_at.desc(), models.c.version.desc())
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [ModelRecord(row.name, row.version, row.sha256, row.owner, utc(row.created_at),
                            json.loads(row.view)) for row in rows]

    def job(self, job_id: str) -> JobRecord | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(jobs).where(jobs.c.job_id == job_id)).first()
        return _job(row) if row is not None else None

    def batch(self, batch_id: str) -> BatchRecord | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(batches).where(batches.c.batch_id == batch_id)).first()
        if row is None:
            return None
        return BatchRecord(row.batch_id, row.owner, row.state, utc(row.created_at),
                           json.loads(row.view), row.stage, row.model,
                           utc(row.ended_at) if row.ended_at else None)

    def jobs(self, where: JobFilter, limit: int, cursor: str | None = None) -> JobPage:
        """Newest first; `next_cursor` continues after the last record of this page."""
        query = sa.select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.job_id.desc())
        conditions = _conditions(where)
        if cursor is not None:
            moment, job_id = decode_cursor(cursor)
            conditions.append(sa.tuple_(jobs.c.created_at, jobs.c.job_id) < (moment, job_id)
                              if self.engine.dialect.name == "postgresql" else
                              sa.or_(jobs.c.created_at < moment,
                                     sa.and_(jobs.c.created_at == moment, jobs.c.job_id < job_id)))
        with self.engine.connect() as connection:
            rows = connection.execute(query.where(*conditions).limit(limit + 1)).all()
        records = [_job(row) for row in rows[:limit]]
        more = len(rows) > limit
        last = records[-1] if records else None
        return JobPage(records, encode_cursor(last.created_at, last.job_id) if more and last else None)

    def job_ids_at_stage(self, stage: int, limit: int = 1000) -> list[str]:
        """Jobs whose record is still at `stage` (the reconciler looks at those not yet ended)."""
        query = sa.select(jobs.c.job_id).where(jobs.c.stage == stage).order_by(jobs.c.created_at)
        with self.engine.connect() as connection:
            return list(connection.execute(query.limit(limit)).scalars())

    def known_job_ids(self, job_ids: Sequence[str]) -> set[str]:
        with self.engine.connect() as connection:
            found = connection.execute(sa.select(jobs.c.job_id).where(jobs.c.job_id.in_(list(job_ids))))
            return set(found.scalars())

    def count_jobs(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(sa.select(sa.func.count()).select_from(jobs)).scalar_one())


def _conditions(where: JobFilter) -> list[Any]:
    conditions: list[Any] = []
    if where.owner is not None:
        conditions.append(jobs.c.owner == where.owner)
    if where.statuses:
        conditions.append(jobs.c.status.in_(list(where.statuses)))
    if where.model is not None:
        conditions.append(jobs.c.model == where.model)
    if where.created_after is not None:
        conditions.append(jobs.c.created_at >= utc(where.created_after))
    if where.created_before is not None:
        conditions.append(jobs.c.created_at < utc(where.created_before))
    return conditions


def _gate(row: Any) -> GateRecord:
    return GateRecord(row.gate_id, row.owner, row.state, utc(row.created_at),
                      json.loads(row.view), row.stage, row.model, row.verdict,
                      utc(row.ended_at) if row.ended_at else None,
                      json.loads(row.signed_report) if row.signed_report else None)


def _job(row: Any) -> JobRecord:
    return JobRecord(
        row.job_id, row.owner, row.status, utc(row.created_at), json.loads(row.view), row.stage,
        row.model, row.media_type, row.upload_sha256, utc(row.ended_at) if row.ended_at else None,
        json.loads(row.signed_certificate) if row.signed_certificate else None)


def _dumps(value: Any) -> str:
    # Key order kept: a view reads back in the order the API wrote its fields.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
