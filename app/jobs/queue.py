"""Queueing jobs: the upload and the job in one transaction, and cancellation.

A job carries its payload (`certify_jobs.JobPayload`: the upload's key and
hash, the model, the options, the seed) as its one argument; its meta adds
only what the payload does not say: who owns it, and what its ending must
tell (a batch, a callback URL).
"""

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Annotated

from fastapi import Depends, Request
from redis.client import Pipeline
from rq import Retry
from rq.job import Job

from app.http.backend import Backend
from app.http.idempotency import Claim, no_claim
from app.jobs.limits import admit, room
from certify_contract import CertifyOptions
from certify_jobs import fair_queue
from certify_jobs.contract import OWNER_META, TASK_PATH, JobPayload
from certify_jobs.json_logs import job_fields
from certify_jobs.notices import notify_record
from certify_jobs.unreadable import job_args
from certify_jobs.uploads import release_for_job, upload_key_of
from certify_store.blobs import BlobStore

log = logging.getLogger(__name__)


class JobQueue:
    """Writes jobs and their uploads to Redis, and flags jobs for cancellation."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        # Writes the new job's record at once (set by the app), so that a list read right
        # after a submission shows it; the outbox's notice still covers a failed write.
        self.on_queued: Callable[[str], None] | None = None

    @staticmethod
    def new_job_id() -> str:
        return uuid.uuid4().hex

    def upload_key(self, data: bytes, owner: str) -> tuple[str, str]:
        """(key, sha256) of an upload: content-addressed per owner. One tenant's equal uploads
        share a blob; another tenant's never do, so nothing about them (existence, lifetime)
        is observable."""
        key = BlobStore.key(owner, data)
        return key, key.rpartition("/")[2]

    def enqueue(
        self, payload: JobPayload, job_id: str, *, owner: str, upload: bytes | None = None,
        meta: Mapping[str, object] | None = None, claim: Claim | None = None,
    ) -> None:
        """Queue the job, with its list entries, in one transaction: one round trip. Its
        upload is stored first (on disk, held by the job until it ends), so no job is ever
        queued without it. `claim` binds an Idempotency-Key to the job in that same
        transaction (`app.http.idempotency`)."""
        claim = claim or no_claim(job_id)

        def write(pipe: Pipeline) -> None:
            pipe.multi()
            self.add_to(pipe, payload, job_id, owner=owner, upload=upload, meta=meta)

        try:
            claim.commit(self.backend.redis, write)
        except BaseException:
            release_for_job(self.backend.blobs, payload.upload_key, job_id,
                            self.backend.settings.upload_retention)
            raise
        self.dispatch()
        log.info("job queued", extra={"event": "job_queued", **job_fields(job_id, payload)})
        if self.on_queued is not None:
            self.on_queued(job_id)

    def add_to(
        self, pipe: Pipeline, payload: JobPayload, job_id: str, *, owner: str,
        upload: bytes | None = None, meta: Mapping[str, object] | None = None,
    ) -> None:
        """Queue the job's writes on `pipe` (a transaction), with the notice that writes its
        record. The upload is stored now, on disk, held by the job until it ends
        (`certify_jobs.uploads`). `meta` adds job meta (a batch, a callback URL) that the
        worker reads when the job ends."""
        backend, settings = self.backend, self.backend.settings
        retry = Retry(max=settings.job_retries) if settings.job_retries else None
        now = time.time()
        if upload is not None:
            backend.blobs.put(upload, job_id, owner)
        backend.queue.enqueue(
            TASK_PATH, payload.to_dict(), job_id=job_id, job_timeout=settings.job_timeout_s,
            result_ttl=settings.result_ttl_s, failure_ttl=settings.failure_ttl_s,
            retry=retry, pipeline=pipe, meta={OWNER_META: owner, **(meta or {})},
        )
        fair_queue.hold(pipe, backend.queue.key, job_id, owner)  # dispatched in turn
        notify_record(pipe, "job", job_id)  # its record, written by the outbox's drainer
        for index in (backend.keys.jobs_index, backend.keys.owner_jobs_index(owner)):
            pipe.zadd(index, {job_id: now})
            pipe.zremrangebyrank(index, 0, -settings.jobs_index_max - 1)

    def dispatch(self) -> None:
        """Hand the next job of the tenant served least recently to an idle worker."""
        settings = self.backend.settings
        fair_queue.dispatch(self.backend.redis, self.backend.queue.key,
                            max_running=settings.tenant_max_running,
                            job_timeout_s=settings.job_timeout_s)

    def admit(self, owner: str, options: CertifyOptions, jobs: int = 1) -> None:
        """429 when `jobs` more jobs would exceed the tenant's queued jobs or its hourly
        samples (`CERTIFY_TENANT_MAX_QUEUED`, `CERTIFY_TENANT_SAMPLES_PER_HOUR`)."""
        admit(self.backend.redis, self.backend.settings, owner, options, jobs)

    def room(self, owner: str, options: CertifyOptions, wanted: int) -> int:
        """How many of `wanted` more jobs the tenant's limits admit now."""
        return room(self.backend.redis, self.backend.settings, owner, options, wanted)

    def cancel(self, job: Job) -> None:
        """Flag the job for its worker (checked between batches) and drop it if still queued."""
        backend = self.backend
        backend.redis.set(backend.keys.cancel(job.id), 1, ex=backend.settings.result_ttl_s)
        if job.get_status(refresh=True) in ("queued", "deferred", "scheduled"):
            job.cancel()
            owner = str((job.meta or {}).get(OWNER_META, ""))
            fair_queue.unhold(backend.redis, backend.queue.name, owner, job.id)
            fair_queue.job_ended(backend.redis, backend.queue.name, owner, job.id)
            upload_key = upload_key_of(job_args(job))
            if upload_key is not None:  # it will never run
                release_for_job(backend.blobs, upload_key, job.id, backend.settings.upload_retention)


async def get_job_queue(request: Request) -> JobQueue:
    queue: JobQueue = request.app.state.job_queue
    return queue


JobQueueDep = Annotated[JobQueue, Depends(get_job_queue)]
