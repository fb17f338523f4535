"""The API's side of the queue: uploads, jobs, cancellation and served models in Redis."""

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.exceptions import OutOfMemoryError
from rq import Queue, Retry, Worker, worker_registration
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer

from app.job_views import job_view
from app.schemas import JobView, ModelInfo
from certify_jobs.contract import (
    MODELS_SEEN_TTL_S,
    OPTIONS_META,
    TASK_PATH,
    JobPayload,
    ServiceKeys,
)
from certify_jobs.crashes import crash_recorder
from certify_jobs.endings import OWNER_META, crash_announcer
from certify_jobs.json_logs import job_fields
from certify_jobs.uploads import release_for_job, store_for_job, upload_key_of
from certify_settings import Settings

ABANDONED_SWEEP_S = 2.0
log = logging.getLogger(__name__)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class ServedModel:
    info: ModelInfo

    @property
    def sigma(self) -> float | None:
        value = self.info.manifest.get("sigma")
        return float(value) if value is not None else None


class JobStore:
    """Everything the API reads from or writes to Redis."""

    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings
        self.keys = ServiceKeys()
        self.queue = Queue(settings.queue_name, connection=redis, serializer=JSONSerializer)
        self._last_sweep = 0.0

    # -- uploads and submission -------------------------------------------
    def store_upload(self, data: bytes, job_id: str) -> tuple[str, str]:
        """Content-addressed: equal uploads share one key, whose TTL each new use renews.

        `job_id` is recorded as needing it; the upload is freed when its last job ends.
        """
        digest = hashlib.sha256(data).hexdigest()
        key = self.keys.upload(digest)
        store_for_job(self.redis, key, data, job_id, self.settings.upload_ttl_s)
        return key, digest

    def release_upload(self, upload_key: str | None, job_id: str) -> None:
        if upload_key is not None:
            release_for_job(self.redis, upload_key, job_id, self.settings.upload_keep_after_end_s)

    def claim_idempotency(self, principal: str, key: str, job_id: str) -> str | None:
        """Reserve `key` for `job_id`; returns the earlier job id when the key was used."""
        redis_key = self._idempotency_key(principal, key)
        while True:  # the key can expire or be released between SET NX and GET
            if self.redis.set(redis_key, job_id, nx=True, ex=self.settings.idempotency_ttl_s):
                return None
            earlier = self.redis.get(redis_key)
            if earlier is not None:
                return _text(earlier)

    def enqueue(self, payload: JobPayload, job_id: str, owner: str = "anonymous",
                meta: Mapping[str, object] | None = None) -> None:
        """`meta` adds job meta (a batch, a callback URL) that the worker reads when it ends."""
        settings = self.settings
        retry = Retry(max=settings.job_retries) if settings.job_retries else None
        self.queue.enqueue(
            TASK_PATH, payload.to_dict(), job_id=job_id, job_timeout=settings.job_timeout_s,
            result_ttl=settings.result_ttl_s, failure_ttl=settings.failure_ttl_s, retry=retry,
            meta={"model": payload.model, "media_type": payload.media_type,
                  OPTIONS_META: payload.options.to_dict(), OWNER_META: owner, **(meta or {})},
        )
        with self.redis.pipeline() as pipe:
            pipe.zadd(self.keys.jobs_index, {job_id: time.time()})
            pipe.zremrangebyrank(self.keys.jobs_index, 0, -settings.jobs_index_max - 1)
            pipe.execute()
        log.info("job queued", extra={"event": "job_queued", **job_fields(job_id, payload)})

    @staticmethod
    def new_job_id() -> str:
        return uuid.uuid4().hex

    # -- reading jobs -------------------------------------------------------
    def fetch(self, job_id: str) -> Job | None:
        self._sweep_abandoned()
        # One HGETALL, no MULTI (fetch_many's pipeline): a full Redis refuses MULTI, and
        # polling must keep working while it is full.
        try:
            return Job.fetch(job_id, connection=self.redis, serializer=JSONSerializer)
        except NoSuchJobError:
            return None

    def view(self, job: Job) -> JobView:
        # Only a job that can still stop has a cancel flag worth a round trip.
        active = job.get_status(refresh=False) in ("queued", "deferred", "scheduled", "started")
        return job_view(job, active and bool(self.redis.exists(self.keys.cancel(job.id))))

    def list_views(self, status: str | None, offset: int, limit: int) -> tuple[list[JobView], bool]:
        """Newest first; returns one page and whether more jobs follow it."""
        self._sweep_abandoned()
        matched: list[JobView] = []
        for job in self._jobs_newest_first():
            view = self.view(job)
            if status is None or view.status == status:
                matched.append(view)
                if len(matched) > offset + limit:
                    break
        return matched[offset:offset + limit], len(matched) > offset + limit

    def _jobs_newest_first(self, chunk: int = 100) -> Iterator[Job]:
        start = 0
        while True:
            raw = self.redis.zrevrange(self.keys.jobs_index, start, start + chunk - 1)
            ids = [_text(i) for i in raw]
            if not ids:
                return
            jobs = Job.fetch_many(ids, connection=self.redis, serializer=JSONSerializer)
            expired = [job_id for job_id, job in zip(ids, jobs, strict=True) if job is None]
            if expired:  # results past their TTL leave the index too
                self.redis.zrem(self.keys.jobs_index, *expired)
            yield from (job for job in jobs if job is not None)
            start += chunk - len(expired)

    def _sweep_abandoned(self) -> None:
        """Finish jobs of dead workers (retry or fail) even when no worker is left to do it."""
        now = time.monotonic()
        if now - self._last_sweep >= ABANDONED_SWEEP_S:
            self._last_sweep = now
            try:
                StartedJobRegistry(queue=self.queue).cleanup(
                    exception_handlers=[crash_recorder(self.settings.upload_keep_after_end_s),
                                        crash_announcer(self.settings)])
            except OutOfMemoryError:  # a full Redis: the read that called this still answers
                log.warning("Skipped the abandoned-job sweep: Redis is full")

    # -- cancellation ---------------------------------------------------------
    def cancel(self, job: Job) -> None:
        """Flag the job for its worker (checked between batches) and drop it if still queued."""
        self.redis.set(self.keys.cancel(job.id), 1, ex=self.settings.result_ttl_s)
        if job.get_status(refresh=True) in ("queued", "deferred", "scheduled"):
            job.cancel()
            self.release_upload(upload_key_of(job.args), job.id)  # it will never run

    # -- workers and models -----------------------------------------------------
    def live_workers(self) -> int:
        """Workers registered on this queue whose presence key (TTL ~10 s) is still renewed.

        rq's own worker key outlives a killed worker by up to a minute; the presence key
        (worker/presence.py) expires within `CERTIFY_WORKER_PRESENCE_TTL_S`.
        """
        names = [_text(key).removeprefix(Worker.redis_worker_namespace_prefix)
                 for key in worker_registration.get_keys(queue=self.queue)]
        # No MULTI: a full Redis refuses MULTI, and readiness must not depend on free memory.
        with self.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.exists(self.keys.worker_models(name))
            return sum(1 for alive in pipe.execute() if alive)

    def model_seen_recently(self, name: str) -> bool:
        """A worker announced `name` within the last day (its workers may be down for now)."""
        seen = self.redis.hget(self.keys.models_seen, name)
        return seen is not None and time.time() - float(seen) < MODELS_SEEN_TTL_S

    def release_idempotency(self, principal: str, key: str) -> None:
        self.redis.delete(self._idempotency_key(principal, key))

    def _idempotency_key(self, principal: str, key: str) -> str:
        # Hashed: the client's key may be any header text.
        return self.keys.idempotency(principal, hashlib.sha256(key.encode()).hexdigest())

    def served_models(self) -> dict[str, ServedModel]:
        by_name: dict[str, dict[str, Any]] = {}
        for key in self.redis.scan_iter(match=self.keys.worker_models_pattern, count=200):
            raw = self.redis.get(key)
            if raw is None:
                continue
            for model in json.loads(raw).get("models", []):
                entry = by_name.setdefault(model["name"], {**model, "workers": 0})
                entry["workers"] += 1
        return {name: ServedModel(ModelInfo(**entry)) for name, entry in sorted(by_name.items())}

    def ping(self) -> None:
        self.redis.ping()
