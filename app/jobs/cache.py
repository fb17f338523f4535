"""One Redis round trip per poll of an ended job: its rendered view, kept beside the job.

A job that has ended (succeeded, failed, canceled) never changes again, yet
reading it the long way costs rq's job fetch, its result stream and a
pydantic pass over the certificate. Its view is rendered once, stored as a
hash (owner, JSON body, ETag) that expires with the job, and later polls read
just that hash, on the event loop with the asyncio Redis client. Each API
process also keeps the most recently read ended views in memory until their
job expires, so a client polling an ended job costs no Redis trip at all. Jobs still
queued or running are rendered fresh each time (their progress moves); they
carry `Retry-After`, and every view carries an ETag so that an unchanged one
answers `304 Not Modified`.
"""

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from fastapi import Response
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from app.jobs.views import JOB_VIEW
from certify_contract import ENDED_STATUSES, JobView
from certify_jobs.contract import ServiceKeys

POLL_AGAIN_S = "1"  # Retry-After while a job is queued or running
FIELDS = ("owner", "body", "etag", "status")
KEYS = ServiceKeys()


@dataclass(frozen=True)
class RenderedView:
    owner: str
    body: bytes
    etag: str
    status: str
    # False while a webhook delivery may still change the view after the job ended.
    final: bool = True

    @property
    def ended(self) -> bool:
        return self.status in ENDED_STATUSES

    @classmethod
    def stored(cls, owner: str, body: bytes, status: str) -> "RenderedView":
        """A view as the record database holds it (already JSON)."""
        return cls(owner, body, '"' + hashlib.sha256(body).hexdigest()[:24] + '"', status)

    @classmethod
    def render(cls, view: JobView, owner: str, has_callback: bool = False) -> "RenderedView":
        body = JOB_VIEW.dump_json(view)
        etag = '"' + hashlib.sha256(body).hexdigest()[:24] + '"'
        delivering = has_callback and (view.webhook is None or view.webhook.state == "pending")
        return cls(owner, body, etag, view.status, final=not delivering)

    def response(self, if_none_match: str | None) -> Response:
        # private: a view belongs to one API key; no-cache: revalidate (ETag) on every poll.
        headers = {"ETag": self.etag, "Cache-Control": "private, no-cache"}
        if not self.ended:
            headers["Retry-After"] = POLL_AGAIN_S
        if if_none_match is not None and self.etag in _tags(if_none_match):
            return Response(status_code=304, headers=headers)
        return Response(self.body, media_type="application/json", headers=headers)


def _tags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}


class EndedViews:
    """Ended jobs' views: in this process (the most recent `capacity`), else in Redis."""

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._local: OrderedDict[str, tuple[float, RenderedView]] = OrderedDict()
        self._lock = threading.Lock()  # `remember` runs in worker threads, `get` on the loop

    async def get(self, redis: AsyncRedis, job_id: str) -> RenderedView | None:
        local = self._fresh(job_id)
        if local is not None:
            return local
        # One round trip: the view and how long it has left (the job's own lifetime).
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hmget(KEYS.job_view(job_id), FIELDS)
            pipe.pttl(KEYS.job_view(job_id))
            fields, ttl_ms = await pipe.execute()
        return self._read(job_id, fields, ttl_ms)

    def get_many(self, redis: Redis, job_ids: list[str]) -> dict[str, RenderedView]:
        """The ended views among `job_ids`, in one round trip for those not in memory."""
        found = {job_id: view for job_id in job_ids if (view := self._fresh(job_id)) is not None}
        missing = [job_id for job_id in job_ids if job_id not in found]
        if missing:
            with redis.pipeline(transaction=False) as pipe:
                for job_id in missing:
                    pipe.hmget(KEYS.job_view(job_id), FIELDS)
                    pipe.pttl(KEYS.job_view(job_id))
                answers = pipe.execute()
            for i, job_id in enumerate(missing):
                view = self._read(job_id, answers[2 * i], answers[2 * i + 1])
                if view is not None:
                    found[job_id] = view
        return found

    def _fresh(self, job_id: str) -> RenderedView | None:
        local = self._local.get(job_id)
        return local[1] if local is not None and local[0] > time.monotonic() else None

    def _read(self, job_id: str, fields: list[object], ttl_ms: object) -> RenderedView | None:
        if not all(isinstance(field, bytes) for field in fields) or not isinstance(ttl_ms, int):
            return None
        owner, body, etag, status = fields
        rendered = RenderedView(owner.decode(), body, etag.decode(), status.decode())  # type: ignore[attr-defined,arg-type]
        self._keep(job_id, rendered, ttl_ms / 1000)
        return rendered

    def remember(self, redis: Redis, job_id: str, job_key: str, rendered: RenderedView) -> None:
        """Keep an ended job's view exactly as long as the job itself lives."""
        if not (rendered.ended and rendered.final):
            return
        ttl = redis.ttl(job_key)
        if not isinstance(ttl, int) or ttl <= 0:  # -1: no expiry is set (never for our jobs)
            return
        key = KEYS.job_view(job_id)
        with redis.pipeline() as pipe:
            pipe.hset(key, mapping={"owner": rendered.owner, "body": rendered.body,
                                    "etag": rendered.etag, "status": rendered.status})
            pipe.expire(key, ttl)
            pipe.execute()
        self._keep(job_id, rendered, ttl)

    def hold(self, job_id: str, rendered: RenderedView, ttl_s: float) -> None:
        """Keep a view read elsewhere (the record database) in this process for `ttl_s`."""
        if rendered.ended:
            self._keep(job_id, rendered, ttl_s)

    def _keep(self, job_id: str, rendered: RenderedView, ttl_s: float) -> None:
        if ttl_s <= 0:
            return
        with self._lock:
            self._local[job_id] = (time.monotonic() + ttl_s, rendered)
            self._local.move_to_end(job_id)
            while len(self._local) > self.capacity:
                self._local.popitem(last=False)
