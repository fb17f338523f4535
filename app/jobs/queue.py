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
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import OutOfMemoryError
from rq import Queue, Retry, Worker, worker_registration
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer

from app.job_cache import EndedViews, RenderedView
from app.job_views import job_view
from app.schemas import JobView, ModelInfo
from certify_jobs.contract import (
    ANONYMOUS,
    MODELS_SEEN_TTL_S,
    OPTIONS_META,
    OWNER_META,
    TASK_PATH,
    JobPayload,
    ServiceKeys,
)
from certify_jobs.crashes import crash_recorder
from certify_jobs.endings import CALLBACK_META, crash_announcer
from certify_jobs.json_logs import job_fields
from certify_jobs.uploads import release_for_job, stage_upload, upload_key_of
from certify_settings import Settings

ABANDONED_SWEEP_S = 2.0
# A worker that starts or stops is seen by submissions within this time.
SERVED_MODELS_FRESH_S = 1.0
log = logging.getLogger(__name__)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def owner_of(job: Job) -> str:
    """Who created the job; one written to Redis without an owner belongs to no key."""
    owner = (job.meta or {}).get(OWNER_META, ANONYMOUS)
    return owner if isinstance(owner, str) else ANONYMOUS


@dataclass(frozen=True)
class ServedModel:
    info: ModelInfo

    @property
    def sigma(self) -> float | None:
        value = self.info.manifest.get("sigma")
        return float(value) if value is not None else None


class JobStore:
    """Everything the API reads from or writes to Redis."""

    def __init__(
        self, redis: Redis, settings: Settings, async_redis: AsyncRedis | None = None
    ) -> None:
        self.redis = redis
        # Used only by the API's hot read paths; others never connect it (connections are lazy).
        self.async_redis = async_redis or AsyncRedis.from_url(settings.redis_url_or_default)
        self.settings = settings
        self.keys = ServiceKeys()
        self.queue = Queue(settings.queue_name, connection=redis, serializer=JSONSerializer)
        self._last_sweep = 0.0
        self._served: tuple[float, dict[str, ServedModel]] | None = None
        self.ended_views = EndedViews()

    # -- uploads and submission -------------------------------------------
    def upload_key(self, data: bytes, owner: str) -> tuple[str, str]:
        """(key, sha256) of an upload: content-addressed per owner. One tenant's equal uploads
        share a key, whose TTL each new use renews; another tenant's never do, so nothing
        about them (existence, lifetime) is observable."""
        digest = hashlib.sha256(data).hexdigest()
        return self.keys.upload(owner, digest), digest

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

    def enqueue(
        self, payload: JobPayload, job_id: str, *, owner: str, upload: bytes | None = None,
        meta: Mapping[str, object] | None = None,
    ) -> None:
        """Queue the job, with its upload and its list entries, in one transaction: one round
        trip, and no job is ever queued without its upload. The job is recorded as needing
        the upload, which is freed when its last job ends (`certify_jobs.uploads`). `meta`
        adds job meta (a batch, a callback URL) that the worker reads when the job ends."""
        settings = self.settings
        retry = Retry(max=settings.job_retries) if settings.job_retries else None
        now = time.time()
        with self.redis.pipeline() as pipe:
            # rq opens the transaction (MULTI) itself, so its commands come first.
            self.queue.enqueue(
                TASK_PATH, payload.to_dict(), job_id=job_id, job_timeout=settings.job_timeout_s,
                result_ttl=settings.result_ttl_s, failure_ttl=settings.failure_ttl_s,
                retry=retry, pipeline=pipe,
                meta={"model": payload.model, "media_type": payload.media_type,
                      OPTIONS_META: payload.options.to_dict(), OWNER_META: owner,
                      **(meta or {})},
            )
            if upload is not None:
                stage_upload(pipe, payload.upload_key, upload, job_id, settings.upload_ttl_s)
            for index in (self.keys.jobs_index, self.keys.owner_jobs_index(owner)):
                pipe.zadd(index, {job_id: now})
                pipe.zremrangebyrank(index, 0, -settings.jobs_index_max - 1)
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

    def render(self, job: Job) -> RenderedView:
        """The job's view as JSON, remembered once it can no longer change."""
        has_callback = CALLBACK_META in (job.meta or {})
        rendered = RenderedView.render(self.view(job), owner_of(job), has_callback)
        self.ended_views.remember(self.redis, job.id, job.key, rendered)
        return rendered

    def list_rendered(
        self, status: str | None, offset: int, limit: int, owner: str | None
    ) -> tuple[list[bytes], bool]:
        """Newest first, of one owner (None: everyone's): one page of rendered views (JSON)
        and whether more follow. Ended jobs come from their stored views."""
        self._sweep_abandoned()
        index = self.keys.jobs_index if owner is None else self.keys.owner_jobs_index(owner)
        matched: list[bytes] = []
        for rendered in self._rendered_newest_first(index):
            if status is None or rendered.status == status:
                matched.append(rendered.body)
                if len(matched) > offset + limit:
                    break
        return matched[offset:offset + limit], len(matched) > offset + limit

    def _rendered_newest_first(self, index: str, chunk: int = 100) -> Iterator[RenderedView]:
        start = 0
        while True:
            ids = [_text(i) for i in self.redis.zrevrange(index, start, start + chunk - 1)]
            if not ids:
                return
            known = self.ended_views.get_many(self.redis, ids)
            missing = [job_id for job_id in ids if job_id not in known]
            jobs = Job.fetch_many(missing, connection=self.redis, serializer=JSONSerializer) \
                if missing else []
            fetched = dict(zip(missing, jobs, strict=True))
            expired = [job_id for job_id, job in fetched.items() if job is None]
            if expired:  # results past their TTL leave the index too
                self.redis.zrem(index, *expired)
            for job_id in ids:
                job = fetched.get(job_id)
                if job_id in known:
                    yield known[job_id]
                elif job is not None:
                    yield self.render(job)
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

    def served_models_recently(self) -> dict[str, ServedModel]:
        """`served_models`, at most SERVED_MODELS_FRESH_S old: a submission needs no SCAN."""
        now = time.monotonic()
        if self._served is None or now - self._served[0] > SERVED_MODELS_FRESH_S:
            self._served = (now, self.served_models())
        return self._served[1]

    def ping(self) -> None:
        self.redis.ping()
