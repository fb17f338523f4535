"""Stored uploads freed when the last job that needs them ends.

Uploads are content-addressed, so one stored upload can serve several jobs.
Each upload has a set of the ids of jobs that still need it: the API adds a
job's id in the same transaction that stores the bytes, and whoever ends the
job (the worker, the crash handler, a cancel) removes it with one Lua script
that also frees the upload when the set is empty. Both are atomic in Redis,
so a new job for the same bytes can never lose its upload to an ending one.

"Freed" means the upload's TTL drops to `CERTIFY_UPLOAD_KEEP_AFTER_END_S`
(300 s by default, for the dashboard's look at a finished job's input; 0
deletes at once). Both the upload and its set keep the upload TTL as a
backstop, so nothing outlives `CERTIFY_UPLOAD_TTL_S` even if a release is missed.
"""

import logging
from typing import Any

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import RedisError

from certify_jobs.contract import ServiceKeys

log = logging.getLogger(__name__)

# KEYS: refs set, upload. ARGV: job id, seconds to keep after the last job ends.
# SREM, SCARD, DEL, TTL and EXPIRE are allowed on a full Redis (noeviction), so
# freeing works exactly when it is needed most.
RELEASE = """
redis.call('SREM', KEYS[1], ARGV[1])
if redis.call('SCARD', KEYS[1]) > 0 then return 0 end
redis.call('DEL', KEYS[1])
local keep = tonumber(ARGV[2])
if keep <= 0 then return redis.call('DEL', KEYS[2]) end
local ttl = redis.call('TTL', KEYS[2])
if ttl > keep then redis.call('EXPIRE', KEYS[2], keep) end
return 1
"""


def stage_upload(pipe: Pipeline, upload_key: str, data: bytes, job_id: str, ttl_s: int) -> None:
    """Store (or renew) the upload and record that `job_id` needs it, in the caller's
    transaction (the one that queues the job)."""
    refs = ServiceKeys().upload_refs(upload_key)
    pipe.set(upload_key, data, ex=ttl_s)
    pipe.sadd(refs, job_id)
    pipe.expire(refs, ttl_s)


def release_for_job(redis: Redis, upload_key: str, job_id: str, keep_s: int) -> bool:
    """`job_id` no longer needs the upload; True when it was the last job to need it.

    Best effort: a Redis error is logged, and the upload TTL frees the bytes later.
    """
    try:
        return bool(redis.eval(RELEASE, 2, ServiceKeys().upload_refs(upload_key), upload_key,
                               job_id, keep_s))
    except RedisError as exc:
        log.warning("Could not release upload of job %s: %s", job_id, exc)
        return False


def upload_key_of(job_args: Any) -> str | None:
    """The upload key in a job's payload (its first argument), if it has a readable one."""
    payload = job_args[0] if isinstance(job_args, list | tuple) and job_args else None
    key = payload.get("upload_key") if isinstance(payload, dict) else None
    return key if isinstance(key, str) else None


def renew_needed_uploads(redis: Redis, ttl_s: int) -> int:
    """Renew the TTL of every upload some job still needs (its refs set is not empty), so
    that an upload outlives however long its jobs wait in the queue; how many were renewed.
    Run by the workers' periodic maintenance."""
    keys = ServiceKeys()
    prefix = keys.upload_refs("")
    renewed = 0
    for name in redis.scan_iter(match=f"{prefix}*", count=500):
        refs = name.decode() if isinstance(name, bytes) else str(name)
        with redis.pipeline(transaction=False) as pipe:
            pipe.expire(refs, ttl_s, gt=True)
            pipe.expire(refs.removeprefix(prefix), ttl_s, gt=True)
            pipe.execute()
        renewed += 1
    return renewed
