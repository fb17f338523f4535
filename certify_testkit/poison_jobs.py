"""Jobs the service cannot read, written to Redis as a tool or an intruder with write access would.

- `pickled`: a job queued with rq's default serializer (pickle). Its argument
  creates a marker file when unpickled, so a test can tell that nobody did.
- `garbage`: a job hash whose `data` is random bytes.
- `unparsable`: a job whose hash itself does not parse (its status is no rq status),
  so `Job.fetch` raises.

Each is queued on the named queue and listed in the service's jobs index, so the
API's list meets it too; or put straight into the started registry.
"""

import os
import time
import uuid
from pathlib import Path

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

from certify_jobs.contract import TASK_PATH, ServiceKeys

POISON_KINDS = ("pickled", "garbage", "unparsable")


class TouchOnUnpickle:
    """Unpickling this object creates `path` (what a hostile pickle could do, harmlessly)."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.path, "w"))


def put_poison(redis: Redis, queue_name: str, kind: str, marker: Path, *,
               started: bool = False) -> str:
    """Queue one poison job of `kind` (or, `started`, put it straight into the started registry,
    expired, as if the worker that took it had died); returns its id."""
    job_id = f"poison-{kind}-{uuid.uuid4().hex[:8]}"
    serializer = None if kind == "pickled" else JSONSerializer
    payload: object = TouchOnUnpickle(marker) if kind == "pickled" else {"upload_key": "none"}
    job_key = f"rq:job:{job_id}"
    with redis.pipeline() as pipe:  # one transaction: no worker sees the job before it is bad
        Queue(queue_name, connection=redis, serializer=serializer).enqueue(
            TASK_PATH, payload, job_id=job_id, pipeline=pipe)
        if kind == "garbage":
            pipe.hset(job_key, "data", os.urandom(64))
        if started:
            pipe.lrem(f"rq:queue:{queue_name}", 0, job_id)
            pipe.hset(job_key, "status", "started")
            pipe.zadd(f"rq:wip:{queue_name}", {f"{job_id}:{uuid.uuid4().hex}": time.time() - 60})
        if kind == "unparsable":
            pipe.hset(job_key, "status", b"\xff?")
        pipe.zadd(ServiceKeys().jobs_index, {job_id: time.time()})
        pipe.execute()
    return job_id
