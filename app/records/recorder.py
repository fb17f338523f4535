"""Records from the live state: a notice in the outbox becomes the job's (or batch's) record.

The drainer runs in each API process (a thread). For a job it reads the job
from Redis exactly as `GET /jobs/{id}` would render it, signs the certificate
of a succeeded job, and writes the record; once an ended job's record is
written and nothing will change it again (no webhook pending, not part of a
batch), its Redis copy is dropped: the record is where it lives from then on.
A reconciliation at start and every `CERTIFY_MAINTENANCE_INTERVAL_S` finds the
records not yet ended whose job ended without a notice (a process killed in
between) or vanished with Redis's data, and ends them.
"""

import importlib.metadata
import json
import logging
import os
import socket
import threading
from dataclasses import asdict
from datetime import UTC, datetime

from pydantic import TypeAdapter
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy.exc import SQLAlchemyError

from app.batches.store import BatchRecord as LiveBatch
from app.batches.store import BatchStore
from app.batches.views import batch_view
from app.http.backend import Backend, text
from app.jobs.reads import JobReads, owner_of
from app.jobs.views import JOB_VIEW, JobVanished, payload_of
from certify_contract import ErrorBody, JobView
from certify_contract.batches import BatchView
from certify_jobs.endings import BATCH_META, GATE_META
from certify_store.database import migrate
from certify_store.outbox import Outbox, OutboxDrainer
from certify_store.records import STAGE_CREATED, STAGE_ENDED, BatchRecord, JobRecord
from certify_store.signatures import Signable, sign, stored_form

log = logging.getLogger(__name__)
BATCH_VIEW = TypeAdapter(BatchView)
LOST = ErrorBody("job_lost", "The queue lost this job (its Redis data is gone) before it ended.")


