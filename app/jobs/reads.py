"""Reading jobs: one job by id (for its owner only), its view, rendered pages of views.

Views of ended jobs are rendered once and kept (`app.jobs.cache`); reads also
sweep, at most every `ABANDONED_SWEEP_S`, the jobs of workers that died, so
that no job stays "running" when no worker is left to notice.
"""

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Request
from redis.exceptions import OutOfMemoryError
from rq.job import Job
from rq.registry import StartedJobRegistry

from app.http.backend import Backend, text
from app.http.deps import Caller
from app.http.errors import ApiError
from app.jobs.archive import Archive
from app.jobs.cache import EndedViews, RenderedView
from app.jobs.views import JobVanished, job_view, payload_of
from certify_contract import ACTIVE_STATUSES, JobView
from certify_jobs.contract import ANONYMOUS, OWNER_META
from certify_jobs.crashes import crash_recorder
from certify_jobs.endings import CALLBACK_META, crash_announcer
from certify_jobs.restarts import sweep_must_wait
from certify_jobs.unreadable import (
    fetch_many_readable,
    fetch_readable,
    move_aside_unreadable_started,
)

ABANDONED_SWEEP_S = 2.0
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
log = logging.getLogger(__name__)


def owner_of(job: Job) -> str:
    """Who created the job; one written to Redis without an owner belongs to no key."""
    owner = (job.meta or {}).get(OWNER_META, ANONYMOUS)
    return owner if isinstance(owner, str) else ANONYMOUS


def job_not_found(job_id: str) -> ApiError:
    return ApiError(404, "job_not_found", f"No job {job_id!r} (unknown or expired).")


