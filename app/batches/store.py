"""Batches in Redis: a record per batch, its jobs in order, and the rows of ended jobs.

Each file of a batch is an ordinary job on the queue (so every worker takes
part), with the batch id in its meta. A batch belongs to its creator's
principal; another key sees 404, as for an unknown id. The rows of ended jobs
are kept with the batch, so that reading a batch of 10,000 jobs fetches only
the jobs still running.
"""

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from redis.client import Pipeline
from rq.job import Job

from app.http.backend import Backend
from app.http.backend import text as _text
from app.http.deps import Caller
from app.http.errors import ApiError
from app.http.idempotency import Claim
from app.jobs.queue import JobQueue
from app.jobs.reads import JobReads
from app.jobs.views import job_view
from certify_contract import ACTIVE_STATUSES, ENDED_STATUSES, CertifyOptions, JobView, MediaKind
from certify_jobs.contract import JobPayload
from certify_jobs.endings import (
    BATCH_META,
    BatchState,
    announce_job_end,
    check_batch_end,
    now_iso,
)
from certify_jobs.notices import notify_record
from certify_jobs.unreadable import fetch_many_readable

FETCH_CHUNK = 500


@dataclass(frozen=True)
class BatchRecord:
    batch_id: str
    owner: str
    state: BatchState
    created_at: str
    model: str
    kind: MediaKind
    options: CertifyOptions
    total: int
    labeled: bool
    callback_url: str | None
    closed_at: str | None
    ended_at: str | None
    webhook: dict[str, Any] | None

    @classmethod
    def from_hash(cls, batch_id: str, raw: dict[bytes, bytes]) -> "BatchRecord":
        field = {_text(k): _text(v) for k, v in raw.items()}
        return cls(
            batch_id=batch_id, owner=field["owner"], state=field["state"],  # type: ignore[arg-type]
            created_at=field["created_at"], model=field["model"],
            kind=field["kind"],  # type: ignore[arg-type]
            options=CertifyOptions.from_dict(json.loads(field["options"])),
            total=int(field.get("total", 0)),
            labeled=field.get("labeled") == "1", callback_url=field.get("callback_url") or None,
            closed_at=field.get("closed_at"), ended_at=field.get("ended_at"),
            webhook=json.loads(field["webhook"]) if field.get("webhook") else None,
        )


@dataclass(frozen=True)
class QueuedFile:
    """One file of a batch request, ready to queue: its job id and payload (seed drawn)."""

    job_id: str
    payload: JobPayload
    data: bytes
    name: str
    label: int | None


@dataclass(frozen=True)
class Row:
    """What a batch keeps of an ended job (a status, and its prediction when it succeeded)."""

    status: str
    predict: int | None = None  # -1: abstained
    radius: float = 0.0
    time: float = 0.0


def row_of(view: JobView) -> Row:
    cert = view.result
    if view.status != "succeeded" or cert is None:
        return Row(view.status)
    return Row("succeeded", -1 if cert.label is None else cert.label, cert.radius or 0.0,
               cert.elapsed_s)