def code_version() -> str:
    try:
        return importlib.metadata.version("certify-service")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class Recorder:
    """Writes the records of one API process's jobs and batches (see the module's docstring)."""

    def __init__(self, backend: Backend, reads: JobReads) -> None:
        self.backend, self.reads = backend, reads
        self.version = code_version()
        self.outbox = Outbox(backend.redis, backend.keys.outbox)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- records ---------------------------------------------------------------------
    def job_record(self, job_id: str) -> JobRecord | None:
        job = self.reads.fetch(job_id)
        return self._live_record(job) if job is not None else None

    def _live_record(self, job: Job) -> JobRecord | None:
        """The record of a job Redis holds; None when another process recorded it and dropped
        it from Redis while we read it (`JobVanished`): its record is written already."""
        try:
            return self.record_of(job, self.reads.view(job))
        except JobVanished:
            return None

    def record_of(self, job: Job, view: JobView) -> JobRecord:
        payload = payload_of(job)
        body = json.loads(JOB_VIEW.dump_json(view))
        signed = None
        if view.result is not None and payload is not None and view.ended_at is not None:
            certificate = body["result"]
            signed = sign(self.backend.keyring, Signable(
                job.id, certificate, payload.upload_sha256,
                payload.model_source.name if payload.model_source else payload.model,
                certificate["model"]["sha256"], body["options"], payload.seed, self.version,
                certificate["model"].get("version")),
                issued_at=view.ended_at)  # the same document however often it is re-recorded
            signed = stored_form(signed)
        return JobRecord(
            job.id, owner_of(job), view.status, view.created_at or datetime.now(UTC), body,
            STAGE_ENDED if view.ended else STAGE_CREATED, view.model, view.media_type,
            payload.upload_sha256 if payload else None, view.ended_at, signed)

    def batch_record(self, batch_id: str) -> BatchRecord | None:
        store = BatchStore(self.backend)
        raw = self.backend.redis.hgetall(store.keys.batch(batch_id).record)
        if not raw:
            return None
        live = LiveBatch.from_hash(batch_id, raw)  # type: ignore[arg-type]
        view: BatchView = batch_view(store, live)
        body = json.loads(BATCH_VIEW.dump_json(view))
        ended = live.ended_at is not None
        return BatchRecord(batch_id, live.owner, live.state, datetime.fromisoformat(live.created_at),
                           body, STAGE_ENDED if ended else STAGE_CREATED, live.model,
                           datetime.fromisoformat(live.ended_at) if live.ended_at else None)

    def record_now(self, job_id: str) -> None:
        """Write a new job's record at once; on failure its outbox notice writes it later."""
        try:
            record = self.job_record(job_id)
            if record is not None:
                self.backend.records.put_job(record)
        except SQLAlchemyError as exc:
            log.warning("record of job %s left to the outbox: %s", job_id, exc)

    def resolve(self, fields: dict[str, str]) -> JobRecord | BatchRecord | None:
        kind, target = fields["kind"], fields["id"]
        return self.job_record(target) if kind == "job" else self.batch_record(target)

    def forget_recorded(self, record: JobRecord | BatchRecord) -> None:
        """Drop an ended, final job's Redis copy once its record holds it. A failed job stays
        for `CERTIFY_FAILURE_TTL_S`: rq's failure (its traceback) is what an operator reads."""
        if not isinstance(record, JobRecord) or record.stage != STAGE_ENDED \
                or record.status == "failed":
            return
        redis = self.backend.redis
        job = self.reads.fetch(record.job_id)
        # A batch and a gate read their jobs from Redis.
        if job is None or BATCH_META in (job.meta or {}) or GATE_META in (job.meta or {}):
            return
        webhook = (record.view.get("webhook") or {}).get("state")
        if job.meta.get("callback_url") and webhook in (None, "pending"):
            return
        job.delete()
        redis.delete(self.backend.keys.job_view(record.job_id))

    # -- reconciliation ----------------------------------------------------------------
    def reconcile(self) -> int:
        """End the records whose jobs ended unannounced or vanished; the records written."""
        records = self.backend.records
        written = 0
        for job_id in records.job_ids_at_stage(STAGE_CREATED):
            job = self.reads.fetch(job_id)
            if job is not None:
                live = self._live_record(job)
                if live is None or live.stage == STAGE_CREATED:
                    continue
                record = live
            else:
                stored = records.job(job_id)
                if stored is None or stored.stage != STAGE_CREATED:
                    continue
                view = {**stored.view, "status": "failed", "error": asdict(LOST),
                        "ended_at": datetime.now(UTC).isoformat().replace("+00:00", "Z")}
                record = JobRecord(**{**vars(stored), "status": "failed", "view": view,
                                      "stage": STAGE_ENDED, "ended_at": datetime.now(UTC)})
            records.put_job(record)
            self.forget_recorded(record)
            written += 1
        return written + self._backfill()

    def _backfill(self) -> int:
        """Jobs in Redis with no record at all (queued by an earlier version): record them."""
        redis, records = self.backend.redis, self.backend.records
        ids = [text(i) for i in redis.zrevrange(self.backend.keys.jobs_index, 0, -1)]
        written = 0
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for job_id in set(chunk) - records.known_job_ids(chunk):
                job = Job.fetch_many([job_id], connection=redis, serializer=JSONSerializer)[0]
                record = self._live_record(job) if job is not None else None
                if record is not None:
                    records.put_job(record)
                    written += 1
        return written

    # -- the drainer thread ------------------------------------------------------------
    def open(self) -> None:
        """Migrate the database and make the signing key (first start); a database that is
        down now is migrated by the next start, and records wait in the outbox meanwhile."""
        self.backend.keyring.signing_key()
        try:
            migrate(self.backend.records.engine)
        except SQLAlchemyError as exc:
            log.error("record database unreachable at start (records wait in the outbox): %s", exc)

    def start(self) -> None:
        consumer = f"{socket.gethostname()}-{os.getpid()}"
        drainer = OutboxDrainer(self.outbox, self.backend.records, consumer, resolve=self.resolve,
                                written=self.forget_recorded)
        every_s = float(self.backend.settings.maintenance_interval_s)
        self._thread = threading.Thread(
            target=drainer.run, args=(self._stop,), name="record-drainer", daemon=True,
            kwargs={"every": self._reconcile_logged, "every_s": max(every_s, 5.0)})
        self._thread.start()

    def _reconcile_logged(self) -> None:
        written = self.reconcile()
        if written:
            log.info("reconciled %d records", written, extra={"event": "records_reconciled"})

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