class JobReads:
    """Jobs as their callers see them; one per process (it keeps the ended views)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.ended_views = EndedViews()
        self.archive = Archive(backend)
        self._last_sweep = 0.0

    def fetch(self, job_id: str) -> Job | None:
        self.sweep_abandoned()
        # One HGETALL, no MULTI (fetch_many's pipeline): a full Redis refuses MULTI, and
        # polling must keep working while it is full.
        # A job whose hash does not parse is moved aside (`certify_jobs.unreadable`): 404.
        return fetch_readable(self.backend.redis, job_id)

    def find(self, job_id: str, caller: Caller) -> Job:
        """The one lookup of a job by id, for every route that takes one.

        Another tenant's job answers exactly as an unknown one (same status and body), so a key
        cannot even learn that an id exists.
        """
        job = self.fetch(job_id) if JOB_ID.match(job_id) else None
        if job is None or not caller.may_see(owner_of(job)):
            raise job_not_found(job_id)
        return job

    def rendered(self, job_id: str, caller: Caller) -> RenderedView:
        """The job's view from Redis, else from its record (kept in memory for later polls)."""
        job = self.fetch(job_id) if JOB_ID.match(job_id) else None
        if job is not None:
            if not caller.may_see(owner_of(job)):
                raise job_not_found(job_id)
            try:
                return self.render(job)
            except JobVanished:
                pass  # recorded and dropped from Redis while we read it: the record answers
        stored = self.archive.rendered(job_id) if JOB_ID.match(job_id) else None
        if stored is None or not caller.may_see(stored.owner):
            raise job_not_found(job_id)
        self.ended_views.hold(job_id, stored, self.backend.settings.result_ttl_s)
        return stored

    def live_rendered(self, job_id: str) -> RenderedView | None:
        """The view of a job Redis still holds (for a list's records not yet ended)."""
        job = self.fetch(job_id)
        try:
            return self.render(job) if job is not None else None
        except JobVanished:
            return None

    def exists(self, job_id: str) -> bool:
        return self.fetch(job_id) is not None or self.archive.record(job_id) is not None

    def upload_of(self, job_id: str, caller: Caller) -> tuple[str, str] | None:
        """(upload key, media type) of a job the caller may see, from Redis or its record."""
        job = self.fetch(job_id) if JOB_ID.match(job_id) else None
        if job is not None:
            if not caller.may_see(owner_of(job)):
                raise job_not_found(job_id)
            payload = payload_of(job)
            return (payload.upload_key, payload.media_type) if payload else None
        record = self.archive.record(job_id) if JOB_ID.match(job_id) else None
        if record is None or not caller.may_see(record.owner):
            raise job_not_found(job_id)
        if record.upload_sha256 is None or record.media_type is None:
            return None
        return f"{record.owner}/{record.upload_sha256}", record.media_type

    def view(self, job: Job) -> JobView:
        """Raises `JobVanished` when the job left Redis (its record written) during the read."""
        view = job_view(job, cancel_requested=False)
        # Only a job that can still stop has a cancel flag worth a round trip.
        if view.status in ACTIVE_STATUSES and self.backend.redis.exists(
                self.backend.keys.cancel(job.id)):
            return replace(view, cancel_requested=True)
        return view

    def render(self, job: Job) -> RenderedView:
        """The job's view as JSON, remembered once it can no longer change."""
        has_callback = CALLBACK_META in (job.meta or {})
        rendered = RenderedView.render(self.view(job), owner_of(job), has_callback)
        self.ended_views.remember(self.backend.redis, job.id, job.key, rendered)
        return rendered

    def _render_or_record(self, job: Job) -> RenderedView:
        try:
            return self.render(job)
        except JobVanished:  # dropped from Redis as we read it, so its ended record exists
            stored = self.archive.rendered(job.id)
            if stored is None:
                raise
            return stored

    def status_of(self, job_id: str) -> str | None:
        """The job's status from Redis, else from its record; None when neither has it."""
        job = self.fetch(job_id)
        if job is not None:
            try:
                return self.view(job).status
            except JobVanished:
                pass
        record = self.archive.record(job_id)
        return record.status if record is not None else None

    def list_rendered(
        self, status: str | None, offset: int, limit: int, owner: str | None
    ) -> tuple[list[bytes], bool]:
        """Newest first, of one owner (None: everyone's): one page of rendered views (JSON)
        and whether more follow. Ended jobs come from their stored views."""
        self.sweep_abandoned()
        keys = self.backend.keys
        index = keys.jobs_index if owner is None else keys.owner_jobs_index(owner)
        matched: list[bytes] = []
        for rendered in self._rendered_newest_first(index):
            if status is None or rendered.status == status:
                matched.append(rendered.body)
                if len(matched) > offset + limit:
                    break
        return matched[offset:offset + limit], len(matched) > offset + limit

    def _rendered_newest_first(self, index: str, chunk: int = 100) -> Iterator[RenderedView]:
        redis, start = self.backend.redis, 0
        while True:
            ids = [text(i) for i in redis.zrevrange(index, start, start + chunk - 1)]
            if not ids:
                return
            known = self.ended_views.get_many(redis, ids)
            missing = [job_id for job_id in ids if job_id not in known]
            jobs = fetch_many_readable(redis, missing) if missing else []
            fetched = dict(zip(missing, jobs, strict=True))
            expired = [job_id for job_id, job in fetched.items() if job is None]
            if expired:  # results past their TTL leave the index too
                redis.zrem(index, *expired)
            for job_id in ids:
                job = fetched.get(job_id)
                if job_id in known:
                    yield known[job_id]
                elif job is not None:
                    yield self._render_or_record(job)
            start += chunk - len(expired)

    def sweep_abandoned(self) -> None:
        """Finish jobs of dead workers (retry or fail) even when no worker is left to do it."""
        now = time.monotonic()
        if now - self._last_sweep >= ABANDONED_SWEEP_S:
            self._last_sweep = now
            settings = self.backend.settings
            try:
                # rq's cleanup reads each abandoned job; an unreadable one would raise there.
                move_aside_unreadable_started(self.backend.redis, self.backend.queue.name)
                if sweep_must_wait(self.backend.redis, settings.heartbeat_ttl_s):
                    return  # its live workers' jobs only look abandoned for now
                StartedJobRegistry(queue=self.backend.queue).cleanup(
                    exception_handlers=[crash_recorder(self.backend.blobs, settings.upload_retention),
                                        crash_announcer(settings)])
            except OutOfMemoryError:  # a full Redis: the read that called this still answers
                log.warning("Skipped the abandoned-job sweep: Redis is full")


async def get_job_reads(request: Request) -> JobReads:
    reads: JobReads = request.app.state.job_reads
    return reads


JobReadsDep = Annotated[JobReads, Depends(get_job_reads)]