class BatchStore:
    """Batches in Redis; the jobs themselves are ordinary jobs (`app.jobs`)."""

    def __init__(self, backend: Backend) -> None:
        self.backend, self.redis, self.settings = backend, backend.redis, backend.settings
        self.keys = backend.keys

    # -- records -----------------------------------------------------------------
    def create(self, owner: str, model: str, kind: MediaKind, options: CertifyOptions,
               callback_url: str | None, batch_id: str, files: list[QueuedFile], *,
               closed: bool, claim: Claim, queue: JobQueue) -> None:
        """The batch, its jobs and its Idempotency-Key binding, in one transaction: a batch
        exists whole, with every job it counts, or not at all (an API killed midway)."""
        keys, now = self.keys.batch(batch_id), time.time()
        fields = {"owner": owner, "state": "closed" if closed else "open",
                  "created_at": now_iso(), "model": model, "kind": kind,
                  "options": json.dumps(options.to_dict()), "total": len(files), "labeled": 0,
                  "callback_url": callback_url or "", **({"closed_at": now_iso()} if closed else {})}

        def write(pipe: Pipeline) -> None:
            pipe.multi()
            pipe.hset(keys.record, mapping=fields)  # type: ignore[arg-type]
            for index in (self.keys.owner_batches_index(owner), self.keys.batches_index):
                pipe.zadd(index, {batch_id: now})
                pipe.zremrangebyrank(index, 0, -self.settings.jobs_index_max - 1)
                pipe.expire(index, self.settings.result_ttl_s)
            notify_record(pipe, "batch", batch_id)  # its record, via the outbox
            self._queue_files(pipe, queue, batch_id, owner, 0, files)

        claim.commit(self.redis, write)
        queue.dispatch()
        if closed:
            check_batch_end(self.redis, self.settings, batch_id)

    def add(self, batch_id: str, owner: str, files: list[QueuedFile], *, claim: Claim,
            queue: JobQueue) -> None:
        """More files for an open batch, counted and queued in one transaction (watched, so
        that concurrent requests neither exceed the batch limit nor add to a closed batch)."""
        keys = self.keys.batch(batch_id)

        def write(pipe: Pipeline) -> None:  # counted again if another request adds meanwhile
            state, total = pipe.hmget(keys.record, ["state", "total"])
            first = self._room(batch_id, state, int(total or 0), len(files))
            pipe.multi()
            pipe.hset(keys.record, "total", first + len(files))
            self._queue_files(pipe, queue, batch_id, owner, first, files)

        claim.commit(self.redis, write, keys.record,
                     gave_up=f"Batch {batch_id} kept changing while files were added; retry.")
        queue.dispatch()

    def _room(self, batch_id: str, state: object, total: int, count: int) -> int:
        """The index of the first new file (409 when the batch is no longer open, 413 when
        over the batch limit)."""
        if _text(state) != "open":
            raise ApiError(409, "batch_closed", f"Batch {batch_id} is {_text(state)}; "
                           "files can be added only while it is open.")
        if total + count > self.settings.batch_max_files:
            raise ApiError(413, "too_many_files", f"A batch holds at most "
                           f"{self.settings.batch_max_files} files; this one has {total}.")
        return total

    def _queue_files(self, pipe: Pipeline, queue: JobQueue, batch_id: str, owner: str,
                     first: int, files: list[QueuedFile]) -> None:
        """One ordinary job per file, recorded in the batch, on the caller's transaction."""
        keys = self.keys.batch(batch_id)
        for offset, queued in enumerate(files):
            item = json.dumps({"index": first + offset, "name": queued.name,
                               "label": queued.label})
            pipe.rpush(keys.jobs, queued.job_id)
            pipe.hset(keys.items, queued.job_id, item)
            if queued.label is not None:
                pipe.hset(keys.record, "labeled", 1)
            queue.add_to(pipe, queued.payload, queued.job_id, owner=owner, upload=queued.data,
                         meta={BATCH_META: batch_id})
        for key in keys.all():
            pipe.expire(key, self.settings.result_ttl_s)

    def load(self, batch_id: str, caller: Caller) -> BatchRecord:
        """The batch when `caller` may see it; 404 as for an unknown id otherwise."""
        raw = self.redis.hgetall(self.keys.batch(batch_id).record) if len(batch_id) == 32 else {}
        record = BatchRecord.from_hash(batch_id, raw) if raw else None  # type: ignore[arg-type]
        if record is None or not caller.may_see(record.owner):
            raise batch_not_found(batch_id)
        return record

    def touch(self, batch_id: str) -> None:
        """A batch lives CERTIFY_RESULT_TTL_S after its last change (as its jobs' results)."""
        with self.redis.pipeline() as pipe:
            for key in self.keys.batch(batch_id).all():
                pipe.expire(key, self.settings.result_ttl_s)
            pipe.execute()

    def close(self, record: BatchRecord) -> None:
        keys = self.keys.batch(record.batch_id)
        if record.state == "open":
            self.redis.hset(keys.record, mapping={"state": "closed", "closed_at": now_iso()})
        check_batch_end(self.redis, self.settings, record.batch_id)
        self.touch(record.batch_id)

    def cancel(self, record: BatchRecord, queue: JobQueue) -> None:
        """Canceled: queued jobs never run, running ones stop within one batch of samples."""
        keys = self.keys.batch(record.batch_id)
        if record.state != "canceled":
            self.redis.hset(keys.record, mapping={"state": "canceled", "closed_at": now_iso()})
        ended = {_text(j) for j in self.redis.smembers(keys.ended)}
        for job in self._jobs([j for j in self.job_ids(record.batch_id) if j not in ended]):
            if job_view(job, False).status in ACTIVE_STATUSES:
                queue.cancel(job)
                announce_job_end(self.redis, self.settings, job)  # only if it has ended
        check_batch_end(self.redis, self.settings, record.batch_id)
        self.touch(record.batch_id)

    # -- jobs and rows -------------------------------------------------------------
    def job_ids(self, batch_id: str, start: int = 0, stop: int = -1) -> list[str]:
        return [_text(j) for j in self.redis.lrange(self.keys.batch(batch_id).jobs, start, stop)]

    def items(self, batch_id: str) -> dict[str, dict[str, Any]]:
        raw = self.redis.hgetall(self.keys.batch(batch_id).items)
        return {_text(k): json.loads(v) for k, v in raw.items()}

    def _jobs(self, job_ids: list[str]) -> Iterator[Job]:
        for start in range(0, len(job_ids), FETCH_CHUNK):
            chunk = job_ids[start:start + FETCH_CHUNK]
            jobs = fetch_many_readable(self.redis, chunk)
            yield from (job for job in jobs if job is not None)

    def rows(self, batch_id: str) -> tuple[dict[str, Row], Counter[str]]:
        """Rows of every ended job (stored once ended), and the statuses of the others."""
        keys = self.keys.batch(batch_id)
        stored = {_text(k): Row(**json.loads(v)) for k, v in self.redis.hgetall(keys.rows).items()}
        pending = [j for j in self.job_ids(batch_id) if j not in stored]
        live: Counter[str] = Counter()
        found: set[str] = set()
        for job in self._jobs(pending):
            found.add(job.id)
            view = job_view(job, False)
            if view.status in ENDED_STATUSES:
                stored[job.id] = row_of(view)
                self.redis.hset(keys.rows, job.id, json.dumps(asdict(stored[job.id])))
            else:
                live[view.status] += 1
        for lost in set(pending) - found:  # expired before anyone read its end
            stored[lost] = Row("failed")
        return stored, live

    def jobs_page(self, batch_id: str, offset: int, limit: int, reads: JobReads
                  ) -> list[tuple[dict[str, Any], JobView]]:
        ids = self.job_ids(batch_id, offset, offset + limit - 1)
        items = self.items(batch_id)
        by_id = {job.id: job for job in self._jobs(ids)}
        return [(items[job_id], reads.view(by_id[job_id])) for job_id in ids
                if job_id in by_id and job_id in items]

    def listed(self, caller: Caller, offset: int, limit: int) -> tuple[list[str], bool]:
        """The caller's batches, newest first; an admin's list holds every tenant's (as for
        jobs: whatever an admin may read by id, it may list)."""
        index = self.keys.batches_index if caller.admin else \
            self.keys.owner_batches_index(caller.principal)
        raw = self.redis.zrevrange(index, offset, offset + limit)
        ids = [_text(i) for i in raw]
        return ids[:limit], len(ids) > limit


def batch_not_found(batch_id: str) -> ApiError:
    return ApiError(404, "batch_not_found", f"No batch {batch_id!r} (unknown or expired).")


async def get_batches(request: Request) -> BatchStore:
    return BatchStore(request.app.state.backend)


BatchesDep = Annotated[BatchStore, Depends(get_batches)]
