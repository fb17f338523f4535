"""Jobs the service cannot read, found before anything trusts them, and moved aside.

Anyone with write access to Redis can put a job on the queue whose data is
not JSON (a pickled job from a tool with rq's default serializer, or plain
garbage). rq raises `DeserializationError` on the first read of such a job's
function or arguments, and a job hash with unparsable fields fails already
in `Job.fetch`; wherever that happened inside rq's own loops (an exception
handler, registry maintenance) the worker exited and the API answered 500.

Such a job is never run and never failed through rq (that path reads it
again): `move_aside` renames its hash to `certify:unreadable-job:<id>` (kept
`UNREADABLE_TTL_S` for an operator to look at), removes its id from the queue
and every registry, and logs `job_unreadable`. Afterwards it is unknown to
rq and the API answers 404 for it, exactly as for an expired job.
"""

import logging
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from rq.exceptions import DeserializationError, NoSuchJobError
from rq.job import Job
from rq.serializers import JSONSerializer

log = logging.getLogger(__name__)

UNREADABLE_TTL_S = 7 * 86_400
REGISTRIES = ("wip", "finished", "failed", "deferred", "scheduled", "canceled", "ready")


def unreadable_key(job_id: str) -> str:
    return f"certify:unreadable-job:{job_id}"


def job_args(job: Job) -> Any:
    """The job's arguments, or None when its data does not deserialize (never raises)."""
    try:
        return job.args
    except DeserializationError:
        return None


def why_unreadable(job: Job) -> str | None:
    """Why `job` is not a job this service wrote (data or meta not JSON, or not one payload)."""
    try:
        args, kwargs = job.args, job.kwargs
    except DeserializationError as exc:
        return f"its data is not JSON ({type(exc.__cause__).__name__})"
    if getattr(job, "_unreadable_meta", None) is not None:
        return "its meta is not JSON"
    if kwargs or not (isinstance(args, list | tuple) and len(args) == 1 and isinstance(args[0], dict)):
        return "its arguments are not one JSON object"
    return None


def fetch_readable(redis: Redis, job_id: str) -> Job | None:
    """`Job.fetch`, or None for a job that does not exist or whose hash does not even parse
    (moved aside on the way)."""
    try:
        return Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
    except NoSuchJobError:
        return None
    except Exception as exc:  # rq's restore raises whatever the bad field makes it raise
        move_aside(redis, job_id, f"its hash does not parse ({type(exc).__name__})")
        return None


def move_aside(redis: Redis, job_id: str, reason: str, queue_name: str | None = None) -> None:
    """Take the job out of rq's reach (see the module docstring); idempotent."""
    job_key = f"rq:job:{job_id}"
    with redis.pipeline() as pipe:
        if redis.exists(job_key):
            pipe.rename(job_key, unreadable_key(job_id))
            pipe.hset(unreadable_key(job_id), "unreadable_reason", reason)
            pipe.expire(unreadable_key(job_id), UNREADABLE_TTL_S)
        for queue in [queue_name] if queue_name else _queue_names(redis):
            pipe.lrem(f"rq:queue:{queue}", 0, job_id)
            pipe.lrem(f"rq:queue:{queue}:intermediate", 0, job_id)
            for registry in REGISTRIES:
                pipe.zrem(f"rq:{registry}:{queue}", job_id)
        pipe.execute()
    for queue in [queue_name] if queue_name else _queue_names(redis):
        # The started registry holds "<job id>:<execution id>" members.
        started = f"rq:wip:{queue}"
        members = list(redis.zscan_iter(started, match=f"{job_id}:*"))
        if members:
            redis.zrem(started, *(member for member, _ in members))
    log.error("Job %s moved aside: %s", job_id, reason,
              extra={"event": "job_unreadable", "job_id": job_id, "reason": reason})


def move_aside_unreadable_started(redis: Redis, queue_name: str) -> None:
    """Before rq's registry cleanup (which reads every abandoned job and would raise on an
    unreadable one): move aside the unreadable jobs among the started ones."""
    for member in redis.zrange(f"rq:wip:{queue_name}", 0, -1):
        job_id = member.decode().split(":", 1)[0] if isinstance(member, bytes) else str(member)
        job = fetch_readable(redis, job_id)
        reason = why_unreadable(job) if job is not None else None
        if reason is not None:
            move_aside(redis, job_id, reason, queue_name)


def _queue_names(redis: Redis) -> list[str]:
    prefix = "rq:queue:"
    names = [name.decode() if isinstance(name, bytes) else str(name)
             for name in redis.smembers("rq:queues")]
    return [name[len(prefix):] for name in names if name.startswith(prefix)]


def fetch_many_readable(redis: Redis, job_ids: list[str]) -> list[Job | None]:
    """`Job.fetch_many` (one round trip), falling back to one fetch per id when a hash in the
    chunk does not parse, so one bad job never hides the others."""
    try:
        return Job.fetch_many(job_ids, connection=redis, serializer=JSONSerializer)
    except RedisError:
        raise
    except Exception:
        return [fetch_readable(redis, job_id) for job_id in job_ids]


class UnreadableJobsAside(SimpleWorker):
    """An rq worker that moves unreadable jobs aside instead of running (and dying on) them.

    At dequeue (before rq reads the job's function) and before each registry maintenance
    (whose cleanup of abandoned jobs reads each one).
    """

    def dequeue_job_and_maintain_ttl(self, timeout: int | None,
                                     max_idle_time: int | None = None) -> tuple[Job, Queue] | None:
        while True:
            try:
                result = super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
            except RedisError:
                raise
            except Exception as exc:  # Job.fetch of a dequeued id failed: rq attached the id
                job_id, queue = getattr(exc, "job_id", None), getattr(exc, "queue", None)
                if not isinstance(job_id, str):
                    raise
                move_aside(self.connection, job_id, f"its hash does not parse ({type(exc).__name__})",
                           queue.name if isinstance(queue, Queue) else None)
                continue
            if result is None:
                return None
            reason = why_unreadable(result[0])
            if reason is None:
                return result
            move_aside(self.connection, result[0].id, reason, result[1].name)

    def run_maintenance_tasks(self) -> None:
        for queue in self.queues:
            move_aside_unreadable_started(self.connection, queue.name)
        super().run_maintenance_tasks()  # type: ignore[no-untyped-call]
